/*
 * scenario — the demo's events, deterministic from a seed.
 *
 * Each order has a story: it is created (status NEW), maybe amended once or
 * twice (new quantity and amount, status AMENDED), gets 0..max shipments, each
 * of which goes CREATED → SHIPPED → DELIVERED (stopping anywhere on the way,
 * each step a new event for the same key) and may be cancelled (tombstone);
 * an order whose shipments all arrive is COMPLETED; some orders are cancelled
 * (tombstone on the orders topic, their shipments stay and join nothing).
 * Stories start 2 s apart and last minutes, so they interleave; the first
 * shipment of some orders is dated before its order and so is published
 * first (out-of-order arrival across topics).  Every event has an event time;
 * all events are sorted by (time, creation sequence), which keeps each key's
 * events in order.  Timestamps count from 2024-05-01T00:00:00Z.
 *
 * The only randomness is a splitmix64 stream seeded with --seed and consumed
 * in a fixed order, and the JSON is written by hand with a fixed field order:
 * the same options give the same bytes.
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EPOCH_2024_05_01 1714521600LL

static const char *customers[] = {
    "alice",   "bob",  "carol",  "dave",  "erin",   "frank", "grace", "heidi",  "ivan",   "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe"};
static const char *products[] = {"book",     "lamp",     "chair",    "desk",
                                 "pen",      "mug",      "kettle",   "headphones",
                                 "backpack", "umbrella", "notebook", "plant"};
static const char *carriers[] = {"dhl", "ups", "fedex", "postnl", "gls", "dpd"};
#define N_OF(a) (sizeof a / sizeof a[0])

typedef struct {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static long long below(rng *r, long long n)
{
    return n > 0 ? (long long)(rnd(r) % (uint64_t)n) : 0;
}
static bool pct(rng *r, int p)
{
    return below(r, 100) < p;
}

/* An event before sorting: the record plus its time and creation sequence. */
typedef struct {
    long long t_ms;
    long long seq;
    gen_record rec;
} timed;

typedef struct {
    timed *v;
    size_t n, cap;
    long long seq;
} timeline;

static void push(timeline *tl, long long t_ms, gen_topic topic, char *key, char *value)
{
    if (tl->n == tl->cap) {
        tl->cap = tl->cap ? tl->cap * 2 : 4096;
        tl->v = realloc(tl->v, tl->cap * sizeof *tl->v);
        if (!tl->v)
            abort();
    }
    tl->v[tl->n++] = (timed){t_ms, tl->seq++, {(uint8_t)topic, key, value}};
}

