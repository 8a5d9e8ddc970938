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
    bool ok =
        pg_exec(s->conn, sb_str(&sql), err, errlen) || pg_exec(s->conn, sb_str(&sql), err, errlen);
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

/* One statement for every partition of the batch (one round trip): the
 * fenced offset update -- a stored row moves only from the value this process
 * last saw; a missing row is inserted only when it expected none -- and the
 * batch log.  It answers the partitions it advanced; one missing means
 * another consumer moved it. */
bool offsets_commit(sink_ctx *s, const batch *b, bool *fenced, char *err, size_t errlen)
{
    *fenced = false;
    range *rs;
    size_t n = batch_ranges(b, &rs);
    if (!n) {
        free(rs);
        return true;
    }
    strbuf sql, a_part, a_next, a_expect, a_first, a_count;
    strbuf *arrays[] = {&a_part, &a_next, &a_expect, &a_first, &a_count};
    sb_init(&sql);
    for (size_t k = 0; k < 5; k++) {
        sb_init(arrays[k]);
        sb_putc(arrays[k], '{');
    }
    for (size_t i = 0; i < n; i++) {
        const char *sep = i ? "," : "";
        int64_t stored = offsets_stored(s, rs[i].partition);
        sb_printf(&a_part, "%s%" PRId32, sep, rs[i].partition);
        sb_printf(&a_next, "%s%" PRId64, sep, rs[i].last + 1);
        if (stored < 0)
            sb_printf(&a_expect, "%sNULL", sep);
        else
            sb_printf(&a_expect, "%s%" PRId64, sep, stored);
        sb_printf(&a_first, "%s%" PRId64, sep, rs[i].first);
        sb_printf(&a_count, "%s%d", sep, rs[i].records);
    }
    for (size_t k = 0; k < 5; k++)
        sb_putc(arrays[k], '}');
    sb_printf(&sql,
              "WITH v AS (SELECT * FROM unnest($3::int[], $4::bigint[], $5::bigint[], "
              "$6::bigint[], $7::int[]) AS v(p, next_offset, expect, first_offset, records)), "
              "up AS (UPDATE %s o SET next_offset = v.next_offset, updated_at = now() FROM v "
              "WHERE o.group_id = $1 AND o.topic = $2 AND o.partition = v.p "
              "AND o.next_offset = v.expect RETURNING o.partition), "
              "ins AS (INSERT INTO %s (group_id, topic, partition, next_offset) "
              "SELECT $1, $2, v.p, v.next_offset FROM v WHERE v.expect IS NULL "
              "ON CONFLICT (group_id, topic, partition) DO NOTHING RETURNING partition), "
              "lg AS (INSERT INTO %s (group_id, topic, partition, first_offset, last_offset, "
              "records) SELECT $1, $2, v.p, v.first_offset, v.next_offset - 1, v.records FROM v) "
              "SELECT partition FROM up UNION ALL SELECT partition FROM ins",
              s->q_offsets, s->q_offsets, s->q_batches);
    bool ok = true;
    PGresult *r = NULL;
    if (ok) {
        const char *p[7] = {s->group,          s->topic,         sb_str(&a_part), sb_str(&a_next),
                            sb_str(&a_expect), sb_str(&a_first), sb_str(&a_count)};
        r = PQexecParams(s->conn, sb_str(&sql), 7, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "storing offsets: %s", PQerrorMessage(s->conn));
            ok = false;
        }
    }
    for (size_t i = 0; ok && i < n; i++) {
        bool done = false;
        for (int row = 0; row < PQntuples(r) && !done; row++)
            done = atol(PQgetvalue(r, row, 0)) == rs[i].partition;
        if (!done) {
            int64_t stored = offsets_stored(s, rs[i].partition);
            char expect[24] = "none";
            if (stored >= 0)
                snprintf(expect, sizeof expect, "%" PRId64, stored);
            snprintf(err, errlen,
                     "partition %" PRId32 " was advanced by another consumer (expected "
                     "next_offset %s)",
                     rs[i].partition, expect);
            *fenced = true;
            ok = false;
        }
    }
    PQclear(r);
    sb_free(&sql);
    for (size_t k = 0; k < 5; k++)
        sb_free(arrays[k]);
    free(rs);
    return ok;
}
