/*
 * events — see events.h.
 *
 * Two kinds of entries share one hash table and one LRU list:
 *   exact    key "uid \x1f type \x1f reason \x1f note": one Event and its count;
 *   similar  key "uid \x1f type \x1f reason": how many distinct notes made an
 *            Event in the current window, and the combined Event once that
 *            number passed the limit.
 * The validation of events.k8s.io/v1 lets an update change only `series`
 * (the note is immutable), so a combined Event keeps the note that opened it.
 */
#define _POSIX_C_SOURCE 200809L
#include "events.h"

#include "../common/backoff.h"
#include "../common/log.h"
#include "render.h"
#include "status.h"

#include "../common/hash.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024
#define NOTE_MAX 1024 /* events.k8s.io/v1: note at most 1 kB */
#define COMBINED_PREFIX "(combined from similar events): "

typedef struct ent {
    struct ent *hnext, *prev, *next;
    uint64_t hash;
    char *key;
    bool similar;
    char name[320];
    long count;
    int64_t last_ms, written_ms;
    int distinct;            /* similar: notes given their own Event in this window */
    int64_t window_start_ms; /* similar */
    bool has_event;          /* similar: the combined Event exists */
} ent;

struct evagg {
    pthread_mutex_t mu;
    evagg_limits lim;
    ent *bucket[NBUCKETS];
    ent *head, *tail; /* most recently used first */
    size_t n;
    unsigned seq;
};

evagg *evagg_new(const evagg_limits *lim)
{
    evagg *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    pthread_mutex_init(&a->mu, NULL);
    a->lim =
        lim ? *lim
            : (evagg_limits){
                  .series_interval_ms = 30000, .window_ms = 600000, .similar = 4, .capacity = 4096};
    return a;
}

static void lru_unlink(evagg *a, ent *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        a->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        a->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_front(evagg *a, ent *e)
{
    e->next = a->head;
    e->prev = NULL;
    if (a->head)
        a->head->prev = e;
    a->head = e;
    if (!a->tail)
        a->tail = e;
}

static void remove_ent(evagg *a, ent *e)
{
    ent **pp = &a->bucket[e->hash % NBUCKETS];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(a, e);
    free(e->key);
    free(e);
    a->n--;
}

void evagg_free(evagg *a)
{
    if (!a)
        return;
    while (a->head)
        remove_ent(a, a->head);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static ent *find(evagg *a, const char *key)
{
    uint64_t h = fnv1a64(key);
    for (ent *e = a->bucket[h % NBUCKETS]; e; e = e->hnext)
        if (e->hash == h && !strcmp(e->key, key))
            return e;
    return NULL;
}

static ent *insert(evagg *a, const char *key, bool similar)
{
    while (a->n >= a->lim.capacity && a->tail)
        remove_ent(a, a->tail);
    ent *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key)))
        abort();
    e->hash = fnv1a64(key);
    e->similar = similar;
    e->hnext = a->bucket[e->hash % NBUCKETS];
    a->bucket[e->hash % NBUCKETS] = e;
    lru_front(a, e);
    a->n++;
    return e;
}

static void touch(evagg *a, ent *e, int64_t now)
{
    e->last_ms = now;
    lru_unlink(a, e);
    lru_front(a, e);
}

static void new_name(evagg *a, ent *e, const char *run_name, int64_t now)
{
    /* unique per controller: milliseconds and a sequence number */
    snprintf(e->name, sizeof e->name, "%.230s.%llx", run_name,
             (unsigned long long)now * 1000000ULL + (a->seq++ % 1000000U));
}

static char *join(const char *uid, const char *type, const char *reason, const char *note)
{
    size_t n = strlen(uid) + strlen(type) + strlen(reason) + (note ? strlen(note) : 0) + 4;
    char *k = malloc(n);
    if (!k)
        abort();
    if (note)
        snprintf(k, n, "%s\x1f%s\x1f%s\x1f%s", uid, type, reason, note);
    else
        snprintf(k, n, "%s\x1f%s\x1f%s", uid, type, reason);
    return k;
}

/* A repeat of an entry that has its Event: PATCH the series on the first
 * repeat and then at most once per interval. */
static ev_decision repeat(evagg *a, ent *e, int64_t now, bool combined)
{
    ev_decision d = {.action = EV_SUPPRESS, .count = ++e->count, .combined = combined};
    snprintf(d.name, sizeof d.name, "%s", e->name);
    if (e->count == 2 || now - e->written_ms >= a->lim.series_interval_ms) {
        d.action = EV_SERIES;
        e->written_ms = now;
    }
    return d;
}

ev_decision evagg_decide(evagg *a, const char *uid, const char *run_name, const char *type,
                         const char *reason, const char *note, int64_t now)
{
    uid = uid ? uid : "";
    note = note ? note : "";
    pthread_mutex_lock(&a->mu);
    while (a->tail && now - a->tail->last_ms > a->lim.window_ms)
        remove_ent(a, a->tail);
    ev_decision d;
    char *ek = join(uid, type, reason, note);
    ent *e = find(a, ek);
    if (e) {
        touch(a, e, now);
        d = repeat(a, e, now, false);
        goto out;
    }
    char *sk = join(uid, type, reason, NULL);
    ent *s = find(a, sk);
    if (!s) {
        s = insert(a, sk, true);
        s->window_start_ms = now;
    }
    free(sk);
    if (now - s->window_start_ms > a->lim.window_ms) {
        s->window_start_ms = now;
        s->distinct = 0;
    }
    touch(a, s, now);
    if (s->distinct < a->lim.similar) {
        s->distinct++;
        e = insert(a, ek, false); /* after s: the LRU never evicts s before e */
        e->count = 1;
        e->last_ms = e->written_ms = now;
        new_name(a, e, run_name, now);
        d = (ev_decision){.action = EV_CREATE, .count = 1};
        snprintf(d.name, sizeof d.name, "%s", e->name);
        goto out;
    }
    if (!s->has_event) {
        s->has_event = true;
        s->count = 1;
        s->written_ms = now;
        new_name(a, s, run_name, now);
        d = (ev_decision){.action = EV_CREATE, .count = 1, .combined = true};
        snprintf(d.name, sizeof d.name, "%s", s->name);
        goto out;
    }
    d = repeat(a, s, now, true);
out:
    free(ek);
    pthread_mutex_unlock(&a->mu);
    return d;
}

