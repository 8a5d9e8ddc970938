/*
 * flinkpg-sink — applies a Flink changelog topic to a PostgreSQL table,
 * exactly once.
 *
 * The loop: poll Kafka, decode and plan each record as it arrives, and when
 * the batch is full (or old enough) hand it to the applier thread, which
 * applies it in one transaction together with its offsets (see sink.h) while
 * the loop decodes the next batch.  At most one batch is in flight; every
 * other use of the PostgreSQL connection (rebalances, resyncs, the idle
 * probe, shutdown) first waits for it ("collect"), so the connection and the
 * stored offsets are only ever touched by one thread at a time.  Partition positions come from PostgreSQL on every
 * assignment, never from Kafka's committed offsets (those are committed too,
 * after PostgreSQL, only so that lag tools work).  Any failure to apply —
 * lost connection, server restart, a fenced offset — drops the uncommitted
 * batch and re-reads the positions from PostgreSQL: nothing applied twice,
 * nothing lost.
 */
#define _POSIX_C_SOURCE 200809L
#include "sink.h"

#define FLINKPG_WITH_RDKAFKA
#define FLINKPG_WITH_PQ
#define FLINKPG_WITH_JANSSON
#define FLINKPG_WITH_MHD
#include "../common/libversions.h"
#include "../common/backoff.h"
#include "../common/config.h"
#include "../common/httpd.h"
#include "../common/kafkaconf.h"
#include "../common/log.h"
#include "../common/pgutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- counters, read by the metrics thread ---- */

static const double latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof latency_buckets / sizeof latency_buckets[0])

typedef struct {
    atomic_ullong consumed;
    atomic_ullong kinds[KIND_COUNT];
    atomic_ullong applied;
    atomic_ullong skipped;
    atomic_ullong dead_letters;
    atomic_ullong batches;
    atomic_ullong slow_batches;
    atomic_ullong resyncs;
    atomic_ullong latency_bucket[NBUCKETS + 1];
    atomic_ullong latency_sum_us;
    atomic_llong lag;
    atomic_int pg_up;
    atomic_int assigned;
    atomic_int in_group; /* an assignment was received, possibly empty */
} sink_stats;

static sink_stats g_stats;

static void render_metrics(strbuf *out, void *ctx)
{
    (void)ctx;
    sink_stats *s = &g_stats;
    prom_header(out, "flinkpg_sink_records_total", "counter", "Kafka records consumed");
    prom_sample(out, "flinkpg_sink_records_total", NULL, (double)atomic_load(&s->consumed));
    prom_header(out, "flinkpg_sink_changes_total", "counter", "Row changes decoded, per row kind");
    for (int k = 0; k < KIND_COUNT; k++) {
        char labels[32];
        snprintf(labels, sizeof labels, "kind=\"%s\"", row_kind_symbol((row_kind)k));
        prom_sample(out, "flinkpg_sink_changes_total", labels, (double)atomic_load(&s->kinds[k]));
    }
    prom_header(out, "flinkpg_sink_applied_total", "counter", "Actions applied to the table");
    prom_sample(out, "flinkpg_sink_applied_total", NULL, (double)atomic_load(&s->applied));
    prom_header(out, "flinkpg_sink_skipped_total", "counter", "Changes the policy ignores");
    prom_sample(out, "flinkpg_sink_skipped_total", NULL, (double)atomic_load(&s->skipped));
    prom_header(out, "flinkpg_sink_dead_letters_total", "counter",
                "Records written to the dead-letter table");
    prom_sample(out, "flinkpg_sink_dead_letters_total", NULL,
                (double)atomic_load(&s->dead_letters));
    prom_header(out, "flinkpg_sink_batches_total", "counter", "Batches committed");
    prom_sample(out, "flinkpg_sink_batches_total", NULL, (double)atomic_load(&s->batches));
    prom_header(out, "flinkpg_sink_isolated_batches_total", "counter",
                "Batches replayed record by record after PostgreSQL refused a row");
    prom_sample(out, "flinkpg_sink_isolated_batches_total", NULL,
                (double)atomic_load(&s->slow_batches));
    prom_header(out, "flinkpg_sink_resyncs_total", "counter",
                "Times the sink dropped an uncommitted batch and resumed from stored offsets");
    prom_sample(out, "flinkpg_sink_resyncs_total", NULL, (double)atomic_load(&s->resyncs));
    prom_header(out, "flinkpg_sink_batch_seconds", "histogram", "Time to apply and commit a batch");
    unsigned long long cum = 0;
    for (size_t i = 0; i <= NBUCKETS; i++) {
        char labels[32];
        cum += atomic_load(&s->latency_bucket[i]);
        if (i < NBUCKETS)
            snprintf(labels, sizeof labels, "le=\"%g\"", latency_buckets[i]);
        else
            snprintf(labels, sizeof labels, "le=\"+Inf\"");
        prom_sample(out, "flinkpg_sink_batch_seconds_bucket", labels, (double)cum);
    }
    prom_sample(out, "flinkpg_sink_batch_seconds_sum", NULL,
                (double)atomic_load(&s->latency_sum_us) / 1e6);
    prom_sample(out, "flinkpg_sink_batch_seconds_count", NULL, (double)cum);
    prom_header(out, "flinkpg_sink_lag", "gauge",
                "Records in the topic not yet committed to PostgreSQL (all assigned partitions; "
                "-1 until first measured)");
    prom_sample(out, "flinkpg_sink_lag", NULL, (double)atomic_load(&s->lag));
    prom_header(out, "flinkpg_sink_postgres_up", "gauge", "1 while connected to PostgreSQL");
    prom_sample(out, "flinkpg_sink_postgres_up", NULL, atomic_load(&s->pg_up));
}

