/*
 * reconcile_demorun — see reconcile.h.  The children, in apply order:
 *
 *   Secret, Service, StatefulSet   (only with spec.postgres.inCluster)
 *   ConfigMap <run>-sql
 *   Job <run>-generator            (replaced when its template hash changes)
 *   Deployment <run>-sink
 *
 * Then the children's pods are listed once, so that a condition says why a
 * component is not coming up when waiting will not help (podstatus.h).
 *
 * Each apply is preceded by a GET so that the log and the events can say
 * whether the object was created, changed or left alone (server-side apply
 * of an unchanged object does not move its resourceVersion).
 */
#define _POSIX_C_SOURCE 200809L
#include "reconcile.h"

#include "../common/backoff.h"
#include "../common/hash.h"
#include "../common/httpc.h"
#include "../common/log.h"
#include "../common/strbuf.h"
#include "podstatus.h"
#include "statements.h"
#include "drift.h"
#include "events.h"
#include "status.h"
#include "topics.h"
#include "validation.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    reconciler *r;
    json_t *run;
    const char *ns, *name;
    strbuf changed; /* "statefulset/x created, ..." */
    char err[1024];
} rctx;

static const char *rv_of(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

static void note_change(rctx *c, const char *kind, const char *name, const char *what)
{
    sb_printf(&c->changed, "%s%s/%s:%s", c->changed.len ? "," : "", kind, name, what);
}

/* The desired object's hash, written into its APPLIED_HASH_ANNOTATION: an
 * apply is skipped when the live object (from the informer cache) carries
 * the same hash and still holds every value we set (drift.h: a hand edit of
 * a field we own is taken back), so that a steady-state reconcile writes
 * nothing.  Chosen over comparing managedFields: exact for what we send,
 * one serialisation and one walk of the object, no field-set algebra. */
#define APPLIED_HASH_ANNOTATION "flinkpg.io/applied-hash"

static void desired_hash(const json_t *obj, char *out, size_t n)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = fnv1a64(text ? text : "");
    if (text) {
        memset(text, 0, strlen(text)); /* a Secret's data passed through it */
        free(text);
    }
    snprintf(out, n, "%016llx", (unsigned long long)h);
}

/* GET (the cache) then apply obj at base/name unless unchanged; *out
 * receives the live object.  Returns false (c->err set) on failure. */
static bool apply_child(rctx *c, const char *base, const char *kind, json_t *obj, json_t **out)
{
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    char path[512], hash[32];
    snprintf(path, sizeof path, "%s/namespaces/%s/%s/%s", base, c->ns, kind, name);
    desired_hash(obj, hash, sizeof hash);
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_object_get(meta, "annotations"))
        json_object_set_new(meta, "annotations", json_object());
    json_object_set_new(json_object_get(meta, "annotations"), APPLIED_HASH_ANNOTATION,
                        json_string(hash));
    json_t *before = NULL;
    long st = kube_get_child(c->r->kc, path, &before, c->err, sizeof c->err);
    if (st != 200 && st != 404) {
        json_decref(before);
        return false;
    }
    const json_t *bmeta = json_object_get(before, "metadata");
    const char *have =
        json_string_value(json_object_get(json_object_get(bmeta, "annotations"), APPLIED_HASH_ANNOTATION));
    if (st == 200 && have && !strcmp(have, hash) && !json_object_get(bmeta, "deletionTimestamp") &&
        desired_holds(obj, before)) {
        *out = before; /* unchanged: nothing to send */
        return true;
    }
    st = kube_apply(c->r->kc, path, obj, out, c->err, sizeof c->err);
    if (st != 200 && st != 201) {
        json_decref(before);
        return false;
    }
    const char *b = st == 200 && before ? rv_of(before) : NULL;
    const char *a = rv_of(*out);
    if (!b || !json_object_get(before, "metadata"))
        note_change(c, kind, name, "created");
    else if (a && strcmp(a, b))
        note_change(c, kind, name, "configured");
    json_decref(before);
    return true;
}

static bool has_finalizer(const json_t *run)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(json_object_get(run, "metadata"), "finalizers"), i, f)
        if (!strcmp(json_string_value(f) ? json_string_value(f) : "", DEMORUN_FINALIZER))
            return true;
    return false;
}

