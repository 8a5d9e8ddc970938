/*
 * schemas — the Schema Registry subjects of the demo topics, for --format
 * registry; see app.h.
 *
 * A subject that already exists is adopted, not overwritten: with Confluent
 * Cloud, CREATE TABLE (sql/confluent/sources.sql) registers <topic>-key and
 * <topic>-value itself, and registering a different schema there would be
 * refused as incompatible (409) or, if accepted, break the table.  So the
 * generator reads each subject's latest schema, uses its id, and writes what
 * it says: a field the schema types as a number that the generator holds as
 * an ISO time (created_at, updated_at) goes out as epoch milliseconds.
 * That is how Confluent's Flink reads TIMESTAMP_LTZ(3) in 'json-registry'
 * (docs.confluent.io/cloud/current/flink/reference/serialization.html, JSON
 * Schema: TIMESTAMP_LTZ -> "number", title org.apache.kafka.connect.data.
 * Timestamp, "connect.type": "int64"; the value is epoch milliseconds).
 *
 * A subject that does not exist yet gets the schema Confluent's Flink would
 * register for the tables of sources.sql, so that a CREATE TABLE after the
 * generator finds a compatible one: root title "Record", each field's
 * "connect.index", nullable columns as oneOf [null, T], NOT NULL ones in
 * "required", "additionalProperties": false; BIGINT and INT as numbers with
 * "connect.type" int64 / int32; DECIMAL(12,2) as a number titled
 * org.apache.kafka.connect.data.Decimal with "connect.type" bytes and its
 * precision and scale as strings in "connect.parameters" (the same page,
 * and the V1 JSON mappings of confluentinc/schema-registry's logical-types
 * module).  DECIMAL values are plain JSON numbers (12.50), as the generator
 * already writes them.
 */
#define _POSIX_C_SOURCE 200809L
#include "app.h"

#include "../common/log.h"
#include "../common/schemareg.h"
#include "../common/strbuf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIGINT "{\"type\":\"number\",\"connect.type\":\"int64\",\"connect.index\":%d}"
#define NULLABLE(t) "{\"oneOf\":[{\"type\":\"null\"}," t "],\"connect.index\":%d}"
#define N_BIGINT NULLABLE("{\"type\":\"number\",\"connect.type\":\"int64\"}")
#define N_INT NULLABLE("{\"type\":\"number\",\"connect.type\":\"int32\"}")
#define N_STRING NULLABLE("{\"type\":\"string\"}")
#define N_DECIMAL_12_2                                                                             \
    NULLABLE("{\"type\":\"number\",\"title\":\"org.apache.kafka.connect.data.Decimal\","           \
             "\"connect.type\":\"bytes\",\"connect.parameters\":"                                  \
             "{\"connect.decimal.precision\":\"12\",\"scale\":\"2\"}}")
#define N_TIMESTAMP_LTZ_3                                                                          \
    NULLABLE("{\"type\":\"number\",\"title\":\"org.apache.kafka.connect.data.Timestamp\","         \
             "\"connect.type\":\"int64\"}")
#define RECORD(props, req)                                                                         \
    "{\"type\":\"object\",\"title\":\"Record\",\"properties\":{" props "},\"required\":[" req      \
    "],\"additionalProperties\":false}"

static const char *const k_schemas[2][2] = {
    /* orders: key, value (value.fields-include = all) */
    {RECORD("\"order_id\":" BIGINT, "\"order_id\""),
     RECORD("\"order_id\":" BIGINT ",\"customer\":" N_STRING ",\"product\":" N_STRING
            ",\"quantity\":" N_INT ",\"amount\":" N_DECIMAL_12_2 ",\"status\":" N_STRING
            ",\"created_at\":" N_TIMESTAMP_LTZ_3 ",\"updated_at\":" N_TIMESTAMP_LTZ_3,
            "\"order_id\"")},
    /* shipments */
    {RECORD("\"shipment_id\":" BIGINT, "\"shipment_id\""),
     RECORD("\"shipment_id\":" BIGINT ",\"order_id\":" N_BIGINT ",\"carrier\":" N_STRING
            ",\"status\":" N_STRING ",\"created_at\":" N_TIMESTAMP_LTZ_3
            ",\"updated_at\":" N_TIMESTAMP_LTZ_3,
            "\"shipment_id\"")},
};

/* The schema text with each field's connect.index filled in, in order. */
static char *schema_text(gen_topic t, bool key)
{
    const char *f = k_schemas[t][key ? 0 : 1];
    strbuf sb;
    sb_init(&sb);
    int idx = 0;
    for (const char *p = f; *p; p++) {
        if (p[0] == '%' && p[1] == 'd') {
            sb_printf(&sb, "%d", idx++);
            p++;
        } else {
            sb_putc(&sb, *p);
        }
    }
    return sb_steal(&sb);
}

