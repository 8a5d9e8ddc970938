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

#include "../common/xalloc.h"

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

/* What an Event needs of its DemoRun, copied: the sender outlives the
 * reconcile that asked. */
typedef struct {
    char uid[64], name[256], ns[256], rv[32];
    char type[16], reason[64], action[32], instance[256];
    char note[NOTE_MAX + 64]; /* longer than NOTE_MAX: clip_note marks the cut */
} ev_req;

static long create_event(kube_client *kc, const ev_req *q, const ev_decision *d, char *err,
                         size_t errlen)
{
    char now[40], path[512], text[NOTE_MAX + 160];
    time_now_rfc3339(now, sizeof now, true);
    clip_note(text, sizeof text, d->combined ? COMBINED_PREFIX : "", q->note);
    json_t *ev =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                  "s:{s:s, s:s, s:s, s:s, s:s?, s:s?}}",
                  "apiVersion", "events.k8s.io/v1", "kind", "Event", "metadata", "name", d->name,
                  "namespace", q->ns, "eventTime", now, "reportingController",
                  "flinkpg.io/controller", "reportingInstance", q->instance, "action", q->action,
                  "reason", q->reason, "type", q->type, "note", text, "regarding", "apiVersion",
                  "flinkpg.io/v1alpha1", "kind", "DemoRun", "name", q->name, "namespace", q->ns,
                  "uid", q->uid[0] ? q->uid : NULL, "resourceVersion", q->rv[0] ? q->rv : NULL);
    if (!ev) {
        snprintf(err, errlen, "cannot build the event");
        return -1;
    }
    snprintf(path, sizeof path, "/apis/events.k8s.io/v1/namespaces/%s/events", q->ns);
    long st = kube_create(kc, path, ev, NULL, err, errlen);
    json_decref(ev);
    return st == 201 ? 0 : -1;
}

static long patch_series(kube_client *kc, const ev_req *q, const ev_decision *d, char *err,
                         size_t errlen)
{
    char now[40], path[700];
    time_now_rfc3339(now, sizeof now, true);
    json_t *p = json_pack("{s:{s:I, s:s}}", "series", "count", (json_int_t)d->count,
                          "lastObservedTime", now);
    snprintf(path, sizeof path, "/apis/events.k8s.io/v1/namespaces/%s/events/%s", q->ns, d->name);
    long st = kube_merge_patch(kc, path, p, NULL, err, errlen);
    json_decref(p);
    return st;
}

/* Aggregate and send one occurrence. */
static void send_event(kube_client *kc, const ev_req *q)
{
    pthread_once(&g_agg_once, agg_init);
    char err[1024] = "";
    for (int attempt = 0; attempt < 2; attempt++) {
        ev_decision d = evagg_decide(g_agg, q->uid, q->name, q->type, q->reason, q->note, now_ms());
        if (d.action == EV_SUPPRESS) {
            log_debug("event_aggregated", "run=%s/%s reason=%s event=%s count=%ld", q->ns, q->name,
                      q->reason, d.name, d.count);
            return;
        }
        if (d.action == EV_CREATE) {
            if (create_event(kc, q, &d, err, sizeof err) < 0)
                break;
            return;
        }
        long st = patch_series(kc, q, &d, err, sizeof err);
        if (st == 200)
            return;
        if (st != 404)
            break;
        /* the Event expired (the API server's event TTL): start a new one */
        evagg_lost(g_agg, q->uid, q->type, q->reason, q->note, d.combined);
    }
    log_warn("event_failed", "run=%s/%s reason=%s error=%s", q->ns, q->name, q->reason, lq(err));
}

/* ---- the sender: Events leave the workers' path, as client-go's
 * broadcaster does: a reconcile queues them and goes on ---- */

