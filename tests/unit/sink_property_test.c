/*
 * sink_property_test — a property of the sink's decode -> plan -> apply path
 * on a real PostgreSQL (the PG* environment tests/run sets up): for random
 * valid changelogs the table the sink leaves equals the model's final table.
 *
 * Each case draws an encoding (retract with the op header, debezium-json
 * with c/d/u, upsert with tombstones and except-key values), a key of one or
 * two columns, 1-12 keys, 1-3 partitions, 1-60 changes (+I, -U/+U pairs,
 * -D), registry framing or not, times as epoch milliseconds or ISO text;
 * records keep their order within a partition, partitions interleave at
 * random, offsets leave gaps (transaction markers), and the stream is cut
 * into random batches, each applied as the sink applies it (one transaction
 * with its offsets).  The model is a map key -> row.
 *
 * FLINKPG_PROP_CASES (default 2000) and FLINKPG_PROP_SEED (default 1) make a
 * failing case reproducible: the failure names its seed.
 */
#define _POSIX_C_SOURCE 200809L
#include "../../common/pgutil.h"
#include "../../common/srwire.h"
#include "../../common/strbuf.h"
#include "../../sink/sink.h"
#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng;
static uint32_t rnd(uint32_t n) /* 0..n-1, splitmix64 */
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (uint32_t)((z ^ (z >> 31)) % n);
}

#define MAXKEYS 12
#define MAXRECS 256

typedef struct {
    bool present;
    int version;
    long long cents, at_ms;
} row;

typedef struct {
    int32_t partition;
    int64_t offset;
    char *key, *value; /* framed bytes when registry; value NULL = tombstone */
    size_t klen, vlen;
    int op; /* -1: no header */
} rec;

static int nkeycols, enc_kind;
static bool registry, iso_times, except_key;

