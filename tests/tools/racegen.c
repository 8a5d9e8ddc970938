/*
 * racegen — the workload of `make race`: one deterministic changelog of rows of
 * the demo's width, written in the formats of every contender at once.
 *
 *   racegen -b BOOTSTRAP --count N --keys K [--partitions P] [--seed S] [--deletes PCT]
 *           [--upsert TOPIC] [--connect TOPIC] [--retract TOPIC] [--retract-connect TOPIC]
 *           [--expected FILE] [--expected-ignore-kind FILE] [--rows FILE]
 *           [--markers] [--rate R] [--probe-every-ms M] [--probes FILE]
 *
 * The table: id bigint primary key, customer text, product text, quantity integer,
 * amount numeric(12,2), order_status text, carrier text, shipment_status text,
 * created_at timestamptz, updated_at timestamptz, version bigint (11 columns).
 * Key k always goes to partition k % P.  A change to a present key deletes it with
 * probability PCT % (default 26, which makes about 20 % of the upsert topic's
 * records tombstones), and otherwise updates it; an absent key is inserted.
 *
 *   --upsert           key {"id":k}, value without the key (except-key) JSON with ISO
 *                      times, tombstones for deletes: flinkpg-sink -e upsert and
 *                      Flink's upsert-kafka
 *   --connect          the same changes as Kafka Connect JsonConverter envelopes
 *                      ({"schema":…,"payload":…}; Timestamp as epoch ms, Decimal as
 *                      a number), tombstones for deletes: Debezium's JDBC sink
 *   --retract          the changes as Flink's retract changelog: +I, -U/+U, -D with
 *                      Confluent's one-byte "op" header, JSON values with the key
 *   --retract-connect  the retract records again, as Connect envelopes with the same
 *                      op header (what a JDBC sink would read from such a topic)
 *   --expected         the final table as COPY text (changelog semantics)
 *   --expected-ignore-kind  the final table when every retract record is applied as
 *                      an upsert of its image, ignoring the row kind
 *   --rows             every upsert record's row image as COPY text and a 12th column,
 *                      t for a delete (the deleted row) and f otherwise
 *   --markers          after the changes, one marker row per partition (id -1-p, on
 *                      partition p; +I in the retract topics), each appended to --probes
 *                      as "id<TAB>version"
 *   --rate R           send the changes at R per second instead of at once
 *   --probe-every-ms M with --rate: every M ms a probe change of each marker row whose
 *                      version is the send time in µs since the epoch (--probes)
 *
 * The probes file ends with a line "end" once every record is delivered.
 * Every record is delivery-checked; exit status 1 if any failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long delivered, failed, ack_ms_max, ack_hist[64];

static long long now_us(void);

/* The producer's own share of a probe's latency: its record timestamp (set at
 * produce time) to the broker's acknowledgement, in a log2 histogram of ms. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (failed++ < 5)
            fprintf(stderr, "racegen: delivery failed: %s\n", rd_kafka_err2str(m->err));
        return;
    }
    delivered++;
    long long ts = rd_kafka_message_timestamp(m, NULL);
    if (ts > 0) {
        long long ms = now_us() / 1000 - ts;
        int b = 0;
        while (b < 63 && (1LL << b) <= ms)
            b++;
        ack_hist[b]++;
        if (ms > ack_ms_max)
            ack_ms_max = ms;
    }
}

static long long ack_pct(double p) /* upper bound of the bucket holding the p-quantile */
{
    long long want = (long long)(p * (double)delivered), seen = 0;
    for (int b = 0; b < 64; b++)
        if ((seen += ack_hist[b]) >= want && want > 0)
            return 1LL << b;
    return 0;
}

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
    int customer, product, quantity, status, carrier, ship;
    long long cents, created_ms, updated_ms, version;
} row;

static const char *STATUS[] = {"PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"};
static const char *CARRIER[] = {"UPS", "DHL", "FedEx", "USPS", "GLS"};
static const char *SHIP[] = {"LABEL_CREATED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"};
#define BASE_MS 1796083200000LL /* 2026-12-01T00:00:00Z */

typedef struct {
    rd_kafka_t *rk;
    const char *upsert, *connect, *retract, *retract_connect;
} sinks;

static void iso(char *buf, size_t len, long long ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03lldZ", ms % 1000);
}

