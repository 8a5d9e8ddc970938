/*
 * watch — see watch.h.  One thread per watched resource:
 *
 *   for (;;) { if (!rv) list(); watch(rv) until the stream ends; on 410 rv = NULL }
 *
 * The list is paged (limit + continue); a 410 in the middle of paging (the
 * continue token expired) restarts the list.
 */
#define _POSIX_C_SOURCE 200809L
#include "watch.h"

#include "../common/backoff.h"
#include "../common/log.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void frame_splitter_init(frame_splitter *fs, size_t max_frame)
{
    sb_init(&fs->partial);
    fs->max_frame = max_frame;
    fs->overflow = false;
}

void frame_splitter_free(frame_splitter *fs)
{
    sb_free(&fs->partial);
}

bool frame_splitter_feed(frame_splitter *fs, const char *data, size_t len, frame_fn fn, void *ctx)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (fs->partial.len + take > fs->max_frame) {
            fs->overflow = true;
            return false;
        }
        if (!nl) {
            sb_append(&fs->partial, data, take);
            return true;
        }
        bool ok = true;
        if (fs->partial.len) {
            sb_append(&fs->partial, data, take);
            ok = fn(fs->partial.data, fs->partial.len, ctx);
            sb_reset(&fs->partial);
        } else if (take > 0) {
            ok = fn(data, take, ctx);
        }
        if (!ok)
            return false;
        data = nl + 1;
        len -= take + 1;
    }
    return true;
}

const char *watch_parse_line(const char *line, size_t len, json_t **root, json_t **obj, int *code)
{
    *obj = NULL;
    *code = 0;
    *root = json_loadb(line, len, 0, NULL);
    if (!*root)
        return NULL;
    const char *type = json_string_value(json_object_get(*root, "type"));
    if (!type) {
        /* A bare Status (non-2xx answer to the watch request). */
        const char *kind = json_string_value(json_object_get(*root, "kind"));
        if (kind && !strcmp(kind, "Status")) {
            *obj = *root;
            *code = (int)json_integer_value(json_object_get(*root, "code"));
            return "ERROR";
        }
        return NULL;
    }
    *obj = json_object_get(*root, "object");
    if (!strcmp(type, "ERROR"))
        *code = (int)json_integer_value(json_object_get(*obj, "code"));
    return type;
}

/* ---- the watcher thread ---- */

typedef struct {
    watcher *w;
    frame_splitter fs;
    char rv[64];
    bool gone;      /* 410 seen */
    bool bad_frame; /* unparseable line */
    char errmsg[256];
} stream_state;

static void set_rv(char *dst, json_t *obj)
{
    const char *rv =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    if (rv && strlen(rv) < 64)
        strcpy(dst, rv);
}

static bool on_line(const char *line, size_t len, void *ctx)
{
    stream_state *s = ctx;
    json_t *root, *obj;
    int code;
    const char *type = watch_parse_line(line, len, &root, &obj, &code);
    bool go_on = true;
    if (!type) {
        s->bad_frame = true;
        go_on = false;
    } else if (!strcmp(type, "ERROR")) {
        if (code == 410)
            s->gone = true;
        const char *m = json_string_value(json_object_get(obj, "message"));
        snprintf(s->errmsg, sizeof s->errmsg, "%d %s", code, m ? m : "");
        go_on = false;
    } else if (!strcmp(type, "BOOKMARK")) {
        set_rv(s->rv, obj);
    } else {
        watch_event ev = !strcmp(type, "ADDED")     ? WATCH_ADDED
                         : !strcmp(type, "DELETED") ? WATCH_DELETED
                                                    : WATCH_MODIFIED;
        set_rv(s->rv, obj);
        atomic_fetch_add(&s->w->events, 1);
        s->w->on_event(ev, obj, s->w->ctx);
    }
    json_decref(root);
    return go_on;
}

static bool on_data(const char *data, size_t len, void *ctx)
{
    stream_state *s = ctx;
    if (*s->w->stop)
        return false;
    return frame_splitter_feed(&s->fs, data, len, on_line, s);
}

static void query_path(char *out, size_t n, const watcher *w, const char *extra)
{
    char sel[512] = "";
    if (w->label_selector) {
        char *e = curl_easy_escape(NULL, w->label_selector, 0);
        snprintf(sel, sizeof sel, "&labelSelector=%s", e ? e : "");
        curl_free(e);
    }
    snprintf(out, n, "%s?%s%s", w->path, extra, sel);
}

/* Every watcher lists when it starts, so an API server that does not answer
 * fails them all at once: one warning for all of them, at most every 30 s,
 * and one line when lists succeed again. */
static atomic_llong g_list_warned_ms;
static atomic_bool g_list_failing;
#define LIST_WARN_EVERY_MS 30000

static void list_failed(const watcher *w, const char *err)
{
    atomic_store(&g_list_failing, true);
    long long now = now_ms(), last = atomic_load(&g_list_warned_ms);
    if ((!last || now - last >= LIST_WARN_EVERY_MS) &&
        atomic_compare_exchange_strong(&g_list_warned_ms, &last, now))
        log_warn("list_failed", "server=%s resource=%s error=%s retry=backoff", lq(w->cfg->server),
                 w->name, lq(err));
    else
        log_debug("list_failed", "server=%s resource=%s error=%s", lq(w->cfg->server), w->name,
                  lq(err));
}

