/*
 * flinkgw — see flinkgw.h for how the SQL Gateway API works.  Every request
 * goes through gw_call(), which turns a non-2xx answer into Flink's own
 * message; every JSON field is checked for presence and type.
 */
#define _POSIX_C_SOURCE 200809L
#include "flinkgw.h"
#include "sqltmpl.h"

#include "backoff.h"
#include "httpc.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct flinkgw {
    char *gw_url, *rest_url;
    char *session;
    long timeout_ms; /* waiting for a statement */
    long request_ms; /* one HTTP request */
};

static char *trim_url(const char *u)
{
    char *s = strdup(u ? u : "");
    if (s) {
        size_t n = strlen(s);
        while (n && s[n - 1] == '/')
            s[--n] = 0;
    }
    return s;
}

flinkgw *flinkgw_new(const char *gateway_url, const char *rest_url)
{
    flinkgw *gw = calloc(1, sizeof *gw);
    if (!gw)
        return NULL;
    gw->gw_url = trim_url(gateway_url);
    gw->rest_url = rest_url ? trim_url(rest_url) : NULL;
    gw->timeout_ms = 120000;
    gw->request_ms = 60000;
    if (!gw->gw_url || (rest_url && !gw->rest_url)) {
        flinkgw_free(gw);
        return NULL;
    }
    return gw;
}

void flinkgw_free(flinkgw *gw)
{
    if (!gw)
        return;
    if (gw->session) {
        char err[256];
        if (!flinkgw_close_session(gw, err, sizeof err))
            log_warn("flink_session_close_failed", "error=%s", lq(err));
    }
    free(gw->gw_url);
    free(gw->rest_url);
    free(gw);
}

void flinkgw_set_timeout_ms(flinkgw *gw, long ms)
{
    gw->timeout_ms = ms > 0 ? ms : 120000;
}

void flinkgw_set_request_timeout_ms(flinkgw *gw, long ms)
{
    gw->request_ms = ms > 0 ? ms : 60000;
}

const char *flinkgw_session(const flinkgw *gw)
{
    return gw->session;
}

void flinkgw_result_free(flinkgw_result *r)
{
    if (!r)
        return;
    json_decref(r->columns);
    json_decref(r->rows);
    free(r->job_id);
    memset(r, 0, sizeof *r);
}

/* ---- requests ---- */

/* method base path body -> parsed JSON object of a 2xx answer */
static json_t *gw_call(const char *method, const char *base, const char *path, json_t *body,
                       long timeout_ms, char *err, size_t errlen)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", base, path);
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text) {
            snprintf(err, errlen, "%s %s: cannot encode the request body", method, url);
            return NULL;
        }
    }
    httpc_request rq = {.method = method, .url = url, .body = text, .timeout_ms = timeout_ms};
    httpc_response rs;
    bool ok = httpc_do(&rq, &rs, err, errlen);
    free(text);
    if (!ok)
        return NULL;
    json_t *res = NULL;
    if (rs.status < 200 || rs.status >= 300) {
        char msg[1024];
        flinkgw_error_message(sb_str(&rs.body), msg, sizeof msg);
        snprintf(err, errlen, "%s %s: HTTP %ld: %s", method, url, rs.status, msg);
    } else {
        json_error_t je;
        res = json_loads(sb_str(&rs.body), 0, &je);
        if (!json_is_object(res)) {
            snprintf(err, errlen, "%s %s: response is not a JSON object (%s): %.200s", method, url,
                     je.text, sb_str(&rs.body));
            json_decref(res);
            res = NULL;
        }
    }
    httpc_response_free(&rs);
    return res;
}

