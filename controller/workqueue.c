/*
 * workqueue — see workqueue.h.  Small by design: the keys are DemoRuns, a
 * handful per cluster, so every set is a linked list searched linearly.
 *
 *   queue      FIFO of keys ready now (each at most once: `queued` flag)
 *   delayed    keys with a due time, moved to the queue when due
 *   entries    one record per key ever seen: queued / processing / dirty
 *              flags, failure count, tracked (known to exist)
 */
#define _POSIX_C_SOURCE 200809L
#include "workqueue.h"

#include "../common/backoff.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry {
    struct entry *next;
    char *key;
    bool queued, processing, dirty, tracked;
    int failures;
    int64_t due_ms; /* >0: waiting in the delayed set */
    uint64_t order; /* FIFO position */
} entry;

struct workqueue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    entry *entries;
    uint64_t seq;
    bool shut;
    uint32_t base_ms, cap_ms;
};

workqueue *wq_new(uint32_t retry_base_ms, uint32_t retry_cap_ms)
{
    workqueue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    q->base_ms = retry_base_ms;
    q->cap_ms = retry_cap_ms;
    return q;
}

void wq_free(workqueue *q)
{
    if (!q)
        return;
    for (entry *e = q->entries, *n; e; e = n) {
        n = e->next;
        free(e->key);
        free(e);
    }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static entry *find(workqueue *q, const char *key, bool create)
{
    for (entry *e = q->entries; e; e = e->next)
        if (!strcmp(e->key, key))
            return e;
    if (!create)
        return NULL;
    entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->key = strdup(key);
    if (!e->key) {
        free(e);
        return NULL;
    }
    e->next = q->entries;
    q->entries = e;
    return e;
}

/* Make a key ready now (mutex held). */
static void ready(workqueue *q, entry *e)
{
    e->due_ms = 0;
    if (e->processing) {
        e->dirty = true;
        return;
    }
    if (!e->queued) {
        e->queued = true;
        e->order = ++q->seq;
    }
    pthread_cond_broadcast(&q->cv);
}

void wq_add(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    entry *e = q->shut ? NULL : find(q, key, true);
    if (e)
        ready(q, e);
    pthread_mutex_unlock(&q->mu);
}

void wq_add_after(workqueue *q, const char *key, uint32_t delay_ms)
{
    if (delay_ms == 0) {
        wq_add(q, key);
        return;
    }
    pthread_mutex_lock(&q->mu);
    entry *e = q->shut ? NULL : find(q, key, true);
    if (e && !e->queued) {
        int64_t due = now_ms() + delay_ms;
        if (e->due_ms == 0 || due < e->due_ms)
            e->due_ms = due; /* the earliest request wins */
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
}

uint32_t wq_retry(workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    entry *e = find(q, key, true);
    uint32_t d = q->cap_ms;
    if (e) {
        int f = e->failures++;
        uint64_t v = (uint64_t)q->base_ms << (f > 30 ? 30 : f);
        d = v > q->cap_ms ? q->cap_ms : (uint32_t)v;
    }
    pthread_mutex_unlock(&q->mu);
    wq_add_after(q, key, d);
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
        int64_t now = now_ms(), next_due = 0;
        entry *best = NULL;
        for (entry *e = q->entries; e; e = e->next) {
            if (e->due_ms && e->due_ms <= now && !e->queued)
                ready(q, e);
            if (e->due_ms && (!next_due || e->due_ms < next_due))
                next_due = e->due_ms;
            if (e->queued && (!best || e->order < best->order))
                best = e;
        }
        if (best) {
            best->queued = false;
            best->processing = true;
            best->dirty = false;
            strncpy(key, best->key, n - 1);
            key[n - 1] = '\0';
            pthread_mutex_unlock(&q->mu);
            return true;
        }
        int64_t wake = next_due;
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
    }
    pthread_mutex_unlock(&q->mu);
}

void wq_track(workqueue *q, const char *key, bool present)
{
    pthread_mutex_lock(&q->mu);
    entry *e = find(q, key, present);
    if (e)
        e->tracked = present;
    pthread_mutex_unlock(&q->mu);
}

size_t wq_resync(workqueue *q)
{
    size_t n = 0;
    pthread_mutex_lock(&q->mu);
    for (entry *e = q->entries; e; e = e->next)
        if (e->tracked) {
            ready(q, e);
            n++;
        }
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t wq_len(workqueue *q)
{
    size_t n = 0;
    pthread_mutex_lock(&q->mu);
    for (entry *e = q->entries; e; e = e->next)
        n += e->queued;
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
