/*
 * flinkpg-generator — the demo's input events, the table they must produce,
 * and a CDC-style poll source.
 *
 * Three modes:
 *   scenario (default)  build the scenario's events (from --seed, or a
 *                       --scenario-file), register schemas when --format
 *                       registry, produce them (paced by --rate / --burst,
 *                       cut by --count / --duration-s), then write the
 *                       expected final table of exactly the events sent;
 *   --source postgres|http
 *                       poll an external source every --poll-interval-ms
 *                       and publish each new/changed/deleted item once;
 *                       a poll's cursor and hashes are saved only after
 *                       all its records are acknowledged by Kafka;
 *   --validate          compare --target-table with its expected table and
 *                       print the numbers of sql/validate.sql; exit 1 on FAIL.
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#define FLINKPG_WITH_RDKAFKA
#define FLINKPG_WITH_PQ
#define FLINKPG_WITH_JANSSON
#define FLINKPG_WITH_CURL
#define FLINKPG_WITH_MHD
#include "../common/libversions.h"
#include "../common/backoff.h"
#include "../common/config.h"
#include "../common/httpd.h"
#include "../common/kafkaconf.h"
#include "../common/log.h"
#include "../common/pgutil.h"
#include "../common/schemareg.h"
#include "../common/validate.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static cfg_opt options[] = {
    KAFKA_CFG_OPTIONS,
    {.name = "orders-topic", .env = "ORDERS_TOPIC", .kind = OPT_STR, .def = "orders",
     .group = "Topics", .help = "topic of the order events"},
    {.name = "shipments-topic", .env = "SHIPMENTS_TOPIC", .kind = OPT_STR, .def = "shipments",
     .group = "Topics", .help = "topic of the shipment events"},
    {.name = "format", .env = "GEN_FORMAT", .kind = OPT_STR, .def = "json", .group = "Topics",
     .help = "json, or registry: Schema Registry JSON (wire header + JSON, schemas registered "
             "for <topic>-key and <topic>-value)"},
    {.name = "schema-registry-url", .env = "SCHEMA_REGISTRY_URL", .kind = OPT_STR,
     .group = "Topics", .help = "Schema Registry URL, for --format registry"},
    {.name = "schema-registry-key", .env = "SCHEMA_REGISTRY_API_KEY", .kind = OPT_STR,
     .group = "Topics", .help = "Schema Registry API key (HTTP Basic user)"},
    {.name = "schema-registry-secret", .env = "SCHEMA_REGISTRY_API_SECRET", .kind = OPT_STR,
     .group = "Topics", .secret = true, .help = "Schema Registry API secret; never logged"},

    {.name = "seed", .env = "GEN_SEED", .kind = OPT_INT, .def = "1", .group = "Scenario",
     .short_name = 's', .help = "the scenario's seed: same seed and knobs, same bytes"},
    {.name = "orders", .env = "GEN_ORDERS", .kind = OPT_INT, .def = "1000", .group = "Scenario",
     .short_name = 'n', .help = "orders to create"},
    {.name = "max-shipments", .env = "GEN_MAX_SHIPMENTS", .kind = OPT_INT, .def = "3",
     .group = "Scenario", .help = "shipments per shipped order: 1 to this many"},
    {.name = "no-shipment-pct", .env = "GEN_NO_SHIPMENT_PCT", .kind = OPT_INT, .def = "20",
     .group = "Scenario", .help = "% of orders that never ship (null-padded join rows)"},
    {.name = "amend-pct", .env = "GEN_AMEND_PCT", .kind = OPT_INT, .def = "30",
     .group = "Scenario", .help = "% of orders amended once or twice (new quantity and amount)"},
    {.name = "cancel-pct", .env = "GEN_CANCEL_PCT", .kind = OPT_INT, .def = "10",
     .group = "Scenario", .help = "% of orders cancelled (tombstone on the orders topic)"},
    {.name = "shipment-cancel-pct", .env = "GEN_SHIPMENT_CANCEL_PCT", .kind = OPT_INT,
     .def = "10", .group = "Scenario", .help = "% of shipments cancelled (tombstone)"},
    {.name = "early-shipment-pct", .env = "GEN_EARLY_SHIPMENT_PCT", .kind = OPT_INT, .def = "15",
     .group = "Scenario",
     .help = "% of shipped orders whose first shipment is published before the order"},
    {.name = "scenario-file", .env = "GEN_SCENARIO_FILE", .kind = OPT_STR, .group = "Scenario",
     .help = "hand-written events instead of the seed: JSON lines "
             "{\"topic\":\"orders\",\"key\":{...},\"value\":{...}|null}"},
    {.name = "count", .env = "GEN_COUNT", .kind = OPT_INT, .def = "0", .group = "Pacing",
     .short_name = 'c', .help = "stop after this many events (0: the whole scenario)"},
    {.name = "duration-s", .env = "GEN_DURATION_S", .kind = OPT_INT, .def = "0",
     .group = "Pacing", .help = "stop after this many seconds (0: no limit)"},
    {.name = "rate", .env = "GEN_RATE", .kind = OPT_INT, .def = "0", .group = "Pacing",
     .short_name = 'r', .help = "events per second (0: as fast as Kafka takes them)"},
    {.name = "burst", .env = "GEN_BURST", .kind = OPT_INT, .def = "0", .group = "Pacing",
     .help = "send this many events at once, then pause --burst-interval-ms (0: off)"},
    {.name = "burst-interval-ms", .env = "GEN_BURST_INTERVAL_MS", .kind = OPT_INT,
     .def = "1000", .group = "Pacing", .help = "pause between bursts"},
    {.name = "delivery-timeout", .env = "GEN_DELIVERY_TIMEOUT", .kind = OPT_INT, .def = "30",
     .group = "Pacing",
     .help = "seconds an event may wait for Kafka before it counts as failed (librdkafka's "
             "message.timeout.ms unless -X sets it); bounds a run whose Kafka is unreachable"},
    {.name = "dry-run", .env = "GEN_DRY_RUN", .kind = OPT_BOOL, .def = "false",
     .group = "Pacing", .help = "produce nothing; only write the expected table / events file"},

    {.name = "postgres", .env = "POSTGRES_URL", .kind = OPT_STR, .def = "", .group = "Expected",
     .short_name = 'd', .secret = true,
     .help = "libpq connection string for the expected table and --validate; empty uses PG*"},
    {.name = "connect-timeout", .env = "GEN_CONNECT_TIMEOUT", .kind = OPT_INT, .def = "60",
     .group = "Expected",
     .help = "seconds to retry a PostgreSQL that does not answer before anything is produced, "
             "then exit 2 (0: forever); a refused password or a missing database exit 2 at once"},
    {.name = "target-table", .env = "GEN_TARGET_TABLE", .kind = OPT_STR, .group = "Expected",
     .short_name = 'T',
     .help = "the demo's target table; its expected table defaults to expected_<target>"},
    {.name = "expected-table", .env = "GEN_EXPECTED_TABLE", .kind = OPT_STR, .group = "Expected",
     .help = "write the expected final table here (replaced), columns of "
             "sql/postgres/orders_shipments.sql"},
    {.name = "expected-file", .env = "GEN_EXPECTED_FILE", .kind = OPT_STR, .group = "Expected",
     .help = "write the expected final table as a JSON array to this file"},
    {.name = "events-file", .env = "GEN_EVENTS_FILE", .kind = OPT_STR, .group = "Expected",
     .help = "write every event sent as a line topic<TAB>key<TAB>value (value empty: tombstone)"},
    {.name = "validate", .env = "GEN_VALIDATE", .kind = OPT_BOOL, .def = "false",
     .group = "Expected",
     .help = "compare --target-table with the expected table, print the numbers, exit 1 on FAIL"},

    {.name = "source", .env = "GEN_SOURCE", .kind = OPT_STR, .def = "scenario", .group = "Poll source",
     .help = "scenario, postgres (poll a table) or http (poll a JSON endpoint)"},
    {.name = "topic", .env = "GEN_TOPIC", .kind = OPT_STR, .group = "Poll source", .short_name = 't',
     .help = "topic the poll source publishes to (required with --source)"},
    {.name = "source-postgres", .env = "SOURCE_POSTGRES_URL", .kind = OPT_STR, .def = "",
     .group = "Poll source", .secret = true,
     .help = "libpq connection string of the source database; empty uses PG*"},
    {.name = "source-table", .env = "SOURCE_TABLE", .kind = OPT_STR, .group = "Poll source",
     .help = "table to poll (postgres)"},
    {.name = "source-key", .env = "SOURCE_KEY", .kind = OPT_STR, .group = "Poll source",
     .help = "key: comma-separated columns (postgres, default: the primary key) or the item "
             "field (http, required)"},
    {.name = "source-cursor", .env = "SOURCE_CURSOR", .kind = OPT_STR, .group = "Poll source",
     .help = "column that grows with every change, e.g. updated_at or an increasing id (postgres)"},
    {.name = "source-soft-delete", .env = "SOURCE_SOFT_DELETE", .kind = OPT_STR,
     .group = "Poll source", .help = "boolean column: true publishes a tombstone (postgres)"},
    {.name = "source-url", .env = "SOURCE_URL", .kind = OPT_STR, .group = "Poll source",
     .secret = true, .help = "HTTP(S) JSON endpoint to poll (http); not logged"},
    {.name = "source-items", .env = "SOURCE_ITEMS", .kind = OPT_STR, .group = "Poll source",
     .help = "member of the response object holding the items (http; default: the body is "
             "the array, or an object of items)"},
    {.name = "source-user", .env = "SOURCE_USER", .kind = OPT_STR, .group = "Poll source",
     .help = "HTTP Basic user for --source-url"},
    {.name = "source-password", .env = "SOURCE_PASSWORD", .kind = OPT_STR, .group = "Poll source",
     .secret = true, .help = "HTTP Basic password for --source-url; never logged"},
    {.name = "state-file", .env = "GEN_STATE_FILE", .kind = OPT_STR, .group = "Poll source",
     .help = "where the cursor and content hashes survive restarts (required with --source)"},
    {.name = "poll-interval-ms", .env = "GEN_POLL_INTERVAL_MS", .kind = OPT_INT, .def = "1000",
     .group = "Poll source", .help = "pause between polls"},
    {.name = "max-polls", .env = "GEN_MAX_POLLS", .kind = OPT_INT, .def = "0",
     .group = "Poll source", .help = "exit after this many successful polls (0: until SIGTERM)"},

    {.name = "http-listen", .env = "HTTP_LISTEN", .kind = OPT_STR, .def = "",
     .group = "Operations", .help = "serve /metrics, /healthz, /readyz on host:port (empty: off)"},
    {.name = "log-level", .env = "LOG_LEVEL", .kind = OPT_STR, .def = "info",
     .group = "Operations", .help = "debug, info, warn or error"},
    {.name = "run-name", .env = "FLINKPG_RUN", .kind = OPT_STR, .def = "", .group = "Operations",
     .help = "name of the DemoRun, put on every log line"},
    {.name = "progress", .env = "GEN_PROGRESS", .kind = OPT_STR, .def = "auto",
     .group = "Operations", .help = "progress line on stderr: auto (when a terminal), always, never"},
};

static const char *example =
    "  # the demo's events for seed 42 into a local Kafka, expected table into PostgreSQL:\n"
    "  flinkpg-generator -b localhost:9092 --seed 42 --orders 5000 \\\n"
    "      --postgres 'host=localhost dbname=demo' --target-table orders_shipments\n"
    "  # Confluent Cloud, json-registry tables, 200 events/s:\n"
    "  flinkpg-generator -b pkc-xxxx.confluent.cloud:9092 --api-key $KEY --api-secret $SECRET \\\n"
    "      --format registry --schema-registry-url https://psrc-xxxx.confluent.cloud \\\n"
    "      --schema-registry-key $SR_KEY --schema-registry-secret $SR_SECRET --rate 200\n"
    "  # after the run: compare the sink's table with the expectation\n"
    "  flinkpg-generator --validate --target-table orders_shipments\n"
    "  # CDC: publish the changes of a PostgreSQL table\n"
    "  flinkpg-generator --source postgres --source-table customers --source-cursor updated_at \\\n"
    "      --topic customers --state-file /var/lib/flinkpg/customers.state";

/* ---- shared state for metrics ---- */