/* JSON of the row: with_id adds the key column; connect writes epoch ms times */
static int row_json(char *buf, size_t len, long long id, const row *r, int with_id, int connect)
{
    char c[40], u[40];
    if (connect) {
        snprintf(c, sizeof c, "%lld", r->created_ms);
        snprintf(u, sizeof u, "%lld", r->updated_ms);
    } else {
        c[0] = u[0] = '"';
        iso(c + 1, sizeof c - 2, r->created_ms);
        iso(u + 1, sizeof u - 2, r->updated_ms);
        strcat(c, "\"");
        strcat(u, "\"");
    }
    char idf[40] = "";
    if (with_id)
        snprintf(idf, sizeof idf, "\"id\":%lld,", id);
    return snprintf(buf, len,
                    "{%s\"customer\":\"c%05d\",\"product\":\"p%03d\",\"quantity\":%d,"
                    "\"amount\":%lld.%02lld,\"order_status\":\"%s\",\"carrier\":\"%s\","
                    "\"shipment_status\":\"%s\",\"created_at\":%s,\"updated_at\":%s,"
                    "\"version\":%lld}",
                    idf, r->customer, r->product, r->quantity, r->cents / 100, r->cents % 100,
                    STATUS[r->status], CARRIER[r->carrier], SHIP[r->ship], c, u, r->version);
}

static void copy_line(FILE *f, long long id, const row *r, const char *tail)
{
    char c[40], u[40];
    iso(c, sizeof c, r->created_ms);
    iso(u, sizeof u, r->updated_ms);
    fprintf(f, "%lld\tc%05d\tp%03d\t%d\t%lld.%02lld\t%s\t%s\t%s\t%s\t%s\t%lld%s\n", id, r->customer,
            r->product, r->quantity, r->cents / 100, r->cents % 100, STATUS[r->status],
            CARRIER[r->carrier], SHIP[r->ship], c, u, r->version, tail);
}

static const char CONNECT_KEY_SCHEMA[] =
    "{\"type\":\"struct\",\"optional\":false,\"fields\":["
    "{\"field\":\"id\",\"type\":\"int64\",\"optional\":false}]}";
static const char CONNECT_VALUE_SCHEMA[] =
    "{\"type\":\"struct\",\"optional\":false,\"fields\":["
    "{\"field\":\"id\",\"type\":\"int64\",\"optional\":false},"
    "{\"field\":\"customer\",\"type\":\"string\",\"optional\":true},"
    "{\"field\":\"product\",\"type\":\"string\",\"optional\":true},"
    "{\"field\":\"quantity\",\"type\":\"int32\",\"optional\":true},"
    "{\"field\":\"amount\",\"type\":\"bytes\",\"optional\":true,"
    "\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":"
    "\"2\"}},"
    "{\"field\":\"order_status\",\"type\":\"string\",\"optional\":true},"
    "{\"field\":\"carrier\",\"type\":\"string\",\"optional\":true},"
    "{\"field\":\"shipment_status\",\"type\":\"string\",\"optional\":true},"
    "{\"field\":\"created_at\",\"type\":\"int64\",\"optional\":true,"
    "\"name\":\"org.apache.kafka.connect.data.Timestamp\",\"version\":1},"
    "{\"field\":\"updated_at\",\"type\":\"int64\",\"optional\":true,"
    "\"name\":\"org.apache.kafka.connect.data.Timestamp\",\"version\":1},"
    "{\"field\":\"version\",\"type\":\"int64\",\"optional\":true}]}";

static void send_rec(rd_kafka_t *rk, const char *topic, int32_t part, const char *key,
                     const char *val, int op)
{
    rd_kafka_resp_err_t err;
    unsigned char opb = (unsigned char)op;
    for (;;) {
        if (op >= 0)
            err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                                    RD_KAFKA_V_KEY(key, strlen(key)),
                                    RD_KAFKA_V_VALUE((void *)val, val ? strlen(val) : 0),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_HEADER("op", &opb, 1), RD_KAFKA_V_END);
        else
            err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part),
                                    RD_KAFKA_V_KEY(key, strlen(key)),
                                    RD_KAFKA_V_VALUE((void *)val, val ? strlen(val) : 0),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(rk, 50);
    }
    if (err) {
        failed++;
        fprintf(stderr, "racegen: produce to %s failed: %s\n", topic, rd_kafka_err2str(err));
    }
    rd_kafka_poll(rk, 0);
}

