/*
 * schemareg — see schemareg.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "schemareg.h"

#include "backoff.h"
#include "log.h"
#include "strbuf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    sb_append(ctx, data, size * n);
    return size * n;
}

/* One POST; returns the HTTP status, or 0 with curl's message in err. */
static long post(const schemareg *sr, const char *url, const char *body, strbuf *resp, char *err,
                 size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "curl_easy_init failed");
        return 0;
    }
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/vnd.schemaregistry.v1+json");
    h = curl_slist_append(h, "Accept: application/vnd.schemaregistry.v1+json, application/json");
    char curlerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, sr->timeout_ms > 0 ? sr->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (sr->user && *sr->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, sr->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, sr->password ? sr->password : "");
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        snprintf(err, errlen, "%s", *curlerr ? curlerr : curl_easy_strerror(rc));
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

bool schemareg_register(const schemareg *sr, const char *subject, const char *schema, uint32_t *id,
                        char *err, size_t errlen)
{
    CURL *esc = curl_easy_init();
    char *subj = esc ? curl_easy_escape(esc, subject, 0) : NULL;
    strbuf url;
    sb_init(&url);
    size_t ulen = strlen(sr->url);
    while (ulen && sr->url[ulen - 1] == '/')
        ulen--;
    sb_append(&url, sr->url, ulen);
    sb_printf(&url, "/subjects/%s/versions", subj ? subj : subject);
    curl_free(subj);
    curl_easy_cleanup(esc);

    json_t *req = json_pack("{s:s,s:s}", "schemaType", "JSON", "schema", schema);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);

    int attempts = sr->attempts > 0 ? sr->attempts : 5;
    backoff b;
    backoff_init(&b, 200, 5000);
    bool ok = false;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        strbuf resp;
        sb_init(&resp);
        char why[CURL_ERROR_SIZE + 64] = "";
        long status = post(sr, sb_str(&url), body, &resp, why, sizeof why);
        json_t *j = status ? json_loads(sb_str(&resp), 0, NULL) : NULL;
        const char *msg = json_string_value(json_object_get(j, "message"));
        if (status == 200 && json_is_integer(json_object_get(j, "id"))) {
            *id = (uint32_t)json_integer_value(json_object_get(j, "id"));
            ok = true;
        } else if (status >= 400 && status < 500) {
            snprintf(err, errlen, "Schema Registry %s refused subject %s: HTTP %ld%s%s%s", sr->url,
                     subject, status,
                     status == 401 || status == 403 ? " (check the API key and secret)" : "",
                     msg ? ": " : "", msg ? msg : "");
            attempts = 0; /* retrying will not help */
        } else {
            if (status)
                snprintf(why, sizeof why, "HTTP %ld%s%s", status, msg ? ": " : "", msg ? msg : "");
            snprintf(err, errlen,
                     "Schema Registry %s unreachable for subject %s after %d attempts: %s", sr->url,
                     subject, attempt, why);
            if (attempt < attempts) {
                uint32_t delay = backoff_next(&b);
                log_warn("schema_registry_unavailable",
                         "url=%s subject=%s attempt=%d retry_in_ms=%u error=%s", lq(sr->url),
                         lq(subject), attempt, delay, lq(why));
                sleep_ms_unless(delay, NULL);
            }
        }
        json_decref(j);
        sb_free(&resp);
        if (ok || attempts == 0)
            break;
    }
    free(body);
    sb_free(&url);
    return ok;
}
