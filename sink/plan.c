/*
 * plan — the apply policies, in one place.
 *
 *   changelog (correct)   keyed table:   +I/+U/upsert → upsert, -U/-D → delete by key
 *                                         (-U deletes; the +U that follows re-inserts;
 *                                          a -U with no +U leaves the row deleted)
 *                         keyless table: +I/+U → insert, -U/-D → delete one equal row
 *   insert-all            every record with a row → insert, whatever its kind
 *                         (a plain insert-mode JDBC sink)
 *   upsert-ignore-kind    every non-null value → upsert by key, tombstone → delete
 *                         (Kafka Connect JDBC sink, insert.mode=upsert, delete.enabled)
 */
#define _POSIX_C_SOURCE 200809L
#include "sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *policy_names[] = {"changelog", "insert-all", "upsert-ignore-kind"};

bool policy_parse(const char *name, sink_policy *out)
{
    for (int i = 0; i < 3; i++) {
        if (!strcmp(name, policy_names[i])) {
            *out = (sink_policy)i;
            return true;
        }
    }
    return false;
}

const char *policy_name(sink_policy p)
{
    return policy_names[p];
}

bool plan_check(const sink_ctx *s, char *err, size_t errlen)
{
    bool keyed = s->table.nkeys > 0;
    if (s->policy == POLICY_UPSERT_IGNORE_KIND && !keyed) {
        snprintf(err, errlen,
                 "policy upsert-ignore-kind needs key columns: table \"%s\" has no primary key; "
                 "pass --key-columns",
                 s->table.name);
        return false;
    }
    if (s->policy == POLICY_CHANGELOG && s->encoding == ENC_UPSERT && !keyed) {
        snprintf(err, errlen,
                 "encoding upsert needs key columns: table \"%s\" has no primary key; pass "
                 "--key-columns",
                 s->table.name);
        return false;
    }
    return true;
}

apply_strategy plan_strategy(const sink_ctx *s)
{
    if (s->policy == POLICY_INSERT_ALL)
        return STRAT_COPY;
    if (s->table.nkeys > 0)
        return STRAT_MERGE;
    return STRAT_PIPELINE;
}

static bool kind_removes(row_kind k)
{
    return k == KIND_UPDATE_BEFORE || k == KIND_DELETE;
}

static bool decide(const sink_ctx *s, const change *c, action_type *type)
{
    switch (s->policy) {
    case POLICY_CHANGELOG:
        if (s->table.nkeys > 0)
            *type = kind_removes(c->kind) ? ACT_DELETE_KEY : ACT_UPSERT;
        else
            *type = kind_removes(c->kind) ? ACT_DELETE_ONE : ACT_INSERT;
        return true;
    case POLICY_INSERT_ALL:
        *type = ACT_INSERT;
        return !c->tombstone;
    case POLICY_UPSERT_IGNORE_KIND:
        *type = c->tombstone ? ACT_DELETE_KEY : ACT_UPSERT;
        return true;
    }
    return false;
}

void plan_record(const sink_ctx *s, batch *b, uint32_t rec, change *changes, int n)
{
    const sink_table *t = &s->table;
    size_t first = b->nacts;
    for (int i = 0; i < n; i++) {
        b->kinds[changes[i].kind]++;
        action_type type;
        if (!decide(s, &changes[i], &type)) {
            b->skipped++;
            continue;
        }
        char **vals = calloc(t->ncols, sizeof *vals);
        char reason[512] = "out of memory";
        bool need_key = type == ACT_UPSERT || type == ACT_DELETE_KEY;
        if (!vals || !table_row_values(t, changes[i].row, need_key, vals, reason, sizeof reason)) {
            free(vals);
            /* undo this record's earlier actions: a record lands whole or not at all */
            while (b->nacts > first) {
                action *a = &b->acts[--b->nacts];
                table_values_free(t, a->vals);
                free(a->vals);
            }
            batch_add_dead(b, rec, reason);
            return;
        }
        action *a = batch_add_action(b);
        a->type = type;
        a->rec = rec;
        a->vals = vals;
    }
}
