/* setup — the sink's options, their checks and start-up, and teardown; see app.h. */
#define _POSIX_C_SOURCE 200809L
#include "app.h"

#define FLINKPG_WITH_RDKAFKA
#define FLINKPG_WITH_PQ
#define FLINKPG_WITH_JANSSON
#define FLINKPG_WITH_MHD
#include "../common/libversions.h"
#include "../common/kafkaconf.h"
#include "../common/log.h"
#include "../common/pgutil.h"
#include "../common/startup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cfg_opt options[] = {
    KAFKA_CFG_OPTIONS,
    {.name = "topic",
     .env = "SINK_TOPIC",
     .kind = OPT_STR,
     .group = "Kafka",
     .short_name = 't',
     .help = "the Flink statement's output topic (required)"},
    {.name = "group",
     .env = "SINK_GROUP",
     .kind = OPT_STR,
     .def = "flinkpg-sink",
     .group = "Kafka",
     .short_name = 'g',
     .help = "consumer group; also keys the stored offsets"},
    {.name = "start-from",
     .env = "SINK_START_FROM",
     .kind = OPT_STR,
     .def = "earliest",
     .group = "Kafka",
     .help = "where to start a partition with no stored offset: earliest or latest"},
    {.name = "postgres",
     .env = "POSTGRES_URL",
     .kind = OPT_STR,
     .def = "",
     .group = "PostgreSQL",
     .short_name = 'd',
     .secret = true,
     .help = "libpq connection string or URI; empty uses the PG* variables (PGHOST, PGPORT, "
             "PGDATABASE, PGUSER, PGPASSWORD)"},
    {.name = "connect-timeout",
     .env = "SINK_CONNECT_TIMEOUT",
     .kind = OPT_INT,
     .def = "60",
     .group = "PostgreSQL",
     .help =
         "seconds to keep retrying a server that does not answer, then exit 2 (0: forever); "
         "a refused password, a missing role or database, a bad connection string exit 2 at once"},
    {.name = "table",
     .env = "SINK_TABLE",
     .kind = OPT_STR,
     .group = "PostgreSQL",
     .short_name = 'T',
     .help = "target table, optionally schema-qualified (required)"},
    {.name = "key-columns",
     .env = "SINK_KEY_COLUMNS",
     .kind = OPT_STR,
     .group = "PostgreSQL",
     .help = "comma-separated key columns (default: the table's primary key)"},
    {.name = "create-table",
     .env = "SINK_CREATE_TABLE",
     .kind = OPT_BOOL,
     .def = "false",
     .group = "PostgreSQL",
     .help = "create the target table from --columns if it is missing"},
    {.name = "columns",
     .env = "SINK_COLUMNS",
     .kind = OPT_STR,
     .group = "PostgreSQL",
     .help = "column declarations for --create-table, e.g. \"order_id bigint, status text\""},
    {.name = "dlq-table",
     .env = "SINK_DLQ_TABLE",
     .kind = OPT_STR,
     .def = "flinkpg_dead_letters",
     .group = "PostgreSQL",
     .help = "dead-letter table (created if missing)"},
    {.name = "offsets-table",
     .env = "SINK_OFFSETS_TABLE",
     .kind = OPT_STR,
     .def = "flinkpg_sink_offsets",
     .group = "PostgreSQL",
     .help = "where consumed offsets commit with the rows (created if missing)"},
    {.name = "batches-table",
     .env = "SINK_BATCHES_TABLE",
     .kind = OPT_STR,
     .def = "flinkpg_sink_batches",
     .group = "PostgreSQL",
     .help = "audit log of committed offset ranges (created if missing)"},
    {.name = "encoding",
     .env = "SINK_ENCODING",
     .kind = OPT_STR,
     .group = "Decoding",
     .short_name = 'e',
     .help = "changelog encoding of the topic (required): upsert, retract (Confluent op "
             "header), debezium (Apache Flink debezium-json) or append"},
    {.name = "key-format",
     .env = "SINK_KEY_FORMAT",
     .kind = OPT_STR,
     .def = "json",
     .group = "Decoding",
     .help = "json, or registry (Schema Registry wire header + JSON)"},
    {.name = "value-format",
     .env = "SINK_VALUE_FORMAT",
     .kind = OPT_STR,
     .def = "json",
     .group = "Decoding",
     .help = "json, or registry (Schema Registry wire header + JSON)"},
    {.name = "max-record-bytes",
     .env = "SINK_MAX_RECORD_BYTES",
     .kind = OPT_INT,
     .def = "1048576",
     .group = "Decoding",
     .help = "keys or values larger than this go to the dead-letter table"},
    {.name = "policy",
     .env = "SINK_POLICY",
     .kind = OPT_STR,
     .def = "changelog",
     .group = "Applying",
     .short_name = 'p',
     .help = "changelog (honour the row kind), insert-all (every record a new row), or "
             "upsert-ignore-kind (upsert by key, delete on tombstones only, as Kafka Connect's "
             "JDBC sink does)"},
    {.name = "batch-size",
     .env = "SINK_BATCH_SIZE",
     .kind = OPT_INT,
     .def = "5000",
     .group = "Applying",
     .help = "records per transaction at most"},
    {.name = "batch-timeout-ms",
     .env = "SINK_BATCH_TIMEOUT_MS",
     .kind = OPT_INT,
     .def = "200",
     .group = "Applying",
     .help = "commit a partial batch after this long"},
    STARTUP_OPT_HTTP_LISTEN,
    STARTUP_OPT_LOG_LEVEL("debug (one line per change), info, warn or error"),
    STARTUP_OPT_RUN_NAME,
    {.name = "exit-at-eof",
     .env = "SINK_EXIT_AT_EOF",
     .kind = OPT_BOOL,
     .def = "false",
     .group = "Operations",
     .help = "commit and exit 0 once every assigned partition is read to its end"},
    {.name = "exit-idle-ms",
     .env = "SINK_EXIT_IDLE_MS",
     .kind = OPT_INT,
     .def = "0",
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

/* Every option that can be checked without a peer; exit code or 0. */
static int check_options(app *a, cfg_spec *c)
{
    char err[1024];
    if (!cfg_str(c, "topic") || !*cfg_str(c, "topic"))
        return fail_usage("--topic (or SINK_TOPIC) is required");
    if (!cfg_str(c, "table") || !*cfg_str(c, "table"))
        return fail_usage("--table (or SINK_TABLE) is required");
    const char *enc = cfg_str(c, "encoding");
    if (!enc || !*enc)
        return fail_usage(
            "--encoding (or SINK_ENCODING) is required: one of upsert, retract, debezium, append");
    if (!encoding_parse(enc, &a->s.encoding))
        return fail_usage(cfg_invalid(
            c, "encoding", "is not one of upsert, retract, debezium, append", err, sizeof err));
    if (!policy_parse(cfg_str(c, "policy"), &a->s.policy))
        return fail_usage(cfg_invalid(c, "policy",
                                      "is not one of changelog, insert-all, upsert-ignore-kind",
                                      err, sizeof err));
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "value-format" : "key-format";
        const char *v = cfg_str(c, name);
        if (strcmp(v, "json") && strcmp(v, "registry"))
            return fail_usage(
                cfg_invalid(c, name, "is not one of json, registry", err, sizeof err));
    }
    const char *from = cfg_str(c, "start-from");
    if (strcmp(from, "earliest") && strcmp(from, "latest"))
        return fail_usage(
            cfg_invalid(c, "start-from", "is not one of earliest, latest", err, sizeof err));
    a->start_offset = strcmp(from, "latest") ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    a->batch_size = cfg_int(c, "batch-size");
    a->batch_timeout_ms = cfg_int(c, "batch-timeout-ms");
    if (a->batch_size < 1 || a->batch_size > 1000000)
        return fail_usage(
            cfg_invalid(c, "batch-size", "is not between 1 and 1000000", err, sizeof err));
    if (a->batch_timeout_ms < 1)
        return fail_usage(cfg_invalid(c, "batch-timeout-ms", "is not at least 1", err, sizeof err));
    if (cfg_int(c, "max-record-bytes") < 0)
        return fail_usage(cfg_invalid(c, "max-record-bytes", "is negative", err, sizeof err));
    if (cfg_int(c, "connect-timeout") < 0)
        return fail_usage(
            cfg_invalid(c, "connect-timeout", "is negative (0: retry forever)", err, sizeof err));
    /* a connection string PostgreSQL's own parser refuses can never work */
    char *perr = NULL;
    PQconninfoOption *parsed =
        PQconninfoParse(cfg_str(c, "postgres") ? cfg_str(c, "postgres") : "", &perr);
    if (!parsed) {
        snprintf(err, sizeof err, "%s: %s", cfg_origin(c, "postgres"),
                 perr ? perr : "out of memory");
        pg_trim_message(err);
        PQfreemem(perr);
        return fail_usage(err);
    }
    PQconninfoFree(parsed);
    return 0;
}

