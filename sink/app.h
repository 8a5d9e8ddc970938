/*
 * The flinkpg-sink program's own state, shared by its parts:
 *
 *   main.c      the consume loop: poll Kafka, decode and plan each record,
 *               rebalances and resyncs, the idle probe, shutdown
 *   handover.c  the applier thread and the hand-over of batches to it
 *   setup.c     options, checks and start-up; teardown
 *   metrics.c   the counters and /metrics, /readyz
 *
 * (sink.h is the library under them: decode, plan, apply, offsets, table.)
 */
#ifndef FLINKPG_SINK_APP_H
#define FLINKPG_SINK_APP_H

#include "sink.h"

#include "../common/config.h"
#include "../common/strbuf.h"

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

extern volatile int g_stop;

/* ---- counters, written by the loop and the applier, read by /metrics ---- */
#define NBUCKETS 11 /* the batch latency histogram's buckets (metrics.c) */

typedef struct {
    atomic_ullong consumed;
    atomic_ullong kinds[KIND_COUNT];
    atomic_ullong applied;
    atomic_ullong skipped;
    atomic_ullong dead_letters;
    atomic_ullong batches;
    atomic_ullong slow_batches;
    atomic_ullong resyncs;
    atomic_ullong latency_bucket[NBUCKETS + 1];
    atomic_ullong latency_sum_us;
    atomic_llong lag;
    atomic_int pg_up;
    atomic_int assigned;
    atomic_int in_group; /* an assignment was received, possibly empty */
} sink_stats;

extern sink_stats g_stats;

/* A batch and the Kafka messages its records point into. */
typedef struct {
    batch b;
    rd_kafka_message_t **msgs;
    size_t nmsgs, capmsgs;
    int64_t first_ms;
} slot;

typedef struct {
    cfg_spec cfg;
    sink_ctx s;
    decode_opts dopts;
    rd_kafka_t *rk;
    slot cur;      /* filled by the poll loop */
    slot fly;      /* applied by the applier thread */
    bool inflight; /* main thread: fly handed over, result not yet collected */
    /* hand-over to the applier; the fields below mu are guarded by it */
    pthread_t applier;
    bool applier_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool fly_submitted, fly_done, quit;
    apply_result fly_result;
    apply_outcome fly_out;
    int64_t fly_ms;
    int64_t last_msg_ms;
    int64_t active_start_ms, active_end_ms; /* first record seen, last commit */
    long long batch_size, batch_timeout_ms;
    int64_t start_offset;
    /* assigned partitions and whether each is read to its end */
    int32_t *parts;
    bool *eof;
    size_t nparts;
    bool ever_assigned;
    int exit_code;
} app;

/* metrics.c */
void sink_metrics(strbuf *out, void *ctx);
bool sink_ready(void *ctx, char *why, size_t whylen);
/* Count an applied batch: row kinds, actions, dead letters, latency. */
void stats_batch_applied(const batch *b, const apply_outcome *o, int64_t ms);

/* handover.c */
bool handover_start(app *a);
void handover_stop(app *a);
/* Take the result of the batch in flight.  wait=false returns false when it
 * is not done yet; true means nothing is in flight any more. */
bool collect(app *a, bool wait);
/* Hand the batch being filled to the applier (after the previous one). */
void submit(app *a);
/* Apply everything held, and wait for it. */
void flush_all(app *a);
void drop_slot(app *a, slot *sl);

/* main.c */
PGconn *sink_pg_connect(app *a);
void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                  void *opaque);
void resync(app *a);
void update_lag(app *a);
void commit_to_kafka(app *a);

/* setup.c: 0 = run, -1 = exit 0 now (help, or stopped while waiting), else the exit code */
int sink_setup(app *a, int argc, char **argv);
void sink_teardown(app *a);

#endif
