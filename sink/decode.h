/*
 * decode — one Kafka record of a Flink output topic → the row changes it
 * carries.  One encoding is chosen per run:
 *
 *   upsert    key = primary key, value = the row, null value (tombstone) = delete.
 *             Insert and update-after are indistinguishable: kind UPSERT.
 *   retract   Confluent Cloud: row kind in header "op", one byte
 *             0 +I, 1 -U, 2 +U, 3 -D; no header = +I; full row in every value.
 *   debezium  Apache Flink's debezium-json: {"before","after","op"}; op c/r → +I
 *             of after, d → -D of before, u → -U of before and +U of after
 *             (Flink itself writes -U as d and +U as c).
 *   append    every record is an insert.
 *
 * Key and value may carry the Schema Registry wire header (json-registry).
 * Fields of the key are merged into the row when the value lacks them
 * (Confluent's default value.fields-include = except-key).  A scalar key maps
 * to the single key column.  Anything that cannot be decoded returns -1 with
 * a reason that goes, verbatim, into the dead-letter table.
 */
#ifndef FLINKPG_SINK_DECODE_H
#define FLINKPG_SINK_DECODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { ENC_UPSERT, ENC_RETRACT, ENC_DEBEZIUM, ENC_APPEND } sink_encoding;

typedef enum {
    KIND_INSERT = 0,        /* +I */
    KIND_UPDATE_BEFORE = 1, /* -U */
    KIND_UPDATE_AFTER = 2,  /* +U */
    KIND_DELETE = 3,        /* -D */
    KIND_UPSERT = 4,        /* upsert encoding: +I or +U, the topic cannot tell */
    KIND_COUNT
} row_kind;

typedef struct {
    row_kind kind;
    json_t *row;    /* object column → value; owned (decref with change_clear) */
    bool tombstone; /* the value was null: only key columns are known */
} change;

typedef struct {
    sink_encoding encoding;
    bool key_registry;   /* key carries the Schema Registry header */
    bool value_registry; /* value carries the Schema Registry header */
    size_t max_bytes;    /* larger keys/values are rejected (0 = no limit) */
    const char *const *key_columns;
    size_t nkeys;
} decode_opts;

/* The parts of a Kafka record the decoder looks at. */
typedef struct {
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    bool has_op;    /* an "op" header is present */
    const void *op; /* its bytes */
    size_t op_len;
    /* __key_schema_id / __value_schema_id headers (NULL: absent): with a
     * registry format, the id travels here and the part has no prefix */
    const void *key_sid, *value_sid;
    size_t key_sid_len, value_sid_len;
} raw_record;

/* Decodes into out[0..1]; returns the number of changes (0..2), or -1 with a
 * reason.  A debezium tombstone yields 0 changes (nothing to apply). */
int decode_record(const decode_opts *opts, const raw_record *rec, change out[2], char *reason,
                  size_t reasonlen);
void change_clear(change *c);

bool encoding_parse(const char *name, sink_encoding *out);
const char *encoding_name(sink_encoding e);
const char *row_kind_symbol(row_kind k); /* "+I", "-U", "+U", "-D", "upsert" */

#endif