typedef struct {
    cfg_spec cfg;
    producer *prod;
    const char *topics[2];
    uint32_t key_sr[2], value_sr[2];
    long long polls, changes, poll_failures;
    int source_up;
} app;

static app g_app;

static void render_metrics(strbuf *out, void *ctx)
{
    app *a = ctx;
    long long sent = 0, delivered = 0, failed = 0;
    if (a->prod)
        producer_counts(a->prod, &sent, &delivered, &failed);
    prom_header(out, "flinkpg_generator_sent_total", "counter", "Records handed to Kafka");
    prom_sample(out, "flinkpg_generator_sent_total", NULL, (double)sent);
    prom_header(out, "flinkpg_generator_delivered_total", "counter", "Records acknowledged");
    prom_sample(out, "flinkpg_generator_delivered_total", NULL, (double)delivered);
    prom_header(out, "flinkpg_generator_failed_total", "counter", "Records that failed delivery");
    prom_sample(out, "flinkpg_generator_failed_total", NULL, (double)failed);
    prom_header(out, "flinkpg_generator_polls_total", "counter", "Successful polls of the source");
    prom_sample(out, "flinkpg_generator_polls_total", NULL, (double)__atomic_load_n(&a->polls, __ATOMIC_RELAXED));
    prom_header(out, "flinkpg_generator_poll_failures_total", "counter", "Failed polls of the source");
    prom_sample(out, "flinkpg_generator_poll_failures_total", NULL,
                (double)__atomic_load_n(&a->poll_failures, __ATOMIC_RELAXED));
}

