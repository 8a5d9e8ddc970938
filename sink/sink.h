/*
 * sink — the state one flinkpg-sink process carries, and the batch that moves
 * through it:
 *
 *   poll  →  batch of Kafka records
 *         →  decode (decode.c): each record → 0..2 row changes, or a dead letter
 *         →  plan   (plan.c):   each change → an action under the apply policy
 *         →  apply  (apply.c):  one PostgreSQL transaction: the actions, the
 *                                dead letters, and the consumed offsets
 *                                (offsets.c) — all or nothing
 *
 * Because the offsets commit with the rows, PostgreSQL alone says how far the
 * sink got; a restart, a rebalance or a lost connection resumes from there.
 */
#ifndef FLINKPG_SINK_H
#define FLINKPG_SINK_H

#include "decode.h"
#include "table.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { POLICY_CHANGELOG, POLICY_INSERT_ALL, POLICY_UPSERT_IGNORE_KIND } sink_policy;

bool policy_parse(const char *name, sink_policy *out);
const char *policy_name(sink_policy p);

/* What one change does to the table. */
typedef enum {
    ACT_UPSERT,     /* insert, or replace the row with the same key */
    ACT_DELETE_KEY, /* delete the row with this key */
    ACT_INSERT,     /* insert a new row, whatever is there */
    ACT_DELETE_ONE, /* delete exactly one row equal to this one (table without key) */
} action_type;

/* How a batch's actions reach the table (chosen once, at start-up). */
typedef enum {
    STRAT_MERGE,    /* keyed: COPY into a staging table, last change per key wins, one merge */
    STRAT_COPY,     /* insert-all: COPY straight into the table */
    STRAT_PIPELINE, /* keyless changelog: one statement per change, pipelined */
} apply_strategy;

typedef struct {
    action_type type;
    uint32_t rec; /* index of the source record in the batch */
    char **vals;  /* one text value per table column, NULL = SQL NULL */
} action;

typedef struct {
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    char *headers_json; /* [{"key":..,"hex":..}], NULL when there are none */
    bool dead;          /* sent to the dead-letter table */
} batch_record;

typedef struct {
    uint32_t rec;
    char *reason;
} dead_letter;

typedef struct {
    batch_record *recs;
    size_t nrecs, caprecs;
    action *acts;
    size_t nacts, capacts;
    dead_letter *dlq;
    size_t ndlq, capdlq;
    uint64_t kinds[KIND_COUNT]; /* changes decoded, per row kind */
    uint64_t skipped;           /* changes the policy ignores (e.g. tombstones in insert-all) */
} batch;

typedef struct {
    /* configuration */
    const char *group;
    const char *topic;
    sink_policy policy;
    sink_encoding encoding;
    apply_strategy strategy;
    sink_table table;
    char *q_dlq, *q_offsets, *q_batches; /* quoted names of the sink's own tables */

    /* per connection */
    PGconn *conn;
    bool prepared;
    char *sql_merge, *sql_copy;

    /* partition → the next_offset PostgreSQL holds for it (-1: no row yet);
     * the fence: a commit that finds another value was raced */
    int64_t *stored;
    size_t nstored;
} sink_ctx;

/* batch.c */
void batch_init(batch *b);
void batch_clear(batch *b, size_t ncols);
void batch_free(batch *b, size_t ncols);
batch_record *batch_add_record(batch *b);
action *batch_add_action(batch *b);
void batch_add_dead(batch *b, uint32_t rec, const char *reason);

/* plan.c: the apply policy.  Start-up check that policy, encoding and table
 * fit together; err names the problem. */
bool plan_check(const sink_ctx *s, char *err, size_t errlen);
apply_strategy plan_strategy(const sink_ctx *s);
/* Turn one record's decoded changes into actions (or a dead letter). */
void plan_record(const sink_ctx *s, batch *b, uint32_t rec, change *changes, int n);

/* apply.c */
typedef enum { APPLY_OK, APPLY_RESYNC, APPLY_FATAL } apply_result;
typedef struct {
    uint64_t applied;      /* actions that reached the table */
    uint64_t dead_letters; /* records written to the dead-letter table */
    bool slow_path;        /* the batch was retried record by record */
    char error[512];       /* why, when not APPLY_OK */
} apply_outcome;
/* Prepare per-connection state (staging table, statements).  Call after
 * every (re)connect. */
bool apply_prepare(sink_ctx *s, char *err, size_t errlen);
apply_result apply_batch(sink_ctx *s, batch *b, apply_outcome *out);

/* offsets.c */
bool offsets_ensure_tables(sink_ctx *s, char *err, size_t errlen);
/* Read the stored next offsets for these partitions; -1 = none. */
bool offsets_load(sink_ctx *s, const int32_t *partitions, size_t n, int64_t *next, char *err,
                  size_t errlen);
/* Within the open transaction: advance each partition of the batch, failing
 * (fenced = true) when the stored value is not what this process last saw. */
bool offsets_commit(sink_ctx *s, const batch *b, bool *fenced, char *err, size_t errlen);
void offsets_remember(sink_ctx *s, int32_t partition, int64_t next);
int64_t offsets_stored(const sink_ctx *s, int32_t partition);

#endif
