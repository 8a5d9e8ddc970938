/*
 * schemareg — see schemareg.h.  sr_call() is the one place that sends a
 * request (through httpc) and decides whether to try again.
 */
#define _POSIX_C_SOURCE 200809L
#include "schemareg.h"

#include "backoff.h"
#include "httpc.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {url}/subjects/{subject}{tail}, the subject percent-encoded */
static char *subject_url(const schemareg *sr, const char *subject, const char *tail)
{
    strbuf url;
    sb_init(&url);
    size_t ulen = strlen(sr->url);
    while (ulen && sr->url[ulen - 1] == '/')
        ulen--;
    sb_append(&url, sr->url, ulen);
    char *subj = httpc_escape(subject);
    sb_printf(&url, "/subjects/%s%s", subj, tail);
    free(subj);
    return sb_steal(&url);
}

/* One call with retries: an unreachable registry, 429 (Confluent Cloud's
 * rate limit, with Retry-After) and 5xx are tried again with backoff; any
 * other answer is returned: its status, and its parsed body in *out (NULL
 * when not JSON).  0 with err set when every attempt failed. */
static long sr_call(const schemareg *sr, const char *method, const char *url, const char *body,
                    const char *subject, json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    int attempts = sr->attempts > 0 ? sr->attempts : 5;
    backoff b;
    backoff_init(&b, 200, 5000);
    for (int attempt = 1;; attempt++) {
        httpc_request rq = {.method = method,
                            .url = url,
                            .body = body,
                            .content_type = "application/vnd.schemaregistry.v1+json",
                            .user = sr->user && *sr->user ? sr->user : NULL,
                            .password = sr->password ? sr->password : "",
                            .timeout_ms = sr->timeout_ms > 0 ? sr->timeout_ms : 10000L};
        httpc_response rs;
        char why[768] = "";
        long status = 0, retry_after = -1;
        if (httpc_do(&rq, &rs, why, sizeof why)) {
            status = rs.status;
            retry_after = rs.retry_after_s;
            json_t *j = json_loads(sb_str(&rs.body), 0, NULL);
            httpc_response_free(&rs);
            if (status != 429 && status < 500) {
                *out = j;
                return status;
            }
            const char *msg = json_string_value(json_object_get(j, "message"));
            snprintf(why, sizeof why, "HTTP %ld%s%s", status, msg ? ": " : "", msg ? msg : "");
            json_decref(j);
        }
        snprintf(err, errlen, "Schema Registry %s unreachable for subject %s after %d attempts: %s",
                 sr->url, subject, attempt, why);
        if (attempt >= attempts)
            return 0;
        uint32_t delay = backoff_next(&b);
        if (retry_after >= 0 && (uint64_t)retry_after * 1000 > delay)
            delay = retry_after > 60 ? 60000u : (uint32_t)retry_after * 1000u;
        log_warn(status == 429 ? "schema_registry_throttled" : "schema_registry_unavailable",
                 "url=%s subject=%s attempt=%d retry_in_ms=%u error=%s", lq(sr->url), lq(subject),
                 attempt, delay, lq(why));
        sleep_ms_unless(delay, NULL);
    }
}

/* "Schema Registry URL refused subject S: HTTP 409: message" */
static void refused(const schemareg *sr, const char *subject, long status, const json_t *j,
                    char *err, size_t errlen)
{
    const char *msg = json_string_value(json_object_get(j, "message"));
    snprintf(err, errlen, "Schema Registry %s refused subject %s: HTTP %ld%s%s%s", sr->url, subject,
             status, status == 401 || status == 403 ? " (check the API key and secret)" : "",
             msg ? ": " : "", msg ? msg : "");
}

bool schemareg_register(const schemareg *sr, const char *subject, const char *schema, uint32_t *id,
                        char *err, size_t errlen)
{
    char *url = subject_url(sr, subject, "/versions");
    json_t *req = json_pack("{s:s,s:s}", "schemaType", "JSON", "schema", schema);
    char *body = xjson_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *j = NULL;
    long status = sr_call(sr, "POST", url, body, subject, &j, err, errlen);
    bool ok = status == 200 && json_is_integer(json_object_get(j, "id"));
    if (ok)
        *id = (uint32_t)json_integer_value(json_object_get(j, "id"));
    else if (status)
        refused(sr, subject, status, j, err, errlen);
    json_decref(j);
    free(body);
    free(url);
    return ok;
}

int schemareg_latest(const schemareg *sr, const char *subject, uint32_t *id, char **schema,
                     char *err, size_t errlen)
{
    *schema = NULL;
    char *url = subject_url(sr, subject, "/versions/latest");
    json_t *j = NULL;
    long status = sr_call(sr, "GET", url, NULL, subject, &j, err, errlen);
    free(url);
    int rc = -1;
    const char *text = json_string_value(json_object_get(j, "schema"));
    /* schemaType is absent for AVRO (the registry's default) */
    const char *type = json_string_value(json_object_get(j, "schemaType"));
    if (status == 200 && text && (!type || strcmp(type, "JSON"))) {
        snprintf(err, errlen,
                 "Schema Registry %s: subject %s holds a %s schema; the generator writes JSON "
                 "(a table declared with 'value.format' = 'json-registry')",
                 sr->url, subject, type ? type : "AVRO");
    } else if (status == 200 && text && json_is_integer(json_object_get(j, "id"))) {
        *id = (uint32_t)json_integer_value(json_object_get(j, "id"));
        *schema = strdup(text);
        rc = *schema ? 1 : -1;
    } else if (status == 404) {
        rc = 0; /* 40401 subject not found (or 40402 version not found) */
    } else if (status) {
        refused(sr, subject, status, j, err, errlen);
    }
    json_decref(j);
    return rc;
}