#define EV_QUEUE_MAX 1024

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ev_req *q;
    size_t head, len;
    bool started, stopping;
    unsigned long long dropped, dropped_at_stop;
    int64_t stop_deadline_ms; /* after it, what is still queued is dropped */
    pthread_t thread;
    kube_client *kc;
} g_send = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *sender_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_send.mu);
    for (;;) {
        while (!g_send.len && !g_send.stopping)
            pthread_cond_wait(&g_send.cv, &g_send.mu);
        if (!g_send.len)
            break; /* stopping, and all sent */
        if (g_send.stopping && now_ms() > g_send.stop_deadline_ms) {
            g_send.dropped_at_stop += g_send.len; /* an API server that does not answer */
            break;
        }
        ev_req q = g_send.q[g_send.head];
        g_send.head = (g_send.head + 1) % EV_QUEUE_MAX;
        g_send.len--;
        pthread_mutex_unlock(&g_send.mu);
        send_event(g_send.kc, &q);
        pthread_mutex_lock(&g_send.mu);
    }
    pthread_mutex_unlock(&g_send.mu);
    return NULL;
}

bool events_start(const kube_config *cfg, char *err, size_t errlen)
{
    g_send.kc = kube_client_new(cfg, err, errlen);
    if (!g_send.kc)
        return false;
    g_send.q = xcalloc(EV_QUEUE_MAX, sizeof *g_send.q);
    if (pthread_create(&g_send.thread, NULL, sender_main, NULL) != 0) {
        snprintf(err, errlen, "cannot start the event sender");
        kube_client_free(g_send.kc);
        g_send.kc = NULL;
        free(g_send.q);
        g_send.q = NULL;
        return false;
    }
    pthread_mutex_lock(&g_send.mu);
    g_send.started = true;
    pthread_mutex_unlock(&g_send.mu);
    return true;
}

void events_stop(void)
{
    pthread_mutex_lock(&g_send.mu);
    bool started = g_send.started;
    g_send.stopping = true;
    g_send.stop_deadline_ms = now_ms() + 5000;
    g_send.started = false;
    pthread_cond_broadcast(&g_send.cv);
    pthread_mutex_unlock(&g_send.mu);
    if (!started)
        return;
    pthread_join(g_send.thread, NULL); /* what was queued is sent first */
    kube_client_free(g_send.kc);
    free(g_send.q);
    g_send.kc = NULL;
    g_send.q = NULL;
    if (g_send.dropped)
        log_warn("events_dropped", "count=%llu reason=queue_full", g_send.dropped);
    if (g_send.dropped_at_stop)
        log_warn("events_dropped", "count=%llu reason=not_sent_before_stop",
                 g_send.dropped_at_stop);
}

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

void event_emit(kube_client *kc, const json_t *run, const char *type, const char *reason,
                const char *action, const char *note, const char *instance)
{
    const json_t *meta = json_object_get(run, "metadata");
    ev_req q;
    copy_str(q.uid, sizeof q.uid, json_string_value(json_object_get(meta, "uid")));
    copy_str(q.name, sizeof q.name, run_name(run));
    copy_str(q.ns, sizeof q.ns, run_namespace(run));
    copy_str(q.rv, sizeof q.rv, json_string_value(json_object_get(meta, "resourceVersion")));
    copy_str(q.type, sizeof q.type, type);
    copy_str(q.reason, sizeof q.reason, reason);
    copy_str(q.action, sizeof q.action, action);
    copy_str(q.instance, sizeof q.instance, instance);
    copy_str(q.note, sizeof q.note, note);
    pthread_mutex_lock(&g_send.mu);
    if (g_send.started) {
        if (g_send.len < EV_QUEUE_MAX) {
            g_send.q[(g_send.head + g_send.len) % EV_QUEUE_MAX] = q;
            g_send.len++;
            pthread_cond_signal(&g_send.cv);
        } else {
            g_send.dropped++; /* as client-go's broadcaster: events are best effort */
        }
        pthread_mutex_unlock(&g_send.mu);
        return;
    }
    pthread_mutex_unlock(&g_send.mu);
    send_event(kc, &q); /* no sender (tools, tests): in line */
}