static bool is_ready(void *ctx, char *why, size_t whylen)
{
    (void)ctx;
    (void)why;
    (void)whylen;
    return true;
}

static void versions(void)
{
    libversion_rdkafka();
    libversion_pq();
    libversion_jansson();
    libversion_curl();
    libversion_mhd();
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "flinkpg-generator: %s\n", msg);
    return 2;
}

static long long int_opt(const char *name, long long lo, long long hi, bool *bad)
{
    long long v = cfg_int(&g_app.cfg, name);
    if (v < lo || v > hi) {
        char why[96], err[512];
        snprintf(why, sizeof why, "is not between %lld and %lld", lo, hi);
        usage_error(cfg_invalid(&g_app.cfg, name, why, err, sizeof err));
        *bad = true;
    }
    return v;
}

static const char *opt(const char *name)
{
    const char *v = cfg_str(&g_app.cfg, name);
    return v && *v ? v : NULL;
}

/* The expected table's name: --expected-table, else expected_<target>. */
static const char *expected_table_name(char *buf, size_t len)
{
    if (opt("expected-table"))
        return opt("expected-table");
    if (!opt("target-table"))
        return NULL;
    const char *t = opt("target-table");
    const char *dot = strrchr(t, '.');
    if (dot)
        snprintf(buf, len, "%.*sexpected_%s", (int)(dot - t + 1), t, dot + 1);
    else
        snprintf(buf, len, "expected_%s", t);
    return buf;
}

