/*
 * handover — the applier thread, and how a batch passes to it and back.
 *
 * The hardest code in the repository, because two threads share one
 * PostgreSQL connection and one set of stored offsets, and the sink's
 * exactly-once promise rests on them never using either at the same time.
 *
 * Two slots.  The loop (main.c) fills `cur` with the records it polls and
 * plans; `fly` is the batch the applier is applying.  submit() swaps them —
 * the full `cur` becomes `fly`, the old (empty) `fly` becomes the new `cur` —
 * and wakes the applier; the loop goes on decoding the next batch while the
 * first one commits.  At most one batch is in flight: submit() first
 * collects the previous one.
 *
 * Ownership follows `inflight`.  While it is true the applier owns `fly`,
 * the connection and the stored offsets (sink_ctx); the loop touches none of
 * them.  Everything else that needs the connection — a rebalance reading
 * positions, a resync, the idle probe, shutdown — calls collect(a, true)
 * first, which waits for the applier to finish and takes the connection
 * back.  The mutex guards only the hand-over flags (fly_submitted, fly_done,
 * quit) and the result fields; the slots themselves change hands by the
 * flags, never by being shared.
 *
 * The result is handled on the loop's thread (finish()), never the
 * applier's: counting, the batch log line, committing to Kafka for lag
 * tools, and — when the batch failed — dropping it *and* the half-filled
 * `cur` (its records come after the failed ones) and resuming every
 * partition from the offsets PostgreSQL holds (resync).  A batch that
 * failed is therefore never retried from memory: it is read again from
 * Kafka, from the last committed position, so nothing is applied twice and
 * nothing is skipped.  A fatal failure (the data cannot ever apply) stops
 * the sink with exit 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "app.h"

#include "../common/backoff.h"
#include "../common/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

void drop_slot(app *a, slot *sl)
{
    for (size_t i = 0; i < sl->nmsgs; i++)
        rd_kafka_message_destroy(sl->msgs[i]);
    sl->nmsgs = 0;
    batch_clear(&sl->b, a->s.table.ncols);
}

static void log_batch(app *a, const batch *b, const apply_outcome *o, int64_t ms)
{
    char ranges[256] = "";
    size_t off = 0;
    for (size_t p = 0; p < a->nparts && off < sizeof ranges - 48; p++) {
        int64_t lo = -1, hi = -1;
        for (size_t i = 0; i < b->nrecs; i++) {
            if (b->recs[i].partition != a->parts[p])
                continue;
            if (lo < 0 || b->recs[i].offset < lo)
                lo = b->recs[i].offset;
            if (b->recs[i].offset > hi)
                hi = b->recs[i].offset;
        }
        if (lo >= 0)
            off += (size_t)snprintf(ranges + off, sizeof ranges - off,
                                    "%s%" PRId32 ":%" PRId64 "-%" PRId64, off ? "," : "",
                                    a->parts[p], lo, hi);
    }
    log_info("batch",
             "records=%zu +I=%llu -U=%llu +U=%llu -D=%llu upsert=%llu applied=%llu "
             "skipped=%llu dead_letters=%llu offsets=%s latency_ms=%" PRId64 "%s",
             b->nrecs, (unsigned long long)b->kinds[KIND_INSERT],
             (unsigned long long)b->kinds[KIND_UPDATE_BEFORE],
             (unsigned long long)b->kinds[KIND_UPDATE_AFTER],
             (unsigned long long)b->kinds[KIND_DELETE], (unsigned long long)b->kinds[KIND_UPSERT],
             (unsigned long long)o->applied, (unsigned long long)b->skipped,
             (unsigned long long)o->dead_letters, ranges[0] ? ranges : "-", ms,
             o->slow_path ? " isolated=true" : "");
}

/* Account for an applied batch, or recover from its failure. */
static void finish(app *a, slot *sl, apply_result r, const apply_outcome *o, int64_t ms)
{
    batch *b = &sl->b;
    if (r == APPLY_OK) {
        stats_batch_applied(b, o, ms);
        log_batch(a, b, o, ms);
        for (size_t i = 0; i < b->ndlq; i++) {
            const batch_record *rec = &b->recs[b->dlq[i].rec];
            log_warn("dead_letter", "partition=%" PRId32 " offset=%" PRId64 " reason=%s",
                     rec->partition, rec->offset, lq(b->dlq[i].reason));
        }
        drop_slot(a, sl);
        commit_to_kafka(a);
        a->active_end_ms = now_ms();
        update_lag(a);
        return;
    }
    size_t n = b->nrecs;
    drop_slot(a, sl);
    if (r == APPLY_FATAL) {
        log_error("batch_failed", "records=%zu error=%s", n, lq(o->error));
        a->exit_code = 1;
        g_stop = 1;
        drop_slot(a, &a->cur);
        return;
    }
    /* the batch being filled holds records after the failed one: resync
     * drops it too and resumes every partition from PostgreSQL */
    log_warn("batch_not_committed", "records=%zu error=%s action=resume_from_postgres", n,
             lq(o->error));
    resync(a);
}

static void *applier_main(void *arg)
{
    app *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->fly_submitted && !a->quit)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->quit)
            break;
        a->fly_submitted = false;
        pthread_mutex_unlock(&a->mu);
        int64_t t0 = now_ms();
        apply_result r = apply_batch(&a->s, &a->fly.b, &a->fly_out);
        int64_t ms = now_ms() - t0;
        pthread_mutex_lock(&a->mu);
        a->fly_result = r;
        a->fly_ms = ms;
        a->fly_done = true;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

bool collect(app *a, bool wait)
{
    if (!a->inflight)
        return true;
    pthread_mutex_lock(&a->mu);
    if (!a->fly_done && !wait) {
        pthread_mutex_unlock(&a->mu);
        return false;
    }
    while (!a->fly_done)
        pthread_cond_wait(&a->cv, &a->mu);
    a->fly_done = false;
    pthread_mutex_unlock(&a->mu);
    a->inflight = false;
    finish(a, &a->fly, a->fly_result, &a->fly_out, a->fly_ms);
    return true;
}

void submit(app *a)
{
    if (a->cur.b.nrecs == 0)
        return;
    collect(a, true);
    if (a->cur.b.nrecs == 0 || a->exit_code)
        return; /* the previous batch failed and took this one with it */
    slot empty = a->fly;
    a->fly = a->cur;
    a->cur = empty;
    a->inflight = true;
    pthread_mutex_lock(&a->mu);
    a->fly_submitted = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

void flush_all(app *a)
{
    submit(a);
    collect(a, true);
}

bool handover_start(app *a)
{
    if (pthread_create(&a->applier, NULL, applier_main, a) != 0)
        return false;
    a->applier_started = true;
    return true;
}

void handover_stop(app *a)
{
    if (!a->applier_started)
        return;
    pthread_mutex_lock(&a->mu);
    a->quit = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->applier, NULL);
    a->applier_started = false;
}
