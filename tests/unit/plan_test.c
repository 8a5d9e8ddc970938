/*
 * plan_test — sink/plan.c without PostgreSQL: what each apply policy does
 * with each row kind on a keyed and a keyless table, the start-up checks,
 * the strategy chosen, and that a record lands whole or not at all.
 */
#define _POSIX_C_SOURCE 200809L
#include "../../sink/sink.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static sink_column cols[] = {
    {.name = "id", .type = "bigint", .cls = COL_INT},
    {.name = "name", .type = "text", .cls = COL_TEXT},
};
static size_t key_idx[] = {0};

static sink_ctx ctx(sink_policy p, bool keyed)
{
    sink_ctx s = {.policy = p, .encoding = ENC_RETRACT};
    s.table = (sink_table){.name = "t",
                           .cols = cols,
                           .ncols = 2,
                           .keys = keyed ? key_idx : NULL,
                           .nkeys = keyed ? 1 : 0,
                           .unique_key = keyed};
    cols[0].is_key = keyed;
    return s;
}

static change chg(row_kind k, const char *row, bool tombstone)
{
    return (change){.kind = k, .row = json_loads(row, 0, NULL), .tombstone = tombstone};
}

/* The action types one change becomes, as letters: U upsert, K delete by
 * key, I insert, O delete one; "-" when skipped, "D" when dead-lettered. */
static char plan_one(sink_policy p, bool keyed, row_kind k, bool tombstone)
{
    sink_ctx s = ctx(p, keyed);
    batch b;
    batch_init(&b);
    batch_add_record(&b);
    change c = chg(k, tombstone ? "{\"id\":1}" : "{\"id\":1,\"name\":\"a\"}", tombstone);
    plan_record(&s, &b, 0, &c, 1);
    change_clear(&c);
    char out = b.ndlq ? 'D' : '-';
    if (b.nacts == 1) {
        static const char letters[] = {
            [ACT_UPSERT] = 'U', [ACT_DELETE_KEY] = 'K', [ACT_INSERT] = 'I', [ACT_DELETE_ONE] = 'O'};
        out = letters[b.acts[0].type];
    }
    batch_free(&b, s.table.ncols);
    return out;
}

int main(void)
{
    /* rows: +I -U +U -D upsert, then a tombstone (-D without a value) */
    static const row_kind kinds[] = {KIND_INSERT, KIND_UPDATE_BEFORE, KIND_UPDATE_AFTER,
                                     KIND_DELETE, KIND_UPSERT};
    static const struct {
        sink_policy p;
        bool keyed;
        const char *want; /* per kind, then the tombstone */
        const char *name;
    } cases[] = {
        {POLICY_CHANGELOG, true, "UKUKUK", "changelog, keyed: upsert, delete by key"},
        {POLICY_CHANGELOG, false, "IOIOIO", "changelog, keyless: insert, delete one equal row"},
        {POLICY_INSERT_ALL, true, "IIIII-", "insert-all: every row inserted, tombstones skipped"},
        {POLICY_INSERT_ALL, false, "IIIII-", "insert-all, keyless: the same"},
        {POLICY_UPSERT_IGNORE_KIND, true, "UUUUUK",
         "upsert-ignore-kind: the kind ignored, only a tombstone deletes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[8] = {0};
        for (size_t k = 0; k < 5; k++)
            got[k] = plan_one(cases[i].p, cases[i].keyed, kinds[k], false);
        got[5] = plan_one(cases[i].p, cases[i].keyed, KIND_DELETE, true);
        CHECK_STR(cases[i].name, cases[i].want, got);
    }

    char err[256];
    sink_ctx s = ctx(POLICY_UPSERT_IGNORE_KIND, false);
    CHECK("check: upsert-ignore-kind on a keyless table names --key-columns",
          !plan_check(&s, err, sizeof err) && strstr(err, "--key-columns"));
    s = ctx(POLICY_CHANGELOG, false);
    s.encoding = ENC_UPSERT;
    CHECK("check: the upsert encoding on a keyless table is refused",
          !plan_check(&s, err, sizeof err));
    s = ctx(POLICY_CHANGELOG, false);
    CHECK("check: retract on a keyless table is fine", plan_check(&s, err, sizeof err));
    CHECK("strategy: keyed changelog merges",
          plan_strategy(&(sink_ctx){.policy = POLICY_CHANGELOG, .table = {.nkeys = 1}}) ==
              STRAT_MERGE);
    CHECK("strategy: insert-all copies",
          plan_strategy(&(sink_ctx){.policy = POLICY_INSERT_ALL, .table = {.nkeys = 1}}) ==
              STRAT_COPY);
    CHECK("strategy: keyless changelog pipelines",
          plan_strategy(&(sink_ctx){.policy = POLICY_CHANGELOG}) == STRAT_PIPELINE);

    /* a record whose second change cannot fit: its first action is taken
     * back and the record goes to the dead letters, whole */
    s = ctx(POLICY_CHANGELOG, true);
    batch b;
    batch_init(&b);
    batch_add_record(&b);
    change two[2] = {chg(KIND_UPDATE_BEFORE, "{\"id\":1,\"name\":\"a\"}", false),
                     chg(KIND_UPDATE_AFTER, "{\"id\":1,\"nope\":\"b\"}", false)};
    plan_record(&s, &b, 0, two, 2);
    CHECK("a record lands whole or not at all: no action left", b.nacts == 0);
    CHECK("... and one dead letter naming the field",
          b.ndlq == 1 && strstr(b.dlq[0].reason, "nope"));
    CHECK("... its kinds still counted",
          b.kinds[KIND_UPDATE_BEFORE] == 1 && b.kinds[KIND_UPDATE_AFTER] == 1);
    change_clear(&two[0]);
    change_clear(&two[1]);
    batch_free(&b, s.table.ncols);
    /* a key missing from an upsert */
    batch_init(&b);
    batch_add_record(&b);
    change nokey = chg(KIND_INSERT, "{\"name\":\"a\"}", false);
    plan_record(&s, &b, 0, &nokey, 1);
    CHECK("an upsert without its key is a dead letter", b.nacts == 0 && b.ndlq == 1);
    change_clear(&nokey);
    batch_free(&b, s.table.ncols);

    sink_policy p;
    CHECK("policy names round-trip",
          policy_parse("upsert-ignore-kind", &p) && p == POLICY_UPSERT_IGNORE_KIND &&
              !strcmp(policy_name(p), "upsert-ignore-kind") && !policy_parse("upsert", &p));
    return UNIT_DONE();
}