/* GET base+path and copy the string member `field` of the answer into out */
static bool gw_get_string(const char *base, const char *path, const char *field, char *out,
                          size_t outlen, long timeout_ms, char *err, size_t errlen)
{
    json_t *res = gw_call("GET", base, path, NULL, timeout_ms, err, errlen);
    if (!res)
        return false;
    const char *s = json_string_value(json_object_get(res, field));
    if (s)
        snprintf(out, outlen, "%s", s);
    else
        snprintf(err, errlen, "GET %s%s: no %s in the answer", base, path, field);
    json_decref(res);
    return s != NULL;
}

static bool need_session(flinkgw *gw, char *err, size_t errlen)
{
    if (gw->session)
        return true;
    snprintf(err, errlen, "no SQL Gateway session is open");
    return false;
}

bool flinkgw_open_session(flinkgw *gw, const char *name, const char *const *props, char *err,
                          size_t errlen)
{
    json_t *body = json_object();
    json_t *p = json_object();
    if (name)
        json_object_set_new(body, "sessionName", json_string(name));
    for (size_t i = 0; props && props[i] && props[i + 1]; i += 2)
        json_object_set_new(p, props[i], json_string(props[i + 1]));
    json_object_set_new(body, "properties", p);
    json_t *res = gw_call("POST", gw->gw_url, "/v1/sessions", body, gw->request_ms, err, errlen);
    json_decref(body);
    if (!res)
        return false;
    const char *h = json_string_value(json_object_get(res, "sessionHandle"));
    if (!h) {
        snprintf(err, errlen, "POST %s/v1/sessions: no sessionHandle in the answer", gw->gw_url);
        json_decref(res);
        return false;
    }
    free(gw->session);
    gw->session = xstrdup(h);
    json_decref(res);
    log_info("flink_session_opened", "gateway=%s session=%s name=%s", lq(gw->gw_url), gw->session,
             lq(name ? name : ""));
    return true;
}

bool flinkgw_close_session(flinkgw *gw, char *err, size_t errlen)
{
    if (!gw->session)
        return true;
    char path[256];
    snprintf(path, sizeof path, "/v1/sessions/%s", gw->session);
    json_t *res = gw_call("DELETE", gw->gw_url, path, NULL, gw->request_ms, err, errlen);
    free(gw->session);
    gw->session = NULL;
    if (!res)
        return false;
    json_decref(res);
    return true;
}

bool flinkgw_submit(flinkgw *gw, const char *statement, char **operation, char *err, size_t errlen)
{
    *operation = NULL;
    if (!need_session(gw, err, errlen))
        return false;
    json_t *body = json_pack("{s:s}", "statement", statement);
    if (!body) {
        snprintf(err, errlen, "cannot encode the statement as JSON (invalid UTF-8?)");
        return false;
    }
    char path[256];
    snprintf(path, sizeof path, "/v1/sessions/%s/statements", gw->session);
    json_t *res = gw_call("POST", gw->gw_url, path, body, gw->request_ms, err, errlen);
    json_decref(body);
    if (!res)
        return false;
    const char *h = json_string_value(json_object_get(res, "operationHandle"));
    if (h)
        *operation = strdup(h);
    json_decref(res);
    if (!*operation) {
        snprintf(err, errlen, "POST %s%s: no operationHandle in the answer", gw->gw_url, path);
        return false;
    }
    return true;
}

bool flinkgw_operation_status(flinkgw *gw, const char *operation, char *status, size_t slen,
                              char *err, size_t errlen)
{
    if (!need_session(gw, err, errlen))
        return false;
    char path[256];
    snprintf(path, sizeof path, "/v1/sessions/%s/operations/%s/status", gw->session, operation);
    return gw_get_string(gw->gw_url, path, "status", status, slen, gw->request_ms, err, errlen);
}

