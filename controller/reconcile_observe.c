/*
 * reconcile_observe — what a DemoRun's children report, as its conditions
 * (status.h), its validation numbers, Ready and the phase; the status is
 * written only when it changed.
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

static long long jint(const json_t *o, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(o, a), b));
}

static bool job_cond(const json_t *job, const char *type)
{
    size_t i;
    json_t *cd;
    json_array_foreach (json_object_get(json_object_get(job, "status"), "conditions"), i, cd) {
        const char *t = json_string_value(json_object_get(cd, "type"));
        const char *s = json_string_value(json_object_get(cd, "status"));
        if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
            return true;
    }
    return false;
}

/* The reason the DemoRun's status had for condition `type`, or NULL. */
static const char *old_reason(const json_t *run, const char *type)
{
    size_t i;
    json_t *cd;
    json_array_foreach (json_object_get(json_object_get(run, "status"), "conditions"), i, cd) {
        const char *t = json_string_value(json_object_get(cd, "type"));
        if (t && !strcmp(t, type))
            return json_string_value(json_object_get(cd, "reason"));
    }
    return NULL;
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
int write_status(rctx *c, run_conds *all, const char *phase, json_t *statements, json_t *validation)
{
    cond_in *cs = &all->postgres; /* the six, in order */
    const size_t ncs = sizeof *all / sizeof(cond_in);
    json_t *old = json_object_get(c->run, "status");
    json_t *oldc = json_object_get(old, "conditions");
    long long gen =
        json_integer_value(json_object_get(json_object_get(c->run, "metadata"), "generation"));
    json_t *conds = json_array();
    strbuf flips;
    sb_init(&flips);
    for (size_t i = 0; i < ncs; i++) {
        const char *was = old_reason(c->run, cs[i].type);
        bool flipped =
            cond_set(conds, oldc, cs[i].type, cs[i].status, cs[i].reason, cs[i].msg, gen);
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
                       !strcmp(cs[i].status, "False") &&
                               (!strcmp(cs[i].reason, "JobFailed") ||
                                !strcmp(cs[i].reason, "StatementFailed") ||
                                !strcmp(cs[i].reason, "Fail") || pod_reason_stuck(cs[i].reason))
                           ? "Warning"
                           : "Normal",
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
        snprintf(path, sizeof path, "/apis/flinkpg.io/v1alpha1/namespaces/%s/demoruns/%s/status",
                 c->ns, c->name);
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
static json_t *validate_step(rctx *c, const cond_in *pg, const cond_in *gen, const cond_in *sink,
                             cond_in *val, long long generation)
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
    json_array_foreach (json_object_get(old, "conditions"), i, cd) {
        const char *t = json_string_value(json_object_get(cd, "type"));
        const char *st = json_string_value(json_object_get(cd, "status"));
        const char *verdict =
            json_string_value(json_object_get(json_object_get(old, "validation"), "verdict"));
        if (t && !strcmp(t, "Validated") && st && !strcmp(st, "True") && verdict &&
            !strcmp(verdict, "PASS") &&
            json_integer_value(
                json_object_get(json_object_get(old, "validation"), "rowsExpected")) > 0 &&
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

/* A sooner requeue wins over a later one (0: none yet). */
static void requeue_within(run_children *ch, int ms)
{
    if (!ch->requeue || ch->requeue > ms)
        ch->requeue = ms;
}

static void observe_postgres(rctx *c, run_children *ch, cond_in *pg)
{
    pg->type = "PostgresReady";
    if (spec_get(c->run, "postgres.inCluster")) {
        long long rdy = jint(ch->sts, "status", "readyReplicas");
        pg->status = rdy >= 1 ? "True" : "False";
        pg->reason = rdy >= 1 ? "PodReady" : "Provisioning";
        snprintf(pg->msg, sizeof pg->msg, "StatefulSet %s-postgres: %lld/1 replicas ready", c->name,
                 rdy);
        return;
    }
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
        if (!ch->requeue)
            ch->requeue = 10000; /* look again soon, not only at the next resync */
    }
}

/* A Warning event when StatementsRunning turns to reason (StatementFailed,
 * StatementDegraded): once per change, not on every reconcile.  A failure
 * after True is announced by write_status's flip; DEGRADED stays True. */
static void warn_statement(rctx *c, const cond_in *stc)
{
    const char *was = NULL, *was_st = NULL;
    size_t i;
    json_t *cd;
    json_array_foreach (json_object_get(json_object_get(c->run, "status"), "conditions"), i, cd) {
        const char *t = json_string_value(json_object_get(cd, "type"));
        if (t && !strcmp(t, "StatementsRunning")) {
            was = json_string_value(json_object_get(cd, "reason"));
            was_st = json_string_value(json_object_get(cd, "status"));
        }
    }
    bool failed = !strcmp(stc->reason, "StatementFailed");
    /* a run that ran and then failed was reported by its phase; not twice */
    if ((!was || strcmp(was, stc->reason)) && !(failed && was_st && !strcmp(was_st, "True")))
        event_emit(c->r->kc, c->run, "Warning", stc->reason, "Reconcile", stc->msg, c->r->identity);
}

/* Submits what is missing and reports what runs (statements.h). */
static void observe_statements(rctx *c, run_children *ch, cond_in *stc)
{
    stc->type = "StatementsRunning";
    if (!ch->cm) {
        stc->status = "False";
        stc->reason = "SQLTemplateError";
        snprintf(stc->msg, sizeof stc->msg, "%s", ch->sqlerr);
        return;
    }
    const stmt_backend *be = stmt_backend_for(spec_str(c->run, "flink.backend", "gateway"));
    stmt_ctx sx = {.kc = c->r->kc,
                   .confluent_url = c->r->confluent_url,
                   .run = c->run,
                   .timeout_ms = c->r->backend_timeout_ms};
    ch->sr =
        be->ensure(&sx, json_object_get(ch->cm, "data"), ch->statements, stc->msg, sizeof stc->msg);
    /* DEGRADED: running, but unhealthy (Confluent's phase) -- True, its own reason */
    stc->status = ch->sr == STMT_RUNNING || ch->sr == STMT_DEGRADED ? "True" : "False";
    stc->reason = stmt_result_reason(ch->sr);
    if (ch->sr == STMT_FAILED || ch->sr == STMT_DEGRADED)
        warn_statement(c, stc);
    /* nothing new reported (unreachable): keep what the status knew */
    if (ch->sr == STMT_ERROR && !json_array_size(ch->statements)) {
        json_t *old = json_object_get(json_object_get(c->run, "status"), "statements");
        if (json_is_array(old))
            json_array_extend(ch->statements, old);
    }
    if (ch->sr == STMT_PENDING) /* a statement on its way: look again soon */
        requeue_within(ch, 2000);
}

static void observe_generator(rctx *c, const run_children *ch, cond_in *gen)
{
    gen->type = "GeneratorComplete";
    if (job_cond(ch->job, "Complete")) {
        gen->status = "True";
        gen->reason = "JobComplete";
    } else if (job_cond(ch->job, "Failed")) {
        gen->status = "False";
        gen->reason = "JobFailed";
    } else {
        gen->status = "False";
        gen->reason = spec_bool(c->run, "suspend") ? "Suspended"
                      : ch->job_replaced > 0       ? "Replacing"
                                                   : "Running";
    }
    snprintf(gen->msg, sizeof gen->msg, "Job %s-generator: active=%lld succeeded=%lld failed=%lld",
             c->name, jint(ch->job, "status", "active"), jint(ch->job, "status", "succeeded"),
             jint(ch->job, "status", "failed"));
}

static void observe_sink(rctx *c, const run_children *ch, cond_in *sink)
{
    sink->type = "SinkReady";
    const json_t *dep = ch->dep;
    long long want = jint(dep, "spec", "replicas"),
              avail = jint(dep, "status", "availableReplicas");
    bool current = jint(dep, "status", "observedGeneration") >= jint(dep, "metadata", "generation");
    if (spec_bool(c->run, "suspend")) {
        sink->status = "False";
        sink->reason = "Suspended";
    } else {
        sink->status = current && want > 0 && avail >= want ? "True" : "False";
        sink->reason = !strcmp(sink->status, "True") ? "Available" : "Progressing";
    }
    snprintf(sink->msg, sizeof sink->msg, "Deployment %s-sink: %lld/%lld replicas available",
             c->name, avail, want);
}

/* A stuck pod says why a component is not up.  PostgreSQL: only while it is
 * not ready.  The generator: only while it runs (a Complete or Failed Job is
 * final).  The sink: even when the old replicas are still available, since a
 * rollout to an image that does not exist would otherwise hide behind them.
 * While a pod is stuck, look again soon so that the status follows it. */
static void observe_stuck_pods(rctx *c, run_children *ch, run_conds *cs)
{
    bool suspended = spec_bool(c->run, "suspend"), stuck = false;
    if (spec_get(c->run, "postgres.inCluster") && strcmp(cs->postgres.status, "True"))
        stuck |= pod_override(c, ch->pods, "postgres", &cs->postgres);
    if (!suspended && !strcmp(cs->generator.status, "False") &&
        strcmp(cs->generator.reason, "JobFailed"))
        stuck |= pod_override(c, ch->pods, "generator", &cs->generator);
    if (!suspended)
        stuck |= pod_override(c, ch->pods, "sink", &cs->sink);
    if (stuck)
        requeue_within(ch, 5000);
}

/* Every part not ready is named: a stuck sink pod must not hide behind an
 * unreachable statements backend, or the other way round. */
static void derive_ready(run_conds *cs)
{
    cond_in *ready = &cs->ready;
    const cond_in *parts[] = {&cs->postgres, &cs->statements, &cs->sink};
    strbuf waiting;
    sb_init(&waiting);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (strcmp(parts[i]->status, "True"))
            sb_printf(&waiting, "%s%s (%s)", waiting.len ? ", " : "waiting for ", parts[i]->type,
                      parts[i]->reason);
    ready->type = "Ready";
    ready->status = waiting.len ? "False" : "True";
    ready->reason = waiting.len ? "Waiting" : "AllReady";
    snprintf(ready->msg, sizeof ready->msg, "%s",
             waiting.len ? sb_str(&waiting) : "PostgreSQL, statements and sink are ready");
    sb_free(&waiting);
}

void observe_children(rctx *c, run_children *ch, run_conds *cs, json_t **validation)
{
    observe_postgres(c, ch, &cs->postgres);
    observe_statements(c, ch, &cs->statements);
    observe_generator(c, ch, &cs->generator);
    observe_sink(c, ch, &cs->sink);
    observe_stuck_pods(c, ch, cs);
    cs->validated.type = "Validated";
    long long gen_no =
        json_integer_value(json_object_get(json_object_get(c->run, "metadata"), "generation"));
    *validation =
        validate_step(c, &cs->postgres, &cs->generator, &cs->sink, &cs->validated, gen_no);
    derive_ready(cs);
}

const char *derive_phase(const rctx *c, const run_conds *cs)
{
    if (spec_bool(c->run, "suspend"))
        return "Suspended";
    if (!strcmp(cs->generator.reason, "JobFailed") ||
        !strcmp(cs->statements.reason, "StatementFailed"))
        return "Failed";
    if (spec_get(c->run, "postgres.inCluster") && strcmp(cs->postgres.status, "True"))
        return "Provisioning";
    if (!strcmp(cs->generator.status, "True") && !strcmp(cs->validated.status, "True"))
        return "Completed";
    return "Running";
}
