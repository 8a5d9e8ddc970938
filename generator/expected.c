/*
 * expected — the final content of the demo's joined table, computed from the
 * events independently of Flink.
 *
 * This implements exactly the meaning of the view orders_shipments in
 * sql/flink/sources.sql (keep the two in step):
 *   - each topic is read as upsert-kafka reads it: the latest value per key
 *     wins, a tombstone deletes the key;
 *   - orders LEFT JOIN shipments ON order_id: one row per (order, shipment of
 *     that order); an order without shipments gives one row with
 *     shipment_id = 0 and NULL shipment columns;
 *   - shipments whose order is unknown or deleted produce nothing;
 *   - columns: order_id, shipment_id, customer, product, quantity, amount,
 *     order_status, carrier, shipment_status, order_updated_at,
 *     shipment_updated_at; key (order_id, shipment_id).
 * Each key's latest value is kept as parsed JSON; the rows are built at the end.
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include "../common/pgutil.h"
#include "../common/strbuf.h"
#include "../common/validate.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- latest value per id: open addressing, ids are int64 ---- */

typedef struct {
    long long id;
    json_t *value; /* NULL = deleted */
    bool used;
} slot;

typedef struct {
    slot *s;
    size_t cap, n;
} table;

static size_t mix(long long id, size_t cap)
{
    uint64_t z = (uint64_t)id * 0x9E3779B97F4A7C15ULL;
    return (size_t)(z ^ (z >> 29)) & (cap - 1);
}

static slot *lookup(table *t, long long id)
{
    if ((t->n + 1) * 2 > t->cap) {
        table bigger = {calloc(t->cap ? t->cap * 2 : 1024, sizeof(slot)),
                        t->cap ? t->cap * 2 : 1024, 0};
        if (!bigger.s)
            abort();
        for (size_t i = 0; i < t->cap; i++)
            if (t->s[i].used) {
                size_t j = mix(t->s[i].id, bigger.cap);
                while (bigger.s[j].used)
                    j = (j + 1) & (bigger.cap - 1);
                bigger.s[j] = t->s[i];
                bigger.n++;
            }
        free(t->s);
        *t = bigger;
    }
    size_t j = mix(id, t->cap);
    while (t->s[j].used && t->s[j].id != id)
        j = (j + 1) & (t->cap - 1);
    if (!t->s[j].used) {
        t->s[j] = (slot){id, NULL, true};
        t->n++;
    }
    return &t->s[j];
}

struct expected {
    table orders, shipments;
};

expected *expected_new(void)
{
    expected *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    return e;
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        json_decref(t->s[i].value);
    free(t->s);
}

void expected_free(expected *e)
{
    if (!e)
        return;
    table_free(&e->orders);
    table_free(&e->shipments);
    free(e);
}

bool expected_apply(expected *e, gen_topic t, const char *key, const char *value, char *err,
                    size_t errlen)
{
    const char *id_field = t == TOPIC_ORDERS ? "order_id" : "shipment_id";
    json_error_t jerr;
    json_t *k = json_loads(key, 0, &jerr);
    json_t *id = json_object_get(k, id_field);
    if (!json_is_integer(id)) {
        snprintf(err, errlen, "key %s: needs an integer \"%s\"", key, id_field);
        json_decref(k);
        return false;
    }
    slot *s = lookup(t == TOPIC_ORDERS ? &e->orders : &e->shipments, json_integer_value(id));
    json_decref(k);
    json_t *v = NULL;
    if (value) {
        v = json_loads(value, 0, &jerr);
        if (!json_is_object(v) ||
            (t == TOPIC_SHIPMENTS && !json_is_integer(json_object_get(v, "order_id")))) {
            snprintf(err, errlen, "value %s: %s", value,
                     v ? "a shipment needs an integer \"order_id\"" : jerr.text);
            json_decref(v);
            return false;
        }
    }
    json_decref(s->value);
    s->value = v;
    return true;
}

/* ---- the join ---- */

typedef struct {
    long long order_id, shipment_id;
    json_t *order, *shipment; /* shipment NULL: the shipment_id = 0 row */
} row;

