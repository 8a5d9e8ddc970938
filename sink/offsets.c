/*
 * offsets — the sink's own tables, and the offsets that make it exactly-once.
 *
 *   <offsets>   (group_id, topic, partition) → next_offset: where to resume.
 *   <batches>   one row per committed batch and partition: first/last offset
 *               and record count — an audit trail that shows no offset was
 *               applied twice or skipped (the ranges tile the partition).
 *   <dlq>       dead letters: the raw record, its headers and the reason.
 *
 * Offsets are written inside the batch's transaction.  The write is fenced:
 * it only succeeds when the stored value is the one this process last read or
 * wrote; if another consumer advanced the partition meanwhile (a rebalance
 * race), the transaction is rolled back and the sink re-reads its position.
 */
#define _POSIX_C_SOURCE 200809L
#include "sink.h"

#include "../common/pgutil.h"
#include "../common/strbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool offsets_ensure_tables(sink_ctx *s, char *err, size_t errlen)
{
    strbuf sql;
    sb_init(&sql);
    sb_printf(&sql,
              "CREATE TABLE IF NOT EXISTS %s ("
              " group_id text NOT NULL, topic text NOT NULL, partition int NOT NULL,"
              " next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),"
              " PRIMARY KEY (group_id, topic, partition));"
              "CREATE TABLE IF NOT EXISTS %s ("
              " id bigserial PRIMARY KEY, group_id text NOT NULL, topic text NOT NULL,"
              " partition int NOT NULL, first_offset bigint NOT NULL,"
              " last_offset bigint NOT NULL, records int NOT NULL,"
              " committed_at timestamptz NOT NULL DEFAULT now());"
              "CREATE TABLE IF NOT EXISTS %s ("
              " id bigserial PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(),"
              " group_id text NOT NULL, topic text NOT NULL, partition int NOT NULL,"
              " kafka_offset bigint NOT NULL, target_table text NOT NULL,"
              " raw_key bytea, raw_value bytea, headers jsonb, reason text NOT NULL);",
              s->q_offsets, s->q_batches, s->q_dlq);
    /* concurrent sinks may race on CREATE TABLE IF NOT EXISTS; retry once */
    bool ok = pg_exec(s->conn, sb_str(&sql), err, errlen) ||
              pg_exec(s->conn, sb_str(&sql), err, errlen);
    sb_free(&sql);
    return ok;
}

void offsets_remember(sink_ctx *s, int32_t partition, int64_t next)
{
    if (partition < 0)
        return;
    if ((size_t)partition >= s->nstored) {
        size_t n = (size_t)partition + 16;
        int64_t *p = realloc(s->stored, n * sizeof *p);
        if (!p)
            abort();
        for (size_t i = s->nstored; i < n; i++)
            p[i] = -1;
        s->stored = p;
        s->nstored = n;
    }
    s->stored[partition] = next;
}

int64_t offsets_stored(const sink_ctx *s, int32_t partition)
{
    return partition >= 0 && (size_t)partition < s->nstored ? s->stored[partition] : -1;
}

bool offsets_load(sink_ctx *s, const int32_t *partitions, size_t n, int64_t *next, char *err,
                  size_t errlen)
{
    strbuf sql;
    sb_init(&sql);
    sb_printf(&sql, "SELECT partition, next_offset FROM %s WHERE group_id = $1 AND topic = $2",
              s->q_offsets);
    const char *params[2] = {s->group, s->topic};
    PGresult *r = PQexecParams(s->conn, sb_str(&sql), 2, NULL, params, NULL, NULL, 0);
    sb_free(&sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading stored offsets: %s", PQerrorMessage(s->conn));
        PQclear(r);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        next[i] = -1;
        for (int row = 0; row < PQntuples(r); row++)
            if (atoi(PQgetvalue(r, row, 0)) == partitions[i])
                next[i] = strtoll(PQgetvalue(r, row, 1), NULL, 10);
        offsets_remember(s, partitions[i], next[i]);
    }
    PQclear(r);
    return true;
}

/* Per partition of the batch: lowest and highest offset and the count. */
typedef struct {
    int32_t partition;
    int64_t first, last;
    int records;
} range;

static size_t batch_ranges(const batch *b, range **out)
{
    range *rs = NULL;
    size_t n = 0;
    for (size_t i = 0; i < b->nrecs; i++) {
        const batch_record *rec = &b->recs[i];
        size_t j = 0;
        while (j < n && rs[j].partition != rec->partition)
            j++;
        if (j == n) {
            range *grown = realloc(rs, (n + 1) * sizeof *rs);
            if (!grown)
                abort();
            rs = grown;
            rs[n++] = (range){rec->partition, rec->offset, rec->offset, 0};
        }
        if (rec->offset < rs[j].first)
            rs[j].first = rec->offset;
        if (rec->offset > rs[j].last)
            rs[j].last = rec->offset;
        rs[j].records++;
    }
    *out = rs;
    return n;
}

bool offsets_commit(sink_ctx *s, const batch *b, bool *fenced, char *err, size_t errlen)
{
    *fenced = false;
    range *rs;
    size_t n = batch_ranges(b, &rs);
    strbuf upd, log;
    sb_init(&upd);
    sb_init(&log);
    /* a row that exists must hold exactly what we expect; a missing row is
     * inserted only when we expect none */
    sb_printf(&upd,
              "INSERT INTO %s AS o (group_id, topic, partition, next_offset) "
              "VALUES ($1, $2, $3, $4) "
              "ON CONFLICT (group_id, topic, partition) DO UPDATE "
              "SET next_offset = EXCLUDED.next_offset, updated_at = now() "
              "WHERE o.next_offset = $5::bigint",
              s->q_offsets);
    sb_printf(&log,
              "INSERT INTO %s (group_id, topic, partition, first_offset, last_offset, records) "
              "VALUES ($1, $2, $3, $4, $5, $6)",
              s->q_batches);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char part[16], next[24], expect[24], first[24], last[24], count[16];
        int64_t stored = offsets_stored(s, rs[i].partition);
        snprintf(part, sizeof part, "%" PRId32, rs[i].partition);
        snprintf(next, sizeof next, "%" PRId64, rs[i].last + 1);
        snprintf(expect, sizeof expect, "%" PRId64, stored);
        snprintf(first, sizeof first, "%" PRId64, rs[i].first);
        snprintf(last, sizeof last, "%" PRId64, rs[i].last);
        snprintf(count, sizeof count, "%d", rs[i].records);
        const char *p[6] = {s->group, s->topic, part, next, stored < 0 ? NULL : expect, NULL};
        PGresult *r = PQexecParams(s->conn, sb_str(&upd), 5, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "storing offsets: %s", PQerrorMessage(s->conn));
            ok = false;
        } else if (strcmp(PQcmdTuples(r), "1") != 0) {
            snprintf(err, errlen,
                     "partition %" PRId32 " was advanced by another consumer (expected "
                     "next_offset %s)",
                     rs[i].partition, stored < 0 ? "none" : expect);
            *fenced = true;
            ok = false;
        }
        PQclear(r);
        if (!ok)
            break;
        const char *lp[6] = {s->group, s->topic, part, first, last, count};
        r = PQexecParams(s->conn, sb_str(&log), 6, NULL, lp, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "logging batch: %s", PQerrorMessage(s->conn));
            ok = false;
        }
        PQclear(r);
    }
    sb_free(&upd);
    sb_free(&log);
    free(rs);
    return ok;
}
