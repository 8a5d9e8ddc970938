/*
 * workqueue — keys ("namespace/name") waiting to be reconciled, the way
 * client-go's rate-limited queue works:
 *
 *   - a key is in the queue at most once: adding it again coalesces;
 *   - a key being processed is not handed out twice: added meanwhile, it is
 *     marked dirty and queued again when wq_done() is called;
 *   - wq_add_after() schedules a key for later (requeue after a delay);
 *   - wq_retry() re-adds a failed key after a per-key exponential delay
 *     (base * 2^failures, capped); wq_forget() resets it after a success;
 *   - wq_track()/wq_resync(): the set of known keys, all re-added on resync
 *     (wq_resync_spread() spreads them over a period instead);
 *   - a key neither tracked, queued, processing nor delayed is forgotten
 *     (its memory freed): deleted DemoRuns leave nothing behind.
 *
 * Thread-safe.  wq_get() blocks until a key is due or the queue shuts down.
 */
#ifndef FLINKPG_WORKQUEUE_H
#define FLINKPG_WORKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct workqueue workqueue;

workqueue *wq_new(uint32_t retry_base_ms, uint32_t retry_cap_ms);
void wq_free(workqueue *q);

void wq_add(workqueue *q, const char *key);
void wq_add_after(workqueue *q, const char *key, uint32_t delay_ms);
/* Re-add after the key's backoff; returns the delay used. */
uint32_t wq_retry(workqueue *q, const char *key);
void wq_forget(workqueue *q, const char *key);
int wq_failures(workqueue *q, const char *key);

/* Next key, copied into key (size n); waits at most timeout_ms (<0: forever).
 * Returns false on timeout or shutdown.  Call wq_done() when finished. */
bool wq_get(workqueue *q, char *key, size_t n, int timeout_ms);
void wq_done(workqueue *q, const char *key);

void wq_track(workqueue *q, const char *key, bool present);
size_t wq_resync(workqueue *q);
/* Re-add every tracked key, the i-th of n after i/n of period_ms (a key
 * already due sooner keeps its time).  Returns n. */
size_t wq_resync_spread(workqueue *q, uint32_t period_ms);

size_t wq_len(workqueue *q);  /* keys ready now */
size_t wq_size(workqueue *q); /* keys the queue holds memory for */
void wq_shutdown(workqueue *q);

#endif