static bool is_ready(void *ctx, char *why, size_t whylen)
{
    (void)ctx;
    if (!atomic_load(&g_stats.pg_up)) {
        snprintf(why, whylen, "not connected to PostgreSQL");
        return false;
    }
    /* A member of the group that holds no partition is ready: more replicas
     * than partitions, or a new pod of a rolling update while the old one
     * still owns the partition (requiring a partition would deadlock that
     * rollout: the old pod goes only once the new one is ready). */
    if (!atomic_load(&g_stats.in_group)) {
        snprintf(why, whylen, "not in the consumer group yet (no assignment received)");
        return false;
    }
    return true;
}

/* ---- options ---- */

static cfg_opt options[] = {
    KAFKA_CFG_OPTIONS,
    {.name = "topic", .env = "SINK_TOPIC", .kind = OPT_STR, .group = "Kafka", .short_name = 't',
     .help = "the Flink statement's output topic (required)"},
    {.name = "group", .env = "SINK_GROUP", .kind = OPT_STR, .def = "flinkpg-sink",
     .group = "Kafka", .short_name = 'g', .help = "consumer group; also keys the stored offsets"},
    {.name = "start-from", .env = "SINK_START_FROM", .kind = OPT_STR, .def = "earliest",
     .group = "Kafka", .help = "where to start a partition with no stored offset: earliest or latest"},
    {.name = "postgres", .env = "POSTGRES_URL", .kind = OPT_STR, .def = "", .group = "PostgreSQL",
     .short_name = 'd', .secret = true,
     .help = "libpq connection string or URI; empty uses the PG* variables (PGHOST, PGPORT, "
             "PGDATABASE, PGUSER, PGPASSWORD)"},
    {.name = "connect-timeout", .env = "SINK_CONNECT_TIMEOUT", .kind = OPT_INT, .def = "60",
     .group = "PostgreSQL",
     .help = "seconds to keep retrying a server that does not answer, then exit 2 (0: forever); "
             "a refused password, a missing role or database, a bad connection string exit 2 at once"},
    {.name = "table", .env = "SINK_TABLE", .kind = OPT_STR, .group = "PostgreSQL",
     .short_name = 'T', .help = "target table, optionally schema-qualified (required)"},
    {.name = "key-columns", .env = "SINK_KEY_COLUMNS", .kind = OPT_STR, .group = "PostgreSQL",
     .help = "comma-separated key columns (default: the table's primary key)"},
    {.name = "create-table", .env = "SINK_CREATE_TABLE", .kind = OPT_BOOL, .def = "false",
     .group = "PostgreSQL", .help = "create the target table from --columns if it is missing"},
    {.name = "columns", .env = "SINK_COLUMNS", .kind = OPT_STR, .group = "PostgreSQL",
     .help = "column declarations for --create-table, e.g. \"order_id bigint, status text\""},
    {.name = "dlq-table", .env = "SINK_DLQ_TABLE", .kind = OPT_STR, .def = "flinkpg_dead_letters",
     .group = "PostgreSQL", .help = "dead-letter table (created if missing)"},
    {.name = "offsets-table", .env = "SINK_OFFSETS_TABLE", .kind = OPT_STR,
     .def = "flinkpg_sink_offsets", .group = "PostgreSQL",
     .help = "where consumed offsets commit with the rows (created if missing)"},
    {.name = "batches-table", .env = "SINK_BATCHES_TABLE", .kind = OPT_STR,
     .def = "flinkpg_sink_batches", .group = "PostgreSQL",
     .help = "audit log of committed offset ranges (created if missing)"},
    {.name = "encoding", .env = "SINK_ENCODING", .kind = OPT_STR, .group = "Decoding",
     .short_name = 'e',
     .help = "changelog encoding of the topic (required): upsert, retract (Confluent op "
             "header), debezium (Apache Flink debezium-json) or append"},
    {.name = "key-format", .env = "SINK_KEY_FORMAT", .kind = OPT_STR, .def = "json",
     .group = "Decoding", .help = "json, or registry (Schema Registry wire header + JSON)"},
    {.name = "value-format", .env = "SINK_VALUE_FORMAT", .kind = OPT_STR, .def = "json",
     .group = "Decoding", .help = "json, or registry (Schema Registry wire header + JSON)"},
    {.name = "max-record-bytes", .env = "SINK_MAX_RECORD_BYTES", .kind = OPT_INT,
     .def = "1048576", .group = "Decoding",
     .help = "keys or values larger than this go to the dead-letter table"},
    {.name = "policy", .env = "SINK_POLICY", .kind = OPT_STR, .def = "changelog",
     .group = "Applying", .short_name = 'p',
     .help = "changelog (honour the row kind), insert-all (every record a new row), or "
             "upsert-ignore-kind (upsert by key, delete on tombstones only, as Kafka Connect's "
             "JDBC sink does)"},
    {.name = "batch-size", .env = "SINK_BATCH_SIZE", .kind = OPT_INT, .def = "5000",
     .group = "Applying", .help = "records per transaction at most"},
    {.name = "batch-timeout-ms", .env = "SINK_BATCH_TIMEOUT_MS", .kind = OPT_INT, .def = "200",
     .group = "Applying", .help = "commit a partial batch after this long"},
    {.name = "http-listen", .env = "HTTP_LISTEN", .kind = OPT_STR, .def = "",
     .group = "Operations", .help = "serve /metrics, /healthz, /readyz on host:port (empty: off)"},
    {.name = "log-level", .env = "LOG_LEVEL", .kind = OPT_STR, .def = "info",
     .group = "Operations", .help = "debug (one line per change), info, warn or error"},
    {.name = "run-name", .env = "FLINKPG_RUN", .kind = OPT_STR, .def = "", .group = "Operations",
     .help = "name of the DemoRun, put on every log line"},
    {.name = "exit-at-eof", .env = "SINK_EXIT_AT_EOF", .kind = OPT_BOOL, .def = "false",
     .group = "Operations",
     .help = "commit and exit 0 once every assigned partition is read to its end"},
    {.name = "exit-idle-ms", .env = "SINK_EXIT_IDLE_MS", .kind = OPT_INT, .def = "0",
     .group = "Operations",
     .help = "commit and exit 0 after this long without a record (0: run until SIGTERM); "
             "exit 1 when no partition was ever assigned (Kafka unreachable, topic missing)"},
};

