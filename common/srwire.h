/*
 * srwire — the Confluent Schema Registry wire format.
 *
 * A registry-framed key or value is: byte 0 = magic 0, bytes 1..4 = the
 * schema id (big-endian), then the payload (JSON for json-registry).  Used by
 * the sink to strip the header and by the generator to add it.  The id may
 * instead travel in a Kafka header (srwire_header_id).
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
/* A schema id carried in a Kafka header instead of the prefix
 * (__key_schema_id / __value_schema_id, the newer Confluent serializers'
 * option; the payload then starts with the JSON): 0x01 + a 16-byte GUID, as
 * HeaderSchemaIdSerializer writes it, or 0x00 + a 4-byte big-endian id,
 * which Confluent's deserializer also reads (confluentinc/schema-registry,
 * SchemaId.java).  Returns 0 when the header is one of these, -1 with a
 * reason in err. */
int srwire_header_id(const void *buf, size_t len, char *err, size_t errlen);
#define SRWIRE_KEY_ID_HEADER "__key_schema_id"
#define SRWIRE_VALUE_ID_HEADER "__value_schema_id"
/* Writes the 5-byte header into out. */
void srwire_header(uint32_t schema_id, unsigned char out[SRWIRE_HEADER_LEN]);

#endif