static void list_ok(const watcher *w)
{
    if (atomic_exchange(&g_list_failing, false)) {
        atomic_store(&g_list_warned_ms, 0);
        log_info("list_recovered", "server=%s resource=%s", lq(w->cfg->server), w->name);
    }
}

/* Returns 1 on success (rv set), 0 on 410 (start over), -1 on other errors. */
static int list_all(watcher *w, kube_client *kc, char *rv, size_t rvlen)
{
    char cont[1024] = "", path[2048], extra[1200], err[1024];
    do {
        snprintf(extra, sizeof extra, "limit=500%s%s", cont[0] ? "&continue=" : "", cont);
        query_path(path, sizeof path, w, extra);
        json_t *list = NULL;
        long st = kube_get(kc, path, &list, err, sizeof err);
        if (st == 410) {
            json_decref(list);
            return 0;
        }
        if (st != 200) {
            list_failed(w, err);
            json_decref(list);
            return -1;
        }
        list_ok(w);
        json_t *meta = json_object_get(list, "metadata");
        const char *r = json_string_value(json_object_get(meta, "resourceVersion"));
        const char *c = json_string_value(json_object_get(meta, "continue"));
        snprintf(rv, rvlen, "%s", r ? r : "");
        snprintf(cont, sizeof cont, "%s", c ? c : "");
        size_t i;
        json_t *item;
        json_array_foreach (json_object_get(list, "items"), i, item)
            w->on_event(WATCH_SYNC, item, w->ctx);
        json_decref(list);
    } while (cont[0] && !*w->stop);
    if (*w->stop)
        return -1;
    w->on_event(WATCH_LIST_DONE, NULL, w->ctx);
    return 1;
}

static void *watch_main(void *arg)
{
    watcher *w = arg;
    char err[1024];
    kube_client *kc = kube_client_new(w->cfg, err, sizeof err);
    if (!kc) {
        log_error("watch_failed", "resource=%s error=%s", w->name, lq(err));
        return NULL;
    }
    kube_client_set_stop(kc, w->stop);
    backoff b;
    backoff_init(&b, 200, 10000);
    stream_state s = {.w = w};
    frame_splitter_init(&s.fs, 16u << 20);
    if (w->start_rv)
        snprintf(s.rv, sizeof s.rv, "%s", w->start_rv);
    unsigned seed = (unsigned)(uintptr_t)w ^ (unsigned)now_ms();
    while (!*w->stop) {
        if (!s.rv[0]) {
            int r = list_all(w, kc, s.rv, sizeof s.rv);
            if (r <= 0) {
                s.rv[0] = '\0';
                sleep_ms_unless(backoff_next(&b), w->stop);
                continue;
            }
            if (!atomic_exchange(&w->synced, 1))
                log_info("watch_synced", "resource=%s resource_version=%s", w->name, s.rv);
            atomic_fetch_add(&w->relists, 1);
        }
        long tmo = w->timeout_s > 0 ? w->timeout_s : 300;
        tmo = tmo - (long)(rand_r(&seed) % (unsigned)(tmo / 4 + 1)); /* spread reconnects */
        char extra[256], path[2048];
        snprintf(extra, sizeof extra,
                 "watch=1&allowWatchBookmarks=true&timeoutSeconds=%ld&resourceVersion=%s", tmo,
                 s.rv);
        query_path(path, sizeof path, w, extra);
        s.gone = s.bad_frame = false;
        s.errmsg[0] = '\0';
        sb_reset(&s.fs.partial);
        s.fs.overflow = false;
        int64_t t0 = now_ms();
        long st = kube_stream(kc, path, tmo + 30, on_data, &s, err, sizeof err);
        if (*w->stop)
            break;
        if (st == 410 || s.gone) {
            log_info("watch_expired", "resource=%s resource_version=%s detail=%s action=relist",
                     w->name, s.rv, lq(s.errmsg[0] ? s.errmsg : "410 Gone"));
            s.rv[0] = '\0';
            continue;
        }
        if (st == 200 && !s.bad_frame && !s.errmsg[0] && !s.fs.overflow) {
            backoff_reset(&b); /* a normal end: the server's timeout */
            continue;
        }
        atomic_fetch_add(&w->reconnects, 1);
        const char *why = s.bad_frame     ? "unparseable watch frame"
                          : s.fs.overflow ? "watch frame too large"
                          : s.errmsg[0]   ? s.errmsg
                                          : err;
        uint32_t d = backoff_next(&b);
        log_warn("watch_interrupted", "resource=%s status=%ld after_ms=%lld error=%s retry_ms=%u",
                 w->name, st, (long long)(now_ms() - t0), lq(why), d);
        if (s.bad_frame || s.fs.overflow || (st != 200 && st > 0 && st != 410))
            s.rv[0] = '\0'; /* start from a fresh list */
        sleep_ms_unless(d, w->stop);
    }
    frame_splitter_free(&s.fs);
    kube_client_free(kc);
    return NULL;
}

bool watcher_start(watcher *w, const kube_config *cfg, volatile int *stop, char *err, size_t errlen)
{
    w->cfg = cfg;
    w->stop = stop;
    int rc = pthread_create(&w->thread, NULL, watch_main, w);
    if (rc != 0) {
        snprintf(err, errlen, "starting the %s watcher: %s", w->name, strerror(rc));
        return false;
    }
    w->started = true;
    return true;
}

void watcher_join(watcher *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = false;
}
