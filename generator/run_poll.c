/* run_poll — poll mode; see app.h and main.c's overview. */
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

/* The settings poll mode needs; 0 or exit 2 (printed). */
static int check_poll_options(bool http, long long *interval, long long *max_polls)
{
    bool bad = false;
    *interval = int_opt("poll-interval-ms", 1, 86400000, &bad);
    *max_polls = int_opt("max-polls", 0, 1000000000, &bad);
    const char *missing = !opt("topic")                    ? "--topic (GEN_TOPIC)"
                          : !opt("state-file")             ? "--state-file (GEN_STATE_FILE)"
                          : http && !opt("source-url")     ? "--source-url (SOURCE_URL)"
                          : http && !opt("source-key")     ? "--source-key (SOURCE_KEY)"
                          : !http && !opt("source-table")  ? "--source-table (SOURCE_TABLE)"
                          : !http && !opt("source-cursor") ? "--source-cursor (SOURCE_CURSOR)"
                                                           : NULL;
    if (missing)
        fprintf(stderr, "flinkpg-generator: --source %s needs %s\n", http ? "http" : "postgres",
                missing);
    return bad || missing ? 2 : 0;
}

/* One poll's changes, published; the cursor and hashes are saved only once
 * Kafka acknowledged every record.  0, 1 (not published: the next poll
 * sends them again) or 2 (the state could not be saved). */
static int publish(app *a, pollstate *st, poll_changes *ch)
{
    char err[1024];
    long long before_failed, x;
    producer_counts(a->prod, &x, &x, &before_failed);
    for (size_t i = 0; i < ch->n; i++) {
        poll_change *p = &ch->v[i];
        producer_send(a->prod, a->topics[0], p->key, strlen(p->key), p->value,
                      p->value ? strlen(p->value) : 0, a->key_sr[0], a->value_sr[0]);
    }
    bool flushed = producer_flush(a->prod, 30000);
    long long after_failed;
    producer_counts(a->prod, &x, &x, &after_failed);
    if (!flushed || after_failed != before_failed) {
        log_error("poll_not_published", "changes=%zu failed=%lld", ch->n,
                  after_failed - before_failed);
        return 1;
    }
    for (size_t i = 0; i < ch->n; i++) {
        pollstate_set_hash(st, ch->v[i].key, ch->v[i].hash);
        log_info("change_published", "topic=%s key=%s op=%s", lq(a->topics[0]), lq(ch->v[i].key),
                 ch->v[i].value ? "upsert" : "tombstone");
    }
    if (ch->cursor)
        pollstate_set_cursor(st, ch->cursor);
    if ((ch->n || ch->cursor) && !pollstate_save(st, err, sizeof err)) {
        log_error("state_save_failed", "path=%s error=%s", lq(opt("state-file")), lq(err));
        return 2;
    }
    return 0;
}

/* One poll source at work */
typedef struct {
    app *a;
    pollstate *st;
    poll_pg *pp;       /* postgres source, or NULL */
    poll_http_opts ho; /* http source */
    bool http;
    long long interval, max_polls, polls, published;
} poller;

