/*
 * stmt_gateway — the gateway backend of statements.h over common/flinkgw:
 * sources.sql + <mode>.sql run in one SQL Gateway session; the INSERT's job
 * (named ${job_name} = flinkpg-<run>-<mode> through pipeline.name) is
 * recorded in status.statements and from then on only watched through the
 * JobManager REST API (spec.flink.gateway.restUrl, default: the Gateway's
 * host on port 8081).  Before submitting, a job of the same name that is
 * still alive is adopted instead: a status write lost after a submission
 * cannot produce a second job.
 */
#define _POSIX_C_SOURCE 200809L
#include "statements.h"

#include "../common/flinkgw.h"
#include "../common/log.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool terminal(const char *state)
{
    return !strcmp(state, "FAILED") || !strcmp(state, "CANCELED") || !strcmp(state, "FINISHED") ||
           !strcmp(state, "SUSPENDED");
}

/* spec.flink.gateway.restUrl, or the Gateway URL with port 8081 */
static void rest_url(const json_t *run, char *out, size_t n)
{
    const char *r = spec_str(run, "flink.gateway.restUrl", NULL);
    if (r) {
        snprintf(out, n, "%s", r);
        return;
    }
    const char *g = spec_str(run, "flink.gateway.url", "http://127.0.0.1:8083");
    const char *host = strstr(g, "://");
    host = host ? host + 3 : g;
    size_t hl = strcspn(host, "/");
    const char *colon = memchr(host, ':', hl);
    if (host[0] == '[') /* [v6]:port */
        colon = memchr(host, ']', hl) ? strchr(memchr(host, ']', hl), ':') : NULL;
    size_t keep = (size_t)((colon && colon < host + hl ? colon : host + hl) - g);
    snprintf(out, n, "%.*s:8081", (int)keep, g);
}

static void job_name(const json_t *run, char *out, size_t n)
{
    snprintf(out, n, "flinkpg-%s-%s", run_name(run), spec_str(run, "mode", "append"));
}

static flinkgw *client(const stmt_ctx *x)
{
    const json_t *run = x->run;
    char rest[1024];
    rest_url(run, rest, sizeof rest);
    flinkgw *gw = flinkgw_new(spec_str(run, "flink.gateway.url", "http://127.0.0.1:8083"), rest);
    if (gw) {
        flinkgw_set_timeout_ms(gw, 60000);
        if (x->timeout_ms > 0)
            flinkgw_set_request_timeout_ms(gw, x->timeout_ms);
    }
    return gw;
}

/* The alive job named name on the cluster: *found receives its id (caller
 * frees) or NULL.  false when the JobManager cannot be asked. */
static bool alive_job_named(flinkgw *gw, const char *name, char **found, char *err, size_t errlen)
{
    *found = NULL;
    json_t *jobs = flinkgw_jobs(gw, err, errlen);
    if (!jobs)
        return false;
    size_t i;
    json_t *j;
    json_array_foreach (jobs, i, j) {
        const char *nm = json_string_value(json_object_get(j, "name"));
        const char *st = json_string_value(json_object_get(j, "state"));
        const char *id = json_string_value(json_object_get(j, "jid"));
        if (nm && st && id && !strcmp(nm, name) && !terminal(st)) {
            *found = strdup(id);
            break;
        }
    }
    json_decref(jobs);
    return true;
}

static const char *recorded_id(const json_t *run, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get(json_object_get(run, "status"), "statements"), i, s) {
        const char *nm = json_string_value(json_object_get(s, "name"));
        const char *id = json_string_value(json_object_get(s, "id"));
        if (nm && id && *id && !strcmp(nm, name))
            return id;
    }
    return NULL;
}

/* Submit the run's SQL in a new session; *job receives the job id. */
static stmt_result submit(const stmt_ctx *x, flinkgw *gw, const json_t *sql, const char *name,
                          char **job, char *msg, size_t msglen)
{
    char *kopts = stmt_kafka_options(x, msg, msglen);
    if (!kopts)
        return STMT_ERROR;
    const char **files = NULL;
    size_t n = 0;
    char **all = stmt_render_all(x->run, sql, kopts, &files, &n, msg, msglen);
    memset(kopts, 0, strlen(kopts));
    free(kopts);
    if (!all)
        return STMT_FAILED;
    char err[1536];
    stmt_result res = STMT_PENDING;
    if (!flinkgw_open_session(gw, name, NULL, err, sizeof err)) {
        snprintf(msg, msglen, "opening a SQL Gateway session: %s", err);
        res = STMT_ERROR;
    }
    for (size_t i = 0; i < n && res == STMT_PENDING; i++) {
        flinkgw_result r = {0};
        if (!flinkgw_execute(gw, all[i], &r, err, sizeof err)) {
            /* err is Flink's message about our SQL, never the SQL itself */
            snprintf(msg, msglen, "%s.sql statement %zu: %s", files[i], i + 1, err);
            res = STMT_FAILED;
        } else if (r.job_id) {
            free(*job);
            *job = strdup(r.job_id);
        }
        flinkgw_result_free(&r);
    }
    stmt_free_all(all, files, n);
    if (res == STMT_PENDING && !*job) {
        snprintf(msg, msglen, "the SQL ran but submitted no job (no INSERT?)");
        res = STMT_FAILED;
    }
    if (res == STMT_PENDING)
        log_info("job_submitted", "run=%s/%s job=%s job_id=%s", run_namespace(x->run),
                 run_name(x->run), name, *job);
    flinkgw_close_session(gw, err, sizeof err);
    return res;
}