static void row_json(strbuf *sb, int k, const row *r, bool with_key)
{
    sb_putc(sb, '{');
    if (with_key)
        sb_printf(sb, "\"k1\":%d,", k);
    if (with_key || nkeycols == 1) /* k2: a key column, or a plain one */
        sb_printf(sb, "\"k2\":\"s%d\",", k % 3);
    sb_printf(sb, "\"name\":\"v%d\",\"amount\":%lld.%02lld,", r->version, r->cents / 100,
              r->cents % 100);
    if (iso_times) {
        time_t t = (time_t)(r->at_ms / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        char buf[40];
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        sb_printf(sb, "\"at\":\"%s.%03lldZ\"}", buf, r->at_ms % 1000);
    } else {
        sb_printf(sb, "\"at\":%lld}", r->at_ms);
    }
}

/* the Kafka key of key k: its key columns */
static void key_json(strbuf *key, int k)
{
    sb_init(key);
    if (nkeycols == 2)
        sb_printf(key, "{\"k1\":%d,\"k2\":\"s%d\"}", k, k % 3);
    else
        sb_printf(key, "{\"k1\":%d}", k);
}

static char *frame(const strbuf *sb, size_t *len, uint32_t id)
{
    size_t n = sb->len + (registry ? SRWIRE_HEADER_LEN : 0);
    char *out = malloc(n + 1);
    if (registry)
        srwire_header(id, (unsigned char *)out);
    memcpy(out + (registry ? SRWIRE_HEADER_LEN : 0), sb->data, sb->len);
    *len = n;
    return out;
}

/* One change of key k into the partition's list (the encoding decides
 * whether and how it is written). kind: 0 +I, 1 -U, 2 +U, 3 -D; before is
 * the row before (for -U/-D), after the row after (+I/+U). */
static void emit(rec *recs, size_t *n, int32_t part, int k, int kind, const row *before,
                 const row *after)
{
    strbuf key, val;
    sb_init(&val);
    key_json(&key, k);
    bool tomb = false;
    int op = -1;
    if (enc_kind == ENC_RETRACT) {
        row_json(&val, k, kind == 1 || kind == 3 ? before : after, true);
        op = kind == 0 && rnd(2) ? -1 : kind; /* no header = +I */
    } else if (enc_kind == ENC_DEBEZIUM) {
        sb_puts(&val, "{\"before\":");
        if (kind == 1 || kind == 3)
            row_json(&val, k, before, true);
        else
            sb_puts(&val, "null");
        sb_puts(&val, ",\"after\":");
        if (kind == 0 || kind == 2)
            row_json(&val, k, after, true);
        else
            sb_puts(&val, "null");
        sb_printf(&val, ",\"op\":\"%s\"}", kind == 0 || kind == 2 ? (rnd(4) ? "c" : "r") : "d");
    } else { /* upsert: -U is never written, -D is a tombstone */
        if (kind == 1) {
            sb_free(&key);
            sb_free(&val);
            return;
        }
        if (kind == 3)
            tomb = true;
        else
            row_json(&val, k, after, !except_key);
    }
    rec *r = &recs[(*n)++];
    r->partition = part;
    r->key = frame(&key, &r->klen, 1);
    r->value = tomb ? NULL : frame(&val, &r->vlen, 2);
    if (tomb)
        r->vlen = 0;
    r->op = op;
    sb_free(&key);
    sb_free(&val);
}

static bool run_case(PGconn *conn, uint64_t seed, char *why, size_t whylen)
{
    rng = seed;
    static const int encs[] = {ENC_RETRACT, ENC_DEBEZIUM, ENC_UPSERT};
    enc_kind = encs[rnd(3)];
    nkeycols = 1 + (int)rnd(2);
    registry = rnd(2);
    iso_times = rnd(2);
    except_key = rnd(2);
    int nkeys = 1 + (int)rnd(MAXKEYS), nparts = 1 + (int)rnd(3), nchanges = 1 + (int)rnd(60);
    row model[MAXKEYS] = {{0}};
    /* per partition, in order */
    static rec parts[3][MAXRECS];
    size_t np[3] = {0, 0, 0};
    for (int c = 0; c < nchanges; c++) {
        int k = (int)rnd((uint32_t)nkeys);
        int32_t p = k % nparts;
        row *m = &model[k];
        if (np[p] + 2 > MAXRECS)
            break;
        row old = *m;
        if (!m->present) {
            *m = (row){true, c + 1, (long long)rnd(100000), 1700000000000LL + rnd(1u << 30)};
            emit(parts[p], &np[p], p, k, 0, NULL, m);
        } else if (rnd(3)) {
            *m = (row){true, c + 1, (long long)rnd(100000), 1700000000000LL + rnd(1u << 30)};
            if (enc_kind == ENC_DEBEZIUM && !rnd(3)) { /* one "u" record: -U and +U */
                strbuf key, val;
                sb_init(&val);
                key_json(&key, k);
                sb_puts(&val, "{\"before\":");
                row_json(&val, k, &old, true);
                sb_puts(&val, ",\"after\":");
                row_json(&val, k, m, true);
                sb_puts(&val, ",\"op\":\"u\"}");
                rec *r = &parts[p][np[p]++];
                r->partition = p;
                r->key = frame(&key, &r->klen, 1);
                r->value = frame(&val, &r->vlen, 2);
                r->op = -1;
                sb_free(&key);
                sb_free(&val);
            } else {
                emit(parts[p], &np[p], p, k, 1, &old, NULL);
                emit(parts[p], &np[p], p, k, 2, NULL, m);
            }
        } else {
            m->present = false;
            emit(parts[p], &np[p], p, k, 3, &old, NULL);
        }
    }
    /* offsets with gaps (commit markers), then interleave the partitions */
    static rec stream[3 * MAXRECS];
    size_t ns = 0, at[3] = {0, 0, 0};
    for (int p = 0; p < nparts; p++) {
        int64_t off = rnd(5);
        for (size_t i = 0; i < np[p]; i++) {
            parts[p][i].offset = off;
            off += 1 + (rnd(4) == 0);
        }
    }
    for (;;) {
        int live[3], nl = 0;
        for (int p = 0; p < nparts; p++)
            if (at[p] < np[p])
                live[nl++] = p;
        if (!nl)
            break;
        int p = live[rnd((uint32_t)nl)];
        stream[ns++] = parts[p][at[p]++];
    }

    /* the table and the sink's state, as flinkpg-sink sets them up */
    bool ok = pg_exec(conn,
                      "DROP TABLE IF EXISTS prop; CREATE TABLE prop (k1 bigint NOT NULL, k2 text "
                      "NOT NULL, name text, amount numeric(12,2), at timestamptz)",
                      why, whylen) &&
              pg_exec(conn,
                      nkeycols == 2 ? "ALTER TABLE prop ADD PRIMARY KEY (k1, k2)"
                                    : "ALTER TABLE prop ADD PRIMARY KEY (k1)",
                      why, whylen);
    char group[64];
    snprintf(group, sizeof group, "prop-%ld-%" PRIu64, (long)getpid(), seed);
    sink_ctx s = {.group = group,
                  .topic = "prop",
                  .policy = POLICY_CHANGELOG,
                  .encoding = (sink_encoding)enc_kind,
                  .conn = conn};
    s.q_dlq = pg_quote_qualified(conn, "flinkpg_dead_letters");
    s.q_offsets = pg_quote_qualified(conn, "flinkpg_offsets");
    s.q_batches = pg_quote_qualified(conn, "flinkpg_batches");
    ok = ok && table_load(conn, "prop", NULL, &s.table, why, whylen) &&
         plan_check(&s, why, whylen) && offsets_ensure_tables(&s, why, whylen);
    if (ok) {
        s.strategy = plan_strategy(&s);
        ok = apply_prepare(&s, why, whylen);
    }
    int32_t pids[3] = {0, 1, 2};
    int64_t next[3];
    ok = ok && offsets_load(&s, pids, 3, next, why, whylen);
    static const char *const k1[] = {"k1"}, *const k2[] = {"k1", "k2"};
    decode_opts o = {.encoding = (sink_encoding)enc_kind,
                     .key_registry = registry,
                     .value_registry = registry,
                     .key_columns = nkeycols == 2 ? k2 : k1,
                     .nkeys = (size_t)nkeycols};
    batch b;
    batch_init(&b);
    for (size_t i = 0; ok && i < ns;) {
        size_t cut = i + 1 + rnd(20);
        batch_clear(&b, s.table.ncols);
        for (; i < ns && i < cut; i++) {
            rec *r = &stream[i];
            uint32_t idx = (uint32_t)b.nrecs;
            batch_record *br = batch_add_record(&b);
            *br = (batch_record){.partition = r->partition,
                                 .offset = r->offset,
                                 .key = r->key,
                                 .key_len = r->klen,
                                 .value = r->value,
                                 .value_len = r->vlen};
            unsigned char opb = (unsigned char)r->op;
            raw_record raw = {.key = r->key,
                              .key_len = r->klen,
                              .value = r->value,
                              .value_len = r->vlen,
                              .has_op = r->op >= 0,
                              .op = &opb,
                              .op_len = 1};
            change ch[2];
            char reason[512];
            int n = decode_record(&o, &raw, ch, reason, sizeof reason);
            if (n < 0) {
                snprintf(why, whylen, "a valid record was refused: %s", reason);
                ok = false;
                break;
            }
            plan_record(&s, &b, idx, ch, n);
            for (int j = 0; j < n; j++)
                change_clear(&ch[j]);
        }
        apply_outcome out = {0};
        if (ok && apply_batch(&s, &b, &out) != APPLY_OK) {
            snprintf(why, whylen, "apply: %s", out.error);
            ok = false;
        }
        if (ok && out.dead_letters) {
            snprintf(why, whylen, "%" PRIu64 " dead letters from valid records", out.dead_letters);
            ok = false;
        }
    }
    batch_free(&b, s.table.ncols);

    /* the table equals the model */
    if (ok) {
        strbuf want;
        sb_init(&want);
        for (int k = 0; k < nkeys; k++)
            if (model[k].present)
                sb_printf(&want, "%d|s%d|v%d|%lld.%02lld|%lld\n", k, k % 3, model[k].version,
                          model[k].cents / 100, model[k].cents % 100, model[k].at_ms);
        PGresult *res =
            PQexec(conn, "SELECT k1, k2, name, amount, "
                         "(extract(epoch FROM at) * 1000)::bigint FROM prop ORDER BY 1");
        strbuf got;
        sb_init(&got);
        for (int r = 0; PQresultStatus(res) == PGRES_TUPLES_OK && r < PQntuples(res); r++)
            sb_printf(&got, "%s|%s|%s|%s|%s\n", PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                      PQgetvalue(res, r, 2), PQgetvalue(res, r, 3), PQgetvalue(res, r, 4));
        PQclear(res);
        if (strcmp(sb_str(&want), sb_str(&got))) {
            snprintf(why, whylen, "table differs from the model\n  want:\n%.600s  got:\n%.600s",
                     sb_str(&want), sb_str(&got));
            ok = false;
        }
        sb_free(&want);
        sb_free(&got);
    }
    for (int p = 0; p < 3; p++)
        for (size_t i = 0; i < np[p]; i++) {
            free(parts[p][i].key);
            free(parts[p][i].value);
        }
    table_free(&s.table);
    free(s.q_dlq);
    free(s.q_offsets);
    free(s.q_batches);
    free(s.sql_copy);
    free(s.sql_merge);
    free(s.stored);
    return ok;
}

int main(void)
{
    if (!getenv("PGHOST") && !getenv("PGPORT")) {
        fprintf(stderr, "sink_property_test needs PostgreSQL: run it through tests/run "
                        "(the PG* environment of tests/peers/postgres.sh)\n");
        CHECK("PostgreSQL (PG* environment) is there", false);
        return UNIT_DONE();
    }
    const char *c = getenv("FLINKPG_PROP_CASES"), *sd = getenv("FLINKPG_PROP_SEED");
    long cases = c ? atol(c) : 2000;
    uint64_t base = sd ? strtoull(sd, NULL, 10) : 1;
    long passed = 0;
    int kinds[3] = {0, 0, 0};
    for (long i = 0; i < cases; i++) {
        PGconn *conn = PQconnectdb("");
        char why[2048] = "";
        if (PQstatus(conn) != CONNECTION_OK) {
            fprintf(stderr, "connect: %s", PQerrorMessage(conn));
            CHECK("connect to PostgreSQL", false);
            PQfinish(conn);
            return UNIT_DONE();
        }
        PQclear(PQexec(conn, "SET client_min_messages TO warning"));
        uint64_t seed = base + (uint64_t)i;
        if (!run_case(conn, seed, why, sizeof why)) {
            fprintf(stderr, "case seed=%" PRIu64 " (encoding %d, %d key column(s)): %s\n", seed,
                    enc_kind, nkeycols, why);
            char name[160];
            snprintf(name, sizeof name,
                     "decode -> plan -> apply equals the model (FLINKPG_PROP_SEED=%" PRIu64
                     " FLINKPG_PROP_CASES=1 to replay)",
                     seed);
            CHECK(name, false);
            PQfinish(conn);
            return UNIT_DONE();
        }
        kinds[enc_kind == ENC_RETRACT ? 0 : enc_kind == ENC_DEBEZIUM ? 1 : 2]++;
        passed++;
        PQfinish(conn);
    }
    char name[200];
    snprintf(name, sizeof name,
             "decode -> plan -> apply equals the model's table in %ld random cases "
             "(retract %d, debezium %d, upsert %d; seeds %" PRIu64 "..%" PRIu64 ")",
             passed, kinds[0], kinds[1], kinds[2], base, base + (uint64_t)cases - 1);
    CHECK(name, passed == cases);
    return UNIT_DONE();
}