/* One row change (r NULL: a delete) to the upsert and connect topics. */
static void send_upsert(const sinks *s, int32_t part, long long id, const row *r)
{
    char key[64], ckey[400], val[1024], cval[2400];
    snprintf(key, sizeof key, "{\"id\":%lld}", id);
    snprintf(ckey, sizeof ckey, "{\"schema\":%s,\"payload\":{\"id\":%lld}}", CONNECT_KEY_SCHEMA,
             id);
    if (s->upsert) {
        if (r)
            row_json(val, sizeof val, id, r, 0, 0);
        send_rec(s->rk, s->upsert, part, key, r ? val : NULL, -1);
    }
    if (s->connect) {
        if (r) {
            row_json(val, sizeof val, id, r, 1, 1);
            snprintf(cval, sizeof cval, "{\"schema\":%s,\"payload\":%s}", CONNECT_VALUE_SCHEMA,
                     val);
        }
        send_rec(s->rk, s->connect, part, ckey, r ? cval : NULL, -1);
    }
}

/* One retract record (op 0 +I, 1 -U, 2 +U, 3 -D) carrying image r. */
static void send_retract(const sinks *s, int32_t part, long long id, const row *r, int op)
{
    char key[64], ckey[400], val[1024], cval[2400];
    snprintf(key, sizeof key, "{\"id\":%lld}", id);
    snprintf(ckey, sizeof ckey, "{\"schema\":%s,\"payload\":{\"id\":%lld}}", CONNECT_KEY_SCHEMA,
             id);
    if (s->retract) {
        row_json(val, sizeof val, id, r, 1, 0);
        send_rec(s->rk, s->retract, part, key, val, op);
    }
    if (s->retract_connect) {
        row_json(val, sizeof val, id, r, 1, 1);
        snprintf(cval, sizeof cval, "{\"schema\":%s,\"payload\":%s}", CONNECT_VALUE_SCHEMA, val);
        send_rec(s->rk, s->retract_connect, part, ckey, cval, op);
    }
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static FILE *probes;

/* The marker row of partition p, its version the send time in µs. */
static void send_probe(const sinks *s, int p)
{
    row m = {.present = 1, .quantity = 1, .created_ms = BASE_MS, .updated_ms = BASE_MS};
    m.version = now_us();
    send_upsert(s, p, -1 - p, &m);
    send_retract(s, p, -1 - p, &m, 0);
    if (probes) {
        fprintf(probes, "%d\t%lld\n", -1 - p, m.version);
        fflush(probes);
    }
}

static void next_row(row *n, long long step)
{
    n->present = 1;
    n->customer = (int)(rnd() % 50000);
    n->product = (int)(rnd() % 1000);
    n->quantity = 1 + (int)(rnd() % 20);
    n->cents = (long long)(rnd() % 10000000);
    n->status = (int)(rnd() % 5);
    n->carrier = (int)(rnd() % 5);
    n->ship = (int)(rnd() % 4);
    if (!n->created_ms)
        n->created_ms = BASE_MS + (long long)(rnd() % 86400000);
    n->updated_ms = n->created_ms + step;
    n->version = step;
}

typedef struct {
    long long count, keys, rate, probe_ms;
    int partitions, deletes, markers;
    const char *expected, *expected_ik, *rows;
} plan;

static int write_table(const char *path, const row *rows, long long keys)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    for (long long id = 0; id < keys; id++)
        if (rows[id].present)
            copy_line(f, id, &rows[id], "");
    return fclose(f) ? 1 : 0;
}

