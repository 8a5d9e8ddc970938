/*
 * validate — see validate.h.  The query is sql/validate.sql with :"target"
 * and :"expected" replaced by @T@ and @E@; tests/integration/gen_validate.sh
 * runs both on the same damaged tables and requires the same numbers.
 */
#define _POSIX_C_SOURCE 200809L
#include "validate.h"

#include "pgutil.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *validate_sql =
    "WITH\n"
    "t AS (SELECT * FROM @T@),\n"
    "e AS (SELECT * FROM @E@),\n"
    "tk AS (SELECT order_id, shipment_id, count(*) AS n FROM t GROUP BY order_id, shipment_id),\n"
    "s AS (\n"
    "  SELECT\n"
    "    (SELECT count(*) FROM e) AS rows_expected,\n"
    "    (SELECT count(*) FROM t) AS rows_present,\n"
    "    (SELECT count(*) FROM e\n"
    "      WHERE NOT EXISTS (SELECT 1 FROM tk WHERE tk.order_id = e.order_id AND tk.shipment_id = "
    "e.shipment_id)) AS missing,\n"
    "    (SELECT count(*) FROM tk\n"
    "      WHERE NOT EXISTS (SELECT 1 FROM e WHERE e.order_id = tk.order_id AND e.shipment_id = "
    "tk.shipment_id)) AS unexpected,\n"
    "    (SELECT count(*) FROM e\n"
    "      WHERE EXISTS (SELECT 1 FROM tk WHERE tk.order_id = e.order_id AND tk.shipment_id = "
    "e.shipment_id)\n"
    "        AND NOT EXISTS (SELECT 1 FROM t WHERE t.order_id = e.order_id AND t.shipment_id = "
    "e.shipment_id\n"
    "          AND (t.customer, t.product, t.quantity::bigint, t.amount::numeric, t.order_status, "
    "t.carrier,\n"
    "               t.shipment_status, t.order_updated_at::timestamptz, "
    "t.shipment_updated_at::timestamptz)\n"
    "              IS NOT DISTINCT FROM\n"
    "              (e.customer, e.product, e.quantity::bigint, e.amount::numeric, e.order_status, "
    "e.carrier,\n"
    "               e.shipment_status, e.order_updated_at::timestamptz, "
    "e.shipment_updated_at::timestamptz))) AS wrong_values,\n"
    "    (SELECT count(*) FROM tk WHERE n > 1) AS duplicate_keys,\n"
    "    (SELECT coalesce(sum(n - 1), 0) FROM tk) AS surplus_rows\n"
    ")\n"
    "SELECT rows_expected, rows_present, missing, unexpected, wrong_values, duplicate_keys, "
    "surplus_rows,\n"
    "       CASE WHEN missing + unexpected + wrong_values + duplicate_keys = 0 THEN 'PASS' ELSE "
    "'FAIL' END AS verdict\n"
    "FROM s;\n";

/* The template with every @T@ / @E@ replaced. */
static void render(strbuf *out, const char *qt, const char *qe)
{
    for (const char *p = validate_sql; *p;) {
        if (!strncmp(p, "@T@", 3)) {
            sb_puts(out, qt);
            p += 3;
        } else if (!strncmp(p, "@E@", 3)) {
            sb_puts(out, qe);
            p += 3;
        } else {
            sb_putc(out, *p++);
        }
    }
}

bool validate_tables(PGconn *conn, const char *target, const char *expected, validate_result *out,
                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *qt = pg_quote_qualified(conn, target);
    char *qe = pg_quote_qualified(conn, expected);
    if (!qt || !qe) {
        snprintf(err, errlen, "quoting table names %s / %s: %s", target, expected,
                 PQerrorMessage(conn));
        pg_trim_message(err);
        free(qt);
        free(qe);
        return false;
    }
    strbuf sql;
    sb_init(&sql);
    render(&sql, qt, qe);
    free(qt);
    free(qe);
    PGresult *r = PQexec(conn, sb_str(&sql));
    sb_free(&sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 8;
    if (!ok) {
        snprintf(err, errlen, "validating %s against %s: %s", target, expected,
                 PQresultErrorMessage(r));
        pg_trim_message(err);
        PQclear(r);
        return false;
    }
    long long *f[] = {&out->rows_expected, &out->rows_present, &out->missing,
                      &out->unexpected,    &out->wrong_values, &out->duplicate_keys,
                      &out->surplus_rows};
    for (int i = 0; i < 7; i++)
        *f[i] = strtoll(PQgetvalue(r, 0, i), NULL, 10);
    out->pass = !strcmp(PQgetvalue(r, 0, 7), "PASS");
    PQclear(r);
    return true;
}

void validate_format(const validate_result *r, char *buf, size_t len)
{
    snprintf(buf, len,
             "rows_expected=%lld rows_present=%lld missing=%lld unexpected=%lld "
             "wrong_values=%lld duplicate_keys=%lld surplus_rows=%lld verdict=%s",
             r->rows_expected, r->rows_present, r->missing, r->unexpected, r->wrong_values,
             r->duplicate_keys, r->surplus_rows, r->pass ? "PASS" : "FAIL");
}