static const char *example =
    "  # Confluent Cloud retract topic into a local table, correct handling:\n"
    "  flinkpg-sink --bootstrap-servers pkc-xxxx.confluent.cloud:9092 \\\n"
    "      --api-key $KEY --api-secret $SECRET --topic orders_enriched \\\n"
    "      --encoding retract --key-format registry --value-format registry \\\n"
    "      --postgres 'host=localhost dbname=demo user=demo' --table orders_shipments\n"
    "  # the same topic, the way a plain JDBC sink in insert mode would do it:\n"
    "  flinkpg-sink ... --policy insert-all --table orders_shipments_naive\n"
    "  # everything from a .env file:\n"
    "  flinkpg-sink --env-file .env";

/* ---- the running sink ---- */

/* A batch and the Kafka messages its records point into. */
typedef struct {
    batch b;
    rd_kafka_message_t **msgs;
    size_t nmsgs, capmsgs;
    int64_t first_ms;
} slot;

typedef struct {
    cfg_spec cfg;
    sink_ctx s;
    decode_opts dopts;
    const char *conninfo;
    rd_kafka_t *rk;
    slot cur; /* filled by the poll loop */
    slot fly; /* applied by the applier thread */
    bool inflight; /* main thread: fly handed over, result not yet collected */
    /* hand-over to the applier; the fields below mu are guarded by it */
    pthread_t applier;
    bool applier_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool fly_submitted, fly_done, quit;
    apply_result fly_result;
    apply_outcome fly_out;
    int64_t fly_ms;
    int64_t last_msg_ms;
    int64_t active_start_ms, active_end_ms; /* first record seen, last commit */
    long long batch_size, batch_timeout_ms;
    int64_t connect_timeout_ms; /* 0: retry forever */
    int64_t start_offset;
    /* assigned partitions and whether each is read to its end */
    int32_t *parts;
    bool *eof;
    size_t nparts;
    bool ever_assigned;
    int exit_code;
} app;

static void drop_slot(app *a, slot *sl)
{
    for (size_t i = 0; i < sl->nmsgs; i++)
        rd_kafka_message_destroy(sl->msgs[i]);
    sl->nmsgs = 0;
    batch_clear(&sl->b, a->s.table.ncols);
}

/* Connect within --connect-timeout; a setting that can never work, or no
 * answer within the bound, ends the sink with exit 2 (a->exit_code) and one
 * line naming the setting.  NULL: stopped or given up. */
static PGconn *pg_connect(app *a)
{
    char err[1024];
    pg_connect_status st;
    PGconn *conn = pg_connect_bounded(a->conninfo, "sink database", a->connect_timeout_ms, &g_stop,
                                      &st, err, sizeof err);
    if (conn || st == PG_STOPPED)
        return conn;
    if (st == PG_REFUSED)
        log_error("pg_connect_failed", "setting=%s reason=refused error=%s",
                  lq(cfg_origin(&a->cfg, "postgres")), lq(err));
    else
        log_error("pg_connect_failed", "setting=%s reason=no_answer timeout_s=%lld error=%s",
                  lq(cfg_origin(&a->cfg, "connect-timeout")),
                  (long long)(a->connect_timeout_ms / 1000), lq(err));
    a->exit_code = 2;
    g_stop = 1; /* every loop ends; what was not committed is read again by the next sink */
    return NULL;
}

static bool reconnect(app *a)
{
    atomic_store(&g_stats.pg_up, 0);
    PQfinish(a->s.conn);
    a->s.conn = pg_connect(a);
    if (!a->s.conn)
        return false;
    a->s.prepared = false;
    char err[512];
    if (!apply_prepare(&a->s, err, sizeof err)) {
        log_error("pg_prepare_failed", "error=%s", lq(err));
        return false;
    }
    atomic_store(&g_stats.pg_up, 1);
    return true;
}

/* Positions for these partitions from PostgreSQL, reconnecting as needed. */
static bool load_positions(app *a, rd_kafka_topic_partition_list_t *parts)
{
    int32_t *ids = calloc((size_t)parts->cnt + 1, sizeof *ids);
    int64_t *next = calloc((size_t)parts->cnt + 1, sizeof *next);
    for (int i = 0; i < parts->cnt; i++)
        ids[i] = parts->elems[i].partition;
    bool ok = false;
    while (!g_stop) {
        char err[512];
        if (offsets_load(&a->s, ids, (size_t)parts->cnt, next, err, sizeof err)) {
            ok = true;
            break;
        }
        log_warn("offsets_unavailable", "error=%s", lq(err));
        if (!reconnect(a))
            break;
    }
    for (int i = 0; ok && i < parts->cnt; i++) {
        parts->elems[i].offset = next[i] >= 0 ? next[i] : a->start_offset;
        if (next[i] >= 0)
            log_info("partition_position", "topic=%s partition=%" PRId32 " next_offset=%" PRId64
                     " source=postgres", lq(a->s.topic), ids[i], next[i]);
        else
            log_info("partition_position", "topic=%s partition=%" PRId32 " next_offset=%s"
                     " source=start-from", lq(a->s.topic), ids[i],
                     a->start_offset == RD_KAFKA_OFFSET_END ? "latest" : "earliest");
    }
    free(ids);
    free(next);
    return ok;
}

