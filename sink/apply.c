/*
 * apply — one batch, one PostgreSQL transaction.
 *
 * Fast path, by strategy (chosen at start-up, see plan.c):
 *   MERGE     COPY every action into a temporary staging table (with its
 *             sequence number and U/D), keep the last action per key
 *             (DISTINCT ON … ORDER BY seq DESC), then one DELETE and one
 *             INSERT … ON CONFLICT DO UPDATE, in that order, sent as one
 *             query text (one round trip).  For a keyed table, upserts and
 *             deletes only set the state of a key, so the last one per key is
 *             the whole effect of the batch.  (Not one statement with the
 *             DELETE in a WITH clause: PostgreSQL does not order the parts of
 *             a statement, and another unique index on the table could then
 *             see an upsert collide with a row the DELETE was to remove.)
 *   COPY      insert-all: COPY straight into the table.
 *   PIPELINE  keyless changelog: order matters (a -D removes one of several
 *             equal rows), so one prepared statement per action, pipelined.
 *
 * If the fast path fails on data (a value PostgreSQL refuses), the batch is
 * rolled back and replayed record by record under savepoints: what fails goes
 * to the dead-letter table with PostgreSQL's own message, the rest applies.
 * A lost connection or a fenced offset returns APPLY_RESYNC: the caller
 * reconnects and resumes from the offsets stored in PostgreSQL.
 */
#define _POSIX_C_SOURCE 200809L
#include "sink.h"

#include "../common/log.h"
#include "../common/pgutil.h"
#include "../common/strbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAGE "flinkpg_stage"

/* ---- SQL text, built once from the table ---- */

static void put_cols(strbuf *sb, const sink_table *t, const char *prefix)
{
    for (size_t i = 0; i < t->ncols; i++)
        sb_printf(sb, "%s%s%s", i ? ", " : "", prefix, t->cols[i].qname);
}

static void put_keys(strbuf *sb, const sink_table *t, const char *prefix)
{
    for (size_t k = 0; k < t->nkeys; k++)
        sb_printf(sb, "%s%s%s", k ? ", " : "", prefix, t->cols[t->keys[k]].qname);
}

static void put_key_match(strbuf *sb, const sink_table *t, const char *a, const char *b)
{
    for (size_t k = 0; k < t->nkeys; k++) {
        const char *q = t->cols[t->keys[k]].qname;
        sb_printf(sb, "%s%s.%s = %s.%s", k ? " AND " : "", a, q, b, q);
    }
}

static void put_on_conflict(strbuf *sb, const sink_table *t)
{
    sb_puts(sb, " ON CONFLICT (");
    put_keys(sb, t, "");
    sb_puts(sb, ")");
    bool any = false;
    for (size_t i = 0; i < t->ncols; i++) {
        if (t->cols[i].is_key)
            continue;
        sb_printf(sb, "%s%s = EXCLUDED.%s", any ? ", " : " DO UPDATE SET ", t->cols[i].qname,
                  t->cols[i].qname);
        any = true;
    }
    if (!any)
        sb_puts(sb, " DO NOTHING");
}

static void build_sql(sink_ctx *s)
{
    const sink_table *t = &s->table;
    strbuf sb;
    sb_init(&sb);
    if (s->strategy == STRAT_MERGE) {
        sb_printf(&sb, "COPY " STAGE " (_flinkpg_seq, _flinkpg_op, ");
        put_cols(&sb, t, "");
        sb_puts(&sb, ") FROM STDIN");
        s->sql_copy = sb_steal(&sb);

        strbuf last;
        sb_init(&last);
        sb_puts(&last, "(SELECT DISTINCT ON (");
        put_keys(&last, t, "");
        sb_puts(&last, ") * FROM " STAGE " ORDER BY ");
        put_keys(&last, t, "");
        sb_puts(&last, ", _flinkpg_seq DESC) l");

        sb_printf(&sb, "DELETE FROM %s t USING %s WHERE ", t->qname, sb_str(&last));
        if (t->unique_key)
            sb_puts(&sb, "l._flinkpg_op = 'D' AND ");
        put_key_match(&sb, t, "t", "l");
        sb_printf(&sb, "; INSERT INTO %s (", t->qname);
        put_cols(&sb, t, "");
        sb_puts(&sb, ") SELECT ");
        put_cols(&sb, t, "l.");
        sb_printf(&sb, " FROM %s WHERE l._flinkpg_op = 'U'", sb_str(&last));
        if (t->unique_key)
            put_on_conflict(&sb, t);
        s->sql_merge = sb_steal(&sb);
        sb_free(&last);
    } else if (s->strategy == STRAT_COPY) {
        sb_printf(&sb, "COPY %s (", t->qname);
        put_cols(&sb, t, "");
        sb_puts(&sb, ") FROM STDIN");
        s->sql_copy = sb_steal(&sb);
    }
}