int flinkgw_result_page(json_t *res, flinkgw_result *out, const char **next, char *err,
                        size_t errlen)
{
    const char *type = json_string_value(json_object_get(res, "resultType"));
    const char *job = json_string_value(json_object_get(res, "jobID"));
    *next = json_string_value(json_object_get(res, "nextResultUri"));
    if (job && !out->job_id)
        out->job_id = xstrdup(job);
    if (type && !strcmp(type, "EOS"))
        return FLINKGW_PAGE_EOS;
    if (type && !strcmp(type, "NOT_READY"))
        return FLINKGW_PAGE_NOT_READY;
    if (!type || strcmp(type, "PAYLOAD")) {
        snprintf(err, errlen, "unexpected resultType %s", type ? type : "(none)");
        return FLINKGW_PAGE_BAD;
    }
    json_t *results = json_object_get(res, "results");
    json_t *cols = json_object_get(results, "columns");
    size_t i;
    json_t *c;
    if (json_array_size(out->columns) == 0 && json_is_array(cols))
        json_array_foreach (cols, i, c) {
            const char *n = json_string_value(json_object_get(c, "name"));
            json_array_append_new(out->columns, json_string(n ? n : ""));
        }
    json_array_foreach (json_object_get(results, "data"), i, c) {
        json_t *fields = json_object_get(c, "fields");
        if (json_is_array(fields))
            json_array_append(out->rows, fields);
    }
    /* an INSERT answers its job id as the only field of a "job id" column */
    const char *only = json_string_value(json_array_get(out->columns, 0));
    if (!out->job_id && json_array_size(out->columns) == 1 && only && !strcmp(only, "job id")) {
        const char *j = json_string_value(json_array_get(json_array_get(out->rows, 0), 0));
        if (j)
            out->job_id = xstrdup(j);
    }
    return FLINKGW_PAGE_PAYLOAD;
}

bool flinkgw_fetch_results(flinkgw *gw, const char *operation, flinkgw_result *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!need_session(gw, err, errlen))
        return false;
    out->columns = json_array();
    out->rows = json_array();
    char path[1024];
    snprintf(path, sizeof path, "/v2/sessions/%s/operations/%s/result/0?rowFormat=JSON",
             gw->session, operation);
    int64_t deadline = now_ms() + gw->timeout_ms;
    backoff b;
    backoff_init(&b, 50, 1000);
    for (;;) {
        json_t *res = gw_call("GET", gw->gw_url, path, NULL, gw->request_ms, err, errlen);
        if (!res) {
            flinkgw_result_free(out);
            return false;
        }
        const char *next = NULL;
        char perr[256];
        int page = flinkgw_result_page(res, out, &next, perr, sizeof perr);
        if (page == FLINKGW_PAGE_BAD) {
            snprintf(err, errlen, "GET %s%s: %s", gw->gw_url, path, perr);
            json_decref(res);
            flinkgw_result_free(out);
            return false;
        }
        if (page == FLINKGW_PAGE_PAYLOAD)
            backoff_reset(&b);
        if (page == FLINKGW_PAGE_EOS || !next) {
            json_decref(res);
            return true;
        }
        snprintf(path, sizeof path, "%s", next);
        json_decref(res);
        if (page == FLINKGW_PAGE_NOT_READY) {
            if (now_ms() > deadline) {
                snprintf(err, errlen, "operation %s: results not ready after %ld ms", operation,
                         gw->timeout_ms);
                flinkgw_result_free(out);
                return false;
            }
            sleep_ms_unless(backoff_next(&b), NULL);
        }
    }
}

static void first_line(const char *s, char *out, size_t outlen)
{
    size_t n = strcspn(s, "\n");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, s, n);
    out[n] = 0;
}