/* ---- --validate ---- */

static int run_validate(void)
{
    char name[512], err[1024];
    const char *target = opt("target-table");
    const char *exp = expected_table_name(name, sizeof name);
    if (!target || !exp)
        return usage_error("--validate needs --target-table (GEN_TARGET_TABLE)");
    PGconn *conn = pg_connect_once(cfg_str(&g_app.cfg, "postgres"), err, sizeof err);
    if (!conn) {
        log_error("pg_connect_failed", "error=%s", lq(err));
        return 2;
    }
    validate_result r;
    if (!validate_tables(conn, target, exp, &r, err, sizeof err)) {
        log_error("validate_failed", "error=%s", lq(err));
        PQfinish(conn);
        return 2;
    }
    PQfinish(conn);
    char line[512];
    validate_format(&r, line, sizeof line);
    printf("%s\n", line);
    log_info("validated", "target=%s expected=%s %s", lq(target), lq(exp), line);
    return r.pass ? 0 : 1;
}

/* ---- Schema Registry ---- */

static const char *schema_for(gen_topic t, bool key)
{
    if (t == TOPIC_ORDERS)
        return key ? "{\"type\":\"object\",\"title\":\"orders_key\",\"properties\":"
                     "{\"order_id\":{\"type\":\"integer\"}},\"required\":[\"order_id\"]}"
                   : "{\"type\":\"object\",\"title\":\"orders_value\",\"properties\":{"
                     "\"order_id\":{\"type\":\"integer\"},\"customer\":{\"type\":\"string\"},"
                     "\"product\":{\"type\":\"string\"},\"quantity\":{\"type\":\"integer\"},"
                     "\"amount\":{\"type\":\"number\"},\"status\":{\"type\":\"string\"},"
                     "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
                     "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}},"
                     "\"required\":[\"order_id\"]}";
    return key ? "{\"type\":\"object\",\"title\":\"shipments_key\",\"properties\":"
                 "{\"shipment_id\":{\"type\":\"integer\"}},\"required\":[\"shipment_id\"]}"
               : "{\"type\":\"object\",\"title\":\"shipments_value\",\"properties\":{"
                 "\"shipment_id\":{\"type\":\"integer\"},\"order_id\":{\"type\":\"integer\"},"
                 "\"carrier\":{\"type\":\"string\"},\"status\":{\"type\":\"string\"},"
                 "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
                 "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}},"
                 "\"required\":[\"shipment_id\",\"order_id\"]}";
}

static bool register_schemas(app *a, int ntopics)
{
    schemareg sr = {.url = opt("schema-registry-url"),
                    .user = opt("schema-registry-key"),
                    .password = opt("schema-registry-secret")};
    for (int t = 0; t < ntopics; t++)
        for (int k = 1; k >= 0; k--) {
            char subject[512], err[1024];
            snprintf(subject, sizeof subject, "%s-%s", a->topics[t], k ? "key" : "value");
            uint32_t *id = k ? &a->key_sr[t] : &a->value_sr[t];
            if (!schemareg_register(&sr, subject, schema_for((gen_topic)t, k), id, err, sizeof err)) {
                log_error("schema_registration_failed", "subject=%s error=%s", lq(subject), lq(err));
                fprintf(stderr, "flinkpg-generator: %s\n", err);
                return false;
            }
            log_info("schema_registered", "subject=%s schema_id=%u", lq(subject), *id);
        }
    return true;
}

/* ---- progress ---- */

typedef struct {
    bool tty;
    int64_t start_ms, last_ms;
} progress;

static void progress_show(app *a, progress *pg, bool final)
{
    int64_t now = now_ms();
    if (!final && now - pg->last_ms < (pg->tty ? 500 : 5000))
        return;
    pg->last_ms = now;
    long long sent, delivered, failed;
    producer_counts(a->prod, &sent, &delivered, &failed);
    double secs = (double)(now - pg->start_ms) / 1000.0;
    double rate = secs > 0 ? (double)sent / secs : 0;
    if (pg->tty) {
        fprintf(stderr, "\rsent %lld  delivered %lld  failed %lld  %.0f events/s   %s", sent,
                delivered, failed, rate, final ? "\n" : "");
        fflush(stderr);
    } else if (!final) {
        log_info("progress", "sent=%lld delivered=%lld failed=%lld rate_per_s=%.0f", sent,
                 delivered, failed, rate);
    }
}