/* Add or remove our finalizer with a merge patch guarded by resourceVersion. */
static bool set_finalizer(rctx *c, bool present)
{
    json_t *list = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(json_object_get(c->run, "metadata"), "finalizers"), i, f)
        if (strcmp(json_string_value(f) ? json_string_value(f) : "", DEMORUN_FINALIZER))
            json_array_append(list, f);
    if (present)
        json_array_append_new(list, json_string(DEMORUN_FINALIZER));
    json_t *patch = json_pack("{s:{s:o, s:s}}", "metadata", "finalizers", list, "resourceVersion",
                              rv_of(c->run));
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
    const char *a = json_string_value(json_object_get(
        json_object_get(json_object_get(c->run, "metadata"), "annotations"),
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
    char n[16], path[512];
    snprintf(n, sizeof n, "%d", attempts);
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
                              TOPIC_ATTEMPTS_ANNOTATION, n);
    snprintf(path, sizeof path, "/apis/flinkpg.io/v1alpha1/namespaces/%s/demoruns/%s", c->ns,
             c->name);
    json_t *out = NULL;
    long st = kube_merge_patch(c->r->kc, path, patch, &out, c->err, sizeof c->err);
    json_decref(patch);
    if (st == 200 && out) {
        json_decref(c->run);
        c->run = out;
    } else {
        json_decref(out);
    }
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
    stmt_ctx sx = {.kc = c->r->kc, .confluent_url = c->r->confluent_url, .run = c->run,
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
        event_emit(c->r->kc, c->run, "Normal", "StatementsDeleted", "Cleanup", msg,
                   c->r->identity);
    }
    if (spec_bool(c->run, "deleteTopicsOnCleanup") && !cleanup_topics(c, &sx))
        return -1;
    if (!set_finalizer(c, false))
        return -1;
    note_change(c, "demorun", c->name, "finalizer-removed");
    return 0;
}

/* The existing PostgreSQL password, or a new one (never logged). */
static bool pg_password(rctx *c, char *out, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s-postgres", c->ns, c->name);
    json_t *s = NULL;
    long st = kube_get(c->r->kc, path, &s, c->err, sizeof c->err);
    if (st == 200) {
        const char *b64 = json_string_value(json_object_get(json_object_get(s, "data"), "password"));
        kube_blob pw = {0};
        bool ok = b64 && base64_decode(b64, strlen(b64), &pw) && pw.len > 0 && pw.len < n;
        if (ok)
            snprintf(out, n, "%s", pw.data);
        if (pw.data)
            memset(pw.data, 0, pw.len);
        free(pw.data);
        json_decref(s);
        if (ok)
            return true;
    } else {
        json_decref(s);
        if (st != 404)
            return false;
    }
    if (!random_password(out, n > 25 ? 25 : n)) {
        snprintf(c->err, sizeof c->err, "generating a password: cannot read /dev/urandom");
        return false;
    }
    return true;
}

/* The generator Job, replaced when its template changed.  Returns 1 when it
 * was deleted (requeue), 0 applied, -1 error. */
static int apply_job(rctx *c, json_t *job, json_t **out)
{
    char path[512];
    snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s-generator", c->ns, c->name);
    json_t *cur = NULL;
    long st = kube_get_child(c->r->kc, path, &cur, c->err, sizeof c->err);
    if (st == 200) {
        const char *have = json_string_value(json_object_get(
            json_object_get(json_object_get(cur, "metadata"), "annotations"),
            GENERATOR_HASH_ANNOTATION));
        const char *want = json_string_value(json_object_get(
            json_object_get(json_object_get(job, "metadata"), "annotations"),
            GENERATOR_HASH_ANNOTATION));
        bool deleting = json_object_get(json_object_get(cur, "metadata"), "deletionTimestamp");
        bool differs = !have || !want || strcmp(have, want) != 0;
        /* Same hash: the run asks for the same generator, but the controller's
         * defaults may have changed (a new image after an upgrade).  The pod
         * template is immutable and the Job must not run again, so the apply
         * carries the template the Job has; only the rest (suspend, labels)
         * is applied. */
        json_t *live = json_object_get(json_object_get(cur, "spec"), "template");
        if (!differs && live)
            json_object_set_new(json_object_get(job, "spec"), "template", json_deep_copy(live));
        json_decref(cur);
        if (deleting)
            return 1;
        if (differs) {
            if (kube_delete(c->r->kc, path, c->err, sizeof c->err) / 100 != 2)
                return -1;
            note_change(c, "jobs", json_string_value(json_object_get(json_object_get(job, "metadata"), "name")), "replaced");
            event_emit(c->r->kc, c->run, "Normal", "GeneratorReplaced", "Replace",
                       "the generator's spec changed; its Job was deleted and is recreated",
                       c->r->identity);
            return 1;
        }
    } else {
        json_decref(cur);
        if (st != 404)
            return -1;
    }
    return apply_child(c, "/apis/batch/v1", "jobs", job, out) ? 0 : -1;
}