/* The consumer: librdkafka checks the whole configuration when the client
 * is made, so a bad property is a usage error reported before PostgreSQL is
 * touched.  Exit code or 0. */
static int make_consumer(app *a, cfg_spec *c)
{
    char err[1024];
    rd_kafka_conf_t *kc = kafka_conf_from_cfg(c, err, sizeof err);
    if (!kc)
        return fail_usage(err);
    /* A member that dies without leaving (kill -9, OOM kill, node loss) holds
     * its partitions until the broker's session timeout: librdkafka's 45 s
     * default is a minute of lag.  6 s is the broker's default minimum
     * (group.min.session.timeout.ms); heartbeats at a third of it.
     * librdkafka pre-fetches up to 64 MB (queued.max.messages.kbytes) into
     * its consumer queue: on a backlog that, not the batch, was the sink's
     * memory (127 MB RSS draining 1M changes in make race).  4 MB keeps
     * several batches' worth ahead of the apply loop.  -X wins. */
    static const char *const group_defaults[][2] = {{"session.timeout.ms", "6000"},
                                                    {"heartbeat.interval.ms", "2000"},
                                                    {"queued.max.messages.kbytes", "4096"}};
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
    /* the rebalance callback only runs inside consumer_poll */
    a->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof err);
    if (!a->rk) {
        rd_kafka_conf_destroy(kc); /* not taken over on failure */
        return fail_usage(err);
    }
    rd_kafka_poll_set_consumer(a->rk);
    return 0;
}