/* ---- scenario mode ---- */

/* The expected table's database, checked before anything is produced: a run
 * whose expected table cannot be written is not worth its events.  NULL
 * with one line naming the setting (exit 2). */
static PGconn *expected_db(app *a)
{
    char err[1024];
    pg_connect_status st;
    PGconn *conn = pg_connect_bounded(cfg_str(&a->cfg, "postgres"), "expected-table database",
                                      cfg_int(&a->cfg, "connect-timeout") * 1000, &g_stop, &st, err,
                                      sizeof err);
    if (conn || st == PG_STOPPED)
        return conn;
    log_error("pg_connect_failed", "setting=%s reason=%s error=%s",
              lq(cfg_origin(&a->cfg, st == PG_REFUSED ? "postgres" : "connect-timeout")),
              st == PG_REFUSED ? "refused" : "no_answer", lq(err));
    return NULL;
}

static int run_scenario(app *a, rd_kafka_conf_t *kc)
{
    cfg_spec *c = &a->cfg;
    char err[1024];
    bool bad = false;
    scenario_opts so = {.seed = (uint64_t)cfg_int(c, "seed"),
                        .orders = int_opt("orders", 0, 100000000, &bad),
                        .max_shipments = (int)int_opt("max-shipments", 1, 100, &bad),
                        .no_shipment_pct = (int)int_opt("no-shipment-pct", 0, 100, &bad),
                        .amend_pct = (int)int_opt("amend-pct", 0, 100, &bad),
                        .cancel_pct = (int)int_opt("cancel-pct", 0, 100, &bad),
                        .shipment_cancel_pct = (int)int_opt("shipment-cancel-pct", 0, 100, &bad),
                        .early_pct = (int)int_opt("early-shipment-pct", 0, 100, &bad)};
    long long count = int_opt("count", 0, 1000000000, &bad);
    long long duration_s = int_opt("duration-s", 0, 100000000, &bad);
    long long rate = int_opt("rate", 0, 100000000, &bad);
    long long burst = int_opt("burst", 0, 100000000, &bad);
    long long burst_ms = int_opt("burst-interval-ms", 0, 86400000, &bad);
    if (bad) {
        if (kc)
            rd_kafka_conf_destroy(kc);
        return 2;
    }
    if (count > 0 && !cfg_find(c, "orders")->set && !opt("scenario-file"))
        so.orders = count / 3 + 1; /* an order's story has 3+ events on average */

    gen_records recs = {0};
    bool ok = opt("scenario-file") ? scenario_load(opt("scenario-file"), &recs, err, sizeof err)
                                   : scenario_generate(&so, &recs, err, sizeof err);
    if (!ok) {
        if (kc)
            rd_kafka_conf_destroy(kc);
        records_free(&recs);
        return usage_error(err);
    }
    size_t total = count > 0 && (size_t)count < recs.n ? (size_t)count : recs.n;
    log_info("scenario_ready", "seed=%" PRIu64 " orders=%lld events=%zu source=%s", so.seed,
             so.orders, total, opt("scenario-file") ? lq(opt("scenario-file")) : "seed");

    int rc = 0;
    char tname[512];
    const char *table = expected_table_name(tname, sizeof tname);
    PGconn *conn = NULL;
    if (table && !(conn = expected_db(a))) {
        if (kc)
            rd_kafka_conf_destroy(kc);
        records_free(&recs);
        return g_stop ? 0 : 2;
    }
    if (kc) {
        if (!kafka_prop_given(c, "message.timeout.ms")) {
            char ms[32];
            snprintf(ms, sizeof ms, "%lld", cfg_int(c, "delivery-timeout") * 1000);
            if (!kafka_conf_set(kc, "message.timeout.ms", ms, err, sizeof err)) {
                rd_kafka_conf_destroy(kc);
                records_free(&recs);
                PQfinish(conn);
                return usage_error(err);
            }
        }
        a->prod = producer_new(kc, err, sizeof err);
        if (!a->prod) {
            log_error("kafka_client_failed", "error=%s", lq(err));
            records_free(&recs);
            PQfinish(conn);
            return 2;
        }
        if (!strcmp(cfg_str(c, "format"), "registry") && !register_schemas(a, 2)) {
            records_free(&recs);
            PQfinish(conn);
            return 2;
        }
    }
    FILE *events = NULL;
    if (opt("events-file") && !(events = fopen(opt("events-file"), "w"))) {
        fprintf(stderr, "flinkpg-generator: --events-file %s: %s\n", opt("events-file"),
                strerror(errno));
        records_free(&recs);
        PQfinish(conn);
        return 2;
    }
    bool want_expected = opt("expected-file") || opt("expected-table") || opt("target-table");
    expected *exp = want_expected ? expected_new() : NULL;

    const char *prog = cfg_str(c, "progress");
    progress pg = {.tty = !strcmp(prog, "always") || (!strcmp(prog, "auto") && isatty(2)),
                   .start_ms = now_ms()};
    pg.last_ms = pg.start_ms;
    const char *stop_reason = "done";
    size_t i = 0;
    for (; i < total; i++) {
        if (g_stop) {
            stop_reason = "signal";
            break;
        }
        if (duration_s && now_ms() - pg.start_ms >= duration_s * 1000) {
            stop_reason = "duration";
            break;
        }
        if (rate > 0) { /* pace: event i is due at start + i/rate */
            int64_t due = pg.start_ms + (int64_t)((double)i * 1000.0 / (double)rate);
            for (int64_t w; !g_stop && (w = due - now_ms()) > 0;) {
                if (a->prod)
                    producer_poll(a->prod, (int)(w > 100 ? 100 : w));
                else
                    sleep_ms_unless((uint32_t)w, &g_stop);
            }
            if (g_stop) {
                stop_reason = "signal";
                break;
            }
        }
        if (burst > 0 && i > 0 && i % (size_t)burst == 0 && burst_ms > 0) {
            if (a->prod)
                producer_poll(a->prod, 0);
            if (!sleep_ms_unless((uint32_t)burst_ms, &g_stop)) {
                stop_reason = "signal";
                break;
            }
        }
        const gen_record *r = &recs.v[i];
        if (a->prod)
            producer_send(a->prod, a->topics[r->topic], r->key, strlen(r->key), r->value,
                          r->value ? strlen(r->value) : 0, a->key_sr[r->topic],
                          a->value_sr[r->topic]);
        if (exp && !expected_apply(exp, (gen_topic)r->topic, r->key, r->value, err, sizeof err)) {
            log_error("bad_event", "index=%zu error=%s", i, lq(err));
            rc = 2;
            break;
        }
        if (events)
            fprintf(events, "%s\t%s\t%s\n", a->topics[r->topic], r->key, r->value ? r->value : "");
        if (a->prod && (i & 1023) == 0) {
            producer_poll(a->prod, 0);
            progress_show(a, &pg, false);
        }
    }
    long long sent = 0, delivered = 0, failed = 0;
    if (a->prod) {
        /* every event ends delivered or failed within --delivery-timeout;
         * what is still queued after it (and a margin) is purged and counted
         * as failed, never as nothing */
        producer_finish(a->prod, (int)(cfg_int(c, "delivery-timeout") * 1000 + 5000));
        progress_show(a, &pg, true);
        producer_counts(a->prod, &sent, &delivered, &failed);
    }
    int64_t elapsed = now_ms() - pg.start_ms;
    if (events && fclose(events) != 0) {
        log_error("events_file_failed", "path=%s error=%s", lq(opt("events-file")), lq(strerror(errno)));
        rc = 2;
    }
    size_t nexp = 0;
    if (exp && rc == 0) {
        nexp = expected_count(exp);
        if (opt("expected-file")) {
            if (expected_write_json(exp, opt("expected-file"), err, sizeof err))
                log_info("expected_written", "file=%s rows=%zu", lq(opt("expected-file")), nexp);
            else {
                log_error("expected_failed", "error=%s", lq(err));
                rc = 2;
            }
        }
        if (table && PQstatus(conn) != CONNECTION_OK) {
            /* lost while producing: once more, within the same bound */
            PQfinish(conn);
            conn = expected_db(a);
        }
        if (table) {
            if (!conn || !expected_write_pg(exp, conn, table, err, sizeof err)) {
                log_error("expected_failed", "table=%s error=%s", lq(table), lq(conn ? err : "no connection"));
                rc = 2;
            } else {
                log_info("expected_written", "table=%s rows=%zu", lq(table), nexp);
            }
        }
    }
    PQfinish(conn);
    if (a->prod && (failed > 0 || sent != delivered) && rc == 0)
        rc = 1;
    log_info("generator_stopped",
             "reason=%s events=%zu sent=%lld delivered=%lld failed=%lld elapsed_ms=%" PRId64
             " rate_per_s=%.0f expected_rows=%zu exit_code=%d",
             stop_reason, i, sent, delivered, failed, elapsed,
             elapsed > 0 ? (double)sent * 1000.0 / (double)elapsed : 0.0, nexp, rc);
    expected_free(exp);
    records_free(&recs);
    return rc;
}