static int run(const sinks *s, const plan *pl)
{
    row *rows = calloc((size_t)pl->keys, sizeof *rows), *ik = calloc((size_t)pl->keys, sizeof *ik);
    FILE *rows_out = pl->rows ? fopen(pl->rows, "w") : NULL;
    if (!rows || !ik || (pl->rows && !rows_out)) {
        perror("racegen");
        return 2;
    }
    long long t0 = now_us(), next_probe = t0;
    for (long long step = 0; step < pl->count; step++) {
        if (pl->rate > 0 && step % 50 == 0) {
            long long due = t0 + step * 1000000 / pl->rate, now;
            while ((now = now_us()) < due) {
                struct timespec ts = {0, (long)((due - now) * 1000)};
                nanosleep(&ts, NULL);
            }
        }
        if (pl->probe_ms > 0 && now_us() >= next_probe) {
            for (int p = 0; p < pl->partitions; p++)
                send_probe(s, p);
            next_probe += pl->probe_ms * 1000;
        }
        long long id = (long long)(rnd() % (uint64_t)pl->keys);
        row *r = &rows[id], next = *r;
        int32_t part = (int32_t)(id % pl->partitions);
        int del = r->present && (int)(rnd() % 100) < pl->deletes;
        if (!del)
            next_row(&next, step);
        send_upsert(s, part, id, del ? NULL : &next);
        if (rows_out)
            copy_line(rows_out, id, del ? r : &next, del ? "\tt" : "\tf");
        if (r->present)
            send_retract(s, part, id, r, del ? 3 : 1);
        if (!del)
            send_retract(s, part, id, &next, r->present ? 2 : 0);
        /* ignoring the kind, the last image sent stays: -D leaves the old row */
        ik[id] = del ? *r : next;
        ik[id].present = 1;
        if (del)
            *r = (row){.present = 0, .created_ms = 0};
        else
            *r = next;
    }
    if (pl->markers)
        for (int p = 0; p < pl->partitions; p++)
            send_probe(s, p);
    int rc = 0;
    if (pl->expected)
        rc |= write_table(pl->expected, rows, pl->keys);
    if (pl->expected_ik)
        rc |= write_table(pl->expected_ik, ik, pl->keys);
    if (rows_out)
        fclose(rows_out);
    free(rows);
    free(ik);
    return rc;
}

int main(int argc, char **argv)
{
    const char *bootstrap = "127.0.0.1:9092", *probes_path = NULL;
    sinks s = {0};
    plan pl = {.count = 1000, .keys = 100, .partitions = 1, .deletes = 26};
    long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--markers")) {
            pl.markers = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "racegen: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "-b"))
            bootstrap = v;
        else if (!strcmp(a, "--count"))
            pl.count = atoll(v);
        else if (!strcmp(a, "--keys"))
            pl.keys = atoll(v);
        else if (!strcmp(a, "--partitions"))
            pl.partitions = atoi(v);
        else if (!strcmp(a, "--seed"))
            seed = atoll(v);
        else if (!strcmp(a, "--deletes"))
            pl.deletes = atoi(v);
        else if (!strcmp(a, "--upsert"))
            s.upsert = v;
        else if (!strcmp(a, "--connect"))
            s.connect = v;
        else if (!strcmp(a, "--retract"))
            s.retract = v;
        else if (!strcmp(a, "--retract-connect"))
            s.retract_connect = v;
        else if (!strcmp(a, "--expected"))
            pl.expected = v;
        else if (!strcmp(a, "--expected-ignore-kind"))
            pl.expected_ik = v;
        else if (!strcmp(a, "--rows"))
            pl.rows = v;
        else if (!strcmp(a, "--rate"))
            pl.rate = atoll(v);
        else if (!strcmp(a, "--probe-every-ms"))
            pl.probe_ms = atoll(v);
        else if (!strcmp(a, "--probes"))
            probes_path = v;
        else {
            fprintf(stderr, "racegen: unknown option %s\n", a);
            return 2;
        }
    }
    if (pl.keys < 1 || pl.partitions < 1 || pl.count < 0) {
        fprintf(stderr,
                "usage: racegen -b BOOTSTRAP --count N --keys K [options] (see the source)\n");
        return 2;
    }
    if (probes_path && !(probes = fopen(probes_path, "w"))) {
        perror(probes_path);
        return 2;
    }
    rng_state = (uint64_t)seed;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ||
        rd_kafka_conf_set(conf, "linger.ms", pl.rate > 0 ? "2" : "20", err, sizeof err) ||
        rd_kafka_conf_set(conf, "compression.type", "lz4", err, sizeof err) ||
        rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof err)) {
        fprintf(stderr, "racegen: %s\n", err);
        return 2;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "racegen: %s\n", err);
        return 1;
    }
    s.rk = rk;
    long long t_start = now_us();
    int rc = run(&s, &pl);
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "racegen: %d records still undelivered after 120 s\n",
                rd_kafka_outq_len(rk));
        failed++;
    }
    rd_kafka_destroy(rk);
    if (probes) {
        fprintf(probes, "end\n");
        fclose(probes);
    }
    fprintf(stderr,
            "racegen: delivered=%lld failed=%lld seconds=%.1f ack_p50_ms<=%lld ack_p99_ms<=%lld "
            "ack_max_ms=%lld\n",
            delivered, failed, (double)(now_us() - t_start) / 1e6, ack_pct(0.5), ack_pct(0.99),
            ack_ms_max);
    return rc ? rc : failed ? 1 : 0;
}
