/*
 * poll_pg — CDC poll source over a PostgreSQL table.
 *
 * Every poll reads the rows whose cursor column is >= the stored cursor
 * (ordered by it) and publishes, per row: the row as JSON (row_to_json, all
 * columns) keyed by {"<key column>":value,...}, or a tombstone when the
 * soft-delete column is true.  ">=" and not ">" so that rows sharing the last
 * cursor value, committed after the previous poll read it, are still seen;
 * the per-key content hash in the state skips the ones already published.
 * The new cursor is the highest value read.
 *
 * Limits, by design of cursor polling: a row hard-DELETEd is never seen (use
 * the soft-delete column); several updates of a row between two polls are
 * published as one change (its latest state); a transaction that commits
 * after a later one, with a smaller cursor value, is missed — use a cursor set
 * at commit time, or an increasing id.
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include "../common/config.h"
#include "../common/log.h"
#include "../common/pgutil.h"
#include "../common/strbuf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOMBSTONE_HASH                                                                             \
    0x746f6d6273746f6eULL /* "tombston": the key's last publication was a delete */

struct poll_pg {
    poll_pg_opts o;
    PGconn *conn;
    bool refused; /* the last connection attempt failed for good */
    char **keys;
    size_t nkeys;
    char *sql_all, *sql_since;
};

poll_pg *poll_pg_new(const poll_pg_opts *o)
{
    poll_pg *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->o = *o;
    return p;
}

void poll_pg_free(poll_pg *p)
{
    if (!p)
        return;
    PQfinish(p->conn);
    cfg_free_list(p->keys, p->nkeys);
    free(p->sql_all);
    free(p->sql_since);
    free(p);
}

/* The table's primary key columns, in key order. */
static bool primary_key(poll_pg *p, char *err, size_t errlen)
{
    const char *params[] = {p->o.table};
    PGresult *r =
        PQexecParams(p->conn,
                     "SELECT a.attname FROM pg_index i "
                     "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                     "WHERE i.indrelid = $1::regclass AND i.indisprimary "
                     "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                     1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    if (!ok)
        snprintf(err, errlen, "--source-table %s: %s", p->o.table,
                 PQresultStatus(r) == PGRES_TUPLES_OK
                     ? "has no primary key; name the key with --source-key"
                     : PQresultErrorMessage(r));
    p->nkeys = ok ? (size_t)PQntuples(r) : 0;
    p->keys = ok ? calloc(p->nkeys, sizeof *p->keys) : NULL;
    for (size_t i = 0; i < p->nkeys; i++)
        p->keys[i] = strdup(PQgetvalue(r, (int)i, 0));
    PQclear(r);
    return ok;
}

static bool connect_source(poll_pg *p, char *err, size_t errlen)
{
    if (p->conn && PQstatus(p->conn) == CONNECTION_OK)
        return true;
    PQfinish(p->conn);
    p->refused = false;
    p->conn = pg_connect_try(p->o.conninfo, err, errlen, &p->refused);
    if (!p->conn)
        return false;
    if (!pg_exec(p->conn, "SET TimeZone = 'UTC'", err, errlen))
        return false;
    log_info("pg_connected", "target=source conn=%s", lq(pg_describe(p->conn)));
    if (p->sql_all)
        return true;
    if (p->o.key_columns)
        p->keys = cfg_split(p->o.key_columns, ',', &p->nkeys);
    else if (!primary_key(p, err, errlen))
        return false;
    char *qt = pg_quote_qualified(p->conn, p->o.table);
    char *qc = PQescapeIdentifier(p->conn, p->o.cursor_column, strlen(p->o.cursor_column));
    if (!qt || !qc) {
        snprintf(err, errlen, "quoting --source-table/--source-cursor: %s",
                 PQerrorMessage(p->conn));
        free(qt);
        PQfreemem(qc);
        return false;
    }
    strbuf s;
    sb_init(&s);
    sb_printf(&s, "SELECT row_to_json(t)::text, t.%s::text FROM %s t", qc, qt);
    size_t base = s.len;
    sb_printf(&s, " WHERE t.%s IS NOT NULL ORDER BY t.%s", qc, qc);
    p->sql_all = strdup(sb_str(&s));
    s.len = base;
    sb_printf(&s, " WHERE t.%s >= $1 ORDER BY t.%s", qc, qc);
    p->sql_since = strdup(sb_str(&s));
    sb_free(&s);
    free(qt);
    PQfreemem(qc);
    return true;
}

static bool truthy(json_t *v)
{
    return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0) ||
           (json_is_string(v) && strchr("tTyY1", json_string_value(v)[0]) && *json_string_value(v));
}

bool poll_pg_refused(const poll_pg *p)
{
    return p->refused;
}

bool poll_pg_fetch(poll_pg *p, pollstate *st, poll_changes *out, char *err, size_t errlen)
{
    if (!connect_source(p, err, errlen))
        return false;
    const char *cursor = pollstate_cursor(st);
    PGresult *r = cursor ? PQexecParams(p->conn, p->sql_since, 1, NULL, &cursor, NULL, NULL, 0)
                         : PQexec(p->conn, p->sql_all);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "polling %s: %s", p->o.table, PQresultErrorMessage(r));
        pg_trim_message(err);
        PQclear(r);
        return false;
    }
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        json_t *row = json_loads(PQgetvalue(r, i, 0), 0, NULL);
        json_t *key = json_object();
        bool complete = row != NULL;
        for (size_t k = 0; complete && k < p->nkeys; k++) {
            json_t *v = json_object_get(row, p->keys[k]);
            if (!v) {
                snprintf(err, errlen, "--source-key column \"%s\" is not in %s", p->keys[k],
                         p->o.table);
                json_decref(row);
                json_decref(key);
                PQclear(r);
                return false;
            }
            json_object_set(key, p->keys[k], v);
        }
        char *ks = json_dumps(key, JSON_COMPACT | JSON_PRESERVE_ORDER);
        bool deleted =
            p->o.soft_delete_column && truthy(json_object_get(row, p->o.soft_delete_column));
        char *vs = deleted ? NULL : json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
        uint64_t h = deleted ? TOMBSTONE_HASH : hash64(vs, strlen(vs));
        if (pollstate_hash(st, ks) == h) {
            free(ks);
            free(vs);
        } else {
            poll_changes_add(out, ks, vs, h);
        }
        json_decref(row);
        json_decref(key);
    }
    if (rows > 0) {
        free(out->cursor);
        out->cursor = strdup(PQgetvalue(r, rows - 1, 1));
    }
    PQclear(r);
    return true;
}