static long long jint(const json_t *o, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(o, a), b));
}

static bool job_cond(const json_t *job, const char *type)
{
    size_t i;
    json_t *cd;
    json_array_foreach(json_object_get(json_object_get(job, "status"), "conditions"), i, cd)
    {
        const char *t = json_string_value(json_object_get(cd, "type"));
        const char *s = json_string_value(json_object_get(cd, "status"));
        if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
            return true;
    }
    return false;
}

typedef struct {
    const char *type, *status, *reason;
    char msg[512];
} cond_in;

/* The reason the DemoRun's status had for condition `type`, or NULL. */
static const char *old_reason(const json_t *run, const char *type)
{
    size_t i;
    json_t *cd;
    json_array_foreach(json_object_get(json_object_get(run, "status"), "conditions"), i, cd)
    {
        const char *t = json_string_value(json_object_get(cd, "type"));
        if (t && !strcmp(t, type))
            return json_string_value(json_object_get(cd, "reason"));
    }
    return NULL;
}

/* The run's pods, every component in one list, or NULL when listing failed:
 * the pod check explains a condition, it is no reason to fail a reconcile. */
static json_t *list_pods(rctx *c)
{
    char sel[400], path[1024], err[1024];
    /* not managed-by: the sink's and PostgreSQL's pod templates leave it out
     * (render_workloads.c), their pods are the ReplicaSet's and StatefulSet's */
    snprintf(sel, sizeof sel, "flinkpg.io/run=%s", c->name);
    char *esc = httpc_escape(sel);
    if (!esc)
        return NULL;
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=%s", c->ns, esc);
    free(esc);
    json_t *pods = NULL;
    long st = kube_get(c->r->kc, path, &pods, err, sizeof err);
    if (st != 200) {
        log_warn("pods_list_failed", "run=%s/%s error=%s", c->ns, c->name, lq(err));
        json_decref(pods);
        return NULL;
    }
    return pods;
}

/* When a pod of `component` is stuck (podstatus.h), cd becomes False with
 * the kubelet's reason and a message naming pod, container and image.
 * Returns true when it did. */
static bool pod_override(rctx *c, const json_t *pods, const char *component, cond_in *cd)
{
    pod_problem pp;
    if (!pods || !pod_problem_find(pods, component, &pp))
        return false;
    if (!pod_reasons_same_problem(old_reason(c->run, cd->type), pp.reason))
        log_warn("pod_stuck", "run=%s/%s condition=%s reason=%s message=%s", c->ns, c->name,
                 cd->type, pp.reason, lq(pp.message));
    cd->status = "False";
    cd->reason = pp.reason;
    snprintf(cd->msg, sizeof cd->msg, "%s", pp.message);
    return true;
}

/* validation: NULL keeps status.validation and status.rows as they are, JSON
 * null removes them, an object (validation_json) replaces them. */
