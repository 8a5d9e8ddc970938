/* srwire — see srwire.h. */
#include "srwire.h"

#include <stdio.h>

int srwire_decode(const void *buf, size_t len, uint32_t *schema_id, const void **payload,
                  size_t *payload_len, char *err, size_t errlen)
{
    const unsigned char *b = buf;
    if (!b || len < SRWIRE_HEADER_LEN) {
        snprintf(err, errlen, "schema registry header: %zu bytes, need at least %d", len,
                 SRWIRE_HEADER_LEN);
        return -1;
    }
    if (b[0] != 0) {
        snprintf(err, errlen, "schema registry header: magic byte is 0x%02x, expected 0x00", b[0]);
        return -1;
    }
    *schema_id = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
    *payload = b + SRWIRE_HEADER_LEN;
    *payload_len = len - SRWIRE_HEADER_LEN;
    return 0;
}

void srwire_header(uint32_t schema_id, unsigned char out[SRWIRE_HEADER_LEN])
{
    out[0] = 0;
    out[1] = (unsigned char)(schema_id >> 24);
    out[2] = (unsigned char)(schema_id >> 16);
    out[3] = (unsigned char)(schema_id >> 8);
    out[4] = (unsigned char)schema_id;
}

int srwire_header_id(const void *buf, size_t len, char *err, size_t errlen)
{
    const unsigned char *b = buf;
    if (len == 17 && b[0] == 1)
        return 0; /* 0x01 + GUID */
    if (len == 5 && b[0] == 0)
        return 0; /* 0x00 + 4-byte id */
    snprintf(err, errlen,
             "schema id header: %zu bytes starting 0x%02x (expected 0x01 + a 16-byte GUID, or 0x00 "
             "+ a 4-byte id)",
             len, len ? b[0] : 0);
    return -1;
}
