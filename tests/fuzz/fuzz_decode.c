/* fuzz_decode — sink/decode.c and the row -> column text step of
 * sink/table.c: every encoding, with and without the Schema Registry
 * framing, an op header, a schema-id header, key/value merging, then
 * table_row_values into a table of every column class.
 *
 * Input: byte 0 = flags (bits 0-1 encoding, 2 key registry, 3 value
 * registry, 4 op header present, 5 key present, 6 value present, 7 a
 * __value_schema_id header instead of the value prefix), bytes 1-2 = the
 * key and op lengths (mod what is left), the rest key | op | value. */
#define _POSIX_C_SOURCE 200809L
#include "../../sink/decode.h"
#include "../../sink/table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys1[] = {"id"};
static const char *const keys2[] = {"id", "day"};
static sink_column cols[] = {
    {.name = "id", .type = "bigint", .cls = COL_INT, .is_key = true},
    {.name = "name", .type = "text", .cls = COL_TEXT},
    {.name = "amount", .type = "numeric(12,2)", .cls = COL_NUMERIC},
    {.name = "ok", .type = "boolean", .cls = COL_BOOL},
    {.name = "doc", .type = "jsonb", .cls = COL_JSON},
    {.name = "at", .type = "timestamp with time zone", .cls = COL_TIMESTAMPTZ},
    {.name = "local", .type = "timestamp without time zone", .cls = COL_TIMESTAMP},
    {.name = "day", .type = "date", .cls = COL_DATE},
    {.name = "other", .type = "inet", .cls = COL_OTHER},
};
#define NCOLS (sizeof cols / sizeof cols[0])
static size_t key_idx[] = {0, 7};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t f = data[0];
    size_t rest = size - 3;
    size_t klen = rest ? data[1] % (rest + 1) : 0;
    size_t oplen = rest - klen ? data[2] % (rest - klen + 1) : 0;
    const uint8_t *k = data + 3, *op = k + klen, *v = op + oplen;
    size_t vlen = rest - klen - oplen;
    bool two = (f & 0x80) && (data[2] & 1);
    decode_opts o = {.encoding = (sink_encoding)(f & 3),
                     .key_registry = f & 4,
                     .value_registry = f & 8,
                     .max_bytes = 1 << 16,
                     .key_columns = two ? keys2 : keys1,
                     .nkeys = two ? 2 : 1};
    static const uint8_t guid[17] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
    raw_record r = {.key = (f & 0x20) ? k : NULL,
                    .key_len = klen,
                    .value = (f & 0x40) ? v : NULL,
                    .value_len = vlen,
                    .has_op = f & 0x10,
                    .op = op,
                    .op_len = oplen,
                    .value_sid = (f & 0x80) ? guid : NULL,
                    .value_sid_len = sizeof guid};
    change ch[2];
    char reason[512];
    int n = decode_record(&o, &r, ch, reason, sizeof reason);
    if (n < -1 || n > 2)
        abort();
    if (n == -1 && !reason[0])
        abort(); /* a dead letter always says why */
    sink_table t = {
        .name = "t", .cols = cols, .ncols = NCOLS, .keys = key_idx, .nkeys = two ? 2 : 1};
    for (int i = 0; i < n; i++) {
        if (!json_is_object(ch[i].row))
            abort(); /* every change carries a row object */
        char *vals[NCOLS];
        if (table_row_values(&t, ch[i].row, !ch[i].tombstone, vals, reason, sizeof reason))
            table_values_free(&t, vals);
        change_clear(&ch[i]);
    }
    return 0;
}
