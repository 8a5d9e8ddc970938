/*
 * reconcile_apply — a DemoRun's children, in apply order:
 *
 *   Secret, Service, StatefulSet   (only with spec.postgres.inCluster)
 *   ConfigMap <run>-sql
 *   Job <run>-generator            (replaced when its template hash changes)
 *   Deployment <run>-sink
 *
 * then the run's pods, listed once (podstatus.h).  Reads come from the
 * informer caches; an apply is sent only when the desired object differs
 * from the live one.
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
static bool apply_child_as(rctx *c, const char *base, const char *kind, json_t *obj,
                           const char *given_hash, json_t **out)
{
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    char path[512], hash[32];
    snprintf(path, sizeof path, "%s/namespaces/%s/%s/%s", base, c->ns, kind, name);
    if (given_hash)
        snprintf(hash, sizeof hash, "%s", given_hash);
    else
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
    const char *have = json_string_value(
        json_object_get(json_object_get(bmeta, "annotations"), APPLIED_HASH_ANNOTATION));
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

/* The usual case: the hash of exactly what is sent. */
static bool apply_child(rctx *c, const char *base, const char *kind, json_t *obj, json_t **out)
{
    return apply_child_as(c, base, kind, obj, NULL, out);
}

/* The existing PostgreSQL password, or a new one (never logged). */
static bool pg_password(rctx *c, char *out, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s-postgres", c->ns, c->name);
    json_t *s = NULL;
    /* not kube_get_child: the Secrets store keeps only what carries our label
     * or was read once, so a miss there does not prove the Secret absent, and
     * a new password over an existing database would lock the run out */
    long st = kube_get(c->r->kc, path, &s, c->err, sizeof c->err);
    if (st == 200) {
        const char *b64 =
            json_string_value(json_object_get(json_object_get(s, "data"), "password"));
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
    /* the applied hash is the rendered Job's, before the live template may
     * replace its own below: else the first resync after the create (whose
     * template the API server has added labels to) would apply it again */
    char rendered[32];
    desired_hash(job, rendered, sizeof rendered);
    char path[512];
    snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s-generator", c->ns, c->name);
    json_t *cur = NULL;
    long st = kube_get_child(c->r->kc, path, &cur, c->err, sizeof c->err);
    if (st == 200) {
        const char *have = json_string_value(
            json_object_get(json_object_get(json_object_get(cur, "metadata"), "annotations"),
                            GENERATOR_HASH_ANNOTATION));
        const char *want = json_string_value(
            json_object_get(json_object_get(json_object_get(job, "metadata"), "annotations"),
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
            note_change(
                c, "jobs",
                json_string_value(json_object_get(json_object_get(job, "metadata"), "name")),
                "replaced");
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
    return apply_child_as(c, "/apis/batch/v1", "jobs", job, rendered, out) ? 0 : -1;
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

/* One rendered child: applied (its live object in *out unless out is NULL). */
static bool apply_rendered(rctx *c, const char *base, const char *kind, json_t *obj, json_t **out)
{
    json_t *tmp = NULL;
    bool ok = obj && apply_child(c, base, kind, obj, out ? out : &tmp);
    json_decref(obj);
    json_decref(tmp);
    return ok;
}

/* ",name@rv" (",name@absent") for Secret name, once per name; false (c->err
 * set) when it could not be read.  A leading comma, so that names match whole. */
static bool stamp_one(rctx *c, strbuf *sb, const char *name)
{
    char mark[300];
    snprintf(mark, sizeof mark, ",%s@", name ? name : "");
    if (!name || strstr(sb_str(sb), mark))
        return true;
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", c->ns, name);
    json_t *sec = NULL;
    long st = kube_get(c->r->kc, path, &sec, c->err, sizeof c->err);
    const char *rv =
        json_string_value(json_object_get(json_object_get(sec, "metadata"), "resourceVersion"));
    /* absent only when it is: any other failure would roll the pods twice
     * (absent, then back); the reconcile is retried instead */
    bool ok = true;
    if (st == 200 && rv)
        sb_printf(sb, "%s%s", mark, rv);
    else if (st == 404)
        sb_printf(sb, "%sabsent", mark);
    else
        ok = false;
    json_decref(sec);
    return ok;
}

/* The Secrets a pod template reads (env valueFrom.secretKeyRef, and Secret
 * volumes: the CA bundles of render_tls.c), each with its resourceVersion,
 * stamped on the template as an annotation: a rotated Secret (a new Kafka or
 * PostgreSQL password, a new CA) changes the template, and the Deployment
 * rolls its pods, which read the new value when they start.  Versions, not
 * contents: nothing secret goes into the annotation.  The reads come from
 * the Secrets cache (a Secret read once stays watched), so a steady
 * reconcile still asks the API server nothing. */
static bool stamp_secret_versions(rctx *c, json_t *workload)
{
    json_t *tmpl = json_object_get(json_object_get(workload, "spec"), "template");
    json_t *pod = json_object_get(tmpl, "spec");
    strbuf sb;
    sb_init(&sb);
    size_t i, j;
    json_t *ct, *env, *vol;
    bool ok = true;
    json_array_foreach (json_object_get(pod, "containers"), i, ct)
        json_array_foreach (json_object_get(ct, "env"), j, env)
            ok = ok &&
                 stamp_one(c, &sb,
                           json_string_value(json_object_get(
                               json_object_get(json_object_get(env, "valueFrom"), "secretKeyRef"),
                               "name")));
    json_array_foreach (json_object_get(pod, "volumes"), i, vol)
        ok = ok && stamp_one(c, &sb,
                             json_string_value(
                                 json_object_get(json_object_get(vol, "secret"), "secretName")));
    if (!ok || !sb.len) {
        sb_free(&sb);
        return ok;
    }
    json_t *meta = json_object_get(tmpl, "metadata");
    json_t *ann = json_object_get(meta, "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        json_object_set_new(meta, "annotations", ann);
    }
    json_object_set_new(ann, "flinkpg.io/secret-versions", json_string(sb_str(&sb) + 1));
    sb_free(&sb);
    return true;
}

bool apply_children(rctx *c, run_children *ch)
{
    render_opts *o = &c->r->render;
    if (spec_get(c->run, "postgres.inCluster")) {
        char pw[64];
        if (!pg_password(c, pw, sizeof pw))
            return false;
        json_t *secret = render_pg_secret(c->run, pw);
        memset(pw, 0, sizeof pw);
        if (!apply_rendered(c, "/api/v1", "secrets", secret, NULL) ||
            !apply_rendered(c, "/api/v1", "services", render_pg_service(c->run), NULL) ||
            !apply_rendered(c, "/apis/apps/v1", "statefulsets", render_pg_statefulset(c->run, o),
                            &ch->sts))
            return false;
    }
    json_t *cmobj = render_sql_configmap(c->run, o, ch->sqlerr, sizeof ch->sqlerr);
    if (cmobj && !apply_rendered(c, "/api/v1", "configmaps", cmobj, &ch->cm))
        return false;
    json_t *jobobj = render_generator_job(c->run, o);
    ch->job_replaced = jobobj ? apply_job(c, jobobj, &ch->job) : -1;
    json_decref(jobobj);
    if (ch->job_replaced < 0)
        return false;
    if (ch->job_replaced > 0)
        ch->requeue = 1000;
    json_t *dep = render_sink_deployment(c->run, o);
    if (!stamp_secret_versions(c, dep)) {
        json_decref(dep);
        return false;
    }
    if (!apply_rendered(c, "/apis/apps/v1", "deployments", dep, &ch->dep))
        return false;
    ch->pods = list_pods(c);
    return true;
}