/* ---- poll mode ---- */

static int run_poll(app *a, rd_kafka_conf_t *kc, bool http)
{
    cfg_spec *c = &a->cfg;
    char err[1024];
    bool bad = false;
    long long interval = int_opt("poll-interval-ms", 1, 86400000, &bad);
    long long max_polls = int_opt("max-polls", 0, 1000000000, &bad);
    const char *missing = !opt("topic")        ? "--topic (GEN_TOPIC)"
                          : !opt("state-file") ? "--state-file (GEN_STATE_FILE)"
                          : http && !opt("source-url") ? "--source-url (SOURCE_URL)"
                          : http && !opt("source-key") ? "--source-key (SOURCE_KEY)"
                          : !http && !opt("source-table") ? "--source-table (SOURCE_TABLE)"
                          : !http && !opt("source-cursor") ? "--source-cursor (SOURCE_CURSOR)"
                                                           : NULL;
    if (bad || missing) {
        rd_kafka_conf_destroy(kc);
        if (missing)
            fprintf(stderr, "flinkpg-generator: --source %s needs %s\n", http ? "http" : "postgres",
                    missing);
        return 2;
    }
    pollstate *st = pollstate_load(opt("state-file"), err, sizeof err);
    if (!st) {
        rd_kafka_conf_destroy(kc);
        return usage_error(err);
    }
    a->prod = producer_new(kc, err, sizeof err);
    if (!a->prod) {
        log_error("kafka_client_failed", "error=%s", lq(err));
        pollstate_free(st);
        return 2;
    }
    a->topics[0] = opt("topic");
    if (!strcmp(cfg_str(c, "format"), "registry") && !register_schemas(a, 1)) {
        pollstate_free(st);
        return 2;
    }
    poll_pg *pp = NULL;
    if (!http)
        pp = poll_pg_new(&(poll_pg_opts){.conninfo = cfg_str(c, "source-postgres"),
                                         .table = opt("source-table"),
                                         .key_columns = opt("source-key"),
                                         .cursor_column = opt("source-cursor"),
                                         .soft_delete_column = opt("source-soft-delete"),
                                         .batch = 10000});
    poll_http_opts ho = {.url = opt("source-url"),
                         .items_field = opt("source-items"),
                         .key_field = opt("source-key"),
                         .user = opt("source-user"),
                         .password = opt("source-password"),
                         .timeout_ms = 10000};
    log_info("poll_starting", "source=%s topic=%s state_file=%s cursor=%s interval_ms=%lld",
             http ? "http" : "postgres", lq(a->topics[0]), lq(opt("state-file")),
             lq(pollstate_cursor(st) ? pollstate_cursor(st) : "-"), interval);
    backoff b;
    backoff_init(&b, 200, 30000);
    long long polls = 0, published = 0;
    int rc = 0;
    while (!g_stop && (!max_polls || polls < max_polls)) {
        poll_changes ch = {0};
        bool ok = http ? poll_http_fetch(&ho, st, &ch, err, sizeof err)
                       : poll_pg_fetch(pp, st, &ch, err, sizeof err);
        if (!ok) {
            __atomic_add_fetch(&a->poll_failures, 1, __ATOMIC_RELAXED);
            uint32_t delay = backoff_next(&b);
            log_warn("source_unavailable", "source=%s attempt=%u retry_in_ms=%u error=%s",
                     http ? "http" : "postgres", b.attempt, delay, lq(err));
            poll_changes_free(&ch);
            sleep_ms_unless(delay, &g_stop);
            continue;
        }
        if (b.attempt > 0)
            log_info("source_available", "source=%s after_attempts=%u", http ? "http" : "postgres", b.attempt);
        backoff_reset(&b);
        long long before_failed, x;
        producer_counts(a->prod, &x, &x, &before_failed);
        for (size_t i = 0; i < ch.n; i++) {
            poll_change *p = &ch.v[i];
            producer_send(a->prod, a->topics[0], p->key, strlen(p->key), p->value,
                          p->value ? strlen(p->value) : 0, a->key_sr[0], a->value_sr[0]);
        }
        bool flushed = producer_flush(a->prod, 30000);
        long long after_failed;
        producer_counts(a->prod, &x, &x, &after_failed);
        if (!flushed || after_failed != before_failed) {
            /* keep the old cursor and hashes: the next poll publishes these again */
            log_error("poll_not_published", "changes=%zu failed=%lld", ch.n, after_failed - before_failed);
            rc = 1;
            poll_changes_free(&ch);
            sleep_ms_unless((uint32_t)interval, &g_stop);
            continue;
        }
        for (size_t i = 0; i < ch.n; i++) {
            pollstate_set_hash(st, ch.v[i].key, ch.v[i].hash);
            log_info("change_published", "topic=%s key=%s op=%s", lq(a->topics[0]), lq(ch.v[i].key),
                     ch.v[i].value ? "upsert" : "tombstone");
        }
        if (ch.cursor)
            pollstate_set_cursor(st, ch.cursor);
        if ((ch.n || ch.cursor) && !pollstate_save(st, err, sizeof err)) {
            log_error("state_save_failed", "path=%s error=%s", lq(opt("state-file")), lq(err));
            poll_changes_free(&ch);
            rc = 2;
            break;
        }
        polls++;
        published += (long long)ch.n;
        __atomic_store_n(&a->polls, polls, __ATOMIC_RELAXED);
        log_debug("polled", "changes=%zu cursor=%s", ch.n, lq(pollstate_cursor(st) ? pollstate_cursor(st) : "-"));
        poll_changes_free(&ch);
        if (!max_polls || polls < max_polls)
            sleep_ms_unless((uint32_t)interval, &g_stop);
    }
    long long sent, delivered, failed;
    producer_counts(a->prod, &sent, &delivered, &failed);
    log_info("generator_stopped", "reason=%s polls=%lld published=%lld delivered=%lld failed=%lld "
             "poll_failures=%lld exit_code=%d",
             g_stop ? "signal" : "max-polls", polls, published, delivered, failed,
             a->poll_failures, rc);
    poll_pg_free(pp);
    pollstate_free(st);
    return rc;
}