bool flinkgw_execute(flinkgw *gw, const char *statement, flinkgw_result *out, char *err,
                     size_t errlen)
{
    char *op = NULL;
    char brief[120];
    first_line(statement, brief, sizeof brief);
    if (!flinkgw_submit(gw, statement, &op, err, errlen))
        return false;
    log_debug("flink_statement_submitted", "operation=%s statement=%s", op, lq(brief));
    int64_t deadline = now_ms() + gw->timeout_ms;
    char status[32] = "";
    backoff b;
    backoff_init(&b, 50, 1000);
    for (;;) {
        if (!flinkgw_operation_status(gw, op, status, sizeof status, err, errlen)) {
            free(op);
            return false;
        }
        if (strcmp(status, "INITIALIZED") && strcmp(status, "PENDING") && strcmp(status, "RUNNING"))
            break;
        if (now_ms() > deadline) {
            snprintf(err, errlen, "statement still %s after %ld ms: %s", status, gw->timeout_ms,
                     brief);
            free(op);
            return false;
        }
        sleep_ms_unless(backoff_next(&b), NULL);
    }
    flinkgw_result r;
    bool ok;
    char ferr[1536];
    if (strcmp(status, "FINISHED") == 0) {
        ok = flinkgw_fetch_results(gw, op, &r, ferr, sizeof ferr);
        if (!ok)
            snprintf(err, errlen, "%s: %s", brief, ferr);
    } else {
        /* ERROR: the fetch answers the exception, which is the message */
        ok = false;
        if (!flinkgw_fetch_results(gw, op, &r, ferr, sizeof ferr)) {
            const char *m = strstr(ferr, ": HTTP ");
            m = m ? strchr(m + 7, ':') : NULL;
            snprintf(err, errlen, "Flink rejected \"%s\": %s", brief, m ? m + 2 : ferr);
        } else {
            flinkgw_result_free(&r);
            snprintf(err, errlen, "Flink statement ended %s: %s", status, brief);
        }
    }
    free(op);
    if (!ok)
        return false;
    if (r.job_id)
        log_info("flink_job_submitted", "job_id=%s statement=%s", r.job_id, lq(brief));
    if (out)
        *out = r;
    else
        flinkgw_result_free(&r);
    return true;
}

bool flinkgw_run_file(flinkgw *gw, const char *path, const char *const *vars, char **job_id,
                      char *err, size_t errlen)
{
    size_t n = 0;
    char **stmts = sqltmpl_file(path, vars, &n, err, errlen);
    if (!stmts)
        return false;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        flinkgw_result r;
        char eerr[1536];
        ok = flinkgw_execute(gw, stmts[i], &r, eerr, sizeof eerr);
        if (!ok) {
            snprintf(err, errlen, "%s, statement %zu of %zu: %s", path, i + 1, n, eerr);
            break;
        }
        if (r.job_id && job_id) {
            free(*job_id);
            *job_id = strdup(r.job_id);
        }
        flinkgw_result_free(&r);
    }
    log_info("flink_file_done", "file=%s statements=%zu ok=%s", lq(path), n, ok ? "true" : "false");
    sqltmpl_free_list(stmts, n);
    return ok;
}

static bool valid_job_id(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++)
        if (!isxdigit((unsigned char)id[n]))
            return false;
    return n == 32;
}

bool flinkgw_stop_job(flinkgw *gw, const char *job_id, bool with_savepoint, bool drain,
                      char **savepoint_path, char *err, size_t errlen)
{
    if (savepoint_path)
        *savepoint_path = NULL;
    if (!valid_job_id(job_id)) {
        snprintf(err, errlen, "\"%s\" is not a Flink job id (32 hex digits)", job_id);
        return false;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "STOP JOB '%s'%s%s", job_id, with_savepoint ? " WITH SAVEPOINT" : "",
             drain ? " WITH DRAIN" : "");
    flinkgw_result r;
    if (!flinkgw_execute(gw, sql, &r, err, errlen))
        return false;
    if (with_savepoint) {
        const char *sp = json_string_value(json_array_get(json_array_get(r.rows, 0), 0));
        if (!sp) {
            snprintf(err, errlen, "STOP JOB '%s' WITH SAVEPOINT answered no savepoint path",
                     job_id);
            flinkgw_result_free(&r);
            return false;
        }
        if (savepoint_path)
            *savepoint_path = strdup(sp);
        log_info("flink_job_stopped", "job_id=%s savepoint=%s", job_id, lq(sp));
    } else {
        log_info("flink_job_stopped", "job_id=%s", job_id);
    }
    flinkgw_result_free(&r);
    return true;
}