static int write_status(rctx *c, cond_in *cs, size_t ncs, const char *phase, json_t *statements,
                        json_t *validation)
{
    json_t *old = json_object_get(c->run, "status");
    json_t *oldc = json_object_get(old, "conditions");
    long long gen = json_integer_value(json_object_get(json_object_get(c->run, "metadata"), "generation"));
    json_t *conds = json_array();
    strbuf flips;
    sb_init(&flips);
    for (size_t i = 0; i < ncs; i++) {
        const char *was = old_reason(c->run, cs[i].type);
        bool flipped = cond_set(conds, oldc, cs[i].type, cs[i].status, cs[i].reason, cs[i].msg, gen);
        /* a stuck pod is announced when it first appears, flip or not: the
         * sink's False/Progressing becoming False/ImagePullBackOff is the
         * news, the kubelet's ErrImagePull <-> ImagePullBackOff retries are not */
        bool stuck = pod_reason_stuck(cs[i].reason) && !pod_reasons_same_problem(was, cs[i].reason);
        if (flipped)
            sb_printf(&flips, "%s%s=%s", flips.len ? "," : "", cs[i].type, cs[i].status);
        if ((flipped && (!strcmp(cs[i].status, "True") || oldc)) || stuck) {
            char note[700];
            snprintf(note, sizeof note, "%s is %s: %s", cs[i].type, cs[i].status, cs[i].msg);
            event_emit(c->r->kc, c->run,
                       !strcmp(cs[i].status, "False") && (!strcmp(cs[i].reason, "JobFailed") ||
                                                          !strcmp(cs[i].reason, "StatementFailed") ||
                                                          !strcmp(cs[i].reason, "Fail") ||
                                                          pod_reason_stuck(cs[i].reason))
                           ? "Warning" : "Normal",
                       cs[i].reason, "Reconcile", note, c->r->identity);
        }
    }
    json_t *st = json_pack("{s:I, s:s, s:o, s:O}", "observedGeneration", (json_int_t)gen, "phase",
                           phase, "conditions", conds, "statements", statements);
    bool drop = false;
    if (json_is_object(validation)) {
        char rows[64];
        snprintf(rows, sizeof rows, "%lld/%lld",
                 (long long)json_integer_value(json_object_get(validation, "rowsPresent")),
                 (long long)json_integer_value(json_object_get(validation, "rowsExpected")));
        json_object_set(st, "validation", validation);
        json_object_set_new(st, "rows", json_string(rows));
    } else if (!validation) {
        json_t *val = json_object_get(old, "validation");
        if (val)
            json_object_set(st, "validation", val);
        json_t *rows = json_object_get(old, "rows");
        if (rows)
            json_object_set(st, "rows", rows);
    } else {
        drop = json_object_get(old, "validation") || json_object_get(old, "rows");
    }
    int rc = 0;
    if (drop || !json_equal(st, old)) {
        json_t *patch = json_pack("{s:O}", "status", st);
        if (drop) { /* a merge patch removes a field only when told null */
            json_t *ps = json_object_get(patch, "status");
            json_object_set_new(ps, "validation", json_null());
            json_object_set_new(ps, "rows", json_null());
        }
        char path[512];
        snprintf(path, sizeof path,
                 "/apis/flinkpg.io/v1alpha1/namespaces/%s/demoruns/%s/status", c->ns, c->name);
        long hs = kube_merge_patch(c->r->kc, path, patch, NULL, c->err, sizeof c->err);
        json_decref(patch);
        if (hs != 200)
            rc = -1;
        else
            note_change(c, "status", phase, flips.len ? sb_str(&flips) : "updated");
    }
    sb_free(&flips);
    json_decref(st);
    return rc;
}

/* The Validated condition (status.h) and the numbers for status.validation
 * (see write_status for what the return value means). */
