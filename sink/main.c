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
 * stored offsets are only ever touched by one thread at a time.  Partition positions come from
 * PostgreSQL on every assignment, never from Kafka's committed offsets (those are committed too,
 * after PostgreSQL, only so that lag tools work).  Any failure to apply —
 * lost connection, server restart, a fenced offset — drops the uncommitted
 * batch and re-reads the positions from PostgreSQL: nothing applied twice,
 * nothing lost.
 */
#define _POSIX_C_SOURCE 200809L
#include "app.h"

#include "../common/backoff.h"
#include "../common/httpd.h"
#include "../common/startup.h"
#include "../common/kafkaconf.h"
#include "../common/log.h"
#include "../common/srwire.h"
#include "../common/pgutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile int g_stop;

/* ---- PostgreSQL, positions, rebalances ---- */

/* Connect within --connect-timeout; a setting that can never work, or no
 * answer within the bound, ends the sink with exit 2 (a->exit_code) and one
 * line naming the setting.  NULL: stopped or given up. */
PGconn *sink_pg_connect(app *a)
{
    pg_connect_status st;
    PGconn *conn = pg_connect_configured(&a->cfg, "postgres", "connect-timeout", "sink database",
                                         &g_stop, &st);
    if (conn || st == PG_STOPPED)
        return conn;
    a->exit_code = 2;
    g_stop = 1; /* every loop ends; what was not committed is read again by the next sink */
    return NULL;
}

static bool reconnect(app *a)
{
    atomic_store(&g_stats.pg_up, 0);
    PQfinish(a->s.conn);
    a->s.conn = sink_pg_connect(a);
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
            log_info("partition_position",
                     "topic=%s partition=%" PRId32 " next_offset=%" PRId64 " source=postgres",
                     lq(a->s.topic), ids[i], next[i]);
        else
            log_info("partition_position",
                     "topic=%s partition=%" PRId32 " next_offset=%s"
                     " source=start-from",
                     lq(a->s.topic), ids[i],
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

void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                  void *opaque)
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
void resync(app *a)
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

/* Tell Kafka too (after PostgreSQL), for lag tooling only. */
void commit_to_kafka(app *a)
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

/* ---- records ---- */

static char *headers_json(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs)
        return NULL;
    json_t *arr = json_array();
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
        char *hex = malloc(size * 2 + 1);
        for (size_t j = 0; j < size; j++)
            snprintf(hex + j * 2, 3, "%02x", ((const unsigned char *)val)[j]);
        hex[size * 2] = '\0';
        json_t *k = json_string(name);
        json_array_append_new(
            arr, json_pack("{s:o,s:s}", "key", k ? k : json_null(), "hex", val ? hex : ""));
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

    raw_record raw = {
        .key = m->key, .key_len = m->key_len, .value = m->payload, .value_len = m->len};
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
        raw.has_op = rd_kafka_header_get_last(hdrs, "op", &raw.op, &raw.op_len) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR;
        if (rd_kafka_header_get_last(hdrs, SRWIRE_KEY_ID_HEADER, &raw.key_sid, &raw.key_sid_len) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            raw.key_sid = NULL;
        if (rd_kafka_header_get_last(hdrs, SRWIRE_VALUE_ID_HEADER, &raw.value_sid,
                                     &raw.value_sid_len) != RD_KAFKA_RESP_ERR_NO_ERROR)
            raw.value_sid = NULL;
    }

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

void update_lag(app *a)
{
    long long lag = 0;
    for (size_t p = 0; p < a->nparts; p++) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(a->rk, a->s.topic, a->parts[p], &lo, &hi) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
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

/* The consume loop, until a signal, --exit-at-eof, --exit-idle-ms or a
 * failure stops it; returns why it stopped. */
static const char *consume(app *a)
{
    long long idle_ms = cfg_int(&a->cfg, "exit-idle-ms");
    bool exit_at_eof = cfg_bool(&a->cfg, "exit-at-eof");
    int64_t last_lag = 0, last_probe = now_ms(), started = now_ms(),
            last_wait_log = started - 30000;
    a->last_msg_ms = now_ms();
    const char *stop_reason = "signal";
    while (!g_stop) {
        /* short waits while a batch is held or applying, so a batch that
         * is due goes out as soon as the applier is free */
        rd_kafka_message_t *m =
            rd_kafka_consumer_poll(a->rk, a->inflight || a->cur.b.nrecs ? 5 : 100);
        if (m) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                mark_eof(a, m->partition, true);
                rd_kafka_message_destroy(m);
            } else if (m->err) {
                log_warn("kafka_consume_error", "code=%s error=%s", rd_kafka_err2name(m->err),
                         lq(rd_kafka_message_errstr(m)));
                rd_kafka_message_destroy(m);
            } else {
                mark_eof(a, m->partition, false);
                a->last_msg_ms = now_ms();
                add_message(a, m);
            }
        }
        int64_t now = now_ms();
        collect(a, false);
        size_t held = a->cur.b.nrecs;
        /* Caught up (every partition at its end) sends what is held at once,
         * but only when the applier is free: an end-of-partition event in
         * librdkafka's queue says the fetch reached the end, not that the
         * queue behind it is empty, so under a steady load every round of
         * fetches "reaches the end" and cutting there made batches of ~50
         * changes that could not keep up with 10,000/s (make race).  While
         * one batch applies the next one grows, so its size follows the
         * load and the apply time. */
        if ((long long)held >= a->batch_size ||
            (held && now - a->cur.first_ms >= a->batch_timeout_ms) ||
            (held && all_at_eof(a) && !a->inflight))
            submit(a);
        bool idle = !a->inflight && a->cur.b.nrecs == 0;
        if (idle && now - last_probe >= 2000) {
            /* idle: make sure PostgreSQL is still there, so readiness tells
             * the truth and an outage is noticed before the next batch */
            last_probe = now;
            PGresult *r = PQexec(a->s.conn, "");
            bool alive = PQresultStatus(r) == PGRES_EMPTY_QUERY;
            PQclear(r);
            if (!alive) {
                log_warn("pg_connection_lost", "error=%s", lq(PQerrorMessage(a->s.conn)));
                atomic_store(&g_stats.pg_up, 0);
                resync(a);
            }
        }
        if (!a->inflight && now - last_lag >= 1000) {
            update_lag(a);
            last_lag = now;
        }
        if (exit_at_eof && idle && all_at_eof(a)) {
            stop_reason = "eof";
            break;
        }
        if (!a->ever_assigned && now - last_wait_log >= 30000) {
            /* once at once, then every 30 s: a sink that never gets a partition
             * (Kafka unreachable, topic missing, more replicas than partitions)
             * says so instead of sitting silent */
            log_info("waiting_for_assignment", "topic=%s group=%s waited_ms=%" PRId64,
                     lq(a->s.topic), lq(cfg_str(&a->cfg, "group")), now - started);
            last_wait_log = now;
        }
        if (idle_ms > 0 && idle && now - a->last_msg_ms >= idle_ms) {
            /* also without any assignment: the bound holds when Kafka is never reached */
            stop_reason = a->ever_assigned ? "idle" : "idle_never_assigned";
            if (!a->ever_assigned)
                a->exit_code = 1; /* nothing was read: not a success */
            break;
        }
    }
    return stop_reason;
}

