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
#include "app.h"

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
#include "../common/startup.h"
#include "../common/httpc.h"
#include "../common/validate.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int g_stop;

static cfg_opt options[] = {
    KAFKA_CFG_OPTIONS,
    {.name = "orders-topic",
     .env = "ORDERS_TOPIC",
     .kind = OPT_STR,
     .def = "orders",
     .group = "Topics",
     .help = "topic of the order events"},
    {.name = "shipments-topic",
     .env = "SHIPMENTS_TOPIC",
     .kind = OPT_STR,
     .def = "shipments",
     .group = "Topics",
     .help = "topic of the shipment events"},
    {.name = "format",
     .env = "GEN_FORMAT",
     .kind = OPT_STR,
     .def = "json",
     .group = "Topics",
     .help = "json, or registry: Schema Registry JSON (wire header + JSON; the subjects "
             "<topic>-key/-value adopted when they exist, their number fields written as such: "
             "times as epoch ms, else registered as Confluent's Flink would)"},
    {.name = "schema-registry-url",
     .env = "SCHEMA_REGISTRY_URL",
     .kind = OPT_STR,
     .group = "Topics",
     .help = "Schema Registry URL, for --format registry"},
    {.name = "schema-registry-key",
     .env = "SCHEMA_REGISTRY_API_KEY",
     .kind = OPT_STR,
     .group = "Topics",
     .help = "Schema Registry API key (HTTP Basic user)"},
    {.name = "schema-registry-secret",
     .env = "SCHEMA_REGISTRY_API_SECRET",
     .kind = OPT_STR,
     .group = "Topics",
     .secret = true,
     .help = "Schema Registry API secret; never logged"},

    {.name = "seed",
     .env = "GEN_SEED",
     .kind = OPT_INT,
     .def = "1",
     .group = "Scenario",
     .short_name = 's',
     .help = "the scenario's seed: same seed and knobs, same bytes"},
    {.name = "orders",
     .env = "GEN_ORDERS",
     .kind = OPT_INT,
     .def = "1000",
     .group = "Scenario",
     .short_name = 'n',
     .help = "orders to create"},
    {.name = "max-shipments",
     .env = "GEN_MAX_SHIPMENTS",
     .kind = OPT_INT,
     .def = "3",
     .group = "Scenario",
     .help = "shipments per shipped order: 1 to this many"},
    {.name = "no-shipment-pct",
     .env = "GEN_NO_SHIPMENT_PCT",
     .kind = OPT_INT,
     .def = "20",
     .group = "Scenario",
     .help = "% of orders that never ship (null-padded join rows)"},
    {.name = "amend-pct",
     .env = "GEN_AMEND_PCT",
     .kind = OPT_INT,
     .def = "30",
     .group = "Scenario",
     .help = "% of orders amended once or twice (new quantity and amount)"},
    {.name = "cancel-pct",
     .env = "GEN_CANCEL_PCT",
     .kind = OPT_INT,
     .def = "10",
     .group = "Scenario",
     .help = "% of orders cancelled (tombstone on the orders topic)"},
    {.name = "shipment-cancel-pct",
     .env = "GEN_SHIPMENT_CANCEL_PCT",
     .kind = OPT_INT,
     .def = "10",
     .group = "Scenario",
     .help = "% of shipments cancelled (tombstone)"},
    {.name = "early-shipment-pct",
     .env = "GEN_EARLY_SHIPMENT_PCT",
     .kind = OPT_INT,
     .def = "15",
     .group = "Scenario",
     .help = "% of shipped orders whose first shipment is published before the order"},
    {.name = "scenario-file",
     .env = "GEN_SCENARIO_FILE",
     .kind = OPT_STR,
     .group = "Scenario",
     .help = "hand-written events instead of the seed: JSON lines "
             "{\"topic\":\"orders\",\"key\":{...},\"value\":{...}|null}"},
    {.name = "count",
     .env = "GEN_COUNT",
     .kind = OPT_INT,
     .def = "0",
     .group = "Pacing",
     .short_name = 'c',
     .help = "stop after this many events (0: the whole scenario)"},
    {.name = "duration-s",
     .env = "GEN_DURATION_S",
     .kind = OPT_INT,
     .def = "0",
     .group = "Pacing",
     .help = "stop after this many seconds (0: no limit)"},
    {.name = "rate",
     .env = "GEN_RATE",
     .kind = OPT_INT,
     .def = "0",
     .group = "Pacing",
     .short_name = 'r',
     .help = "events per second (0: as fast as Kafka takes them)"},
    {.name = "burst",
     .env = "GEN_BURST",
     .kind = OPT_INT,
     .def = "0",
     .group = "Pacing",
     .help = "send this many events at once, then pause --burst-interval-ms (0: off)"},
    {.name = "burst-interval-ms",
     .env = "GEN_BURST_INTERVAL_MS",
     .kind = OPT_INT,
     .def = "1000",
     .group = "Pacing",
     .help = "pause between bursts"},
    {.name = "delivery-timeout",
     .env = "GEN_DELIVERY_TIMEOUT",
     .kind = OPT_INT,
     .def = "30",
     .group = "Pacing",
     .help = "seconds an event may wait for Kafka before it counts as failed (librdkafka's "
             "message.timeout.ms unless -X sets it); bounds a run whose Kafka is unreachable"},
    {.name = "dry-run",
     .env = "GEN_DRY_RUN",
     .kind = OPT_BOOL,
     .def = "false",
     .group = "Pacing",
     .help = "produce nothing; only write the expected table / events file"},

    {.name = "postgres",
     .env = "POSTGRES_URL",
     .kind = OPT_STR,
     .def = "",
     .group = "Expected",
     .short_name = 'd',
     .secret = true,
     .help = "libpq connection string for the expected table and --validate; empty uses PG*"},
    {.name = "connect-timeout",
     .env = "GEN_CONNECT_TIMEOUT",
     .kind = OPT_INT,
     .def = "60",
     .group = "Expected",
     .help = "seconds to retry a PostgreSQL that does not answer before anything is produced, "
             "then exit 2 (0: forever); a refused password or a missing database exit 2 at once"},
    {.name = "target-table",
     .env = "GEN_TARGET_TABLE",
     .kind = OPT_STR,
     .group = "Expected",
     .short_name = 'T',
     .help = "the demo's target table; its expected table defaults to expected_<target>"},
    {.name = "expected-table",
     .env = "GEN_EXPECTED_TABLE",
     .kind = OPT_STR,
     .group = "Expected",
     .help = "write the expected final table here (replaced), columns of "
             "sql/postgres/orders_shipments.sql"},
    {.name = "expected-file",
     .env = "GEN_EXPECTED_FILE",
     .kind = OPT_STR,
     .group = "Expected",
     .help = "write the expected final table as a JSON array to this file"},
    {.name = "events-file",
     .env = "GEN_EVENTS_FILE",
     .kind = OPT_STR,
     .group = "Expected",
     .help = "write every event sent as a line topic<TAB>key<TAB>value (value empty: tombstone)"},
    {.name = "validate",
     .env = "GEN_VALIDATE",
     .kind = OPT_BOOL,
     .def = "false",
     .group = "Expected",
     .help = "compare --target-table with the expected table, print the numbers, exit 1 on FAIL"},

    {.name = "source",
     .env = "GEN_SOURCE",
     .kind = OPT_STR,
     .def = "scenario",
     .group = "Poll source",
     .help = "scenario, postgres (poll a table) or http (poll a JSON endpoint)"},
    {.name = "topic",
     .env = "GEN_TOPIC",
     .kind = OPT_STR,
     .group = "Poll source",
     .short_name = 't',
     .help = "topic the poll source publishes to (required with --source)"},
    {.name = "source-postgres",
     .env = "SOURCE_POSTGRES_URL",
     .kind = OPT_STR,
     .def = "",
     .group = "Poll source",
     .secret = true,
     .help = "libpq connection string of the source database; empty uses PG*"},
    {.name = "source-table",
     .env = "SOURCE_TABLE",
     .kind = OPT_STR,
     .group = "Poll source",
     .help = "table to poll (postgres)"},
    {.name = "source-key",
     .env = "SOURCE_KEY",
     .kind = OPT_STR,
     .group = "Poll source",
     .help = "key: comma-separated columns (postgres, default: the primary key) or the item "
             "field (http, required)"},
    {.name = "source-cursor",
     .env = "SOURCE_CURSOR",
     .kind = OPT_STR,
     .group = "Poll source",
     .help = "column that grows with every change, e.g. updated_at or an increasing id (postgres)"},
    {.name = "source-soft-delete",
     .env = "SOURCE_SOFT_DELETE",
     .kind = OPT_STR,
     .group = "Poll source",
     .help = "boolean column: true publishes a tombstone (postgres)"},
    {.name = "source-url",
     .env = "SOURCE_URL",
     .kind = OPT_STR,
     .group = "Poll source",
     .secret = true,
     .help = "HTTP(S) JSON endpoint to poll (http); not logged"},
    {.name = "source-items",
     .env = "SOURCE_ITEMS",
     .kind = OPT_STR,
     .group = "Poll source",
     .help = "member of the response object holding the items (http; default: the body is "
             "the array, or an object of items)"},
    {.name = "source-user",
     .env = "SOURCE_USER",
     .kind = OPT_STR,
     .group = "Poll source",
     .help = "HTTP Basic user for --source-url"},
    {.name = "source-password",
     .env = "SOURCE_PASSWORD",
     .kind = OPT_STR,
     .group = "Poll source",
     .secret = true,
     .help = "HTTP Basic password for --source-url; never logged"},
    {.name = "state-file",
     .env = "GEN_STATE_FILE",
     .kind = OPT_STR,
     .group = "Poll source",
     .help = "where the cursor and content hashes survive restarts (required with --source)"},
    {.name = "poll-interval-ms",
     .env = "GEN_POLL_INTERVAL_MS",
     .kind = OPT_INT,
     .def = "1000",
     .group = "Poll source",
     .help = "pause between polls"},
    {.name = "max-polls",
     .env = "GEN_MAX_POLLS",
     .kind = OPT_INT,
     .def = "0",
     .group = "Poll source",
     .help = "exit after this many successful polls (0: until SIGTERM)"},

    STARTUP_OPT_HTTP_LISTEN,
    STARTUP_OPT_LOG_LEVEL("debug, info, warn or error"),
    STARTUP_OPT_RUN_NAME,
    {.name = "progress",
     .env = "GEN_PROGRESS",
     .kind = OPT_STR,
     .def = "auto",
     .group = "Operations",
     .help = "progress line on stderr: auto (when a terminal), always, never"},
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

/* ---- metrics ---- */

app g_app;

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
    prom_sample(out, "flinkpg_generator_polls_total", NULL,
                (double)__atomic_load_n(&a->polls, __ATOMIC_RELAXED));
    prom_header(out, "flinkpg_generator_poll_failures_total", "counter",
                "Failed polls of the source");
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

int usage_error(const char *msg)
{
    fprintf(stderr, "flinkpg-generator: %s\n", msg);
    return 2;
}

long long int_opt(const char *name, long long lo, long long hi, bool *bad)
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

const char *opt(const char *name)
{
    const char *v = cfg_str(&g_app.cfg, name);
    return v && *v ? v : NULL;
}

/* The expected table's name: --expected-table, else expected_<target>. */
const char *expected_table_name(char *buf, size_t len)
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

/* The choices among the options; 0 or the exit code. */
static int check_options(cfg_spec *c)
{
    char err[512];
    const char *source = cfg_str(c, "source");
    const char *format = cfg_str(c, "format");
    const char *prog = cfg_str(c, "progress");
    if (strcmp(source, "scenario") && strcmp(source, "postgres") && strcmp(source, "http"))
        return usage_error(
            cfg_invalid(c, "source", "is not one of scenario, postgres, http", err, sizeof err));
    if (strcmp(format, "json") && strcmp(format, "registry"))
        return usage_error(
            cfg_invalid(c, "format", "is not one of json, registry", err, sizeof err));
    if (strcmp(prog, "auto") && strcmp(prog, "always") && strcmp(prog, "never"))
        return usage_error(
            cfg_invalid(c, "progress", "is not one of auto, always, never", err, sizeof err));
    if (!strcmp(format, "registry") && !opt("schema-registry-url"))
        return usage_error("--format registry needs --schema-registry-url (SCHEMA_REGISTRY_URL)");
    return 0;
}

/* Scenario or poll mode, with Kafka and the metrics server. */
static int run(app *a)
{
    cfg_spec *c = &a->cfg;
    char err[1024];
    const char *source = cfg_str(c, "source");
    a->topics[TOPIC_ORDERS] = cfg_str(c, "orders-topic");
    a->topics[TOPIC_SHIPMENTS] = cfg_str(c, "shipments-topic");
    rd_kafka_conf_t *kc = NULL;
    if (strcmp(source, "scenario") || !cfg_bool(c, "dry-run")) {
        kc = kafka_conf_from_cfg(c, err, sizeof err);
        if (!kc)
            return usage_error(err);
    }
    httpd *srv = NULL;
    httpd_handlers h = {.metrics = render_metrics, .ready = is_ready, .ctx = a};
    if (!startup_http(opt("http-listen"), &h, &srv)) {
        if (kc)
            rd_kafka_conf_destroy(kc);
        return 2;
    }
    int rc = !strcmp(source, "scenario") ? run_scenario(a, kc)
                                         : run_poll(a, kc, !strcmp(source, "http"));
    producer_free(a->prod);
    free(a->number_fields[0]);
    free(a->number_fields[1]);
    httpd_stop(srv);
    return rc;
}

int main(int argc, char **argv)
{
    app *a = &g_app;
    startup_signals(&g_stop);
    a->cfg = (cfg_spec){
        .prog = "flinkpg-generator",
        .summary = "the demo's orders/shipments events, the table they must "
                   "produce, and a CDC poll source",
        .usage_example = example,
        .usage = "flinkpg-generator -b HOST:PORT [--orders N] [--target-table T] [options]",
        .versions = versions,
        .opts = options,
        .nopts = sizeof options / sizeof options[0]};
    int rc = startup_options(&a->cfg, argc, argv, "generator", true);
    if (rc < 0 && (rc = check_options(&a->cfg)) == 0) {
        if (cfg_bool(&a->cfg, "validate")) {
            rc = run_validate();
        } else {
            char err[256];
            rc = httpc_global_init(err, sizeof err) ? run(a) : usage_error(err);
            curl_global_cleanup();
        }
    }
    cfg_free(&a->cfg);
    return rc;
}