/* The target table (created with --create-table), the sink's own tables,
 * the plan and the prepared statements.  Exit code or 0. */
static int open_target(app *a, cfg_spec *c)
{
    char err[1024];
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
    return 0;
}

int sink_setup(app *a, int argc, char **argv)
{
    a->cfg = (cfg_spec){
        .prog = "flinkpg-sink",
        .summary = "apply a Flink changelog topic to a PostgreSQL table, exactly once",
        .usage_example = example,
        .usage = "flinkpg-sink -t TOPIC -T TABLE -e upsert|retract|debezium|append [options]",
        .versions = versions,
        .opts = options,
        .nopts = sizeof options / sizeof options[0]};
    int rc = startup_options(&a->cfg, argc, argv, "sink", true);
    if (rc >= 0)
        return rc == 0 ? -1 : rc;
    cfg_spec *c = &a->cfg;
    if ((rc = check_options(a, c)) != 0)
        return rc;
    a->s.group = cfg_str(c, "group");
    a->s.topic = cfg_str(c, "topic");

    if ((rc = make_consumer(a, c)) != 0)
        return rc;
    log_info("sink_starting", "topic=%s group=%s table=%s encoding=%s policy=%s batch_size=%lld",
             lq(a->s.topic), lq(a->s.group), lq(cfg_str(c, "table")), encoding_name(a->s.encoding),
             policy_name(a->s.policy), a->batch_size);

    a->s.conn = sink_pg_connect(a);
    if (!a->s.conn)
        return a->exit_code ? a->exit_code : -1; /* -1: stopped while waiting, a clean exit */
    if ((rc = open_target(a, c)) != 0)
        return rc;
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
void sink_teardown(app *a)
{
    handover_stop(a);
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
