/*
 * srwire — the Confluent Schema Registry wire format.
 *
 * A registry-framed key or value is: byte 0 = magic 0, bytes 1..4 = the
 * schema id (big-endian), then the payload (JSON for json-registry).  Used by
 * the sink to strip the header and by the generator to add it.
 */
#ifndef FLINKPG_SRWIRE_H
#define FLINKPG_SRWIRE_H

#include <stddef.h>
#include <stdint.h>

#define SRWIRE_HEADER_LEN 5

/* Returns 0 and sets *schema_id, *payload, *payload_len; or -1 with a reason
 * in err when the buffer is too short or the magic byte is not 0. */
int srwire_decode(const void *buf, size_t len, uint32_t *schema_id, const void **payload,
                  size_t *payload_len, char *err, size_t errlen);
/* Writes the 5-byte header into out. */
void srwire_header(uint32_t schema_id, unsigned char out[SRWIRE_HEADER_LEN]);

#endif