int main(int argc, char **argv)
{
    app *a = &g_app;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    char err[1024];
    a->cfg = (cfg_spec){.prog = "flinkpg-generator",
                        .summary = "the demo's orders/shipments events, the table they must "
                                   "produce, and a CDC poll source",
                        .usage_example = example,
                        .usage = "flinkpg-generator -b HOST:PORT [--orders N] [--target-table T] [options]",
                        .versions = versions,
                        .opts = options,
                        .nopts = sizeof options / sizeof options[0]};
    cfg_result cr = cfg_parse(&a->cfg, argc, argv, err, sizeof err);
    if (cr != CFG_OK) {
        cfg_free(&a->cfg);
        if (cr == CFG_HELP)
            return 0;
        size_t n = strlen(err);
        snprintf(err + n, sizeof err - n, " (see --help)");
        return usage_error(err);
    }
    cfg_spec *c = &a->cfg;
    if (argc == 1 && !cfg_any_set(c)) { /* nothing given at all: how to start */
        cfg_usage_hint(c);
        cfg_free(c);
        return 2;
    }
    log_init("generator", cfg_str(c, "run-name"));
    log_level lvl;
    int rc = 2;
    const char *source = cfg_str(c, "source");
    const char *format = cfg_str(c, "format");
    const char *prog = cfg_str(c, "progress");
    if (!log_parse_level(cfg_str(c, "log-level"), &lvl)) {
        rc = usage_error(cfg_invalid(c, "log-level", "is not one of debug, info, warn, error", err, sizeof err));
        goto out;
    }
    log_set_level(lvl);
    if (strcmp(source, "scenario") && strcmp(source, "postgres") && strcmp(source, "http")) {
        rc = usage_error(cfg_invalid(c, "source", "is not one of scenario, postgres, http", err, sizeof err));
        goto out;
    }
    if (strcmp(format, "json") && strcmp(format, "registry")) {
        rc = usage_error(cfg_invalid(c, "format", "is not one of json, registry", err, sizeof err));
        goto out;
    }
    if (strcmp(prog, "auto") && strcmp(prog, "always") && strcmp(prog, "never")) {
        rc = usage_error(cfg_invalid(c, "progress", "is not one of auto, always, never", err, sizeof err));
        goto out;
    }
    if (!strcmp(format, "registry") && !opt("schema-registry-url")) {
        rc = usage_error("--format registry needs --schema-registry-url (SCHEMA_REGISTRY_URL)");
        goto out;
    }
    if (cfg_bool(c, "validate")) {
        rc = run_validate();
        goto out;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    a->topics[TOPIC_ORDERS] = cfg_str(c, "orders-topic");
    a->topics[TOPIC_SHIPMENTS] = cfg_str(c, "shipments-topic");
    rd_kafka_conf_t *kc = NULL;
    if (strcmp(source, "scenario") || !cfg_bool(c, "dry-run")) {
        kc = kafka_conf_from_cfg(c, err, sizeof err);
        if (!kc) {
            rc = usage_error(err);
            goto out_curl;
        }
    }
    httpd *srv = NULL;
    if (opt("http-listen")) {
        httpd_handlers h = {.metrics = render_metrics, .ready = is_ready, .ctx = a};
        srv = httpd_start(opt("http-listen"), &h, err, sizeof err);
        if (!srv) {
            log_error("http_failed", "listen=%s error=%s", lq(opt("http-listen")), lq(err));
            if (kc)
                rd_kafka_conf_destroy(kc);
            goto out_curl;
        }
        log_info("http_listening", "listen=%s port=%d", lq(opt("http-listen")), httpd_port(srv));
    }
    if (!strcmp(source, "scenario"))
        rc = run_scenario(a, kc);
    else
        rc = run_poll(a, kc, !strcmp(source, "http"));
    producer_free(a->prod);
    httpd_stop(srv);
out_curl:
    curl_global_cleanup();
out:
    cfg_free(&a->cfg);
    return rc;
}
