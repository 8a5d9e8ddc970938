/*
 * table — what the sink knows about its target table, read from the catalog
 * at start-up: columns in order, their types, and which columns identify a
 * row (declared with --key-columns, or else the primary key).  A missing
 * table or a declared column the table lacks is a start-up error naming it.
 *
 * It also turns a decoded JSON row into one text value per column (NULL for
 * JSON null or an absent column), rejecting what cannot fit: a field the table
 * has no column for, a missing key, an object for a number.  The column's
 * type decides how a JSON number reads, whatever the platform: into a
 * timestamp column it is epoch milliseconds, into a date column days since
 * the epoch -- Kafka Connect's Timestamp and Date logical types, which is how
 * Confluent Cloud's Flink writes TIMESTAMP_LTZ / TIMESTAMP and DATE with
 * 'json-registry' (docs.confluent.io/cloud/current/flink/reference/
 * serialization.html, JSON Schema: TIMESTAMP_LTZ -> "number", title
 * "org.apache.kafka.connect.data.Timestamp", "connect.type": "int64").
 * DECIMAL is a plain JSON number there, which a numeric column takes as is.
 * Strings (ISO text, Apache Flink's 'json' format) pass through unchanged.
 */
#ifndef FLINKPG_SINK_TABLE_H
#define FLINKPG_SINK_TABLE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    COL_TEXT,
    COL_INT,
    COL_NUMERIC,
    COL_BOOL,
    COL_JSON,
    COL_TIMESTAMPTZ, /* timestamptz */
    COL_TIMESTAMP,   /* timestamp without time zone */
    COL_DATE,
    COL_OTHER
} col_class;

typedef struct {
    char *name;  /* as in the catalog */
    char *qname; /* quoted identifier */
    char *type;  /* format_type(), e.g. "numeric(10,2)" */
    col_class cls;
    bool is_key;
} sink_column;

typedef struct {
    char *name;  /* as given by the user */
    char *qname; /* quoted, possibly schema-qualified */
    sink_column *cols;
    size_t ncols;
    size_t *keys; /* indexes into cols of the key columns, in declared order */
    size_t nkeys;
    bool unique_key; /* a primary key or unique index covers exactly the keys */
} sink_table;

/* Reads the table.  key_columns is a comma-separated list or NULL (use the
 * primary key, if any).  Returns false with a message naming the table or
 * column. */
bool table_load(PGconn *conn, const char *name, const char *key_columns, sink_table *t, char *err,
                size_t errlen);
/* CREATE TABLE IF NOT EXISTS from "name type, name type, ..." with a primary
 * key on key_columns (if any). */
bool table_create(PGconn *conn, const char *name, const char *columns, const char *key_columns,
                  char *err, size_t errlen);
void table_free(sink_table *t);
/* Index of a column by name, or -1. */
int table_column(const sink_table *t, const char *name);

/* Fill vals[ncols] (malloc'd strings or NULL) from a row.  need_key: the key
 * columns must be present and non-null.  Returns false with a reason. */
bool table_row_values(const sink_table *t, json_t *row, bool need_key, char **vals, char *reason,
                      size_t reasonlen);
void table_values_free(const sink_table *t, char **vals);

/* The text form of a JSON scalar (or compact JSON of an object/array). */
char *json_value_text(json_t *v);

#endif
