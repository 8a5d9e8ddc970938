/*
 * reconcile_demorun — see reconcile.h: one DemoRun, from reading it to its
 * status; the finalizer and cleanup.  The parts: reconcile_run.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "reconcile_run.h"

#include "../common/backoff.h"
#include "../common/hash.h"
#include "../common/httpc.h"
#include "../common/log.h"
#include "../common/strbuf.h"
#include "drift.h"
#include "events.h"
#include "podstatus.h"
#include "statements.h"
#include "status.h"
#include "topics.h"
#include "validation.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *rv_of(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

void note_change(rctx *c, const char *kind, const char *name, const char *what)
{
    sb_printf(&c->changed, "%s%s/%s:%s", c->changed.len ? "," : "", kind, name, what);
}

static bool has_finalizer(const json_t *run)
{
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(json_object_get(run, "metadata"), "finalizers"), i, f)
        if (!strcmp(json_string_value(f) ? json_string_value(f) : "", DEMORUN_FINALIZER))
            return true;
    return false;
}

/* A merge patch of the DemoRun; c->run becomes what the server answered. */
static bool patch_run(rctx *c, json_t *patch)
{
    char path[512];
    snprintf(path, sizeof path, "/apis/flinkpg.io/v1alpha1/namespaces/%s/demoruns/%s", c->ns,
             c->name);
    json_t *out = NULL;
    long st = kube_merge_patch(c->r->kc, path, patch, &out, c->err, sizeof c->err);
    json_decref(patch);
    if (st == 200 && out) {
        json_decref(c->run);
        c->run = out;
        return true;
    }
    json_decref(out);
    return false;
}

/* Add or remove our finalizer with a merge patch guarded by resourceVersion. */
static bool set_finalizer(rctx *c, bool present)
{
    json_t *list = json_array();
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(json_object_get(c->run, "metadata"), "finalizers"), i, f)
        if (strcmp(json_string_value(f) ? json_string_value(f) : "", DEMORUN_FINALIZER))
            json_array_append(list, f);
    if (present)
        json_array_append_new(list, json_string(DEMORUN_FINALIZER));
    json_t *patch = json_pack("{s:{s:o, s:s}}", "metadata", "finalizers", list, "resourceVersion",
                              rv_of(c->run));
    return patch_run(c, patch);
}

/* The finalizer's topic deletion.  A failed attempt is counted in an
 * annotation and retried with the work queue's backoff (false); after
 * TOPIC_DELETE_ATTEMPTS a Warning says the topics are left, and the DemoRun
 * is let go (true). */
#define TOPIC_DELETE_ATTEMPTS 5
#define TOPIC_ATTEMPTS_ANNOTATION "flinkpg.io/topic-delete-attempts"
static bool cleanup_topics(rctx *c, const stmt_ctx *sx)
{
    char msg[600];
    if (topics_delete(sx, 5000, msg, sizeof msg)) {
        event_emit(c->r->kc, c->run, "Normal", "TopicsDeleted", "Cleanup", msg, c->r->identity);
        return true;
    }
    const char *a = json_string_value(
        json_object_get(json_object_get(json_object_get(c->run, "metadata"), "annotations"),
                        TOPIC_ATTEMPTS_ANNOTATION));
    int attempts = (a ? atoi(a) : 0) + 1;
    char note[800];
    if (attempts >= TOPIC_DELETE_ATTEMPTS) {
        snprintf(note, sizeof note,
                 "gave up deleting the Kafka topics after %d attempts, delete them by hand: %s",
                 attempts, msg);
        event_emit(c->r->kc, c->run, "Warning", "TopicsNotDeleted", "Cleanup", note,
                   c->r->identity);
        return true;
    }
    snprintf(note, sizeof note, "attempt %d of %d: %s", attempts, TOPIC_DELETE_ATTEMPTS, msg);
    event_emit(c->r->kc, c->run, "Warning", "TopicDeleteFailed", "Cleanup", note, c->r->identity);
    char n[16];
    snprintf(n, sizeof n, "%d", attempts);
    patch_run(c,
              json_pack("{s:{s:{s:s}}}", "metadata", "annotations", TOPIC_ATTEMPTS_ANNOTATION, n));
    snprintf(c->err, sizeof c->err, "deleting topics (%s)", note);
    return false;
}

/* Seconds since an RFC 3339 UTC time ("2026-01-02T03:04:05Z"), -1 if unreadable. */
static long long seconds_since(const char *t)
{
    int y, mo, d, h, mi, s;
    if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6)
        return -1;
    /* days from the civil date (proleptic Gregorian), without timegm() */
    y -= mo <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    long long epoch = days * 86400 + h * 3600 + mi * 60 + s;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (long long)now.tv_sec - epoch;
}