bool flinkgw_resume_from(flinkgw *gw, const char *savepoint_path, char *err, size_t errlen)
{
    if (strchr(savepoint_path, '\'')) {
        snprintf(err, errlen, "savepoint path must not contain a quote: %s", savepoint_path);
        return false;
    }
    strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "SET 'execution.state-recovery.path' = '%s'", savepoint_path);
    bool ok = flinkgw_execute(gw, sb_str(&sb), NULL, err, errlen);
    sb_free(&sb);
    return ok;
}

bool flinkgw_job_state(flinkgw *gw, const char *job_id, char *state, size_t slen, char *err,
                       size_t errlen)
{
    if (!gw->rest_url) {
        snprintf(err, errlen, "no JobManager REST URL configured");
        return false;
    }
    if (!valid_job_id(job_id)) {
        snprintf(err, errlen, "\"%s\" is not a Flink job id (32 hex digits)", job_id);
        return false;
    }
    char path[64];
    snprintf(path, sizeof path, "/jobs/%s", job_id);
    return gw_get_string(gw->rest_url, path, "state", state, slen, gw->request_ms, err, errlen);
}

json_t *flinkgw_jobs(flinkgw *gw, char *err, size_t errlen)
{
    if (!gw->rest_url) {
        snprintf(err, errlen, "no JobManager REST URL configured");
        return NULL;
    }
    json_t *res = gw_call("GET", gw->rest_url, "/jobs/overview", NULL, gw->request_ms, err, errlen);
    if (!res)
        return NULL;
    json_t *jobs = json_object_get(res, "jobs");
    if (!json_is_array(jobs)) {
        snprintf(err, errlen, "GET %s/jobs/overview: no jobs array", gw->rest_url);
        json_decref(res);
        return NULL;
    }
    json_incref(jobs);
    json_decref(res);
    return jobs;
}

bool flinkgw_job_exception(flinkgw *gw, const char *job_id, char *out, size_t outlen, char *err,
                           size_t errlen)
{
    if (!gw->rest_url || !valid_job_id(job_id)) {
        snprintf(err, errlen, "no JobManager REST URL or a bad job id");
        return false;
    }
    char path[80];
    snprintf(path, sizeof path, "/jobs/%s/exceptions", job_id);
    json_t *res = gw_call("GET", gw->rest_url, path, NULL, gw->request_ms, err, errlen);
    if (!res)
        return false;
    const char *trace = json_string_value(json_object_get(res, "root-exception"));
    if (trace)
        flinkgw_trace_message(trace, out, outlen);
    else if (outlen)
        out[0] = '\0';
    json_decref(res);
    return true;
}

bool flinkgw_job_all_tasks_running(flinkgw *gw, const char *job_id, bool *all, char *err,
                                   size_t errlen)
{
    *all = false;
    if (!gw->rest_url || !valid_job_id(job_id)) {
        snprintf(err, errlen, "no JobManager REST URL or a bad job id");
        return false;
    }
    char path[64];
    snprintf(path, sizeof path, "/jobs/%s", job_id);
    json_t *res = gw_call("GET", gw->rest_url, path, NULL, gw->request_ms, err, errlen);
    if (!res)
        return false;
    json_t *vs = json_object_get(res, "vertices");
    size_t i;
    json_t *v;
    bool ok = json_is_array(vs) && json_array_size(vs) > 0;
    json_array_foreach (vs, i, v) {
        const char *st = json_string_value(json_object_get(v, "status"));
        if (!st || (strcmp(st, "RUNNING") && strcmp(st, "FINISHED")))
            ok = false;
    }
    *all = ok;
    json_decref(res);
    return true;
}
