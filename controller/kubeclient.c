/*
 * kubeclient — see kubeclient.h.  Authentication is set on the curl handle
 * once (CA, client certificate as file or blob) except the bearer token,
 * which is fetched per request so that a rotated service-account token is
 * picked up.
 */
#define _POSIX_C_SOURCE 200809L
#include "kubeclient.h"

#include "cache.h"

#include "../common/xalloc.h"
#include "../common/strbuf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kube_client {
    kube_config cfg;
    CURL *h;
    volatile int *stop;
    kcache *cache; /* GETs answered from it, objects returned kept in it */
};

void kube_client_set_cache(kube_client *kc, kcache *cache)
{
    kc->cache = cache;
}

static bool setup_tls(kube_client *kc, char *err, size_t errlen)
{
    CURL *h = kc->h;
    kube_config *c = &kc->cfg;
    CURLcode rc = CURLE_OK;
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->ca.data) {
        struct curl_blob b = {c->ca.data, c->ca.len, CURL_BLOB_COPY};
        rc = curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    } else if (c->ca_file) {
        rc = curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    }
    if (rc == CURLE_OK && c->cert.data) {
        struct curl_blob b = {c->cert.data, c->cert.len, CURL_BLOB_COPY};
        rc = curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    } else if (rc == CURLE_OK && c->cert_file) {
        rc = curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
    }
    if (rc == CURLE_OK && c->key.data) {
        struct curl_blob b = {c->key.data, c->key.len, CURL_BLOB_COPY};
        rc = curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (rc == CURLE_OK && c->key_file) {
        rc = curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "configuring TLS for %s: %s", c->server, curl_easy_strerror(rc));
        return false;
    }
    return true;
}

kube_client *kube_client_new(const kube_config *cfg, char *err, size_t errlen)
{
    kube_client *kc = xcalloc(1, sizeof *kc);
    if (!kube_config_copy(&kc->cfg, cfg)) {
        free(kc);
        snprintf(err, errlen, "kube client: cannot copy the configuration");
        return NULL;
    }
    kc->h = curl_easy_init();
    if (!kc->h) {
        snprintf(err, errlen, "kube client: curl_easy_init failed");
        kube_client_free(kc);
        return NULL;
    }
    if (!setup_tls(kc, err, errlen)) {
        kube_client_free(kc);
        return NULL;
    }
    return kc;
}

void kube_client_free(kube_client *kc)
{
    if (!kc)
        return;
    if (kc->h)
        curl_easy_cleanup(kc->h);
    kube_config_free(&kc->cfg);
    free(kc);
}

const kube_config *kube_client_config(const kube_client *kc)
{
    return &kc->cfg;
}
void kube_client_set_stop(kube_client *kc, volatile int *stop)
{
    kc->stop = stop;
}

typedef struct {
    strbuf body;
    kube_data_fn fn;
    void *ctx;
    bool stopped;
} xfer;

static size_t on_write(char *p, size_t sz, size_t n, void *userdata)
{
    xfer *x = userdata;
    size_t len = sz * n;
    if (x->fn) {
        if (!x->fn(p, len, x->ctx)) {
            x->stopped = true;
            return 0; /* abort */
        }
        return len;
    }
    sb_append(&x->body, p, len);
    return len;
}

static int on_progress(void *clientp, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    kube_client *kc = clientp;
    return kc->stop && *kc->stop ? 1 : 0;
}

/* "message" of a Status body, or a short excerpt of whatever came back. */
static void status_message(const char *body, size_t len, char *out, size_t outlen)
{
    json_t *j = len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
    if (m)
        snprintf(out, outlen, "%s", m);
    else
        snprintf(out, outlen, "%.*s", (int)(len > 200 ? 200 : len), len ? body : "(empty body)");
    json_decref(j);
}

static long perform(kube_client *kc, const char *method, const char *path, const char *ctype,
                    const char *body, long timeout_s, xfer *x, char *err, size_t errlen)
{
    CURL *h = kc->h;
    char url[2048], auth[4096] = "";
    snprintf(url, sizeof url, "%s%s", kc->cfg.server, path);
    struct curl_slist *hdr = NULL, *t;
    hdr = curl_slist_append(hdr, "Accept: application/json");
    char tokerr[256] = "";
    const char *tok = kube_config_token(&kc->cfg, tokerr, sizeof tokerr);
    if (tok) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
        t = curl_slist_append(hdr, auth);
        hdr = t ? t : hdr;
    }
    if (ctype) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        t = curl_slist_append(hdr, ct);
        hdr = t ? t : hdr;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "flinkpg-controller/0.1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, kc);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    CURLcode rc = curl_easy_perform(h);
    if (auth[0])
        memset(auth, 0, sizeof auth);
    curl_slist_free_all(hdr);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    if (rc != CURLE_OK && !(x->stopped && status > 0)) {
        if (rc == CURLE_ABORTED_BY_CALLBACK && status > 0)
            return status;
        snprintf(err, errlen, "%s %s: %s%s%s", method, path, curl_easy_strerror(rc),
                 tokerr[0] ? "; " : "", tokerr);
        return -1;
    }
    if (status < 200 || status > 299) {
        char m[400];
        status_message(x->body.data, x->body.len, m, sizeof m);
        snprintf(err, errlen, "%s %s: %ld %s", method, path, status, m);
    }
    return status;
}