static int by_order(const void *a, const void *b)
{
    const slot *x = *(slot *const *)a, *y = *(slot *const *)b;
    long long ox = json_integer_value(json_object_get(x->value, "order_id"));
    long long oy = json_integer_value(json_object_get(y->value, "order_id"));
    if (ox != oy)
        return ox < oy ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_id(const void *a, const void *b)
{
    const slot *x = *(slot *const *)a, *y = *(slot *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static slot **live(table *t, size_t *n, int (*cmp)(const void *, const void *))
{
    slot **v = malloc((t->n + 1) * sizeof *v);
    if (!v)
        abort();
    *n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->s[i].used && t->s[i].value)
            v[(*n)++] = &t->s[i];
    qsort(v, *n, sizeof *v, cmp);
    return v;
}

/* The joined rows in key order.  Caller frees the array (not the JSON). */
static row *join(expected *e, size_t *nrows)
{
    size_t no, ns;
    slot **o = live(&e->orders, &no, by_id);
    slot **s = live(&e->shipments, &ns, by_order);
    row *rows = malloc((no + ns + 1) * sizeof *rows);
    if (!rows)
        abort();
    size_t n = 0, j = 0;
    for (size_t i = 0; i < no; i++) {
        long long oid = o[i]->id;
        while (j < ns && json_integer_value(json_object_get(s[j]->value, "order_id")) < oid)
            j++; /* shipments of unknown or deleted orders: nothing */
        size_t first = n;
        for (; j < ns && json_integer_value(json_object_get(s[j]->value, "order_id")) == oid; j++)
            rows[n++] = (row){oid, s[j]->id, o[i]->value, s[j]->value};
        if (n == first)
            rows[n++] = (row){oid, 0, o[i]->value, NULL};
    }
    free(o);
    free(s);
    *nrows = n;
    return rows;
}

size_t expected_count(expected *e)
{
    size_t n;
    free(join(e, &n));
    return n;
}

static const char *str_of(json_t *obj, const char *field)
{
    return obj ? json_string_value(json_object_get(obj, field)) : NULL;
}

/* amount as numeric(12,2) text; false when absent or not a number */
static bool amount_text(json_t *order, char *buf, size_t len)
{
    json_t *a = json_object_get(order, "amount");
    if (json_is_integer(a))
        snprintf(buf, len, "%lld", (long long)json_integer_value(a));
    else if (json_is_real(a))
        snprintf(buf, len, "%.2f", json_real_value(a));
    else
        return false;
    return true;
}

/* COPY text escaping; NULL → \N */
static void copy_field(strbuf *b, const char *v)
{
    if (!v) {
        sb_puts(b, "\\N");
        return;
    }
    for (; *v; v++) {
        if (*v == '\\' || *v == '\t' || *v == '\n' || *v == '\r')
            sb_putc(b, '\\');
        sb_putc(b, *v == '\t' ? 't' : *v == '\n' ? 'n' : *v == '\r' ? 'r' : *v);
    }
}

static void copy_row(strbuf *b, const row *r)
{
    char num[64];
    sb_printf(b, "%lld\t%lld\t", r->order_id, r->shipment_id);
    copy_field(b, str_of(r->order, "customer"));
    sb_putc(b, '\t');
    copy_field(b, str_of(r->order, "product"));
    sb_putc(b, '\t');
    json_t *q = json_object_get(r->order, "quantity");
    if (json_is_integer(q))
        sb_printf(b, "%lld", (long long)json_integer_value(q));
    else
        sb_puts(b, "\\N");
    sb_putc(b, '\t');
    copy_field(b, amount_text(r->order, num, sizeof num) ? num : NULL);
    const char *rest[] = {str_of(r->order, "status"), str_of(r->shipment, "carrier"),
                          str_of(r->shipment, "status"), str_of(r->order, "updated_at"),
                          str_of(r->shipment, "updated_at")};
    for (int i = 0; i < 5; i++) {
        sb_putc(b, '\t');
        copy_field(b, rest[i]);
    }
    sb_putc(b, '\n');
}

static bool exec_ok(PGconn *conn, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

bool expected_write_pg(expected *e, PGconn *conn, const char *table_name, char *err, size_t errlen)
{
    char *qt = pg_quote_qualified(conn, table_name);
    if (!qt) {
        snprintf(err, errlen, "quoting --expected-table %s: %s", table_name, PQerrorMessage(conn));
        return false;
    }
    size_t n;
    row *rows = join(e, &n);
    strbuf sql, data;
    sb_init(&sql);
    sb_init(&data);
    /* the column types of sql/postgres/orders_shipments.sql */
    sb_printf(&sql,
              "BEGIN; DROP TABLE IF EXISTS %s; CREATE TABLE %s (" DEMO_TABLE_COLUMNS
              ", PRIMARY KEY (order_id, shipment_id))",
              qt, qt);
    bool ok = exec_ok(conn, sb_str(&sql), "creating the expected table", err, errlen);
    sb_reset(&sql);
    sb_printf(&sql, "COPY %s FROM STDIN", qt);
    bool copying = false;
    if (ok) {
        PGresult *r = PQexec(conn, sb_str(&sql));
        copying = PQresultStatus(r) == PGRES_COPY_IN;
        if (!copying) {
            snprintf(err, errlen, "COPY into %s: %s", table_name, PQresultErrorMessage(r));
            ok = false;
        }
        PQclear(r);
    }
    for (size_t i = 0; ok && i < n; i++) {
        copy_row(&data, &rows[i]);
        if (data.len > (1 << 20) || i + 1 == n) {
            if (PQputCopyData(conn, data.data, (int)data.len) != 1) {
                snprintf(err, errlen, "COPY into %s: %s", table_name, PQerrorMessage(conn));
                ok = false;
            }
            sb_reset(&data);
        }
    }
    if (copying) {
        if (PQputCopyEnd(conn, ok ? NULL : "aborted") != 1 && ok) {
            snprintf(err, errlen, "COPY into %s: %s", table_name, PQerrorMessage(conn));
            ok = false;
        }
        PGresult *r;
        while ((r = PQgetResult(conn))) {
            if (ok && PQresultStatus(r) != PGRES_COMMAND_OK) {
                snprintf(err, errlen, "COPY into %s: %s", table_name, PQresultErrorMessage(r));
                ok = false;
            }
            PQclear(r);
        }
    }
    if (ok)
        ok = exec_ok(conn, "COMMIT", "committing the expected table", err, errlen);
    else
        PQclear(PQexec(conn, "ROLLBACK"));
    if (!ok)
        pg_trim_message(err);
    sb_free(&sql);
    sb_free(&data);
    free(rows);
    free(qt);
    return ok;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

bool expected_write_json(expected *e, const char *path, char *err, size_t errlen)
{
    size_t n;
    row *rows = join(e, &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        json_t *q = json_object_get(r->order, "quantity");
        json_t *a = json_object_get(r->order, "amount");
        json_t *o = json_object();
        json_object_set_new(o, "order_id", json_integer(r->order_id));
        json_object_set_new(o, "shipment_id", json_integer(r->shipment_id));
        json_object_set_new(o, "customer", str_or_null(str_of(r->order, "customer")));
        json_object_set_new(o, "product", str_or_null(str_of(r->order, "product")));
        json_object_set_new(o, "quantity", json_is_integer(q) ? json_incref(q) : json_null());
        json_object_set_new(o, "amount", json_is_number(a) ? json_incref(a) : json_null());
        json_object_set_new(o, "order_status", str_or_null(str_of(r->order, "status")));
        json_object_set_new(o, "carrier", str_or_null(str_of(r->shipment, "carrier")));
        json_object_set_new(o, "shipment_status", str_or_null(str_of(r->shipment, "status")));
        json_object_set_new(o, "order_updated_at", str_or_null(str_of(r->order, "updated_at")));
        json_object_set_new(o, "shipment_updated_at",
                            str_or_null(str_of(r->shipment, "updated_at")));
        json_array_append_new(arr, o);
    }
    free(rows);
    int rc =
        json_dump_file(arr, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(arr);
    if (rc != 0) {
        snprintf(err, errlen, "writing --expected-file %s: %s", path, strerror(errno));
        return false;
    }
    return true;
}
