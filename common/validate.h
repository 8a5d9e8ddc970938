/*
 * validate — compare a target table with the expected final table, in one
 * PostgreSQL query: the numbers of sql/validate.sql, for programs (the
 * generator's --validate, the controller's DemoRun status).
 *
 * Both tables have the demo's columns (sql/postgres/orders_shipments.sql);
 * the key is (order_id, shipment_id).  What each number means is written once,
 * in sql/validate.sql; the query here is the same text with the table names
 * quoted in.
 */
#ifndef FLINKPG_VALIDATE_H
#define FLINKPG_VALIDATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* The demo's columns, as sql/postgres/orders_shipments.sql declares them
 * (without the key): the generator's expected table and the target table
 * the controller has its sink create. */
#define DEMO_TABLE_COLUMNS                                                                         \
    "order_id bigint NOT NULL, shipment_id bigint NOT NULL, customer text, product text, "         \
    "quantity int, amount numeric(12,2), order_status text, carrier text, "                        \
    "shipment_status text, order_updated_at timestamptz, shipment_updated_at timestamptz"
#define DEMO_TABLE_KEY "order_id,shipment_id"
/* The target table's one default name: sql/postgres/orders_shipments.sql,
 * sql/validate.sql, the controller's sink and generator; the expected table
 * is expected_<target> (flinkpg-generator --expected-table's default). */
#define DEMO_TARGET_TABLE "orders_shipments"
#define DEMO_EXPECTED_TABLE "expected_orders_shipments"

typedef struct {
    long long rows_expected;
    long long rows_present;
    long long missing;
    long long unexpected;
    long long wrong_values;
    long long duplicate_keys;
    long long surplus_rows;
    bool pass; /* missing, unexpected, wrong_values and duplicate_keys all 0 */
} validate_result;

/* Tables may be schema-qualified.  False with the libpq message and the table
 * names in err when the query fails (e.g. a table is missing). */
bool validate_tables(PGconn *conn, const char *target, const char *expected, validate_result *out,
                     char *err, size_t errlen);

/* "rows_expected=… rows_present=… missing=… … verdict=PASS" for log lines. */
void validate_format(const validate_result *r, char *buf, size_t len);

#endif