static void iso(char *buf, size_t len, long long t_ms)
{
    time_t secs = (time_t)(EPOCH_2024_05_01 + t_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03lldZ", base, t_ms % 1000);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (!s)
        abort();
    return s;
}

typedef struct {
    long long id;
    const char *customer, *product;
    int quantity;
    long long cents;
    long long created_ms;
} order;

static void order_event(timeline *tl, const order *o, const char *status, long long t_ms)
{
    char created[40], updated[40];
    iso(created, sizeof created, o->created_ms);
    iso(updated, sizeof updated, t_ms);
    push(
        tl, t_ms, TOPIC_ORDERS, fmt("{\"order_id\":%lld}", o->id),
        fmt("{\"order_id\":%lld,\"customer\":\"%s\",\"product\":\"%s\",\"quantity\":%d,"
            "\"amount\":%lld.%02lld,\"status\":\"%s\",\"created_at\":\"%s\",\"updated_at\":\"%s\"}",
            o->id, o->customer, o->product, o->quantity, o->cents / 100, o->cents % 100, status,
            created, updated));
}

static void shipment_event(timeline *tl, long long sid, long long oid, const char *carrier,
                           const char *status, long long created_ms, long long t_ms)
{
    char created[40], updated[40];
    iso(created, sizeof created, created_ms);
    iso(updated, sizeof updated, t_ms);
    push(tl, t_ms, TOPIC_SHIPMENTS, fmt("{\"shipment_id\":%lld}", sid),
         fmt("{\"shipment_id\":%lld,\"order_id\":%lld,\"carrier\":\"%s\",\"status\":\"%s\","
             "\"created_at\":\"%s\",\"updated_at\":\"%s\"}",
             sid, oid, carrier, status, created, updated));
}

static int by_time(const void *a, const void *b)
{
    const timed *x = a, *y = b;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static long long later(long long *last, long long t)
{
    if (t <= *last)
        t = *last + 1;
    *last = t;
    return t;
}

bool scenario_generate(const scenario_opts *o, gen_records *out, char *err, size_t errlen)
{
    if (o->orders < 0 || o->max_shipments < 1) {
        snprintf(err, errlen, "--orders must be >= 0 and --max-shipments >= 1");
        return false;
    }
    rng r = {o->seed};
    timeline tl = {0};
    long long next_shipment = 1;
    for (long long i = 1; i <= o->orders; i++) {
        order od = {.id = i,
                    .customer = customers[below(&r, N_OF(customers))],
                    .product = products[below(&r, N_OF(products))],
                    .quantity = 1 + (int)below(&r, 5)};
        long long price = 500 + below(&r, 19500);
        od.cents = price * od.quantity;
        od.created_ms = 10000 + i * 2000 + below(&r, 1000);
        long long last_order = od.created_ms;
        order_event(&tl, &od, "NEW", od.created_ms);

        int amendments = pct(&r, o->amend_pct) ? 1 + (int)below(&r, 2) : 0;
        for (int a = 0; a < amendments; a++) {
            od.quantity = 1 + (int)below(&r, 5);
            od.cents = price * od.quantity;
            order_event(&tl, &od, "AMENDED",
                        later(&last_order, last_order + 1000 + below(&r, 20000)));
        }

        int nship = pct(&r, o->no_shipment_pct) ? 0 : 1 + (int)below(&r, o->max_shipments);
        bool early = nship > 0 && pct(&r, o->early_pct);
        bool all_delivered = nship > 0;
        long long last_delivery = 0;
        for (int s = 0; s < nship; s++) {
            long long sid = next_shipment++;
            const char *carrier = carriers[below(&r, N_OF(carriers))];
            long long t = od.created_ms + 5000 + below(&r, 30000);
            if (s == 0 && early)
                t = od.created_ms - 1 - below(&r, 1500); /* published before its order */
            long long created = t, last = t;
            shipment_event(&tl, sid, i, carrier, "CREATED", created, t);
            int steps = (int)below(&r, 3); /* 0: stays CREATED, 1: SHIPPED, 2: DELIVERED */
            static const char *next_status[] = {"SHIPPED", "DELIVERED"};
            for (int k = 0; k < steps; k++)
                shipment_event(&tl, sid, i, carrier, next_status[k], created,
                               later(&last, last + 10000 + below(&r, 60000)));
            if (pct(&r, o->shipment_cancel_pct)) {
                push(&tl, later(&last, last + 5000 + below(&r, 20000)), TOPIC_SHIPMENTS,
                     fmt("{\"shipment_id\":%lld}", sid), NULL);
                all_delivered = false;
            } else if (steps < 2) {
                all_delivered = false;
            }
            if (last > last_delivery)
                last_delivery = last;
        }
        if (all_delivered)
            order_event(&tl, &od, "COMPLETED", later(&last_order, last_delivery + 1000));
        if (pct(&r, o->cancel_pct))
            push(&tl, later(&last_order, last_order + 2000 + below(&r, 30000)), TOPIC_ORDERS,
                 fmt("{\"order_id\":%lld}", i), NULL);
    }
    qsort(tl.v, tl.n, sizeof *tl.v, by_time);
    for (size_t k = 0; k < tl.n; k++)
        records_add(out, (gen_topic)tl.v[k].rec.topic, tl.v[k].rec.key, tl.v[k].rec.value);
    free(tl.v);
    return true;
}

bool scenario_load(const char *path, gen_records *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--scenario-file %s: %s", path, strerror(errno));
        return false;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    bool ok = true;
    while (ok && getline(&line, &cap, f) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line) || line[0] == '#')
            continue;
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        const char *topic = j ? json_string_value(json_object_get(j, "topic")) : NULL;
        json_t *k = j ? json_object_get(j, "key") : NULL;
        json_t *v = j ? json_object_get(j, "value") : NULL;
        if (!j) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, jerr.text);
            ok = false;
        } else if (!topic || (strcmp(topic, "orders") && strcmp(topic, "shipments"))) {
            snprintf(err, errlen, "%s:%d: \"topic\" must be \"orders\" or \"shipments\"", path,
                     lineno);
            ok = false;
        } else if (!json_is_object(k) || (v && !json_is_object(v) && !json_is_null(v))) {
            snprintf(err, errlen, "%s:%d: \"key\" must be an object, \"value\" an object or null",
                     path, lineno);
            ok = false;
        } else {
            size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
            records_add(out, strcmp(topic, "orders") ? TOPIC_SHIPMENTS : TOPIC_ORDERS,
                        json_dumps(k, flags), json_is_object(v) ? json_dumps(v, flags) : NULL);
        }
        json_decref(j);
    }
    free(line);
    fclose(f);
    return ok;
}

void records_add(gen_records *r, gen_topic t, char *key, char *value)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4096;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        if (!r->v)
            abort();
    }
    r->v[r->n++] = (gen_record){(uint8_t)t, key, value};
}

void records_free(gen_records *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].key);
        free(r->v[i].value);
    }
    free(r->v);
    *r = (gen_records){0};
}
