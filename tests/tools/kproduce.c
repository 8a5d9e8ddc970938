/*
 * kproduce — test producer for the sink's tests and benchmarks.
 *
 * Script mode: one JSON object per line on stdin (or -f FILE), each a record:
 *   {"k": <json>, "v": <json>, "op": 2, "p": 0}
 *     k, v      key / value as JSON, serialised compactly; null or absent = no
 *               key / a tombstone
 *     kraw,vraw key / value as the exact bytes of the given string
 *     khex,vhex key / value as hex bytes
 *     ksr, vsr  prefix the Schema Registry wire header with this schema id
 *     op        an "op" header holding this one byte; ophex: any bytes
 *     ksidhex, vsidhex  a __key_schema_id / __value_schema_id header of these
 *               hex bytes (the schema id in a header instead of a prefix)
 *     p         partition (default: librdkafka's partitioner)
 *
 * Synthetic mode: a deterministic changelog over a keyed table
 *   (id bigint primary key, name text, amount numeric(12,2), version bigint):
 *   --synthetic retract|upsert|debezium --count N --keys K --seed S
 *   [--partitions P] [--expected FILE] [--rows FILE]
 * writes N records (N+1 when the last change is a -U/+U pair; key k always to partition k % P) and,
 * with --expected, the table's exact final content as COPY text lines; with --rows, every record's
 * row image (the same rows, for a COPY reference in benchmarks).  Retract emits +I / -U,+U / -D;
 * upsert emits value-without-key (except-key) / tombstones; debezium emits Flink's c / d pairs.
 *
 * Every record is delivery-checked; exit status 1 if any failed.
 */
#define _POSIX_C_SOURCE 200809L
#include "../../common/srwire.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        failed++;
        fprintf(stderr, "kproduce: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        delivered++;
    }
}

typedef struct {
    unsigned char *data;
    size_t len;
    int present;
} bytes;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bytes from_hex(const char *hex)
{
    size_t n = strlen(hex) / 2;
    bytes b = {malloc(n + 1), n, 1};
    for (size_t i = 0; i < n; i++)
        b.data[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    return b;
}

/* The key or value of a script line: JSON, raw, hex, optionally SR-framed. */
static bytes part(json_t *line, const char *json_name, const char *raw_name, const char *hex_name,
                  const char *sr_name)
{
    bytes b = {NULL, 0, 0};
    json_t *v;
    if ((v = json_object_get(line, raw_name)) && json_is_string(v)) {
        b.len = json_string_length(v);
        b.data = malloc(b.len + 1);
        memcpy(b.data, json_string_value(v), b.len);
        b.present = 1;
    } else if ((v = json_object_get(line, hex_name)) && json_is_string(v)) {
        b = from_hex(json_string_value(v));
    } else if ((v = json_object_get(line, json_name)) && !json_is_null(v)) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        b.data = (unsigned char *)s;
        b.len = strlen(s);
        b.present = 1;
    }
    json_t *sr = json_object_get(line, sr_name);
    if (b.present && json_is_integer(sr)) {
        unsigned char *framed = malloc(b.len + SRWIRE_HEADER_LEN);
        srwire_header((uint32_t)json_integer_value(sr), framed);
        memcpy(framed + SRWIRE_HEADER_LEN, b.data, b.len);
        free(b.data);
        b.data = framed;
        b.len += SRWIRE_HEADER_LEN;
    }
    return b;
}

/* extra headers of a script line: name, bytes */
typedef struct {
    const char *name;
    const void *data;
    size_t len;
} hdr;

static void produce(rd_kafka_t *rk, const char *topic, int32_t partition, const void *key,
                    size_t klen, const void *val, size_t vlen, const void *op, size_t oplen,
                    const hdr *extra, size_t nextra)
{
    rd_kafka_headers_t *h = NULL;
    if (op || nextra) {
        h = rd_kafka_headers_new(1 + nextra);
        if (op)
            rd_kafka_header_add(h, "op", -1, op, (ssize_t)oplen);
        for (size_t i = 0; i < nextra; i++)
            rd_kafka_header_add(h, extra[i].name, -1, extra[i].data, (ssize_t)extra[i].len);
    }
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 50);
            continue;
        }
        if (e) {
            fprintf(stderr, "kproduce: produce: %s\n", rd_kafka_err2str(e));
            if (h)
                rd_kafka_headers_destroy(h);
            failed++;
        }
        break;
    }
    rd_kafka_poll(rk, 0);
}