static json_t *validate_step(rctx *c, const cond_in *pg, const cond_in *gen,
                             const cond_in *sink, cond_in *val, long long generation)
{
    const json_t *old = json_object_get(c->run, "status");
    if (strcmp(gen->status, "True")) {
        val->status = "Unknown";
        val->reason = "WaitingForGenerator";
        snprintf(val->msg, sizeof val->msg,
                 "the target table is compared with the generator's expectation once the "
                 "generator's Job is complete");
        return json_null(); /* numbers from an earlier generator would mislead */
    }
    if (strcmp(sink->status, "True")) {
        val->status = "Unknown";
        val->reason = "WaitingForSink";
        snprintf(val->msg, sizeof val->msg, "waiting for the sink (%s) before comparing tables",
                 sink->reason);
        return NULL;
    }
    /* a PASS for this generation stands: the run is finished, stop querying.
     * Not a PASS over an empty expectation: the tables may have been caught
     * between their creation and their first rows, so look again. */
    size_t i;
    json_t *cd;
    json_array_foreach(json_object_get(old, "conditions"), i, cd)
    {
        const char *t = json_string_value(json_object_get(cd, "type"));
        const char *st = json_string_value(json_object_get(cd, "status"));
        const char *verdict =
            json_string_value(json_object_get(json_object_get(old, "validation"), "verdict"));
        if (t && !strcmp(t, "Validated") && st && !strcmp(st, "True") && verdict &&
            !strcmp(verdict, "PASS") &&
            json_integer_value(json_object_get(json_object_get(old, "validation"), "rowsExpected")) > 0 &&
            json_integer_value(json_object_get(cd, "observedGeneration")) == generation) {
            val->status = "True";
            val->reason = "Pass";
            snprintf(val->msg, sizeof val->msg, "%s",
                     json_string_value(json_object_get(cd, "message"))
                         ? json_string_value(json_object_get(cd, "message"))
                         : "");
            return NULL;
        }
    }
    if (pg->reason && !strcmp(pg->reason, "ExternalServerUnreachable")) {
        /* PostgresReady has just tried: no second connection timeout */
        val->status = "Unknown";
        val->reason = "ValidationError";
        snprintf(val->msg, sizeof val->msg, "%.460s (retried on the next resync)", pg->msg);
        return NULL;
    }
    validate_result vr;
    char err[470];
    if (!run_validate(c->r->kc, c->run, &vr, err, sizeof err)) {
        val->status = "Unknown";
        val->reason = "ValidationError";
        snprintf(val->msg, sizeof val->msg, "%s (retried on the next resync)", err);
        log_info("validate", "run=%s/%s result=error error=%s", c->ns, c->name, lq(err));
        return NULL;
    }
    char nums[400];
    validate_format(&vr, nums, sizeof nums);
    log_info("validate", "run=%s/%s %s", c->ns, c->name, nums);
    val->status = vr.pass ? "True" : "False";
    val->reason = vr.pass ? "Pass" : "Fail";
    snprintf(val->msg, sizeof val->msg, "%s against %s: %s", VALIDATION_TARGET, VALIDATION_EXPECTED,
             nums);
    return validation_json(&vr);
}