static void set_assignment(app *a, rd_kafka_topic_partition_list_t *parts)
{
    free(a->parts);
    free(a->eof);
    a->nparts = parts ? (size_t)parts->cnt : 0;
    a->parts = calloc(a->nparts + 1, sizeof *a->parts);
    a->eof = calloc(a->nparts + 1, sizeof *a->eof);
    for (size_t i = 0; i < a->nparts; i++)
        a->parts[i] = parts->elems[i].partition;
    atomic_store(&g_stats.assigned, a->nparts > 0);
    if (a->nparts)
        a->ever_assigned = true;
}

static void flush_all(app *a);
static bool collect(app *a, bool wait);
static void update_lag(app *a);

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    app *a = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        collect(a, true); /* the connection is ours again before reading offsets */
        if (!load_positions(a, parts)) {
            rd_kafka_assign(rk, NULL);
            return;
        }
        rd_kafka_assign(rk, parts);
        set_assignment(a, parts);
        atomic_store(&g_stats.in_group, 1);
        log_info("partitions_assigned", "topic=%s count=%d", lq(a->s.topic), parts->cnt);
    } else {
        flush_all(a); /* commit what we hold for these partitions, or drop it */
        drop_slot(a, &a->cur);
        rd_kafka_assign(rk, NULL);
        set_assignment(a, NULL);
        log_info("partitions_revoked", "topic=%s count=%d", lq(a->s.topic), parts->cnt);
    }
}

/* Drop what is uncommitted and resume every assigned partition from
 * PostgreSQL's offsets. */
static void resync(app *a)
{
    atomic_fetch_add(&g_stats.resyncs, 1);
    drop_slot(a, &a->cur);
    if (PQstatus(a->s.conn) != CONNECTION_OK && !reconnect(a))
        return;
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(a->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return;
    if (parts->cnt > 0 && load_positions(a, parts)) {
        rd_kafka_assign(a->rk, parts);
        set_assignment(a, parts);
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

static void log_batch(app *a, const batch *b, const apply_outcome *o, int64_t ms)
{
    char ranges[256] = "";
    size_t off = 0;
    for (size_t p = 0; p < a->nparts && off < sizeof ranges - 48; p++) {
        int64_t lo = -1, hi = -1;
        for (size_t i = 0; i < b->nrecs; i++) {
            if (b->recs[i].partition != a->parts[p])
                continue;
            if (lo < 0 || b->recs[i].offset < lo)
                lo = b->recs[i].offset;
            if (b->recs[i].offset > hi)
                hi = b->recs[i].offset;
        }
        if (lo >= 0)
            off += (size_t)snprintf(ranges + off, sizeof ranges - off, "%s%" PRId32 ":%" PRId64
                                    "-%" PRId64, off ? "," : "", a->parts[p], lo, hi);
    }
    log_info("batch", "records=%zu +I=%llu -U=%llu +U=%llu -D=%llu upsert=%llu applied=%llu "
             "skipped=%llu dead_letters=%llu offsets=%s latency_ms=%" PRId64 "%s",
             b->nrecs, (unsigned long long)b->kinds[KIND_INSERT],
             (unsigned long long)b->kinds[KIND_UPDATE_BEFORE],
             (unsigned long long)b->kinds[KIND_UPDATE_AFTER],
             (unsigned long long)b->kinds[KIND_DELETE], (unsigned long long)b->kinds[KIND_UPSERT],
             (unsigned long long)o->applied, (unsigned long long)b->skipped,
             (unsigned long long)o->dead_letters, ranges[0] ? ranges : "-", ms,
             o->slow_path ? " isolated=true" : "");
}

static void record_latency(int64_t ms)
{
    double sec = (double)ms / 1000.0;
    size_t i = 0;
    while (i < NBUCKETS && sec > latency_buckets[i])
        i++;
    atomic_fetch_add(&g_stats.latency_bucket[i], 1);
    atomic_fetch_add(&g_stats.latency_sum_us, (unsigned long long)ms * 1000ULL);
}

/* Tell Kafka too (after PostgreSQL), for lag tooling only. */
static void commit_to_kafka(app *a)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)a->nparts + 1);
    for (size_t p = 0; p < a->nparts; p++) {
        int64_t next = offsets_stored(&a->s, a->parts[p]);
        if (next >= 0)
            rd_kafka_topic_partition_list_add(l, a->s.topic, a->parts[p])->offset = next;
    }
    if (l->cnt)
        rd_kafka_commit(a->rk, l, 1);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Account for an applied batch, or recover from its failure. */
static void finish(app *a, slot *sl, apply_result r, const apply_outcome *o, int64_t ms)
{
    batch *b = &sl->b;
    if (r == APPLY_OK) {
        for (int k = 0; k < KIND_COUNT; k++)
            atomic_fetch_add(&g_stats.kinds[k], b->kinds[k]);
        atomic_fetch_add(&g_stats.applied, o->applied);
        atomic_fetch_add(&g_stats.skipped, b->skipped);
        atomic_fetch_add(&g_stats.dead_letters, o->dead_letters);
        atomic_fetch_add(&g_stats.batches, 1);
        if (o->slow_path)
            atomic_fetch_add(&g_stats.slow_batches, 1);
        record_latency(ms);
        log_batch(a, b, o, ms);
        for (size_t i = 0; i < b->ndlq; i++) {
            const batch_record *rec = &b->recs[b->dlq[i].rec];
            log_warn("dead_letter", "partition=%" PRId32 " offset=%" PRId64 " reason=%s",
                     rec->partition, rec->offset, lq(b->dlq[i].reason));
        }
        drop_slot(a, sl);
        commit_to_kafka(a);
        a->active_end_ms = now_ms();
        update_lag(a);
        return;
    }
    size_t n = b->nrecs;
    drop_slot(a, sl);
    if (r == APPLY_FATAL) {
        log_error("batch_failed", "records=%zu error=%s", n, lq(o->error));
        a->exit_code = 1;
        g_stop = 1;
        drop_slot(a, &a->cur);
        return;
    }
    /* the batch being filled holds records after the failed one: resync
     * drops it too and resumes every partition from PostgreSQL */
    log_warn("batch_not_committed", "records=%zu error=%s action=resume_from_postgres", n,
             lq(o->error));
    resync(a);
}

static void *applier_main(void *arg)
{
    app *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->fly_submitted && !a->quit)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->quit)
            break;
        a->fly_submitted = false;
        pthread_mutex_unlock(&a->mu);
        int64_t t0 = now_ms();
        apply_result r = apply_batch(&a->s, &a->fly.b, &a->fly_out);
        int64_t ms = now_ms() - t0;
        pthread_mutex_lock(&a->mu);
        a->fly_result = r;
        a->fly_ms = ms;
        a->fly_done = true;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Take the result of the batch in flight.  wait=false returns false when it
 * is not done yet; true means nothing is in flight any more. */