long kube_request(kube_client *kc, const char *method, const char *path, const char *content_type,
                  const json_t *body, json_t **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (kc->cache && !strcmp(method, "GET")) {
        json_t *hit = NULL;
        if (kcache_try_get(kc->cache, path, &hit) == 200) {
            if (out)
                *out = hit;
            else
                json_decref(hit);
            return 200;
        }
    }
    json_t *parsed = NULL;
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text) {
            snprintf(err, errlen, "%s %s: cannot serialise the request body", method, path);
            return -1;
        }
    }
    xfer x = {0};
    sb_init(&x.body);
    long st = perform(kc, method, path, content_type, text, 30, &x, err, errlen);
    free(text);
    if (st > 0 && (out || (kc->cache && st / 100 == 2)) && x.body.len) {
        json_error_t je;
        parsed = json_loadb(x.body.data, x.body.len, 0, &je);
        if (!parsed && st >= 200 && st <= 299) {
            snprintf(err, errlen, "%s %s: response is not JSON: %s", method, path, je.text);
            st = -1;
        }
    }
    sb_free(&x.body);
    if (kc->cache && parsed && (st == 200 || st == 201))
        kcache_note(kc->cache, method, path, parsed);
    if (out)
        *out = parsed;
    else
        json_decref(parsed);
    return st;
}

long kube_get(kube_client *kc, const char *path, json_t **out, char *err, size_t errlen)
{
    return kube_request(kc, "GET", path, NULL, NULL, out, err, errlen);
}

long kube_get_child(kube_client *kc, const char *path, json_t **out, char *err, size_t errlen)
{
    if (kc->cache) {
        json_t *o = NULL;
        long st = kcache_lookup_child(kc->cache, path, &o);
        if (st == 200 || st == 404) {
            *out = o;
            if (st == 404)
                snprintf(err, errlen, "GET %s: 404 not found (cache)", path);
            return st;
        }
    }
    return kube_get(kc, path, out, err, errlen);
}

static void with_query(char *dst, size_t n, const char *path, const char *query)
{
    snprintf(dst, n, "%s%c%s", path, strchr(path, '?') ? '&' : '?', query);
}

long kube_apply(kube_client *kc, const char *path, const json_t *obj, json_t **out, char *err,
                size_t errlen)
{
    char p[1024];
    with_query(p, sizeof p, path, "fieldManager=" KUBE_FIELD_MANAGER "&force=true");
    return kube_request(kc, "PATCH", p, "application/apply-patch+yaml", obj, out, err, errlen);
}

long kube_merge_patch(kube_client *kc, const char *path, const json_t *patch, json_t **out,
                      char *err, size_t errlen)
{
    char p[1024];
    with_query(p, sizeof p, path, "fieldManager=" KUBE_FIELD_MANAGER);
    return kube_request(kc, "PATCH", p, "application/merge-patch+json", patch, out, err, errlen);
}

long kube_create(kube_client *kc, const char *path, const json_t *obj, json_t **out, char *err,
                 size_t errlen)
{
    char p[1024];
    with_query(p, sizeof p, path, "fieldManager=" KUBE_FIELD_MANAGER);
    return kube_request(kc, "POST", p, "application/json", obj, out, err, errlen);
}

long kube_put(kube_client *kc, const char *path, const json_t *obj, json_t **out, char *err,
              size_t errlen)
{
    char p[1024];
    with_query(p, sizeof p, path, "fieldManager=" KUBE_FIELD_MANAGER);
    return kube_request(kc, "PUT", p, "application/json", obj, out, err, errlen);
}

long kube_delete(kube_client *kc, const char *path, char *err, size_t errlen)
{
    json_t *opts = json_pack("{s:s, s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1",
                             "propagationPolicy", "Background");
    long st = kube_request(kc, "DELETE", path, "application/json", opts, NULL, err, errlen);
    json_decref(opts);
    return st;
}

long kube_stream(kube_client *kc, const char *path, long timeout_s, kube_data_fn on_data, void *ctx,
                 char *err, size_t errlen)
{
    xfer x = {.fn = on_data, .ctx = ctx};
    sb_init(&x.body);
    long st = perform(kc, "GET", path, NULL, NULL, timeout_s, &x, err, errlen);
    sb_free(&x.body);
    return st;
}