static int finalize(rctx *c)
{
    if (!has_finalizer(c->run))
        return 0;
    char msg[512];
    const stmt_backend *be = stmt_backend_for(spec_str(c->run, "flink.backend", "gateway"));
    stmt_ctx sx = {.kc = c->r->kc,
                   .confluent_url = c->r->confluent_url,
                   .run = c->run,
                   .timeout_ms = c->r->backend_timeout_ms};
    stmt_result sr = be->remove(&sx, msg, sizeof msg);
    long long age = seconds_since(json_string_value(
        json_object_get(json_object_get(c->run, "metadata"), "deletionTimestamp")));
    if (sr != STMT_GONE && c->r->cleanup_timeout_s > 0 && age >= c->r->cleanup_timeout_s) {
        /* a backend that never answers must not keep the DemoRun forever */
        char note[800];
        snprintf(note, sizeof note,
                 "gave up deleting the Flink statements %llds after the delete (--cleanup-timeout "
                 "%lds); stop them by hand: %s",
                 age, c->r->cleanup_timeout_s, msg);
        event_emit(c->r->kc, c->run, "Warning", "StatementsNotDeleted", "Cleanup", note,
                   c->r->identity);
        log_warn("cleanup_given_up", "run=%s/%s after_s=%lld error=%s", c->ns, c->name, age,
                 lq(msg));
    } else if (sr == STMT_PENDING) {
        /* deleted, still DELETING on the backend: look again shortly */
        log_info("statements_deleting", "run=%s/%s detail=%s", c->ns, c->name, lq(msg));
        return 1000;
    } else if (sr != STMT_GONE) {
        event_emit(c->r->kc, c->run, "Warning", "StatementDeleteFailed", "Cleanup", msg,
                   c->r->identity);
        /* the next try no later than the give-up time, whatever the backoff says */
        if (c->r->cleanup_timeout_s > 0 && age >= 0) {
            long long left_ms = (c->r->cleanup_timeout_s - age) * 1000;
            c->r->retry_within_ms = left_ms < 500 ? 500 : (long)left_ms;
        }
        snprintf(c->err, sizeof c->err, "deleting statements: %s", msg);
        return -1;
    } else {
        event_emit(c->r->kc, c->run, "Normal", "StatementsDeleted", "Cleanup", msg, c->r->identity);
    }
    if (spec_bool(c->run, "deleteTopicsOnCleanup") && !cleanup_topics(c, &sx))
        return -1;
    if (!set_finalizer(c, false))
        return -1;
    note_change(c, "demorun", c->name, "finalizer-removed");
    return 0;
}

static int reconcile_children(rctx *c)
{
    run_children ch = {.statements = json_array(), .sr = STMT_NOT_WIRED};
    run_conds cs;
    memset(&cs, 0, sizeof cs);
    json_t *validation = NULL;
    int rc = -1;
    if (!apply_children(c, &ch))
        goto out;
    observe_children(c, &ch, &cs, &validation);
    if (write_status(c, &cs, derive_phase(c, &cs), ch.statements, validation) < 0)
        goto out;
    if (ch.sr == STMT_ERROR) {
        /* the status says so; the work queue retries with its backoff */
        snprintf(c->err, sizeof c->err, "statements: %s", cs.statements.msg);
        goto out;
    }
    rc = ch.requeue;
out:
    json_decref(ch.statements);
    json_decref(validation);
    json_decref(ch.sts);
    json_decref(ch.cm);
    json_decref(ch.job);
    json_decref(ch.dep);
    json_decref(ch.pods);
    return rc;
}

int reconcile_demorun(reconciler *r, const char *ns, const char *name)
{
    rctx c = {.r = r, .ns = ns, .name = name};
    r->retry_within_ms = 0;
    sb_init(&c.changed);
    int64_t t0 = now_ms();
    char path[512];
    snprintf(path, sizeof path, "/apis/flinkpg.io/v1alpha1/namespaces/%s/demoruns/%s", ns, name);
    long st = kube_get(r->kc, path, &c.run, c.err, sizeof c.err);
    int rc;
    if (st == 404) {
        log_info("reconcile", "run=%s/%s result=gone", ns, name);
        json_decref(c.run);
        sb_free(&c.changed);
        return 0;
    }
    if (st != 200) {
        rc = -1;
    } else if (json_object_get(json_object_get(c.run, "metadata"), "deletionTimestamp")) {
        rc = finalize(&c);
    } else if (!has_finalizer(c.run) && !set_finalizer(&c, true)) {
        rc = -1;
    } else {
        rc = reconcile_children(&c);
    }
    const char *phase =
        json_string_value(json_object_get(json_object_get(c.run, "status"), "phase"));
    /* what was applied is reported even when a later step (statements) failed */
    if (c.changed.len && c.run && st == 200 && strstr(sb_str(&c.changed), ":created"))
        event_emit(r->kc, c.run, "Normal", "Applied", "Apply", sb_str(&c.changed), r->identity);
    if (rc < 0) {
        log_warn("reconcile", "run=%s/%s result=error changed=%s error=%s duration_ms=%lld", ns,
                 name, lq(c.changed.len ? sb_str(&c.changed) : "none"), lq(c.err),
                 (long long)(now_ms() - t0));
        if (c.run && st == 200)
            event_emit(r->kc, c.run, "Warning", "ReconcileFailed", "Reconcile", c.err, r->identity);
    } else {
        log_info("reconcile", "run=%s/%s result=ok phase=%s changed=%s duration_ms=%lld", ns, name,
                 phase ? phase : "-", lq(c.changed.len ? sb_str(&c.changed) : "none"),
                 (long long)(now_ms() - t0));
    }
    json_decref(c.run);
    sb_free(&c.changed);
    return rc;
}