static bool collect(app *a, bool wait)
{
    if (!a->inflight)
        return true;
    pthread_mutex_lock(&a->mu);
    if (!a->fly_done && !wait) {
        pthread_mutex_unlock(&a->mu);
        return false;
    }
    while (!a->fly_done)
        pthread_cond_wait(&a->cv, &a->mu);
    a->fly_done = false;
    pthread_mutex_unlock(&a->mu);
    a->inflight = false;
    finish(a, &a->fly, a->fly_result, &a->fly_out, a->fly_ms);
    return true;
}

/* Hand the batch being filled to the applier (after the previous one). */
static void submit(app *a)
{
    if (a->cur.b.nrecs == 0)
        return;
    collect(a, true);
    if (a->cur.b.nrecs == 0 || a->exit_code)
        return; /* the previous batch failed and took this one with it */
    slot empty = a->fly;
    a->fly = a->cur;
    a->cur = empty;
    a->inflight = true;
    pthread_mutex_lock(&a->mu);
    a->fly_submitted = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

/* Apply everything held, and wait for it. */
static void flush_all(app *a)
{
    submit(a);
    collect(a, true);
}

static char *headers_json(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs)
        return NULL;
    json_t *arr = json_array();
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
        char *hex = malloc(size * 2 + 1);
        for (size_t j = 0; j < size; j++)
            snprintf(hex + j * 2, 3, "%02x", ((const unsigned char *)val)[j]);
        hex[size * 2] = '\0';
        json_t *k = json_string(name);
        json_array_append_new(arr, json_pack("{s:o,s:s}", "key", k ? k : json_null(), "hex",
                                             val ? hex : ""));
        free(hex);
    }
    char *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return out;
}

static void add_message(app *a, rd_kafka_message_t *m)
{
    slot *sl = &a->cur;
    if (sl->nmsgs == sl->capmsgs) {
        sl->capmsgs = sl->capmsgs ? sl->capmsgs * 2 : 1024;
        sl->msgs = realloc(sl->msgs, sl->capmsgs * sizeof *sl->msgs);
        if (!sl->msgs)
            abort();
    }
    sl->msgs[sl->nmsgs++] = m;
    if (sl->b.nrecs == 0)
        sl->first_ms = now_ms();
    if (!a->active_start_ms)
        a->active_start_ms = sl->first_ms;
    atomic_fetch_add(&g_stats.consumed, 1);

    batch *b = &sl->b;
    uint32_t idx = (uint32_t)b->nrecs;
    batch_record *rec = batch_add_record(b);
    rec->partition = m->partition;
    rec->offset = m->offset;
    rec->key = m->key;
    rec->key_len = m->key_len;
    rec->value = m->payload;
    rec->value_len = m->len;
    rec->headers_json = headers_json(m);

    raw_record raw = {m->key, m->key_len, m->payload, m->len, false, NULL, 0};
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs &&
        rd_kafka_header_get_last(hdrs, "op", &raw.op, &raw.op_len) == RD_KAFKA_RESP_ERR_NO_ERROR)
        raw.has_op = true;

    change ch[2];
    char reason[512];
    int n = decode_record(&a->dopts, &raw, ch, reason, sizeof reason);
    if (n < 0) {
        batch_add_dead(b, idx, reason);
        return;
    }
    size_t before = b->nacts;
    plan_record(&a->s, b, idx, ch, n);
    if (log_enabled(LOG_DEBUG)) {
        for (size_t i = before; i < b->nacts; i++) {
            static const char *acts[] = {"upsert", "delete_key", "insert", "delete_one"};
            log_debug("change", "partition=%" PRId32 " offset=%" PRId64 " kind=%s action=%s",
                      m->partition, m->offset, row_kind_symbol(ch[i - before].kind),
                      acts[b->acts[i].type]);
        }
    }
    for (int i = 0; i < n; i++)
        change_clear(&ch[i]);
}

static void update_lag(app *a)
{
    long long lag = 0;
    for (size_t p = 0; p < a->nparts; p++) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(a->rk, a->s.topic, a->parts[p], &lo, &hi) !=
                RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0)
            continue;
        /* At the end of a partition with nothing pending, nothing readable is
         * left: the offsets between the stored position and the high
         * watermark are transaction commit markers (Flink's exactly-once
         * sinks write one per checkpoint) or aborted records, which a
         * read_committed consumer never receives. */
        if (a->eof[p] && a->cur.b.nrecs == 0 && !a->inflight)
            continue;
        int64_t pos = offsets_stored(&a->s, a->parts[p]);
        lag += hi - (pos >= 0 ? pos : lo);
    }
    atomic_store(&g_stats.lag, lag);
}