static bool prepare_one(sink_ctx *s, const char *name, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQprepare(s->conn, name, sql, 0, NULL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, errlen, "preparing %s: %s", name, PQerrorMessage(s->conn));
    PQclear(r);
    return ok;
}

bool apply_prepare(sink_ctx *s, char *err, size_t errlen)
{
    const sink_table *t = &s->table;
    if (!s->sql_copy && !s->sql_merge)
        build_sql(s);
    strbuf sb;
    sb_init(&sb);
    bool ok = true;

    if (s->strategy == STRAT_MERGE) {
        sb_printf(&sb,
                  "CREATE TEMP TABLE IF NOT EXISTS " STAGE
                  " ON COMMIT DELETE ROWS AS SELECT * FROM %s WITH NO DATA;"
                  "ALTER TABLE " STAGE " ADD COLUMN IF NOT EXISTS _flinkpg_seq bigint,"
                  " ADD COLUMN IF NOT EXISTS _flinkpg_op \"char\"",
                  t->qname);
        ok = pg_exec(s->conn, sb_str(&sb), err, errlen);
        sb_reset(&sb);
    }

    /* single-row statements: the slow path, and the pipeline strategy */
    sb_printf(&sb, "INSERT INTO %s (", t->qname);
    put_cols(&sb, t, "");
    sb_puts(&sb, ") VALUES (");
    for (size_t i = 0; i < t->ncols; i++)
        sb_printf(&sb, "%s$%zu", i ? ", " : "", i + 1);
    sb_puts(&sb, ")");
    ok = ok && prepare_one(s, "ins", sb_str(&sb), err, errlen);
    if (ok && t->nkeys && t->unique_key) {
        put_on_conflict(&sb, t);
        ok = prepare_one(s, "ups", sb_str(&sb), err, errlen);
    }
    sb_reset(&sb);
    if (ok && t->nkeys) {
        sb_printf(&sb, "DELETE FROM %s WHERE ", t->qname);
        for (size_t k = 0; k < t->nkeys; k++)
            sb_printf(&sb, "%s%s = $%zu", k ? " AND " : "", t->cols[t->keys[k]].qname, k + 1);
        ok = prepare_one(s, "delk", sb_str(&sb), err, errlen);
        sb_reset(&sb);
    }
    if (ok) {
        sb_printf(&sb, "DELETE FROM %s WHERE ctid = (SELECT ctid FROM %s WHERE ", t->qname,
                  t->qname);
        for (size_t i = 0; i < t->ncols; i++) {
            const char *q = t->cols[i].qname;
            if (t->cols[i].cls == COL_JSON)
                sb_printf(&sb, "%s%s::jsonb IS NOT DISTINCT FROM $%zu::jsonb", i ? " AND " : "", q,
                          i + 1);
            else
                sb_printf(&sb, "%s%s IS NOT DISTINCT FROM $%zu", i ? " AND " : "", q, i + 1);
        }
        sb_puts(&sb, " LIMIT 1)");
        ok = prepare_one(s, "del1", sb_str(&sb), err, errlen);
        sb_reset(&sb);
    }
    if (ok) {
        sb_printf(&sb,
                  "INSERT INTO %s (group_id, topic, partition, kafka_offset, target_table, "
                  "raw_key, raw_value, headers, reason) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)",
                  s->q_dlq);
        ok = prepare_one(s, "dlq", sb_str(&sb), err, errlen);
    }
    sb_free(&sb);
    s->prepared = ok;
    return ok;
}

