/* Unit tests of sink/decode.c: every encoding, registry framing, key merging
 * and every rejection reason. */
#include "../../sink/decode.h"
#include "unit.h"

#include <stdlib.h>

static const char *keys1[] = {"id"};
static const char *keys2[] = {"a", "b"};

static int dec(sink_encoding enc, const char *key, const char *value, int op, change out[2],
               char *reason)
{
    decode_opts o = {.encoding = enc, .key_columns = keys1, .nkeys = 1, .max_bytes = 1000};
    unsigned char opb = (unsigned char)op;
    raw_record r = {key, key ? strlen(key) : 0, value, value ? strlen(value) : 0, op >= 0, &opb, 1};
    return decode_record(&o, &r, out, reason, 512);
}

static char *row_text(const change *c)
{
    return json_dumps(c->row, JSON_COMPACT | JSON_SORT_KEYS);
}

static void check_row(const char *name, const change *c, const char *want)
{
    char *got = row_text(c);
    CHECK_STR(name, want, got);
    free(got);
}

int main(void)
{
    change ch[2];
    char reason[512];
    int n;

    /* retract: the op header names the row kind */
    const char *kinds[] = {"+I", "-U", "+U", "-D"};
    for (int op = 0; op < 4; op++) {
        n = dec(ENC_RETRACT, "{\"id\":7}", "{\"id\":7,\"x\":1}", op, ch, reason);
        char name[64];
        snprintf(name, sizeof name, "retract op %d is %s", op, kinds[op]);
        CHECK(name, n == 1 && ch[0].kind == (row_kind)op);
        if (n == 1)
            change_clear(&ch[0]);
    }
    n = dec(ENC_RETRACT, NULL, "{\"id\":1}", -1, ch, reason);
    CHECK("retract without op header is +I", n == 1 && ch[0].kind == KIND_INSERT);
    if (n == 1)
        change_clear(&ch[0]);
    n = dec(ENC_RETRACT, NULL, "{\"id\":1}", 4, ch, reason);
    CHECK("retract op byte 4 is rejected",
          n == -1 && strstr(reason, "unknown op header byte 0x04"));
    n = dec(ENC_RETRACT, "{\"id\":1}", NULL, 3, ch, reason);
    CHECK("retract -D without value is rejected", n == -1 && strstr(reason, "without a value"));
    {
        decode_opts o = {.encoding = ENC_RETRACT, .key_columns = keys1, .nkeys = 1};
        raw_record r = {NULL, 0, "{\"id\":1}", 8, true, "\x01\x02", 2};
        n = decode_record(&o, &r, ch, reason, sizeof reason);
        CHECK("retract two-byte op header is rejected",
              n == -1 && strstr(reason, "one byte, got 2"));
    }

    /* key merge: except-key values get their key columns from the key */
    n = dec(ENC_RETRACT, "{\"id\":7}", "{\"name\":\"x\"}", 0, ch, reason);
    CHECK("except-key value decodes", n == 1);
    if (n == 1) {
        check_row("key column merged into row", &ch[0], "{\"id\":7,\"name\":\"x\"}");
        change_clear(&ch[0]);
    }
    n = dec(ENC_RETRACT, "{\"id\":8}", "{\"id\":7}", 0, ch, reason);
    if (n == 1) {
        check_row("value's own key field is kept", &ch[0], "{\"id\":7}");
        change_clear(&ch[0]);
    }
    n = dec(ENC_UPSERT, "42", "{\"name\":\"x\"}", -1, ch, reason);
    CHECK("scalar key maps to the single key column", n == 1);
    if (n == 1) {
        check_row("scalar key merged", &ch[0], "{\"id\":42,\"name\":\"x\"}");
        change_clear(&ch[0]);
    }
    {
        decode_opts o = {.encoding = ENC_UPSERT, .key_columns = keys2, .nkeys = 2};
        raw_record r = {"42", 2, "{}", 2, false, NULL, 0};
        n = decode_record(&o, &r, ch, reason, sizeof reason);
        CHECK("scalar key with two key columns is rejected", n == -1 && strstr(reason, "scalar"));
    }

    /* upsert */
    n = dec(ENC_UPSERT, "{\"id\":3}", "{\"id\":3,\"v\":1}", -1, ch, reason);
    CHECK("upsert value is UPSERT", n == 1 && ch[0].kind == KIND_UPSERT && !ch[0].tombstone);
    if (n == 1)
        change_clear(&ch[0]);
    n = dec(ENC_UPSERT, "{\"id\":3}", NULL, -1, ch, reason);
    CHECK("upsert tombstone is a delete", n == 1 && ch[0].kind == KIND_DELETE && ch[0].tombstone);
    if (n == 1) {
        check_row("tombstone row holds the key", &ch[0], "{\"id\":3}");
        change_clear(&ch[0]);
    }
    n = dec(ENC_UPSERT, NULL, "{\"id\":3}", -1, ch, reason);
    CHECK("upsert without key is rejected", n == -1 && strstr(reason, "without a key"));
    n = dec(ENC_UPSERT, "{\"id\":3}", "[1,2]", -1, ch, reason);
    CHECK("upsert array value is rejected", n == -1 && strstr(reason, "not a JSON object"));

    /* debezium-json, as Apache Flink writes it and as Debezium writes updates */
    n = dec(ENC_DEBEZIUM, NULL, "{\"before\":null,\"after\":{\"id\":1},\"op\":\"c\"}", -1, ch,
            reason);
    CHECK("debezium c is +I", n == 1 && ch[0].kind == KIND_INSERT);
    if (n == 1)
        change_clear(&ch[0]);
    n = dec(ENC_DEBEZIUM, NULL, "{\"before\":{\"id\":1},\"after\":null,\"op\":\"d\"}", -1, ch,
            reason);
    CHECK("debezium d is -D", n == 1 && ch[0].kind == KIND_DELETE);
    if (n == 1)
        change_clear(&ch[0]);
    n = dec(ENC_DEBEZIUM, NULL,
            "{\"before\":{\"id\":1,\"v\":1},\"after\":{\"id\":1,\"v\":2},\"op\":\"u\"}", -1, ch,
            reason);
    CHECK("debezium u is -U then +U",
          n == 2 && ch[0].kind == KIND_UPDATE_BEFORE && ch[1].kind == KIND_UPDATE_AFTER);
    if (n == 2) {
        check_row("debezium u before image", &ch[0], "{\"id\":1,\"v\":1}");
        check_row("debezium u after image", &ch[1], "{\"id\":1,\"v\":2}");
        change_clear(&ch[0]);
        change_clear(&ch[1]);
    }
    n = dec(ENC_DEBEZIUM, NULL, NULL, -1, ch, reason);
    CHECK("debezium tombstone yields nothing", n == 0);
    n = dec(ENC_DEBEZIUM, NULL, "{\"before\":null,\"after\":null,\"op\":\"x\"}", -1, ch, reason);
    CHECK("debezium unknown op is rejected", n == -1 && strstr(reason, "unknown debezium op"));
    n = dec(ENC_DEBEZIUM, NULL, "{\"before\":null,\"after\":null,\"op\":\"d\"}", -1, ch, reason);
    CHECK("debezium d without before is rejected", n == -1 && strstr(reason, "before"));

    /* append */
    n = dec(ENC_APPEND, NULL, "{\"id\":1}", 3, ch, reason);
    CHECK("append ignores the op header: +I", n == 1 && ch[0].kind == KIND_INSERT);
    if (n == 1)
        change_clear(&ch[0]);

    /* malformed input */
    n = dec(ENC_RETRACT, NULL, "{\"id\":", -1, ch, reason);
    CHECK("malformed JSON names the place", n == -1 && strstr(reason, "malformed JSON in value"));
    n = dec(ENC_RETRACT, "{oops", "{}", -1, ch, reason);
    CHECK("malformed key JSON is rejected", n == -1 && strstr(reason, "malformed JSON in key"));
    {
        char big[2000];
        memset(big, ' ', sizeof big - 1);
        big[0] = '{';
        big[sizeof big - 2] = '}';
        big[sizeof big - 1] = '\0';
        n = dec(ENC_RETRACT, NULL, big, -1, ch, reason);
        CHECK("value over the size limit is rejected",
              n == -1 && strstr(reason, "value too large"));
    }

    /* Schema Registry framing */
    {
        const unsigned char framed[] = {0, 0, 0, 1, 2, '{', '"', 'i', 'd', '"', ':', '5', '}'};
        decode_opts o = {
            .encoding = ENC_RETRACT, .value_registry = true, .key_columns = keys1, .nkeys = 1};
        raw_record r = {NULL, 0, framed, sizeof framed, false, NULL, 0};
        n = decode_record(&o, &r, ch, reason, sizeof reason);
        CHECK("registry-framed value decodes", n == 1);
        if (n == 1) {
            check_row("registry payload after the 5-byte header", &ch[0], "{\"id\":5}");
            change_clear(&ch[0]);
        }
        const unsigned char bad[] = {1, 0, 0, 0, 1, '{', '}'};
        r.value = bad;
        r.value_len = sizeof bad;
        n = decode_record(&o, &r, ch, reason, sizeof reason);
        CHECK("wrong magic byte is rejected", n == -1 && strstr(reason, "magic byte is 0x01"));
        r.value_len = 3;
        n = decode_record(&o, &r, ch, reason, sizeof reason);
        CHECK("short registry header is rejected", n == -1 && strstr(reason, "3 bytes"));
        /* the id in a __value_schema_id header instead: the payload is bare JSON */
        unsigned char guid[17] = {1, 0x9f, 0x1c, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        const unsigned char old_id[5] = {0, 0, 0, 0, 9};
        r.value = "{\"id\":6}";
        r.value_len = 8;
        r.value_sid = guid;
        r.value_sid_len = sizeof guid;
        n = decode_record(&o, &r, ch, reason, sizeof reason);
        CHECK("schema id in a header (0x01 + GUID): bare JSON decodes", n == 1);
        if (n == 1) {
            check_row("the whole value is the payload", &ch[0], "{\"id\":6}");
            change_clear(&ch[0]);
        }
        r.value_sid = old_id;
        r.value_sid_len = sizeof old_id;
        n = decode_record(&o, &r, ch, reason, sizeof reason);
        CHECK("schema id in a header (0x00 + 4-byte id) decodes too", n == 1);
        if (n == 1)
            change_clear(&ch[0]);
        r.value_sid_len = 3;
        n = decode_record(&o, &r, ch, reason, sizeof reason);
        CHECK("a schema id header of another shape is rejected, saying what it expected",
              n == -1 && strstr(reason, "bad value: schema id header: 3 bytes starting 0x00"));
    }

    sink_encoding e;
    CHECK("encoding names parse",
          encoding_parse("debezium", &e) && e == ENC_DEBEZIUM && !encoding_parse("retracts", &e));
    return UNIT_DONE();
}