static bool all_at_eof(app *a)
{
    if (!a->ever_assigned || a->nparts == 0)
        return false;
    for (size_t i = 0; i < a->nparts; i++)
        if (!a->eof[i])
            return false;
    return true;
}

static void mark_eof(app *a, int32_t partition, bool eof)
{
    for (size_t i = 0; i < a->nparts; i++)
        if (a->parts[i] == partition)
            a->eof[i] = eof;
}

/* ---- start-up ---- */

static void versions(void)
{
    libversion_rdkafka();
    libversion_pq();
    libversion_jansson();
    libversion_mhd();
}

static int fail_usage(const char *msg)
{
    fprintf(stderr, "flinkpg-sink: %s\n", msg);
    return 2;
}

static int setup(app *a, int argc, char **argv)
{
    char err[1024];
    a->cfg = (cfg_spec){.prog = "flinkpg-sink",
                        .summary = "apply a Flink changelog topic to a PostgreSQL table, exactly once",
                        .usage_example = example,
                        .usage = "flinkpg-sink -t TOPIC -T TABLE -e upsert|retract|debezium|append [options]",
                        .versions = versions,
                        .opts = options,
                        .nopts = sizeof options / sizeof options[0]};
    cfg_result cr = cfg_parse(&a->cfg, argc, argv, err, sizeof err);
    if (cr == CFG_HELP)
        return -1;
    if (cr == CFG_ERROR) {
        size_t n = strlen(err);
        snprintf(err + n, sizeof err - n, " (see --help)");
        return fail_usage(err);
    }
    cfg_spec *c = &a->cfg;
    if (argc == 1 && !cfg_any_set(c))
        return cfg_usage_hint(c); /* nothing given at all: how to start */
    log_init("sink", cfg_str(c, "run-name"));
    log_level lvl;
    if (!log_parse_level(cfg_str(c, "log-level"), &lvl))
        return fail_usage(cfg_invalid(c, "log-level", "is not one of debug, info, warn, error", err, sizeof err));
    log_set_level(lvl);

    if (!cfg_str(c, "topic") || !*cfg_str(c, "topic"))
        return fail_usage("--topic (or SINK_TOPIC) is required");
    if (!cfg_str(c, "table") || !*cfg_str(c, "table"))
        return fail_usage("--table (or SINK_TABLE) is required");
    const char *enc = cfg_str(c, "encoding");
    if (!enc || !*enc)
        return fail_usage("--encoding (or SINK_ENCODING) is required: one of upsert, retract, debezium, append");
    if (!encoding_parse(enc, &a->s.encoding))
        return fail_usage(cfg_invalid(c, "encoding", "is not one of upsert, retract, debezium, append", err, sizeof err));
    if (!policy_parse(cfg_str(c, "policy"), &a->s.policy))
        return fail_usage(cfg_invalid(c, "policy", "is not one of changelog, insert-all, upsert-ignore-kind", err, sizeof err));
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "value-format" : "key-format";
        const char *v = cfg_str(c, name);
        if (strcmp(v, "json") && strcmp(v, "registry"))
            return fail_usage(cfg_invalid(c, name, "is not one of json, registry", err, sizeof err));
    }
    const char *from = cfg_str(c, "start-from");
    if (strcmp(from, "earliest") && strcmp(from, "latest"))
        return fail_usage(cfg_invalid(c, "start-from", "is not one of earliest, latest", err, sizeof err));
    a->start_offset = strcmp(from, "latest") ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    a->batch_size = cfg_int(c, "batch-size");
    a->batch_timeout_ms = cfg_int(c, "batch-timeout-ms");
    if (a->batch_size < 1 || a->batch_size > 1000000)
        return fail_usage(cfg_invalid(c, "batch-size", "is not between 1 and 1000000", err, sizeof err));
    if (a->batch_timeout_ms < 1)
        return fail_usage(cfg_invalid(c, "batch-timeout-ms", "is not at least 1", err, sizeof err));
    if (cfg_int(c, "max-record-bytes") < 0)
        return fail_usage(cfg_invalid(c, "max-record-bytes", "is negative", err, sizeof err));
    a->connect_timeout_ms = cfg_int(c, "connect-timeout") * 1000;
    if (a->connect_timeout_ms < 0)
        return fail_usage(cfg_invalid(c, "connect-timeout", "is negative (0: retry forever)", err, sizeof err));
    /* a connection string PostgreSQL's own parser refuses can never work */
    char *perr = NULL;
    PQconninfoOption *parsed = PQconninfoParse(cfg_str(c, "postgres") ? cfg_str(c, "postgres") : "", &perr);
    if (!parsed) {
        snprintf(err, sizeof err, "%s: %s", cfg_origin(c, "postgres"), perr ? perr : "out of memory");
        pg_trim_message(err);
        PQfreemem(perr);
        return fail_usage(err);
    }
    PQconninfoFree(parsed);

    a->s.group = cfg_str(c, "group");
    a->s.topic = cfg_str(c, "topic");
    a->conninfo = cfg_str(c, "postgres");

    /* Kafka configuration errors are usage errors: check before touching PostgreSQL */
    rd_kafka_conf_t *kc = kafka_conf_from_cfg(c, err, sizeof err);
    if (!kc)
        return fail_usage(err);
    /* A member that dies without leaving (kill -9, OOM kill, node loss) holds
     * its partitions until the broker's session timeout: librdkafka's 45 s
     * default is a minute of lag.  6 s is the broker's default minimum
     * (group.min.session.timeout.ms); heartbeats at a third of it.  -X wins. */
    static const char *const group_defaults[][2] = {{"session.timeout.ms", "6000"},
                                                    {"heartbeat.interval.ms", "2000"}};
    for (size_t i = 0; i < sizeof group_defaults / sizeof group_defaults[0]; i++)
        if (!kafka_prop_given(c, group_defaults[i][0]) &&
            !kafka_conf_set(kc, group_defaults[i][0], group_defaults[i][1], err, sizeof err)) {
            rd_kafka_conf_destroy(kc);
            return fail_usage(err);
        }
    if (!kafka_conf_set(kc, "group.id", a->s.group, err, sizeof err) ||
        !kafka_conf_set(kc, "enable.auto.commit", "false", err, sizeof err) ||
        !kafka_conf_set(kc, "enable.auto.offset.store", "false", err, sizeof err) ||
        !kafka_conf_set(kc, "enable.partition.eof", "true", err, sizeof err) ||
        !kafka_conf_set(kc, "partition.assignment.strategy", "range,roundrobin", err, sizeof err)) {
        rd_kafka_conf_destroy(kc);
        return fail_usage(err);
    }
    rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
    rd_kafka_conf_set_opaque(kc, a);
    /* create the client now: librdkafka checks the whole configuration here,
     * and a bad property is a usage error, reported before PostgreSQL is
     * touched.  The rebalance callback only runs inside consumer_poll. */
    a->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof err);
    if (!a->rk) {
        rd_kafka_conf_destroy(kc); /* not taken over on failure */
        return fail_usage(err);
    }
    rd_kafka_poll_set_consumer(a->rk);

    log_info("sink_starting", "topic=%s group=%s table=%s encoding=%s policy=%s batch_size=%lld",
             lq(a->s.topic), lq(a->s.group), lq(cfg_str(c, "table")), encoding_name(a->s.encoding),
             policy_name(a->s.policy), a->batch_size);

    a->s.conn = pg_connect(a);
    if (!a->s.conn)
        return a->exit_code ? a->exit_code : -1; /* -1: stopped while waiting, a clean exit */
    a->s.q_dlq = pg_quote_qualified(a->s.conn, cfg_str(c, "dlq-table"));
    a->s.q_offsets = pg_quote_qualified(a->s.conn, cfg_str(c, "offsets-table"));
    a->s.q_batches = pg_quote_qualified(a->s.conn, cfg_str(c, "batches-table"));
    if (cfg_bool(c, "create-table") &&
        !table_create(a->s.conn, cfg_str(c, "table"), cfg_str(c, "columns"),
                      cfg_str(c, "key-columns"), err, sizeof err)) {
        log_error("create_table_failed", "table=%s error=%s", lq(cfg_str(c, "table")), lq(err));
        return 2;
    }
    if (!table_load(a->s.conn, cfg_str(c, "table"), cfg_str(c, "key-columns"), &a->s.table, err,
                    sizeof err) ||
        !plan_check(&a->s, err, sizeof err) || !offsets_ensure_tables(&a->s, err, sizeof err)) {
        log_error("startup_failed", "error=%s", lq(err));
        fprintf(stderr, "flinkpg-sink: %s\n", err);
        return 2;
    }
    if (a->s.table.nkeys > 64)
        return fail_usage("at most 64 key columns are supported");
    a->s.strategy = plan_strategy(&a->s);
    if (!apply_prepare(&a->s, err, sizeof err)) {
        log_error("startup_failed", "error=%s", lq(err));
        return 2;
    }
    atomic_store(&g_stats.pg_up, 1);
    static const char *strategies[] = {"copy+merge", "copy", "pipeline"};
    strbuf keys;
    sb_init(&keys);
    for (size_t k = 0; k < a->s.table.nkeys; k++)
        sb_printf(&keys, "%s%s", k ? "," : "", a->s.table.cols[a->s.table.keys[k]].name);
    log_info("table_ready", "table=%s columns=%zu keys=%s unique_key=%s strategy=%s",
             lq(a->s.table.name), a->s.table.ncols, keys.len ? sb_str(&keys) : "-",
             a->s.table.unique_key ? "true" : "false", strategies[a->s.strategy]);
    sb_free(&keys);

    const char *key_cols[64];
    for (size_t k = 0; k < a->s.table.nkeys; k++)
        key_cols[k] = a->s.table.cols[a->s.table.keys[k]].name;
    static const char *stored_keys[64];
    memcpy(stored_keys, key_cols, sizeof key_cols);
    a->dopts = (decode_opts){.encoding = a->s.encoding,
                             .key_registry = !strcmp(cfg_str(c, "key-format"), "registry"),
                             .value_registry = !strcmp(cfg_str(c, "value-format"), "registry"),
                             .max_bytes = (size_t)cfg_int(c, "max-record-bytes"),
                             .key_columns = stored_keys,
                             .nkeys = a->s.table.nkeys};

    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, a->s.topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(a->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        log_error("subscribe_failed", "topic=%s error=%s", lq(a->s.topic), rd_kafka_err2str(e));
        return 2;
    }
    return 0;
}