static int run_script(rd_kafka_t *rk, const char *topic, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    while (getline(&line, &cap, in) >= 0) {
        lineno++;
        if (line[0] == '\n' || line[0] == '#')
            continue;
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        if (!j) {
            fprintf(stderr, "kproduce: line %d: %s\n", lineno, jerr.text);
            return 2;
        }
        bytes k = part(j, "k", "kraw", "khex", "ksr");
        bytes v = part(j, "v", "vraw", "vhex", "vsr");
        json_t *p = json_object_get(j, "p");
        int32_t partition =
            json_is_integer(p) ? (int32_t)json_integer_value(p) : RD_KAFKA_PARTITION_UA;
        unsigned char opb;
        bytes oph = {NULL, 0, 0};
        const void *op = NULL;
        size_t oplen = 0;
        json_t *o = json_object_get(j, "op");
        if (json_is_integer(o)) {
            opb = (unsigned char)json_integer_value(o);
            op = &opb;
            oplen = 1;
        } else if ((o = json_object_get(j, "ophex")) && json_is_string(o)) {
            oph = from_hex(json_string_value(o));
            op = oph.data ? oph.data : (const void *)"";
            oplen = oph.len;
        }
        hdr extra[2];
        bytes sid[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
        size_t nextra = 0;
        static const char *const sidf[2] = {"ksidhex", "vsidhex"};
        static const char *const sidn[2] = {"__key_schema_id", "__value_schema_id"};
        for (int i = 0; i < 2; i++) {
            json_t *x = json_object_get(j, sidf[i]);
            if (json_is_string(x)) {
                sid[i] = from_hex(json_string_value(x));
                extra[nextra++] =
                    (hdr){sidn[i], sid[i].data ? sid[i].data : (const void *)"", sid[i].len};
            }
        }
        produce(rk, topic, partition, k.present ? k.data : NULL, k.len, v.present ? v.data : NULL,
                v.len, op, oplen, extra, nextra);
        free(k.data);
        free(v.data);
        free(oph.data);
        free(sid[0].data);
        free(sid[1].data);
        json_decref(j);
    }
    free(line);
    return 0;
}

/* ---- synthetic changelog ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct {
    int present;
    char name[24];
    long long cents;
    long long version;
} row;

static int row_json(char *buf, size_t len, long long id, const row *r, int with_id)
{
    if (with_id)
        return snprintf(buf, len,
                        "{\"id\":%lld,\"name\":\"%s\",\"amount\":%lld.%02lld,\"version\":%lld}", id,
                        r->name, r->cents / 100, r->cents % 100, r->version);
    return snprintf(buf, len, "{\"name\":\"%s\",\"amount\":%lld.%02lld,\"version\":%lld}", r->name,
                    r->cents / 100, r->cents % 100, r->version);
}

static FILE *rows_out; /* --rows: every record's row image, as COPY text */

static void row_image(long long id, const row *r)
{
    if (rows_out)
        fprintf(rows_out, "%lld\t%s\t%lld.%02lld\t%lld\n", id, r->name, r->cents / 100,
                r->cents % 100, r->version);
}

static int run_synthetic(rd_kafka_t *rk, const char *topic, const char *enc, long long count,
                         long long keys, int partitions, const char *expected)
{
    row *rows = calloc((size_t)keys, sizeof *rows);
    int retract = !strcmp(enc, "retract"), upsert = !strcmp(enc, "upsert"),
        debezium = !strcmp(enc, "debezium");
    if (!rows || (!retract && !upsert && !debezium)) {
        fprintf(stderr, "kproduce: --synthetic must be retract, upsert or debezium\n");
        return 2;
    }
    char key[64], val[512], env[1200];
    long long produced = 0;
    for (long long step = 0; produced < count; step++) {
        long long id = (long long)(rnd() % (uint64_t)keys);
        row *r = &rows[id];
        int32_t part = (int32_t)(id % partitions);
        snprintf(key, sizeof key, "{\"id\":%lld}", id);
        row next = *r;
        int del = r->present && rnd() % 4 == 0;
        if (!del) {
            next.present = 1;
            snprintf(next.name, sizeof next.name, "n%llu", (unsigned long long)(rnd() % 100000));
            next.cents = (long long)(rnd() % 10000000);
            next.version = step;
        }
        unsigned char op;
        if (retract) {
            if (r->present) {
                row_json(val, sizeof val, id, r, 1);
                row_image(id, r);
                op = del ? 3 : 1;
                produce(rk, topic, part, key, strlen(key), val, strlen(val), &op, 1, NULL, 0);
                produced++;
            }
            if (!del) {
                row_json(val, sizeof val, id, &next, 1);
                row_image(id, &next);
                op = r->present ? 2 : 0;
                produce(rk, topic, part, key, strlen(key), val, strlen(val), &op, 1, NULL, 0);
                produced++;
            }
        } else if (upsert) {
            if (del) {
                produce(rk, topic, part, key, strlen(key), NULL, 0, NULL, 0, NULL, 0);
                row_image(id, r);
            } else {
                row_image(id, &next);
                row_json(val, sizeof val, id, &next, 0); /* except-key: id only in the key */
                produce(rk, topic, part, key, strlen(key), val, strlen(val), NULL, 0, NULL, 0);
            }
            produced++;
        } else {
            if (r->present) {
                row_json(val, sizeof val, id, r, 1);
                snprintf(env, sizeof env, "{\"before\":%s,\"after\":null,\"op\":\"d\"}", val);
                produce(rk, topic, part, NULL, 0, env, strlen(env), NULL, 0, NULL, 0);
                produced++;
            }
            if (!del) {
                row_json(val, sizeof val, id, &next, 1);
                snprintf(env, sizeof env, "{\"before\":null,\"after\":%s,\"op\":\"c\"}", val);
                produce(rk, topic, part, NULL, 0, env, strlen(env), NULL, 0, NULL, 0);
                produced++;
            }
        }
        /* whole changes only: the last one may take the count one past N */
        if (del)
            r->present = 0;
        else
            *r = next;
    }
    if (expected) {
        FILE *f = fopen(expected, "w");
        if (!f) {
            perror(expected);
            return 1;
        }
        for (long long id = 0; id < keys; id++)
            if (rows[id].present)
                fprintf(f, "%lld\t%s\t%lld.%02lld\t%lld\n", id, rows[id].name, rows[id].cents / 100,
                        rows[id].cents % 100, rows[id].version);
        fclose(f);
    }
    free(rows);
    return 0;
}

int main(int argc, char **argv)
{
    const char *bootstrap = "127.0.0.1:9092", *topic = NULL, *file = NULL, *synthetic = NULL,
               *expected = NULL;
    long long count = 1000, keys = 100, seed = 1;
    int partitions = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "kproduce: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "-b"))
            bootstrap = v;
        else if (!strcmp(a, "-t"))
            topic = v;
        else if (!strcmp(a, "-f"))
            file = v;
        else if (!strcmp(a, "--synthetic"))
            synthetic = v;
        else if (!strcmp(a, "--count"))
            count = atoll(v);
        else if (!strcmp(a, "--keys"))
            keys = atoll(v);
        else if (!strcmp(a, "--seed"))
            seed = atoll(v);
        else if (!strcmp(a, "--partitions"))
            partitions = atoi(v);
        else if (!strcmp(a, "--expected"))
            expected = v;
        else if (!strcmp(a, "--rows")) {
            rows_out = fopen(v, "w");
            if (!rows_out) {
                perror(v);
                return 2;
            }
        } else {
            fprintf(stderr, "kproduce: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (!topic || keys < 1 || partitions < 1) {
        fprintf(stderr, "usage: kproduce -b BOOTSTRAP -t TOPIC [-f FILE | --synthetic ENC ...]\n");
        return 2;
    }
    rng_state = (uint64_t)seed;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err) ||
        rd_kafka_conf_set(conf, "queue.buffering.max.messages", "500000", err, sizeof err)) {
        fprintf(stderr, "kproduce: %s\n", err);
        return 2;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kproduce: %s\n", err);
        return 1;
    }
    int rc;
    if (synthetic) {
        rc = run_synthetic(rk, topic, synthetic, count, keys, partitions, expected);
    } else {
        bool use_stdin = !file || !strcmp(file, "-");
        FILE *in = use_stdin ? stdin : fopen(file, "r");
        if (!in) {
            perror(file);
            return 2;
        }
        rc = run_script(rk, topic, in);
        if (!use_stdin)
            fclose(in);
    }
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kproduce: %d records still undelivered after 60 s\n",
                rd_kafka_outq_len(rk));
        failed++;
    }
    rd_kafka_destroy(rk);
    if (rows_out)
        fclose(rows_out);
    fprintf(stderr, "kproduce: delivered=%lld failed=%lld\n", delivered, failed);
    return rc ? rc : failed ? 1 : 0;
}