/* The run in one line. */
static void log_stopped(app *a, const char *stop_reason)
{
    int64_t active =
        a->active_end_ms > a->active_start_ms ? a->active_end_ms - a->active_start_ms : 0;
    unsigned long long consumed = atomic_load(&g_stats.consumed);
    log_info(
        "sink_stopped",
        "reason=%s active_ms=%" PRId64
        " rate_per_s=%.0f records=%llu applied=%llu skipped=%llu dead_letters=%llu batches=%llu "
        "resyncs=%llu +I=%llu -U=%llu +U=%llu -D=%llu upsert=%llu lag=%lld exit_code=%d",
        stop_reason, active, active ? (double)consumed * 1000.0 / (double)active : 0.0, consumed,
        atomic_load(&g_stats.applied), atomic_load(&g_stats.skipped),
        atomic_load(&g_stats.dead_letters), atomic_load(&g_stats.batches),
        atomic_load(&g_stats.resyncs), atomic_load(&g_stats.kinds[KIND_INSERT]),
        atomic_load(&g_stats.kinds[KIND_UPDATE_BEFORE]),
        atomic_load(&g_stats.kinds[KIND_UPDATE_AFTER]), atomic_load(&g_stats.kinds[KIND_DELETE]),
        atomic_load(&g_stats.kinds[KIND_UPSERT]), (long long)atomic_load(&g_stats.lag),
        a->exit_code);
}

int main(int argc, char **argv)
{
    static app a;
    batch_init(&a.cur.b);
    batch_init(&a.fly.b);
    pthread_mutex_init(&a.mu, NULL);
    atomic_store(&g_stats.lag, -1); /* unknown, not "caught up", until measured */
    pthread_cond_init(&a.cv, NULL);
    startup_signals(&g_stop);

    /* setup: 0 = run, -1 = exit 0 now (help, or stopped while waiting), else the exit code */
    int rc = sink_setup(&a, argc, argv);
    if (rc != 0) {
        sink_teardown(&a);
        return rc < 0 ? 0 : rc;
    }
    if (!handover_start(&a)) {
        log_error("thread_failed", "what=applier");
        sink_teardown(&a);
        return 1;
    }

    httpd *srv = NULL;
    httpd_handlers h = {.metrics = sink_metrics, .ready = sink_ready, .ctx = &a};
    if (!startup_http(cfg_str(&a.cfg, "http-listen"), &h, &srv)) {
        sink_teardown(&a); /* the applier thread runs: stop it before leaving */
        return 2;
    }

    const char *stop_reason = consume(&a);
    if (a.exit_code == 2)
        stop_reason = "postgres_given_up";
    /* finish the batch in hand; if PostgreSQL is gone, it stays uncommitted
     * and will be read again — never lost, never applied twice */
    flush_all(&a);
    update_lag(&a);
    rd_kafka_consumer_close(a.rk);
    httpd_stop(srv);
    log_stopped(&a, stop_reason);
    sink_teardown(&a);
    return a.exit_code;
}