/* Release everything, whatever state start-up reached. */
static void teardown(app *a)
{
    if (a->applier_started) {
        pthread_mutex_lock(&a->mu);
        a->quit = true;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->applier, NULL);
    }
    drop_slot(a, &a->cur);
    drop_slot(a, &a->fly);
    if (a->rk)
        rd_kafka_destroy(a->rk);
    PQfinish(a->s.conn);
    table_free(&a->s.table);
    free(a->s.q_dlq);
    free(a->s.q_offsets);
    free(a->s.q_batches);
    free(a->s.sql_copy);
    free(a->s.sql_merge);
    free(a->s.stored);
    free(a->cur.msgs);
    free(a->fly.msgs);
    free(a->parts);
    free(a->eof);
    batch_free(&a->cur.b, 0);
    batch_free(&a->fly.b, 0);
    cfg_free(&a->cfg);
}

int main(int argc, char **argv)
{
    static app a;
    batch_init(&a.cur.b);
    batch_init(&a.fly.b);
    pthread_mutex_init(&a.mu, NULL);
    atomic_store(&g_stats.lag, -1); /* unknown, not "caught up", until measured */
    pthread_cond_init(&a.cv, NULL);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* setup: 0 = run, -1 = exit 0 now (help, or stopped while waiting), else the exit code */
    int rc = setup(&a, argc, argv);
    if (rc != 0) {
        teardown(&a);
        return rc < 0 ? 0 : rc;
    }

    if (pthread_create(&a.applier, NULL, applier_main, &a) != 0) {
        log_error("thread_failed", "what=applier");
        teardown(&a);
        return 1;
    }
    a.applier_started = true;

    httpd *srv = NULL;
    const char *listen = cfg_str(&a.cfg, "http-listen");
    if (listen && *listen) {
        char err[256];
        httpd_handlers h = {.metrics = render_metrics, .ready = is_ready, .ctx = &a};
        srv = httpd_start(listen, &h, err, sizeof err);
        if (!srv) {
            log_error("http_failed", "listen=%s error=%s", lq(listen), lq(err));
            return 2;
        }
        log_info("http_listening", "listen=%s port=%d", lq(listen), httpd_port(srv));
    }

    long long idle_ms = cfg_int(&a.cfg, "exit-idle-ms");
    bool exit_at_eof = cfg_bool(&a.cfg, "exit-at-eof");
    int64_t last_lag = 0, last_probe = now_ms(), started = now_ms(), last_wait_log = started - 30000;
    a.last_msg_ms = now_ms();
    const char *stop_reason = "signal";
    while (!g_stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a.rk, 100);
        if (m) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                mark_eof(&a, m->partition, true);
                rd_kafka_message_destroy(m);
            } else if (m->err) {
                log_warn("kafka_consume_error", "code=%s error=%s", rd_kafka_err2name(m->err),
                         lq(rd_kafka_message_errstr(m)));
                rd_kafka_message_destroy(m);
            } else {
                mark_eof(&a, m->partition, false);
                a.last_msg_ms = now_ms();
                add_message(&a, m);
            }
        }
        int64_t now = now_ms();
        collect(&a, false);
        size_t held = a.cur.b.nrecs;
        if ((long long)held >= a.batch_size || (held && now - a.cur.first_ms >= a.batch_timeout_ms) ||
            (held && all_at_eof(&a)))
            submit(&a);
        bool idle = !a.inflight && a.cur.b.nrecs == 0;
        if (idle && now - last_probe >= 2000) {
            /* idle: make sure PostgreSQL is still there, so readiness tells
             * the truth and an outage is noticed before the next batch */
            last_probe = now;
            PGresult *r = PQexec(a.s.conn, "");
            bool alive = PQresultStatus(r) == PGRES_EMPTY_QUERY;
            PQclear(r);
            if (!alive) {
                log_warn("pg_connection_lost", "error=%s", lq(PQerrorMessage(a.s.conn)));
                atomic_store(&g_stats.pg_up, 0);
                resync(&a);
            }
        }
        if (!a.inflight && now - last_lag >= 1000) {
            update_lag(&a);
            last_lag = now;
        }
        if (exit_at_eof && idle && all_at_eof(&a)) {
            stop_reason = "eof";
            break;
        }
        if (!a.ever_assigned && now - last_wait_log >= 30000) {
            /* once at once, then every 30 s: a sink that never gets a partition
             * (Kafka unreachable, topic missing, more replicas than partitions)
             * says so instead of sitting silent */
            log_info("waiting_for_assignment", "topic=%s group=%s waited_ms=%" PRId64, lq(a.s.topic),
                     lq(cfg_str(&a.cfg, "group")), now - started);
            last_wait_log = now;
        }
        if (idle_ms > 0 && idle && now - a.last_msg_ms >= idle_ms) {
            /* also without any assignment: the bound holds when Kafka is never reached */
            stop_reason = a.ever_assigned ? "idle" : "idle_never_assigned";
            if (!a.ever_assigned)
                a.exit_code = 1; /* nothing was read: not a success */
            break;
        }
    }
    if (a.exit_code == 2)
        stop_reason = "postgres_given_up";
    /* finish the batch in hand; if PostgreSQL is gone, it stays uncommitted
     * and will be read again — never lost, never applied twice */
    flush_all(&a);
    update_lag(&a);
    rd_kafka_consumer_close(a.rk);
    httpd_stop(srv);
    int64_t active = a.active_end_ms > a.active_start_ms ? a.active_end_ms - a.active_start_ms : 0;
    unsigned long long consumed = atomic_load(&g_stats.consumed);
    log_info("sink_stopped",
             "reason=%s active_ms=%" PRId64 " rate_per_s=%.0f records=%llu applied=%llu skipped=%llu dead_letters=%llu batches=%llu "
             "resyncs=%llu +I=%llu -U=%llu +U=%llu -D=%llu upsert=%llu lag=%lld exit_code=%d",
             stop_reason, active, active ? (double)consumed * 1000.0 / (double)active : 0.0,
             consumed, atomic_load(&g_stats.applied),
             atomic_load(&g_stats.skipped), atomic_load(&g_stats.dead_letters),
             atomic_load(&g_stats.batches), atomic_load(&g_stats.resyncs),
             atomic_load(&g_stats.kinds[KIND_INSERT]),
             atomic_load(&g_stats.kinds[KIND_UPDATE_BEFORE]),
             atomic_load(&g_stats.kinds[KIND_UPDATE_AFTER]), atomic_load(&g_stats.kinds[KIND_DELETE]),
             atomic_load(&g_stats.kinds[KIND_UPSERT]), (long long)atomic_load(&g_stats.lag),
             a.exit_code);
    teardown(&a);
    return a.exit_code;
}