static int reconcile_children(rctx *c)
{
    render_opts *o = &c->r->render;
    bool in_cluster = spec_get(c->run, "postgres.inCluster") != NULL;
    bool suspended = spec_bool(c->run, "suspend");
    json_t *sts = NULL, *cm = NULL, *job = NULL, *dep = NULL, *tmp = NULL, *pods = NULL;
    int rc = -1, requeue = 0;
    json_t *statements = json_array(), *validation = NULL;
    long long gen_no =
        json_integer_value(json_object_get(json_object_get(c->run, "metadata"), "generation"));
    stmt_result sr = STMT_NOT_WIRED;
    cond_in cs[6];
    memset(cs, 0, sizeof cs);

    if (in_cluster) {
        char pw[64];
        if (!pg_password(c, pw, sizeof pw))
            goto out;
        json_t *secret = render_pg_secret(c->run, pw);
        memset(pw, 0, sizeof pw);
        bool ok = secret && apply_child(c, "/api/v1", "secrets", secret, &tmp);
        json_decref(secret);
        json_decref(tmp);
        tmp = NULL;
        if (!ok)
            goto out;
        json_t *svc = render_pg_service(c->run);
        ok = svc && apply_child(c, "/api/v1", "services", svc, &tmp);
        json_decref(svc);
        json_decref(tmp);
        tmp = NULL;
        if (!ok)
            goto out;
        json_t *ss = render_pg_statefulset(c->run, o);
        ok = ss && apply_child(c, "/apis/apps/v1", "statefulsets", ss, &sts);
        json_decref(ss);
        if (!ok)
            goto out;
    }
    char sqlerr[512] = "";
    json_t *cmobj = render_sql_configmap(c->run, o, sqlerr, sizeof sqlerr);
    if (cmobj) {
        bool ok = apply_child(c, "/api/v1", "configmaps", cmobj, &cm);
        json_decref(cmobj);
        if (!ok)
            goto out;
    }
    json_t *jobobj = render_generator_job(c->run, o);
    int jr = jobobj ? apply_job(c, jobobj, &job) : -1;
    json_decref(jobobj);
    if (jr < 0)
        goto out;
    if (jr > 0)
        requeue = 1000;
    json_t *depobj = render_sink_deployment(c->run, o);
    bool ok = depobj && apply_child(c, "/apis/apps/v1", "deployments", depobj, &dep);
    json_decref(depobj);
    if (!ok)
        goto out;
    pods = list_pods(c);

    /* ---- observe ---- */
    cond_in *pg = &cs[0], *stc = &cs[1], *gen = &cs[2], *sink = &cs[3], *val = &cs[4], *ready = &cs[5];
    pg->type = "PostgresReady";
    if (!in_cluster) {
        /* an existing server: ready when it answers (the same connection the
         * validation uses; the URI stays out of messages) */
        char perr[400];
        const char *secret = spec_str(c->run, "postgres.existingSecretRef.name", "?");
        if (run_pg_reachable(c->r->kc, c->run, perr, sizeof perr)) {
            pg->status = "True";
            pg->reason = "ExternalServerReachable";
            snprintf(pg->msg, sizeof pg->msg, "existing server from Secret %s answers", secret);
        } else {
            pg->status = "False";
            pg->reason = "ExternalServerUnreachable";
            snprintf(pg->msg, sizeof pg->msg, "existing server from Secret %s: %s", secret, perr);
            if (!requeue)
                requeue = 10000; /* look again soon, not only at the next resync */
        }
    } else {
        long long rdy = jint(sts, "status", "readyReplicas");
        pg->status = rdy >= 1 ? "True" : "False";
        pg->reason = rdy >= 1 ? "PodReady" : "Provisioning";
        snprintf(pg->msg, sizeof pg->msg, "StatefulSet %s-postgres: %lld/1 replicas ready", c->name, rdy);
    }
    stc->type = "StatementsRunning";
    if (!cm) {
        stc->status = "False";
        stc->reason = "SQLTemplateError";
        snprintf(stc->msg, sizeof stc->msg, "%s", sqlerr);
    } else {
        const stmt_backend *be = stmt_backend_for(spec_str(c->run, "flink.backend", "gateway"));
        stmt_ctx sx = {.kc = c->r->kc, .confluent_url = c->r->confluent_url, .run = c->run,
                   .timeout_ms = c->r->backend_timeout_ms};
        sr = be->ensure(&sx, json_object_get(cm, "data"), statements, stc->msg, sizeof stc->msg);
        stc->status = sr == STMT_RUNNING ? "True" : "False";
        stc->reason = stmt_result_reason(sr);
        if (sr == STMT_FAILED) { /* a failure is worth a Warning even without a status flip */
            /* (a flip from True is announced by write_status) */
            const char *was = NULL, *was_st = NULL;
            size_t i;
            json_t *cd;
            json_array_foreach(json_object_get(json_object_get(c->run, "status"), "conditions"), i, cd)
            {
                const char *t = json_string_value(json_object_get(cd, "type"));
                if (t && !strcmp(t, "StatementsRunning")) {
                    was = json_string_value(json_object_get(cd, "reason"));
                    was_st = json_string_value(json_object_get(cd, "status"));
                }
            }
            if ((!was || strcmp(was, "StatementFailed")) && !(was_st && !strcmp(was_st, "True")))
                event_emit(c->r->kc, c->run, "Warning", "StatementFailed", "Reconcile", stc->msg,
                           c->r->identity);
        }
        /* nothing new reported (unreachable): keep what the status knew */
        if (sr == STMT_ERROR && !json_array_size(statements)) {
            json_t *old = json_object_get(json_object_get(c->run, "status"), "statements");
            if (json_is_array(old))
                json_array_extend(statements, old);
        }
        /* a statement on its way: look again soon */
        if (sr == STMT_PENDING && (!requeue || requeue > 2000))
            requeue = 2000;
    }
    gen->type = "GeneratorComplete";
    if (job_cond(job, "Complete")) {
        gen->status = "True";
        gen->reason = "JobComplete";
    } else if (job_cond(job, "Failed")) {
        gen->status = "False";
        gen->reason = "JobFailed";
    } else {
        gen->status = "False";
        gen->reason = suspended ? "Suspended" : jr > 0 ? "Replacing" : "Running";
    }
    snprintf(gen->msg, sizeof gen->msg, "Job %s-generator: active=%lld succeeded=%lld failed=%lld",
             c->name, jint(job, "status", "active"), jint(job, "status", "succeeded"),
             jint(job, "status", "failed"));
    sink->type = "SinkReady";
    long long want = jint(dep, "spec", "replicas"), avail = jint(dep, "status", "availableReplicas");
    bool current = jint(dep, "status", "observedGeneration") >= jint(dep, "metadata", "generation");
    if (suspended) {
        sink->status = "False";
        sink->reason = "Suspended";
    } else {
        sink->status = current && want > 0 && avail >= want ? "True" : "False";
        sink->reason = !strcmp(sink->status, "True") ? "Available" : "Progressing";
    }
    snprintf(sink->msg, sizeof sink->msg, "Deployment %s-sink: %lld/%lld replicas available", c->name, avail, want);
    /* A stuck pod says why a component is not up.  PostgreSQL: only while it
     * is not ready.  The generator: only while it runs (a Complete or Failed
     * Job is final).  The sink: even when the old replicas are still
     * available, since a rollout to an image that does not exist would
     * otherwise hide behind them.  While a pod is stuck, look again soon so
     * that the status follows the pod (the pods are not watched). */
    bool stuck = false;
    if (in_cluster && strcmp(pg->status, "True"))
        stuck |= pod_override(c, pods, "postgres", pg);
    if (!suspended && !strcmp(gen->status, "False") && strcmp(gen->reason, "JobFailed"))
        stuck |= pod_override(c, pods, "generator", gen);
    if (!suspended)
        stuck |= pod_override(c, pods, "sink", sink);
    if (stuck && (!requeue || requeue > 5000))
        requeue = 5000;
    val->type = "Validated";
    validation = validate_step(c, pg, gen, sink, val, gen_no);
    ready->type = "Ready";
    /* every part not ready is named: a stuck sink pod must not hide behind
     * an unreachable statements backend, or the other way round */
    strbuf waiting;
    sb_init(&waiting);
    for (int i = 0; i < 4; i++)
        if (i != 2 && strcmp(cs[i].status, "True"))
            sb_printf(&waiting, "%s%s (%s)", waiting.len ? ", " : "waiting for ", cs[i].type,
                      cs[i].reason);
    ready->status = waiting.len ? "False" : "True";
    ready->reason = waiting.len ? "Waiting" : "AllReady";
    snprintf(ready->msg, sizeof ready->msg, "%s",
             waiting.len ? sb_str(&waiting) : "PostgreSQL, statements and sink are ready");
    sb_free(&waiting);

    const char *phase = suspended                             ? "Suspended"
                        : !strcmp(gen->reason, "JobFailed")   ? "Failed"
                        : !strcmp(stc->reason, "StatementFailed") ? "Failed"
                        : in_cluster && strcmp(pg->status, "True") ? "Provisioning"
                        : !strcmp(gen->status, "True") && !strcmp(val->status, "True") ? "Completed"
                                                              : "Running";
    if (write_status(c, cs, 6, phase, statements, validation) < 0)
        goto out;
    if (sr == STMT_ERROR) {
        /* the status says so; the work queue retries with its backoff */
        snprintf(c->err, sizeof c->err, "statements: %s", stc->msg);
        goto out;
    }
    rc = requeue;
out:
    json_decref(statements);
    json_decref(validation);
    json_decref(sts);
    json_decref(cm);
    json_decref(job);
    json_decref(dep);
    json_decref(pods);
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
    const char *phase = json_string_value(json_object_get(json_object_get(c.run, "status"), "phase"));
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