/* ---- helpers ---- */

typedef enum { STEP_OK, STEP_DATA_ERROR, STEP_LOST } step;

static step classify(sink_ctx *s, PGresult *r, char *err, size_t errlen)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_PIPELINE_SYNC)
        return STEP_OK;
    snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
    pg_trim_message(err);
    return pg_connection_lost(s->conn, r) ? STEP_LOST : STEP_DATA_ERROR;
}

static step exec_sql(sink_ctx *s, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(s->conn, sql);
    step st = classify(s, r, err, errlen);
    PQclear(r);
    return st;
}

static void copy_escape(strbuf *sb, const char *v)
{
    if (!v) {
        sb_append(sb, "\\N", 2);
        return;
    }
    const char *run = v;
    for (const char *p = v; *p; p++) {
        const char *esc = NULL;
        switch (*p) {
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            continue;
        }
        sb_append(sb, run, (size_t)(p - run));
        sb_append(sb, esc, 2);
        run = p + 1;
    }
    sb_puts(sb, run);
}

static step copy_rows(sink_ctx *s, const char *sql, const strbuf *data, char *err, size_t errlen)
{
    PGresult *r = PQexec(s->conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        step st = classify(s, r, err, errlen);
        PQclear(r);
        return st == STEP_OK ? STEP_DATA_ERROR : st;
    }
    PQclear(r);
    if (PQputCopyData(s->conn, data->data ? data->data : "", (int)data->len) != 1 ||
        PQputCopyEnd(s->conn, NULL) != 1) {
        snprintf(err, errlen, "COPY: %s", PQerrorMessage(s->conn));
        return STEP_LOST;
    }
    step st = STEP_OK;
    while ((r = PQgetResult(s->conn)) != NULL) {
        step one = classify(s, r, err, errlen);
        if (one != STEP_OK && st == STEP_OK)
            st = one;
        PQclear(r);
    }
    return st;
}

static const char **key_params(const sink_ctx *s, const action *a, const char **buf)
{
    for (size_t k = 0; k < s->table.nkeys; k++)
        buf[k] = a->vals[s->table.keys[k]];
    return buf;
}

/* ---- fast paths ---- */

static step fast_merge(sink_ctx *s, const batch *b, char *err, size_t errlen)
{
    strbuf data;
    sb_init(&data);
    for (size_t i = 0; i < b->nacts; i++) {
        const action *a = &b->acts[i];
        sb_printf(&data, "%zu\t%c", i, a->type == ACT_UPSERT ? 'U' : 'D');
        for (size_t c = 0; c < s->table.ncols; c++) {
            sb_putc(&data, '\t');
            copy_escape(&data, a->vals[c]);
        }
        sb_putc(&data, '\n');
    }
    step st = copy_rows(s, s->sql_copy, &data, err, errlen);
    sb_free(&data);
    if (st == STEP_OK)
        st = exec_sql(s, s->sql_merge, err, errlen);
    return st;
}

static step fast_copy(sink_ctx *s, const batch *b, char *err, size_t errlen)
{
    strbuf data;
    sb_init(&data);
    for (size_t i = 0; i < b->nacts; i++) {
        for (size_t c = 0; c < s->table.ncols; c++) {
            if (c)
                sb_putc(&data, '\t');
            copy_escape(&data, b->acts[i].vals[c]);
        }
        sb_putc(&data, '\n');
    }
    step st = copy_rows(s, s->sql_copy, &data, err, errlen);
    sb_free(&data);
    return st;
}

