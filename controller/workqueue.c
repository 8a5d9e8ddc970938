/*
 * workqueue — see workqueue.h.  Sized for a thousand DemoRuns or more:
 *
 *   entries    a hash table of the keys the queue knows: queued / processing /
 *              dirty flags, failure count, tracked (exists in the cluster)
 *   ready      FIFO (doubly linked) of the keys ready now, each at most once
 *   delayed    binary min-heap of the keys with a due time; each entry knows
 *              its heap slot, so an earlier due time moves it up in O(log n)
 *
 * Lookups are O(1), wq_get O(log n); only wq_resync visits every key.  A key
 * that is neither tracked, queued, processing nor delayed is freed: the
 * queue forgets DemoRuns that were deleted.
 */
#define _POSIX_C_SOURCE 200809L
#include "workqueue.h"

#include "../common/xalloc.h"

#include "../common/backoff.h"

#include "../common/hash.h"
#include "../common/htab.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry {
    htab_node node;              /* first: the key table's link and hash */
    struct entry *rprev, *rnext; /* ready FIFO, when queued */
    char *key;
    bool queued, processing, dirty, tracked;
    int failures;
    int64_t due_ms;  /* >0: in the delayed heap */
    size_t heap_idx; /* its slot there */
} entry;

struct workqueue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    htab keys; /* of entry */
    entry *rhead, *rtail;
    size_t nready;
    entry **heap;
    size_t nheap, heapcap;
    bool shut;
    uint32_t base_ms, cap_ms;
};

workqueue *wq_new(uint32_t retry_base_ms, uint32_t retry_cap_ms)
{
    workqueue *q = xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    htab_init(&q->keys, 64);
    q->base_ms = retry_base_ms;
    q->cap_ms = retry_cap_ms;
    return q;
}