void evagg_lost(evagg *a, const char *uid, const char *type, const char *reason, const char *note,
                bool combined)
{
    pthread_mutex_lock(&a->mu);
    char *k = join(uid ? uid : "", type, reason, combined ? NULL : (note ? note : ""));
    ent *e = find(a, k);
    free(k);
    if (e && combined)
        e->has_event = false;
    else if (e)
        remove_ent(a, e);
    pthread_mutex_unlock(&a->mu);
}

size_t evagg_size(evagg *a)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->n;
    pthread_mutex_unlock(&a->mu);
    return n;
}

/* ---- the process's recorder ---- */

static evagg *g_agg;
static pthread_once_t g_agg_once = PTHREAD_ONCE_INIT;
static void agg_init(void)
{
    g_agg = evagg_new(NULL);
}

/* at most NOTE_MAX bytes, cut on a UTF-8 boundary */
static void clip_note(char *out, size_t n, const char *prefix, const char *note)
{
    snprintf(out, n, "%s%s", prefix, note);
    size_t len = strlen(out);
    if (len <= NOTE_MAX)
        return;
    size_t cut = NOTE_MAX - 3;
    while (cut > 0 && ((unsigned char)out[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(out + cut, "...", 4);
}

static long create_event(kube_client *kc, const json_t *run, const ev_decision *d, const char *type,
                         const char *reason, const char *action, const char *note,
                         const char *instance, char *err, size_t errlen)
{
    char now[40], path[512], text[NOTE_MAX + 64];
    time_now_rfc3339(now, sizeof now, true);
    clip_note(text, sizeof text, d->combined ? COMBINED_PREFIX : "", note);
    const json_t *meta = json_object_get(run, "metadata");
    json_t *ev =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                  "s:{s:s, s:s, s:s, s:s, s:s?, s:s?}}",
                  "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata", "name", d->name,
                  "namespace", run_namespace(run), "eventTime", now, "reportingController",
                  "flinkpg.io/controller", "reportingInstance", instance, "action", action,
                  "reason", reason, "type", type, "note", text, "regarding", "apiVersion",
                  "flinkpg.io/v1alpha1", "kind", "DemoRun", "name", run_name(run), "namespace",
                  run_namespace(run), "uid", json_string_value(json_object_get(meta, "uid")),
                  "resourceVersion", json_string_value(json_object_get(meta, "resourceVersion")));
    if (!ev) {
        snprintf(err, errlen, "cannot build the event");
        return -1;
    }
    snprintf(path, sizeof path, "/apis/events.k8s.io/v1/namespaces/%s/events", run_namespace(run));
    long st = kube_create(kc, path, ev, NULL, err, errlen);
    json_decref(ev);
    return st == 201 ? 0 : -1;
}

static long patch_series(kube_client *kc, const json_t *run, const ev_decision *d, char *err,
                         size_t errlen)
{
    char now[40], path[700];
    time_now_rfc3339(now, sizeof now, true);
    json_t *p = json_pack("{s:{s:I, s:s}}", "series", "count", (json_int_t)d->count,
                          "lastObservedTime", now);
    snprintf(path, sizeof path, "/apis/events.k8s.io/v1/namespaces/%s/events/%s",
             run_namespace(run), d->name);
    long st = kube_merge_patch(kc, path, p, NULL, err, errlen);
    json_decref(p);
    return st;
}

void event_emit(kube_client *kc, const json_t *run, const char *type, const char *reason,
                const char *action, const char *note, const char *instance)
{
    pthread_once(&g_agg_once, agg_init);
    const char *uid = json_string_value(json_object_get(json_object_get(run, "metadata"), "uid"));
    char err[1024] = "";
    for (int attempt = 0; attempt < 2; attempt++) {
        ev_decision d = evagg_decide(g_agg, uid, run_name(run), type, reason, note, now_ms());
        if (d.action == EV_SUPPRESS) {
            log_debug("event_aggregated", "run=%s/%s reason=%s event=%s count=%ld",
                      run_namespace(run), run_name(run), reason, d.name, d.count);
            return;
        }
        if (d.action == EV_CREATE) {
            if (create_event(kc, run, &d, type, reason, action, note, instance, err, sizeof err) <
                0)
                break;
            return;
        }
        long st = patch_series(kc, run, &d, err, sizeof err);
        if (st == 200)
            return;
        if (st != 404)
            break;
        /* the Event expired (the API server's event TTL): start a new one */
        evagg_lost(g_agg, uid, type, reason, note, d.combined);
    }
    log_warn("event_failed", "run=%s/%s reason=%s error=%s", run_namespace(run), run_name(run),
             reason, lq(err));
}
