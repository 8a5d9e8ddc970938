/*
 * httpc — see httpc.h.  One easy handle per request: the clients make a few
 * requests a second at most, so connection reuse is not worth the state.
 */
#define _POSIX_C_SOURCE 200809L
#include "httpc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool httpc_global_init(char *err, size_t errlen)
{
    static bool done;
    if (done)
        return true;
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "initialising libcurl: %s", curl_easy_strerror(rc));
        return false;
    }
    done = true;
    return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    strbuf *sb = ctx;
    sb_append(sb, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    httpc_response *rs = ctx;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        char v[32];
        size_t vl = len - (sizeof name - 1);
        if (vl >= sizeof v)
            vl = sizeof v - 1;
        memcpy(v, p + sizeof name - 1, vl);
        v[vl] = 0;
        char *end;
        long s = strtol(v, &end, 10);
        /* an HTTP-date form is rare for these APIs: treat it as "some time" */
        rs->retry_after_s = end != v && s >= 0 ? s : 5;
    }
    return len;
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        CURLcode c_ = curl_easy_setopt(h, opt, val);                                               \
        if (c_ != CURLE_OK) {                                                                      \
            snprintf(err, errlen, "%s %s: setting " #opt ": %s", rq->method, rq->url,              \
                     curl_easy_strerror(c_));                                                      \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

bool httpc_do(const httpc_request *rq, httpc_response *rs, char *err, size_t errlen)
{
    bool ok = false;
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    sb_init(&rs->body);
    rs->status = 0;
    rs->retry_after_s = -1;
    if (!httpc_global_init(err, errlen))
        return false;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "%s %s: curl_easy_init failed", rq->method, rq->url);
        return false;
    }
    SETOPT(CURLOPT_URL, rq->url);
    SETOPT(CURLOPT_CUSTOMREQUEST, rq->method);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : 30000L);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, &rs->body);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, rs);
    SETOPT(CURLOPT_USERAGENT, "flinkpg/1");
    if (rq->user) {
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERNAME, rq->user);
        SETOPT(CURLOPT_PASSWORD, rq->password ? rq->password : "");
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (rq->body) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s",
                 rq->content_type ? rq->content_type : "application/json");
        struct curl_slist *n = curl_slist_append(hdrs, ct);
        if (n)
            hdrs = n;
        SETOPT(CURLOPT_POSTFIELDS, rq->body);
        SETOPT(CURLOPT_POSTFIELDSIZE, (long)strlen(rq->body));
    }
    if (!hdrs) {
        snprintf(err, errlen, "%s %s: out of memory for headers", rq->method, rq->url);
        goto out;
    }
    SETOPT(CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", rq->method, rq->url,
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        goto out;
    }
    rc = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: reading the status: %s", rq->method, rq->url,
                 curl_easy_strerror(rc));
        goto out;
    }
    ok = true;
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (!ok)
        sb_free(&rs->body);
    return ok;
}

void httpc_response_free(httpc_response *rs)
{
    sb_free(&rs->body);
}

char *httpc_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *o = malloc(n * 3 + 1), *p = o;
    if (!o)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = 0;
    return o;
}

int httpc_probe(const char *url)
{
    httpc_request rq = {.method = "GET", .url = url, .timeout_ms = 10000};
    httpc_response rs = {0};
    char err[512] = "";
    bool ok = httpc_do(&rq, &rs, err, sizeof err);
    const char *text = ok ? sb_str(&rs.body) : err;
    int len = (int)strcspn(text, "\r\n");
    printf("probe url=%s status=%ld answer=\"%.*s\"\n", url, ok ? rs.status : 0L,
           len > 200 ? 200 : len, text);
    bool good = ok && rs.status >= 200 && rs.status < 300;
    httpc_response_free(&rs);
    return good ? 0 : 1;
}
