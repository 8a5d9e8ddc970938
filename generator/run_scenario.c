/* run_scenario — scenario mode; see app.h and main.c's overview. */
#define _POSIX_C_SOURCE 200809L
#include "app.h"

#include "../common/backoff.h"
#include "../common/config.h"
#include "../common/kafkaconf.h"
#include "../common/log.h"
#include "../common/pgutil.h"
#include "../common/schemareg.h"
#include "../common/validate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    pg_connect_status st;
    return pg_connect_configured(&a->cfg, "postgres", "connect-timeout", "expected-table database",
                                 &g_stop, &st);
}

/* One scenario run, from its options to its summary. */
typedef struct {
    gen_records recs;
    size_t total; /* events to send: the scenario, cut by --count */
    long long duration_s, rate, burst, burst_ms;
    char tname[512];
    const char *table; /* the expected table, or NULL */
    PGconn *conn;      /* its database */
    FILE *events;      /* --events-file */
    expected *exp;
    progress pg;
    size_t sent_i; /* events handed to Kafka (or written, with --dry-run) */
    const char *stop_reason;
} scenario_run;

static void scenario_run_free(scenario_run *r)
{
    records_free(&r->recs);
    PQfinish(r->conn);
    expected_free(r->exp);
    if (r->events)
        fclose(r->events);
}

/* The events, from the seed or --scenario-file.  0 or an exit code. */
static int build_events(app *a, scenario_run *r)
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
    r->duration_s = int_opt("duration-s", 0, 100000000, &bad);
    r->rate = int_opt("rate", 0, 100000000, &bad);
    r->burst = int_opt("burst", 0, 100000000, &bad);
    r->burst_ms = int_opt("burst-interval-ms", 0, 86400000, &bad);
    int_opt("delivery-timeout", 1, 86400, &bad);
    int_opt("connect-timeout", 0, 86400, &bad);
    if (bad)
        return 2;
    if (count > 0 && !cfg_find(c, "orders")->set && !opt("scenario-file"))
        so.orders = count / 3 + 1; /* an order's story has 3+ events on average */
    bool ok = opt("scenario-file") ? scenario_load(opt("scenario-file"), &r->recs, err, sizeof err)
                                   : scenario_generate(&so, &r->recs, err, sizeof err);
    if (!ok)
        return usage_error(err);
    r->total = count > 0 && (size_t)count < r->recs.n ? (size_t)count : r->recs.n;
    log_info("scenario_ready", "seed=%" PRIu64 " orders=%lld events=%zu source=%s", so.seed,
             so.orders, r->total, opt("scenario-file") ? lq(opt("scenario-file")) : "seed");
    return 0;
}

/* What must work before the first event is sent: the expected table's
 * database, the producer, the registry's schemas, the events file.  kc is
 * taken over.  0 or an exit code. */
static int open_outputs(app *a, rd_kafka_conf_t *kc, scenario_run *r)
{
    cfg_spec *c = &a->cfg;
    char err[1024];
    r->table = expected_table_name(r->tname, sizeof r->tname);
    if (r->table && !(r->conn = expected_db(a))) {
        if (kc)
            rd_kafka_conf_destroy(kc);
        return g_stop ? -1 : 2;
    }
    if (kc) {
        if (!kafka_prop_given(c, "message.timeout.ms")) {
            char ms[32];
            snprintf(ms, sizeof ms, "%lld", cfg_int(c, "delivery-timeout") * 1000);
            if (!kafka_conf_set(kc, "message.timeout.ms", ms, err, sizeof err)) {
                rd_kafka_conf_destroy(kc);
                return usage_error(err);
            }
        }
        a->prod = producer_new(kc, err, sizeof err);
        if (!a->prod) {
            log_error("kafka_client_failed", "error=%s", lq(err));
            return 2;
        }
        if (!strcmp(cfg_str(c, "format"), "registry") && !register_schemas(a, 2))
            return 2;
    }
    if (opt("events-file") && !(r->events = fopen(opt("events-file"), "w"))) {
        fprintf(stderr, "flinkpg-generator: --events-file %s: %s\n", opt("events-file"),
                strerror(errno));
        return 2;
    }
    if (opt("expected-file") || opt("expected-table") || opt("target-table"))
        r->exp = expected_new();
    return 0;
}

/* Wait until event i is due (--rate, --burst); false when stopped. */
static bool pace(app *a, scenario_run *r, size_t i)
{
    if (r->rate > 0) { /* event i is due at start + i/rate */
        int64_t due = r->pg.start_ms + (int64_t)((double)i * 1000.0 / (double)r->rate);
        for (int64_t w; !g_stop && (w = due - now_ms()) > 0;) {
            if (a->prod)
                producer_poll(a->prod, (int)(w > 100 ? 100 : w));
            else
                sleep_ms_unless((uint32_t)w, &g_stop);
        }
        if (g_stop)
            return false;
    }
    if (r->burst > 0 && i > 0 && i % (size_t)r->burst == 0 && r->burst_ms > 0) {
        if (a->prod)
            producer_poll(a->prod, 0);
        if (!sleep_ms_unless((uint32_t)r->burst_ms, &g_stop))
            return false;
    }
    return true;
}

