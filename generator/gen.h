/*
 * gen.h — the generator's modules and the record they pass around.
 *
 *   scenario.c   deterministic orders/shipments events from a seed (or a file)
 *   expected.c   the final joined table those events must produce
 *   produce.c    the idempotent Kafka producer, optionally Schema Registry framed
 *   poll_pg.c    CDC poll source: rows of a PostgreSQL table changed since a cursor
 *   poll_http.c  CDC poll source: new/changed items of an HTTP JSON endpoint
 *   pollstate.c  the poll sources' cursor and per-key content hashes, in a file
 *   main.c       options, the produce loop, the poll loop, summary
 */
#ifndef FLINKPG_GEN_H
#define FLINKPG_GEN_H

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

/* ---- records ---- */

typedef enum { TOPIC_ORDERS = 0, TOPIC_SHIPMENTS = 1 } gen_topic;

typedef struct {
    uint8_t topic; /* gen_topic */
    char *key;     /* compact JSON, e.g. {"order_id":1} */
    char *value;   /* compact JSON row, NULL = tombstone */
} gen_record;

typedef struct {
    gen_record *v;
    size_t n, cap;
} gen_records;

void records_add(gen_records *r, gen_topic t, char *key, char *value); /* takes ownership */
void records_free(gen_records *r);

/* ---- scenario.c ---- */

typedef struct {
    uint64_t seed;
    long long orders;        /* orders created */
    int max_shipments;       /* shipments per shipped order: 1..max */
    int no_shipment_pct;     /* orders that never ship (null-padded join rows) */
    int amend_pct;           /* orders amended (new quantity/amount) once or twice */
    int cancel_pct;          /* orders cancelled: a tombstone on the orders topic */
    int shipment_cancel_pct; /* shipments cancelled: a tombstone on the shipments topic */
    int early_pct;           /* shipped orders whose first shipment arrives before the order */
} scenario_opts;

/* The events of the scenario in publication order; same options, same bytes. */
bool scenario_generate(const scenario_opts *o, gen_records *out, char *err, size_t errlen);
/* A hand-written scenario: one JSON object per line,
 *   {"topic":"orders"|"shipments","key":{...},"value":{...}|null}
 * key/value are re-serialised compactly in the order written. */
bool scenario_load(const char *path, gen_records *out, char *err, size_t errlen);

/* ---- expected.c ---- */

typedef struct expected expected;
expected *expected_new(void);
void expected_free(expected *e);
/* Apply one record as upsert-kafka reads it: the latest value per key wins, a
 * tombstone (value NULL) deletes the key.  False with a reason naming the field
 * when the record is not a valid order/shipment. */
bool expected_apply(expected *e, gen_topic t, const char *key, const char *value, char *err,
                    size_t errlen);
/* Number of rows of the joined table. */
size_t expected_count(expected *e);
/* Replace `table` with the expected rows (columns of sql/postgres/orders_shipments.sql). */
bool expected_write_pg(expected *e, PGconn *conn, const char *table, char *err, size_t errlen);
/* The rows as a JSON array of objects, in key order. */
bool expected_write_json(expected *e, const char *path, char *err, size_t errlen);

/* ---- produce.c ---- */

typedef struct producer producer;
/* Takes ownership of conf; enables idempotence.  NULL with librdkafka's message. */
producer *producer_new(rd_kafka_conf_t *conf, char *err, size_t errlen);
/* Queue one record (copied).  key_sr / value_sr: Schema Registry ids to frame
 * with, 0 for plain JSON.  Waits while the local queue is full.  False (and
 * counted as failed) when librdkafka refuses the record. */
bool producer_send(producer *p, const char *topic, const char *key, size_t klen, const char *value,
                   size_t vlen, uint32_t key_sr, uint32_t value_sr);
void producer_poll(producer *p, int timeout_ms);
/* Wait until every queued record is acknowledged (or timeout); true when
 * nothing is outstanding. */
bool producer_flush(producer *p, int timeout_ms);
/* Flush for up to timeout_ms; then purge what is left, so that every event
 * sent is counted as delivered or failed. */
void producer_finish(producer *p, int timeout_ms);
void producer_counts(producer *p, long long *sent, long long *delivered, long long *failed);
void producer_free(producer *p);

/* ---- pollstate.c ---- */

typedef struct pollstate pollstate;
/* Load path (missing file = empty state).  False with a reason for a corrupt file. */
pollstate *pollstate_load(const char *path, char *err, size_t errlen);
/* Replace s's state with what f holds; false with err when it is not a poll state. */
bool pollstate_read(pollstate *s, FILE *f, char *err, size_t errlen);
const char *pollstate_cursor(pollstate *s); /* NULL when none yet */
void pollstate_set_cursor(pollstate *s, const char *cursor);
/* Content hash of key, or 0 when unknown. */
uint64_t pollstate_hash(pollstate *s, const char *key);
void pollstate_set_hash(pollstate *s, const char *key, uint64_t hash); /* 0 removes */
/* Calls fn for every known key (for deletion detection). */
void pollstate_each(pollstate *s, void (*fn)(const char *key, uint64_t hash, void *ctx), void *ctx);
/* Write atomically (temporary file + rename).  False with errno's message. */
bool pollstate_save(pollstate *s, char *err, size_t errlen);
void pollstate_free(pollstate *s);
uint64_t hash64(const void *data, size_t len);

/* ---- poll sources ---- */

/* One change found by a poll: key JSON and value JSON (NULL = tombstone). */
typedef struct {
    char *key;
    char *value;
    uint64_t hash; /* content hash to remember once delivered (0 = forget the key) */
} poll_change;

typedef struct {
    poll_change *v;
    size_t n, cap;
    char *cursor; /* new cursor to store once every change is delivered, or NULL */
} poll_changes;

void poll_changes_add(poll_changes *c, char *key, char *value, uint64_t hash);
void poll_changes_free(poll_changes *c);

typedef struct {
    const char *conninfo;
    const char *table;
    const char *key_columns; /* comma-separated; NULL = the table's primary key */
    const char *cursor_column;
    const char *soft_delete_column; /* NULL = none */
    long long batch;
} poll_pg_opts;

typedef struct poll_pg poll_pg;
poll_pg *poll_pg_new(const poll_pg_opts *o);
/* Changes since the stored cursor.  False (source unreachable or query failed)
 * with the reason; the caller retries with backoff, unless poll_pg_refused. */
bool poll_pg_fetch(poll_pg *p, pollstate *st, poll_changes *out, char *err, size_t errlen);
/* After a failed fetch: whether connecting failed in a way no retry mends
 * (pg_failure_permanent: a refused login, TLS that cannot be agreed or a
 * certificate that does not verify); the caller gives up instead. */
bool poll_pg_refused(const poll_pg *p);
void poll_pg_free(poll_pg *p);

typedef struct {
    const char *url;
    const char *items_field; /* member holding the array when the body is an object */
    const char *key_field;
    const char *user, *password; /* optional basic auth */
    long timeout_ms;
} poll_http_opts;

bool poll_http_fetch(const poll_http_opts *o, pollstate *st, poll_changes *out, char *err,
                     size_t errlen);

#endif
