/*
 * poll_http — CDC poll source over an HTTP(S) JSON endpoint (libcurl).
 *
 * Every poll GETs the URL and takes its items: the body itself when it is an
 * array; the member named by --source-items when given; otherwise, for an
 * object, each member's value.  An item's key is {"<key field>": value}; its
 * content hash is FNV-1a of the item serialised with sorted keys.  Published:
 * items whose hash differs from the stored one (new or changed), as the item
 * itself (compact, fields in the endpoint's order); and a tombstone for every
 * stored key missing from the response (the item was deleted).  Items without
 * the key field are skipped with a warning.  Any transport error, non-2xx
 * status or unparsable body fails the poll (nothing published, state kept).
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include "../common/log.h"
#include "../common/strbuf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    sb_append(ctx, data, size * n);
    return size * n;
}

static bool get(const poll_http_opts *o, strbuf *body, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "curl_easy_init failed");
        return false;
    }
    char curlerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    if (o->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    bool ok = false;
    if (rc != CURLE_OK)
        snprintf(err, errlen, "GET --source-url: %s", *curlerr ? curlerr : curl_easy_strerror(rc));
    else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), status < 200 || status > 299)
        snprintf(err, errlen, "GET --source-url: HTTP %ld", status);
    else
        ok = true;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return ok;
}

typedef struct {
    json_t *seen;
    poll_changes *out;
} gone_ctx;

static void tombstone_if_gone(const char *key, uint64_t hash, void *ctx)
{
    (void)hash;
    gone_ctx *g = ctx;
    if (!json_object_get(g->seen, key))
        poll_changes_add(g->out, strdup(key), NULL, 0);
}

static void consider(const poll_http_opts *o, pollstate *st, json_t *item, json_t *seen,
                     poll_changes *out)
{
    json_t *id = json_object_get(item, o->key_field);
    if (!json_is_object(item) || !id || json_is_null(id)) {
        log_warn("item_skipped", "reason=%s",
                 lq("item is not an object with the --source-key field"));
        return;
    }
    json_t *key = json_pack("{s:O}", o->key_field, id);
    char *ks = json_dumps(key, JSON_COMPACT);
    json_decref(key);
    char *canon = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = hash64(canon, strlen(canon));
    free(canon);
    json_object_set_new(seen, ks, json_true());
    if (pollstate_hash(st, ks) == h) {
        free(ks);
        return;
    }
    poll_changes_add(out, ks, json_dumps(item, JSON_COMPACT | JSON_PRESERVE_ORDER), h);
}

bool poll_http_fetch(const poll_http_opts *o, pollstate *st, poll_changes *out, char *err,
                     size_t errlen)
{
    strbuf body;
    sb_init(&body);
    if (!get(o, &body, err, errlen)) {
        sb_free(&body);
        return false;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
    sb_free(&body);
    json_t *items = root;
    if (root && o->items_field)
        items = json_object_get(root, o->items_field);
    if (!json_is_array(items) && !json_is_object(items)) {
        snprintf(err, errlen, "--source-url answered %s",
                 !root            ? jerr.text
                 : o->items_field ? "without an array in the --source-items member"
                                  : "neither an array nor an object of items");
        json_decref(root);
        return false;
    }
    json_t *seen = json_object();
    size_t i;
    json_t *item;
    const char *name;
    if (json_is_array(items))
        json_array_foreach (items, i, item)
            consider(o, st, item, seen, out);
    else
        json_object_foreach (items, name, item)
            consider(o, st, item, seen, out);
    gone_ctx g = {seen, out};
    pollstate_each(st, tombstone_if_gone, &g);
    json_decref(seen);
    json_decref(root);
    return true;
}