static step fast_pipeline(sink_ctx *s, const batch *b, char *err, size_t errlen)
{
    if (!PQenterPipelineMode(s->conn)) {
        snprintf(err, errlen, "entering pipeline mode: %s", PQerrorMessage(s->conn));
        return STEP_LOST;
    }
    int nparams = (int)s->table.ncols;
    for (size_t i = 0; i < b->nacts; i++) {
        const action *a = &b->acts[i];
        const char *stmt = a->type == ACT_INSERT ? "ins" : "del1";
        if (!PQsendQueryPrepared(s->conn, stmt, nparams, (const char *const *)a->vals, NULL, NULL,
                                 0)) {
            snprintf(err, errlen, "sending %s: %s", stmt, PQerrorMessage(s->conn));
            PQexitPipelineMode(s->conn);
            return STEP_LOST;
        }
    }
    if (!PQpipelineSync(s->conn)) {
        snprintf(err, errlen, "pipeline sync: %s", PQerrorMessage(s->conn));
        return STEP_LOST;
    }
    step st = STEP_OK;
    /* each query yields its result then NULL; the sync yields PGRES_PIPELINE_SYNC */
    for (;;) {
        PGresult *r = PQgetResult(s->conn);
        if (!r) {
            if (PQstatus(s->conn) != CONNECTION_OK) {
                snprintf(err, errlen, "%s", PQerrorMessage(s->conn));
                st = STEP_LOST;
                break;
            }
            continue;
        }
        ExecStatusType es = PQresultStatus(r);
        if (es == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (es != PGRES_PIPELINE_ABORTED && st == STEP_OK)
            st = classify(s, r, err, errlen);
        PQclear(r);
    }
    if (!PQexitPipelineMode(s->conn) && st == STEP_OK) {
        snprintf(err, errlen, "leaving pipeline mode: %s", PQerrorMessage(s->conn));
        st = STEP_LOST;
    }
    return st;
}

/* ---- slow path: record by record under savepoints ---- */

static step apply_action(sink_ctx *s, const action *a, char *err, size_t errlen)
{
    const char *keys[64];
    const char *const *all = (const char *const *)a->vals;
    int n = (int)s->table.ncols;
    PGresult *r = NULL;
    step st;
    switch (a->type) {
    case ACT_UPSERT:
        if (s->table.unique_key) {
            r = PQexecPrepared(s->conn, "ups", n, all, NULL, NULL, 0);
            break;
        }
        /* no unique index on the keys: replace = delete by key, then insert */
        r = PQexecPrepared(s->conn, "delk", (int)s->table.nkeys, key_params(s, a, keys), NULL, NULL,
                           0);
        st = classify(s, r, err, errlen);
        PQclear(r);
        if (st != STEP_OK)
            return st;
        r = PQexecPrepared(s->conn, "ins", n, all, NULL, NULL, 0);
        break;
    case ACT_DELETE_KEY:
        r = PQexecPrepared(s->conn, "delk", (int)s->table.nkeys, key_params(s, a, keys), NULL, NULL,
                           0);
        break;
    case ACT_INSERT:
        r = PQexecPrepared(s->conn, "ins", n, all, NULL, NULL, 0);
        break;
    case ACT_DELETE_ONE:
        r = PQexecPrepared(s->conn, "del1", n, all, NULL, NULL, 0);
        break;
    }
    st = classify(s, r, err, errlen);
    PQclear(r);
    return st;
}

static step slow_path(sink_ctx *s, batch *b, apply_outcome *out)
{
    char err[512];
    size_t i = 0;
    while (i < b->nacts) {
        uint32_t rec = b->acts[i].rec;
        size_t end = i;
        while (end < b->nacts && b->acts[end].rec == rec)
            end++;
        step st = exec_sql(s, "SAVEPOINT flinkpg_record", err, sizeof err);
        for (size_t j = i; j < end && st == STEP_OK; j++)
            st = apply_action(s, &b->acts[j], err, sizeof err);
        if (st == STEP_LOST)
            return st;
        if (st == STEP_DATA_ERROR) {
            char reason[600];
            snprintf(reason, sizeof reason, "postgres rejected the row: %s", err);
            if (exec_sql(s, "ROLLBACK TO SAVEPOINT flinkpg_record", err, sizeof err) != STEP_OK)
                return STEP_LOST;
            batch_add_dead(b, rec, reason);
        } else {
            out->applied += end - i;
            if (exec_sql(s, "RELEASE SAVEPOINT flinkpg_record", err, sizeof err) != STEP_OK)
                return STEP_LOST;
        }
        i = end;
    }
    return STEP_OK;
}

static step write_dead_letters(sink_ctx *s, const batch *b, char *err, size_t errlen)
{
    for (size_t i = 0; i < b->ndlq; i++) {
        const batch_record *rec = &b->recs[b->dlq[i].rec];
        char part[16], off[24];
        snprintf(part, sizeof part, "%" PRId32, rec->partition);
        snprintf(off, sizeof off, "%" PRId64, rec->offset);
        const char *p[9] = {s->group,   s->topic,          part,
                            off,        s->table.name,     rec->key,
                            rec->value, rec->headers_json, b->dlq[i].reason};
        int len[9] = {0, 0, 0, 0, 0, (int)rec->key_len, (int)rec->value_len, 0, 0};
        int fmt[9] = {0, 0, 0, 0, 0, 1, 1, 0, 0};
        PGresult *r = PQexecPrepared(s->conn, "dlq", 9, p, len, fmt, 0);
        step st = classify(s, r, err, errlen);
        PQclear(r);
        if (st != STEP_OK)
            return st == STEP_DATA_ERROR ? STEP_LOST : st; /* the DLQ itself must work */
    }
    return STEP_OK;
}

static void remember_committed(sink_ctx *s, const batch *b)
{
    for (size_t i = 0; i < b->nrecs; i++)
        if (b->recs[i].offset + 1 > offsets_stored(s, b->recs[i].partition))
            offsets_remember(s, b->recs[i].partition, b->recs[i].offset + 1);
}

apply_result apply_batch(sink_ctx *s, batch *b, apply_outcome *out)
{
    memset(out, 0, sizeof *out);
    char *err = out->error;
    size_t errlen = sizeof out->error;
    if (!s->prepared && !apply_prepare(s, err, errlen))
        return pg_connection_lost(s->conn, NULL) ? APPLY_RESYNC : APPLY_FATAL;

    step st = exec_sql(s, "BEGIN", err, errlen);
    if (st == STEP_OK && b->nacts) {
        switch (s->strategy) {
        case STRAT_MERGE:
            st = fast_merge(s, b, err, errlen);
            break;
        case STRAT_COPY:
            st = fast_copy(s, b, err, errlen);
            break;
        case STRAT_PIPELINE:
            st = fast_pipeline(s, b, err, errlen);
            break;
        }
        if (st == STEP_OK)
            out->applied = b->nacts;
    }
    if (st == STEP_DATA_ERROR) {
        log_warn("batch_isolating", "records=%zu error=%s", b->nrecs, lq(err));
        out->slow_path = true;
        out->applied = 0;
        st = exec_sql(s, "ROLLBACK", err, errlen);
        if (st == STEP_OK)
            st = exec_sql(s, "BEGIN", err, errlen);
        if (st == STEP_OK)
            st = slow_path(s, b, out);
    }
    if (st == STEP_OK)
        st = write_dead_letters(s, b, err, errlen);
    bool fenced = false;
    if (st == STEP_OK && !offsets_commit(s, b, &fenced, err, errlen))
        st = STEP_LOST;
    if (st == STEP_OK)
        st = exec_sql(s, "COMMIT", err, errlen);
    if (st != STEP_OK) {
        if (PQstatus(s->conn) == CONNECTION_OK) {
            char ignored[256];
            exec_sql(s, "ROLLBACK", ignored, sizeof ignored);
        }
        if (!fenced && st == STEP_DATA_ERROR) {
            /* the slow path cannot produce a data error; something is badly wrong */
            return APPLY_FATAL;
        }
        return APPLY_RESYNC;
    }
    out->dead_letters = b->ndlq;
    remember_committed(s, b);
    return APPLY_OK;
}