/* The fields a schema types as a number (through oneOf [null, T] too),
 * comma-joined with a leading and trailing comma: ",created_at,updated_at," */
static char *number_fields(const char *schema)
{
    json_t *root = json_loads(schema, 0, NULL);
    const char *name;
    json_t *p;
    strbuf sb;
    sb_init(&sb);
    sb_putc(&sb, ',');
    json_object_foreach (json_object_get(root, "properties"), name, p) {
        json_t *alts = json_object_get(p, "oneOf");
        size_t n = json_is_array(alts) ? json_array_size(alts) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_is_array(alts) ? json_array_get(alts, i) : p;
            json_t *types = json_object_get(s, "type"); /* "number", or ["null", "number"] */
            size_t nt = json_is_array(types) ? json_array_size(types) : 1;
            bool number = false;
            for (size_t k = 0; k < nt; k++) {
                const char *type =
                    json_string_value(json_is_array(types) ? json_array_get(types, k) : types);
                number |= type && (!strcmp(type, "number") || !strcmp(type, "integer"));
            }
            if (number) {
                sb_printf(&sb, "%s,", name);
                break;
            }
        }
    }
    json_decref(root);
    return sb_steal(&sb);
}

/* days since 1970-01-01 of a proleptic Gregorian date */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "2024-05-01T10:00:00.123Z" -> epoch ms; false when it is not that shape */
static bool iso_ms(const char *s, size_t n, long long *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, used = 0;
    char tail[8] = "";
    if (n >= 64)
        return false;
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = 0;
    if (sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%n", &y, &mo, &d, &h, &mi, &sec, &frac, &used) <
            7 ||
        sscanf(buf + used, "%7s", tail) != 1 || strcmp(tail, "Z"))
        return false;
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + frac;
    return true;
}

char *conform_value(const app *a, int topic, const char *value)
{
    const char *fields = a->number_fields[topic];
    if (!value || !fields || !fields[1])
        return NULL;
    strbuf out;
    sb_init(&out);
    bool changed = false;
    const char *p = value;
    /* the generator's own flat JSON: "name":"text" pairs without escapes */
    for (const char *q; (q = strstr(p, "\":\""));) {
        const char *name = q;
        while (name > p && name[-1] != '"')
            name--;
        const char *v = q + 3, *end = strchr(v, '"');
        char key[80];
        long long ms;
        if (!end)
            break;
        snprintf(key, sizeof key, ",%.*s,", (int)(q - name), name);
        if (strstr(fields, key) && iso_ms(v, (size_t)(end - v), &ms)) {
            sb_append(&out, p, (size_t)(q + 2 - p));
            sb_printf(&out, "%lld", ms);
            changed = true;
        } else {
            sb_append(&out, p, (size_t)(end + 1 - p));
        }
        p = end + 1;
    }
    sb_puts(&out, p);
    if (!changed) {
        sb_free(&out);
        return NULL;
    }
    return sb_steal(&out);
}

bool register_schemas(app *a, int ntopics)
{
    schemareg sr = {.url = opt("schema-registry-url"),
                    .user = opt("schema-registry-key"),
                    .password = opt("schema-registry-secret")};
    for (int t = 0; t < ntopics; t++)
        for (int k = 1; k >= 0; k--) {
            char subject[512], err[1024];
            snprintf(subject, sizeof subject, "%s-%s", a->topics[t], k ? "key" : "value");
            uint32_t *id = k ? &a->key_sr[t] : &a->value_sr[t];
            char *schema = NULL;
            int found = schemareg_latest(&sr, subject, id, &schema, err, sizeof err);
            if (found == 0) {
                schema = schema_text((gen_topic)t, k);
                if (!schemareg_register(&sr, subject, schema, id, err, sizeof err))
                    found = -1;
            }
            if (found < 0) {
                free(schema);
                log_error("schema_registration_failed", "subject=%s error=%s", lq(subject),
                          lq(err));
                fprintf(stderr, "flinkpg-generator: %s\n", err);
                return false;
            }
            if (!k) {
                free(a->number_fields[t]);
                a->number_fields[t] = number_fields(schema);
            }
            log_info(found ? "schema_adopted" : "schema_registered",
                     "subject=%s schema_id=%u number_fields=%s", lq(subject), *id,
                     lq(k ? "-" : a->number_fields[t]));
            free(schema);
        }
    return true;
}