/* Send the events, feeding the expected table and the events file.  0 or 2. */
static int send_events(app *a, scenario_run *r)
{
    char err[1024];
    const char *prog = cfg_str(&a->cfg, "progress");
    r->pg = (progress){.tty = !strcmp(prog, "always") || (!strcmp(prog, "auto") && isatty(2)),
                       .start_ms = now_ms()};
    r->pg.last_ms = r->pg.start_ms;
    r->stop_reason = "done";
    size_t i = 0;
    for (; i < r->total; i++) {
        if (g_stop || !pace(a, r, i)) {
            r->stop_reason = "signal";
            break;
        }
        if (r->duration_s && now_ms() - r->pg.start_ms >= r->duration_s * 1000) {
            r->stop_reason = "duration";
            break;
        }
        const gen_record *e = &r->recs.v[i];
        if (a->prod) {
            char *conformed = conform_value(a, e->topic, e->value); /* registry: epoch ms */
            const char *v = conformed ? conformed : e->value;
            producer_send(a->prod, a->topics[e->topic], e->key, strlen(e->key), v,
                          v ? strlen(v) : 0, a->key_sr[e->topic], a->value_sr[e->topic]);
            free(conformed);
        }
        if (r->exp &&
            !expected_apply(r->exp, (gen_topic)e->topic, e->key, e->value, err, sizeof err)) {
            log_error("bad_event", "index=%zu error=%s", i, lq(err));
            r->sent_i = i;
            return 2;
        }
        if (r->events)
            fprintf(r->events, "%s\t%s\t%s\n", a->topics[e->topic], e->key,
                    e->value ? e->value : "");
        if (a->prod && (i & 1023) == 0) {
            producer_poll(a->prod, 0);
            progress_show(a, &r->pg, false);
        }
    }
    r->sent_i = i;
    return 0;
}

/* The expected final table of exactly the events sent: to --expected-file
 * and to the table.  0 or 2; *rows the table's size. */
static int write_expected(app *a, scenario_run *r, size_t *rows)
{
    char err[1024];
    int rc = 0;
    *rows = expected_count(r->exp);
    if (opt("expected-file")) {
        if (expected_write_json(r->exp, opt("expected-file"), err, sizeof err)) {
            log_info("expected_written", "file=%s rows=%zu", lq(opt("expected-file")), *rows);
        } else {
            log_error("expected_failed", "error=%s", lq(err));
            rc = 2;
        }
    }
    if (!r->table)
        return rc;
    /* the connection sat idle while producing: a server restart, an idle
     * timeout or a proxy may have closed it, which only a round trip shows */
    PGresult *alive = PQexec(r->conn, "");
    bool ok = PQresultStatus(alive) == PGRES_EMPTY_QUERY;
    PQclear(alive);
    if (!ok) { /* once more, within the same bound */
        PQfinish(r->conn);
        r->conn = expected_db(a);
    }
    if (!r->conn || !expected_write_pg(r->exp, r->conn, r->table, err, sizeof err)) {
        log_error("expected_failed", "table=%s error=%s", lq(r->table),
                  lq(r->conn ? err : "no connection"));
        return 2;
    }
    log_info("expected_written", "table=%s rows=%zu", lq(r->table), *rows);
    return rc;
}

int run_scenario(app *a, rd_kafka_conf_t *kc)
{
    scenario_run r = {0};
    int rc = build_events(a, &r);
    if (rc) {
        if (kc)
            rd_kafka_conf_destroy(kc);
        scenario_run_free(&r);
        return rc;
    }
    if ((rc = open_outputs(a, kc, &r)) != 0) {
        scenario_run_free(&r);
        return rc < 0 ? 0 : rc;
    }
    rc = send_events(a, &r);
    long long sent = 0, delivered = 0, failed = 0;
    if (a->prod) {
        /* every event ends delivered or failed within --delivery-timeout;
         * what is still queued after it (and a margin) is purged and counted
         * as failed, never as nothing */
        long long bound_ms = kafka_prop_given(&a->cfg, "message.timeout.ms")
                                 ? 300000 /* -X set librdkafka's own bound: give it time */
                                 : cfg_int(&a->cfg, "delivery-timeout") * 1000;
        producer_finish(a->prod, (int)(bound_ms + 5000));
        progress_show(a, &r.pg, true);
        producer_counts(a->prod, &sent, &delivered, &failed);
    }
    int64_t elapsed = now_ms() - r.pg.start_ms;
    if (r.events && fclose(r.events) != 0) {
        log_error("events_file_failed", "path=%s error=%s", lq(opt("events-file")),
                  lq(strerror(errno)));
        rc = 2;
    }
    r.events = NULL;
    size_t nexp = 0;
    if (r.exp && rc == 0)
        rc = write_expected(a, &r, &nexp);
    if (a->prod && (failed > 0 || sent != delivered) && rc == 0)
        rc = 1;
    log_info("generator_stopped",
             "reason=%s events=%zu sent=%lld delivered=%lld failed=%lld elapsed_ms=%" PRId64
             " rate_per_s=%.0f expected_rows=%zu exit_code=%d",
             r.stop_reason, r.sent_i, sent, delivered, failed, elapsed,
             elapsed > 0 ? (double)sent * 1000.0 / (double)elapsed : 0.0, nexp, rc);
    scenario_run_free(&r);
    return rc;
}