/* Poll, publish, wait; until a signal or --max-polls.  The exit code. */
static int poll_loop(poller *p)
{
    char err[1024];
    const char *source = p->http ? "http" : "postgres";
    backoff b;
    backoff_init(&b, 200, 30000);
    int rc = 0;
    while (!g_stop && (!p->max_polls || p->polls < p->max_polls)) {
        poll_changes ch = {0};
        bool ok = p->http ? poll_http_fetch(&p->ho, p->st, &ch, err, sizeof err)
                          : poll_pg_fetch(p->pp, p->st, &ch, err, sizeof err);
        if (!ok && !p->http && poll_pg_refused(p->pp)) {
            log_error("pg_connect_failed", "setting=%s reason=refused error=%s",
                      lq(cfg_origin(&p->a->cfg, "source-postgres")), lq(err));
            poll_changes_free(&ch);
            return 2;
        }
        if (!ok) {
            __atomic_add_fetch(&p->a->poll_failures, 1, __ATOMIC_RELAXED);
            uint32_t delay = backoff_next(&b);
            log_warn("source_unavailable", "source=%s attempt=%u retry_in_ms=%u error=%s", source,
                     b.attempt, delay, lq(err));
            poll_changes_free(&ch);
            sleep_ms_unless(delay, &g_stop);
            continue;
        }
        if (b.attempt > 0)
            log_info("source_available", "source=%s after_attempts=%u", source, b.attempt);
        backoff_reset(&b);
        int pr = publish(p->a, p->st, &ch);
        size_t n = ch.n;
        poll_changes_free(&ch);
        if (pr == 2)
            return 2;
        if (pr == 1) { /* keep the old cursor and hashes: the next poll publishes these again */
            rc = 1;
            sleep_ms_unless((uint32_t)p->interval, &g_stop);
            continue;
        }
        p->polls++;
        p->published += (long long)n;
        __atomic_store_n(&p->a->polls, p->polls, __ATOMIC_RELAXED);
        log_debug("polled", "changes=%zu cursor=%s", n,
                  lq(pollstate_cursor(p->st) ? pollstate_cursor(p->st) : "-"));
        if (!p->max_polls || p->polls < p->max_polls)
            sleep_ms_unless((uint32_t)p->interval, &g_stop);
    }
    return rc;
}

int run_poll(app *a, rd_kafka_conf_t *kc, bool http)
{
    cfg_spec *c = &a->cfg;
    char err[1024];
    poller p = {.a = a, .http = http};
    if (check_poll_options(http, &p.interval, &p.max_polls)) {
        rd_kafka_conf_destroy(kc);
        return 2;
    }
    p.st = pollstate_load(opt("state-file"), err, sizeof err);
    if (!p.st) {
        rd_kafka_conf_destroy(kc);
        return usage_error(err);
    }
    a->prod = producer_new(kc, err, sizeof err);
    if (!a->prod)
        log_error("kafka_client_failed", "error=%s", lq(err));
    a->topics[0] = opt("topic");
    if (!a->prod || (!strcmp(cfg_str(c, "format"), "registry") && !register_schemas(a, 1))) {
        pollstate_free(p.st);
        return 2;
    }
    if (!http)
        p.pp = poll_pg_new(&(poll_pg_opts){.conninfo = cfg_str(c, "source-postgres"),
                                           .table = opt("source-table"),
                                           .key_columns = opt("source-key"),
                                           .cursor_column = opt("source-cursor"),
                                           .soft_delete_column = opt("source-soft-delete"),
                                           .batch = 10000});
    p.ho = (poll_http_opts){.url = opt("source-url"),
                            .items_field = opt("source-items"),
                            .key_field = opt("source-key"),
                            .user = opt("source-user"),
                            .password = opt("source-password"),
                            .timeout_ms = 10000};
    log_info("poll_starting", "source=%s topic=%s state_file=%s cursor=%s interval_ms=%lld",
             http ? "http" : "postgres", lq(a->topics[0]), lq(opt("state-file")),
             lq(pollstate_cursor(p.st) ? pollstate_cursor(p.st) : "-"), p.interval);
    int rc = poll_loop(&p);
    long long sent, delivered, failed;
    producer_counts(a->prod, &sent, &delivered, &failed);
    log_info("generator_stopped",
             "reason=%s polls=%lld published=%lld delivered=%lld failed=%lld "
             "poll_failures=%lld exit_code=%d",
             g_stop    ? "signal"
             : rc == 2 ? "error"
                       : "max-polls",
             p.polls, p.published, delivered, failed, a->poll_failures, rc);
    poll_pg_free(p.pp);
    pollstate_free(p.st);
    return rc;
}