void wq_free(workqueue *q)
{
    if (!q)
        return;
    for (size_t b = 0; b < q->keys.nbuckets; b++)
        for (htab_node *n = q->keys.bucket[b], *next; n; n = next) {
            next = n->next;
            free(((entry *)n)->key);
            free(n);
        }
    htab_release(&q->keys);
    free(q->heap);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static bool key_is(const htab_node *n, const void *key)
{
    return !strcmp(((const entry *)n)->key, key);
}

static entry *find(workqueue *q, const char *key, bool create)
{
    uint64_t h = fnv1a64(key);
    entry *e = (entry *)htab_find(&q->keys, h, key_is, key);
    if (e || !create)
        return e;
    e = xcalloc(1, sizeof *e);
    if (!(e->key = strdup(key)))
        abort();
    e->node.hash = h;
    htab_insert(&q->keys, &e->node);
    return e;
}

/* ---- the delayed heap, ordered by due_ms ---- */

static void heap_swap(workqueue *q, size_t a, size_t b)
{
    entry *t = q->heap[a];
    q->heap[a] = q->heap[b];
    q->heap[b] = t;
    q->heap[a]->heap_idx = a;
    q->heap[b]->heap_idx = b;
}

static void heap_up(workqueue *q, size_t i)
{
    while (i > 0 && q->heap[(i - 1) / 2]->due_ms > q->heap[i]->due_ms) {
        heap_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(workqueue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->nheap && q->heap[l]->due_ms < q->heap[m]->due_ms)
            m = l;
        if (r < q->nheap && q->heap[r]->due_ms < q->heap[m]->due_ms)
            m = r;
        if (m == i)
            return;
        heap_swap(q, i, m);
        i = m;
    }
}

static void heap_push(workqueue *q, entry *e)
{
    if (q->nheap == q->heapcap) {
        size_t cap = q->heapcap ? q->heapcap * 2 : 16;
        entry **h = realloc(q->heap, cap * sizeof *h);
        if (!h)
            abort();
        q->heap = h;
        q->heapcap = cap;
    }
    e->heap_idx = q->nheap;
    q->heap[q->nheap++] = e;
    heap_up(q, e->heap_idx);
}

static void heap_remove(workqueue *q, entry *e)
{
    size_t i = e->heap_idx, last = q->nheap - 1;
    if (i != last) {
        heap_swap(q, i, last);
        q->nheap--;
        heap_down(q, i);
        heap_up(q, i);
    } else {
        q->nheap--;
    }
    e->due_ms = 0;
}

/* ---- states ---- */

/* Free an entry nobody needs any more (mutex held). */
static void maybe_forget(workqueue *q, entry *e)
{
    if (e->tracked || e->queued || e->processing || e->due_ms)
        return;
    htab_remove(&q->keys, &e->node);
    free(e->key);
    free(e);
}

/* Make a key ready now (mutex held). */
static void ready(workqueue *q, entry *e)
{
    if (e->due_ms)
        heap_remove(q, e);
    if (e->processing) {
        e->dirty = true;
        return;
    }
    if (!e->queued) {
        e->queued = true;
        e->rnext = NULL;
        e->rprev = q->rtail;
        if (q->rtail)
            q->rtail->rnext = e;
        else
            q->rhead = e;
        q->rtail = e;
        q->nready++;
    }
    pthread_cond_broadcast(&q->cv);
}

void wq_add(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    if (!q->shut)
        ready(q, find(q, key, true));
    pthread_mutex_unlock(&q->mu);
}

static void add_after_locked(workqueue *q, entry *e, uint32_t delay_ms)
{
    if (delay_ms == 0) {
        ready(q, e);
        return;
    }
    if (e->queued)
        return;
    int64_t due = now_ms() + delay_ms;
    if (!e->due_ms) {
        e->due_ms = due;
        heap_push(q, e);
    } else if (due < e->due_ms) { /* the earliest request wins */
        e->due_ms = due;
        heap_up(q, e->heap_idx);
    }
    pthread_cond_broadcast(&q->cv);
}

void wq_add_after(workqueue *q, const char *key, uint32_t delay_ms)
{
    pthread_mutex_lock(&q->mu);
    if (!q->shut)
        add_after_locked(q, find(q, key, true), delay_ms);
    pthread_mutex_unlock(&q->mu);
}

uint32_t wq_retry(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    entry *e = find(q, key, true);
    int f = e->failures++;
    uint64_t v = (uint64_t)q->base_ms << (f > 30 ? 30 : f);
    uint32_t d = v > q->cap_ms ? q->cap_ms : (uint32_t)v;
    if (!q->shut)
        add_after_locked(q, e, d);
    pthread_mutex_unlock(&q->mu);
    return d;
}

void wq_forget(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    entry *e = find(q, key, false);
    if (e)
        e->failures = 0;
    pthread_mutex_unlock(&q->mu);
}

int wq_failures(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    entry *e = find(q, key, false);
    int f = e ? e->failures : 0;
    pthread_mutex_unlock(&q->mu);
    return f;
}

bool wq_get(workqueue *q, char *key, size_t n, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->shut) {
            pthread_mutex_unlock(&q->mu);
            return false;
        }
        int64_t now = now_ms();
        while (q->nheap && q->heap[0]->due_ms <= now)
            ready(q, q->heap[0]);
        entry *e = q->rhead;
        if (e) {
            q->rhead = e->rnext;
            if (q->rhead)
                q->rhead->rprev = NULL;
            else
                q->rtail = NULL;
            e->rnext = e->rprev = NULL;
            q->nready--;
            e->queued = false;
            e->processing = true;
            e->dirty = false;
            strncpy(key, e->key, n - 1);
            key[n - 1] = '\0';
            pthread_mutex_unlock(&q->mu);
            return true;
        }
        int64_t wake = q->nheap ? q->heap[0]->due_ms : 0;
        if (deadline && (!wake || deadline < wake))
            wake = deadline;
        if (deadline && now >= deadline) {
            pthread_mutex_unlock(&q->mu);
            return false;
        }
        if (!wake) {
            pthread_cond_wait(&q->cv, &q->mu);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ms = wake - now;
            ts.tv_sec += ms / 1000;
            ts.tv_nsec += (long)(ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        }
    }
}

void wq_done(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    entry *e = find(q, key, false);
    if (e) {
        e->processing = false;
        if (e->dirty) {
            e->dirty = false;
            ready(q, e);
        }
        maybe_forget(q, e);
    }
    pthread_mutex_unlock(&q->mu);
}

void wq_track(workqueue *q, const char *key, bool present)
{
    pthread_mutex_lock(&q->mu);
    entry *e = find(q, key, present);
    if (e) {
        e->tracked = present;
        maybe_forget(q, e);
    }
    pthread_mutex_unlock(&q->mu);
}

size_t wq_resync(workqueue *q)
{
    return wq_resync_spread(q, 0);
}

size_t wq_resync_spread(workqueue *q, uint32_t period_ms)
{
    size_t n = 0, tracked = 0;
    pthread_mutex_lock(&q->mu);
    for (size_t b = 0; b < q->keys.nbuckets; b++)
        for (htab_node *hn = q->keys.bucket[b]; hn; hn = hn->next)
            tracked += ((entry *)hn)->tracked;
    for (size_t b = 0; b < q->keys.nbuckets; b++)
        for (htab_node *hn = q->keys.bucket[b]; hn; hn = hn->next) {
            entry *e = (entry *)hn;
            if (!e->tracked)
                continue;
            /* key i of n at i/n of the period: the API server sees a steady
             * trickle instead of every DemoRun at once */
            uint32_t d =
                period_ms && tracked > 1 ? (uint32_t)((uint64_t)period_ms * n / tracked) : 0;
            if (!q->shut)
                add_after_locked(q, e, d);
            n++;
        }
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t wq_len(workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->nready;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t wq_size(workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->keys.n;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void wq_shutdown(workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    q->shut = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}