static stmt_result gw_ensure(const stmt_ctx *x, const json_t *sql, json_t *statements, char *msg,
                             size_t msglen)
{
    char name[300], err[1024];
    job_name(x->run, name, sizeof name);
    flinkgw *gw = client(x);
    if (!gw) {
        snprintf(msg, msglen, "out of memory");
        return STMT_ERROR;
    }
    const char *rec = recorded_id(x->run, name);
    char *job = rec ? strdup(rec) : NULL;
    stmt_result res = STMT_PENDING;
    if (!job) {
        if (!alive_job_named(gw, name, &job, err, sizeof err)) {
            snprintf(msg, msglen, "asking the JobManager for job %s: %s", name, err);
            res = STMT_ERROR;
        } else if (job) {
            log_info("job_adopted", "run=%s/%s job=%s job_id=%s", run_namespace(x->run),
                     run_name(x->run), name, job);
        } else {
            res = submit(x, gw, sql, name, &job, msg, msglen);
        }
    }
    char state[32] = "SUBMITTED";
    if (res == STMT_PENDING && job) {
        if (!flinkgw_job_state(gw, job, state, sizeof state, err, sizeof err)) {
            snprintf(msg, msglen, "job %s (%s): %s", name, job, err);
            res = STMT_ERROR;
            snprintf(state, sizeof state, "Unknown");
        } else if (!strcmp(state, "FAILED") || terminal(state)) {
            char cause[640] = "";
            if (!flinkgw_job_exception(gw, job, cause, sizeof cause, err, sizeof err))
                cause[0] = 0;
            snprintf(msg, msglen, "job %s (%s) is %s%s%s", name, job, state, *cause ? ": " : "",
                     cause);
            res = STMT_FAILED;
        } else {
            bool all = false;
            if (!strcmp(state, "RUNNING") &&
                flinkgw_job_all_tasks_running(gw, job, &all, err, sizeof err) && all) {
                res = STMT_RUNNING;
                snprintf(msg, msglen, "job %s (%s) is RUNNING, every task running", name, job);
            } else {
                snprintf(msg, msglen, "job %s (%s) is %s%s", name, job, state,
                         !strcmp(state, "RUNNING") ? ", not every task running yet" : "");
            }
        }
    }
    if (job)
        json_array_append_new(
            statements, json_pack("{s:s, s:s, s:s}", "name", name, "id", job, "phase", state));
    free(job);
    flinkgw_free(gw);
    return res;
}

static stmt_result gw_remove(const stmt_ctx *x, char *msg, size_t msglen)
{
    char name[300], err[1024];
    job_name(x->run, name, sizeof name);
    const char *rec = recorded_id(x->run, name);
    flinkgw *gw = client(x);
    if (!gw) {
        snprintf(msg, msglen, "out of memory");
        return STMT_ERROR;
    }
    char *alive = NULL;
    if (!alive_job_named(gw, name, &alive, err, sizeof err)) {
        flinkgw_free(gw);
        if (!rec) {
            /* nothing recorded; the cluster cannot be asked about an unrecorded job */
            snprintf(msg, msglen,
                     "no job recorded; the JobManager is unreachable (%s), so an "
                     "unrecorded job %s could not be looked for",
                     err, name);
            return STMT_GONE;
        }
        snprintf(msg, msglen, "asking the JobManager about job %s: %s", rec, err);
        return STMT_ERROR;
    }
    const char *ids[2] = {rec, alive && (!rec || strcmp(alive, rec)) ? alive : NULL};
    stmt_result res = STMT_GONE;
    size_t stopped = 0;
    for (size_t i = 0; i < 2 && res == STMT_GONE; i++) {
        if (!ids[i])
            continue;
        char state[32];
        if (!flinkgw_job_state(gw, ids[i], state, sizeof state, err, sizeof err)) {
            snprintf(msg, msglen, "job %s: %s", ids[i], err);
            res = STMT_ERROR;
        } else if (!terminal(state) && strcmp(state, "CANCELLING")) {
            if ((!flinkgw_session(gw) && !flinkgw_open_session(gw, name, NULL, err, sizeof err)) ||
                !flinkgw_stop_job(gw, ids[i], false, false, NULL, err, sizeof err)) {
                snprintf(msg, msglen, "stopping job %s: %s", ids[i], err);
                res = STMT_ERROR;
            } else {
                stopped++;
                log_info("job_stopped", "run=%s/%s job=%s job_id=%s", run_namespace(x->run),
                         run_name(x->run), name, ids[i]);
            }
        }
    }
    if (res == STMT_GONE)
        snprintf(msg, msglen, "%zu job(s) named %s stopped; none left running", stopped, name);
    free(alive);
    flinkgw_free(gw);
    return res;
}

const stmt_backend stmt_gateway_backend = {"gateway", gw_ensure, gw_remove};
