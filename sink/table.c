/*
 * table — see table.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "table.h"

#include "../common/config.h"
#include "../common/pgutil.h"
#include "../common/strbuf.h"
#include "../common/xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static col_class classify(const char *typname)
{
    static const char *ints[] = {"int2", "int4", "int8", NULL};
    static const char *nums[] = {"numeric", "float4", "float8", "money", NULL};
    static const char *texts[] = {"text", "varchar", "bpchar", "name", "citext", NULL};
    for (int i = 0; ints[i]; i++)
        if (!strcmp(typname, ints[i]))
            return COL_INT;
    for (int i = 0; nums[i]; i++)
        if (!strcmp(typname, nums[i]))
            return COL_NUMERIC;
    for (int i = 0; texts[i]; i++)
        if (!strcmp(typname, texts[i]))
            return COL_TEXT;
    if (!strcmp(typname, "bool"))
        return COL_BOOL;
    if (!strcmp(typname, "json") || !strcmp(typname, "jsonb"))
        return COL_JSON;
    if (!strcmp(typname, "timestamptz"))
        return COL_TIMESTAMPTZ;
    if (!strcmp(typname, "timestamp"))
        return COL_TIMESTAMP;
    if (!strcmp(typname, "date"))
        return COL_DATE;
    return COL_OTHER;
}

int table_column(const sink_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->cols[i].name, name))
            return (int)i;
    return -1;
}

void table_free(sink_table *t)
{
    for (size_t i = 0; i < t->ncols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].qname);
        free(t->cols[i].type);
    }
    free(t->cols);
    free(t->keys);
    free(t->name);
    free(t->qname);
    memset(t, 0, sizeof *t);
}

/* Does some primary key or plain unique index cover exactly the key set? */
static bool has_unique_index(PGconn *conn, const char *oid, const sink_table *t, bool *is_pk,
                             char **pk_cols)
{
    const char *params[1] = {oid};
    PGresult *r =
        PQexecParams(conn,
                     "SELECT i.indisprimary, string_agg(a.attname, E'\\x1f' ORDER BY a.attname) "
                     "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                     "  AND a.attnum = ANY(i.indkey::int2[]) "
                     "WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL "
                     "  AND i.indexprs IS NULL "
                     "GROUP BY i.indexrelid, i.indisprimary",
                     1, NULL, params, NULL, NULL, 0);
    bool found = false;
    *is_pk = false;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return false;
    }
    /* the key set, sorted the same way, joined the same way */
    strbuf want;
    sb_init(&want);
    char **names = calloc(t->nkeys + 1, sizeof *names);
    for (size_t i = 0; names && i < t->nkeys; i++)
        names[i] = t->cols[t->keys[i]].name;
    for (size_t i = 0; names && i < t->nkeys; i++)
        for (size_t j = i + 1; j < t->nkeys; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char *tmp = names[i];
                names[i] = names[j];
                names[j] = tmp;
            }
    for (size_t i = 0; names && i < t->nkeys; i++) {
        if (i)
            sb_putc(&want, '\x1f');
        sb_puts(&want, names[i]);
    }
    free(names);
    for (int row = 0; row < PQntuples(r); row++) {
        const char *cols = PQgetvalue(r, row, 1);
        bool primary = PQgetvalue(r, row, 0)[0] == 't';
        if (primary && pk_cols)
            *pk_cols = strdup(cols);
        if (t->nkeys && !strcmp(cols, sb_str(&want))) {
            found = true;
            *is_pk = *is_pk || primary;
        }
    }
    sb_free(&want);
    PQclear(r);
    return found;
}

/* The table's oid (text) into oid, or false with a message naming it */
static bool table_oid(PGconn *conn, const char *name, char *oid, size_t n, char *err, size_t errlen)
{
    const char *params[1] = {name};
    PGresult *r = PQexecParams(conn, "SELECT to_regclass($1)::oid", 1, NULL, params, NULL, NULL, 0);
    bool ok = false;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        snprintf(err, errlen, "looking up table \"%s\": %s", name, PQerrorMessage(conn));
    else if (PQgetisnull(r, 0, 0))
        snprintf(err, errlen,
                 "target table \"%s\" does not exist in %s (create it, or pass --create-table "
                 "with --columns)",
                 name, pg_describe(conn));
    else
        ok = snprintf(oid, n, "%s", PQgetvalue(r, 0, 0)) > 0;
    PQclear(r);
    return ok;
}

/* The columns, in order, with their types and classes */
static bool table_columns(PGconn *conn, const char *oid, sink_table *t, char *err, size_t errlen)
{
    const char *params[1] = {oid};
    PGresult *r = PQexecParams(conn,
                               "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
                               "  CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END "
                               "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                               "LEFT JOIN pg_type bt ON bt.oid = t.typbasetype "
                               "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
                               "  AND a.attgenerated = '' "
                               "ORDER BY a.attnum",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
        snprintf(err, errlen, "reading the columns of table \"%s\": %s", t->name,
                 PQntuples(r) == 0 ? "it has no columns" : PQerrorMessage(conn));
        PQclear(r);
        return false;
    }
    t->ncols = (size_t)PQntuples(r);
    t->cols = xcalloc(t->ncols, sizeof *t->cols);
    t->keys = xcalloc(t->ncols, sizeof *t->keys);
    for (size_t i = 0; i < t->ncols; i++) {
        sink_column *c = &t->cols[i];
        c->name = xstrdup(PQgetvalue(r, (int)i, 0));
        c->type = xstrdup(PQgetvalue(r, (int)i, 1));
        c->cls = classify(PQgetvalue(r, (int)i, 2));
        /* a column name with a dot must not be split: quoted whole */
        char *q = PQescapeIdentifier(conn, c->name, strlen(c->name));
        c->qname = xstrdup(q);
        PQfreemem(q);
    }
    PQclear(r);
    return true;
}

/* Mark the named columns (separated by sep) as the key, in order; a name
 * the table lacks is an error when strict, skipped otherwise. */
static bool mark_keys(sink_table *t, const char *list, char sep, bool strict, char *err,
                      size_t errlen)
{
    size_t n = 0;
    char **names = list ? cfg_split(list, sep, &n) : NULL;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        int idx = table_column(t, names[i]);
        if (idx >= 0) {
            t->cols[idx].is_key = true;
            t->keys[t->nkeys++] = (size_t)idx;
        } else if (strict) {
            snprintf(err, errlen, "key column \"%s\" is not a column of table \"%s\"", names[i],
                     t->name);
            ok = false;
        }
    }
    cfg_free_list(names, n);
    return ok;
}

bool table_load(PGconn *conn, const char *name, const char *key_columns, sink_table *t, char *err,
                size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->qname = pg_quote_qualified(conn, name);
    char oid[32];
    if (!table_oid(conn, name, oid, sizeof oid, err, errlen) ||
        !table_columns(conn, oid, t, err, errlen))
        return false;
    bool is_pk;
    if (key_columns && *key_columns) {
        if (!mark_keys(t, key_columns, ',', true, err, errlen))
            return false;
        t->unique_key = has_unique_index(conn, oid, t, &is_pk, NULL);
    } else {
        char *pk = NULL; /* the primary key's columns, 0x1f-separated */
        has_unique_index(conn, oid, t, &is_pk, &pk);
        mark_keys(t, pk, '\x1f', false, err, errlen);
        free(pk);
        t->unique_key = t->nkeys > 0;
    }
    return true;
}

/* "a bigint, b numeric(12,2)" → {"a bigint", "b numeric(12,2)"}: split at the
 * commas outside parentheses (a type's modifiers have commas of their own). */
static char **split_columns(const char *text, size_t *count)
{
    char *copy = strdup(text);
    if (!copy) {
        *count = 0;
        return NULL;
    }
    int depth = 0;
    for (char *c = copy; *c; c++) {
        if (*c == '(')
            depth++;
        else if (*c == ')' && depth > 0)
            depth--;
        else if (*c == ',' && depth > 0)
            *c = '\x1f'; /* unit separator: cannot be in a valid declaration */
    }
    char **out = cfg_split(copy, ',', count);
    free(copy);
    for (size_t i = 0; out && i < *count; i++)
        for (char *c = out[i]; *c; c++)
            if (*c == '\x1f')
                *c = ',';
    return out;
}

bool table_create(PGconn *conn, const char *name, const char *columns, const char *key_columns,
                  char *err, size_t errlen)
{
    if (!columns || !*columns) {
        snprintf(err, errlen, "--create-table needs --columns \"name type, name type, ...\"");
        return false;
    }
    char *qname = pg_quote_qualified(conn, name);
    strbuf sql;
    sb_init(&sql);
    sb_printf(&sql, "CREATE TABLE IF NOT EXISTS %s (", qname);
    size_t n;
    char **defs = split_columns(columns, &n);
    bool ok = n > 0;
    for (size_t i = 0; i < n && ok; i++) {
        char *sp = defs[i];
        while (*sp && !isspace((unsigned char)*sp) && *sp != ':')
            sp++;
        if (!*sp) {
            snprintf(err, errlen, "--columns entry \"%s\": expected \"name type\"", defs[i]);
            ok = false;
            break;
        }
        *sp++ = '\0';
        while (isspace((unsigned char)*sp) || *sp == ':')
            sp++;
        /* the type is spliced as SQL: allow only what a type name needs */
        for (const char *c = sp; *c; c++) {
            if (!isalnum((unsigned char)*c) && !strchr(" _(),[]", *c)) {
                snprintf(err, errlen, "--columns entry \"%s\": type \"%s\" has invalid characters",
                         defs[i], sp);
                ok = false;
                break;
            }
        }
        char *qcol = PQescapeIdentifier(conn, defs[i], strlen(defs[i]));
        sb_printf(&sql, "%s%s %s", i ? ", " : "", qcol, sp);
        PQfreemem(qcol);
    }
    cfg_free_list(defs, n);
    if (ok && key_columns && *key_columns) {
        char **keys = cfg_split(key_columns, ',', &n);
        sb_puts(&sql, ", PRIMARY KEY (");
        for (size_t i = 0; i < n; i++) {
            char *q = PQescapeIdentifier(conn, keys[i], strlen(keys[i]));
            sb_printf(&sql, "%s%s", i ? ", " : "", q);
            PQfreemem(q);
        }
        sb_putc(&sql, ')');
        cfg_free_list(keys, n);
    }
    sb_putc(&sql, ')');
    if (ok && !pg_exec(conn, sb_str(&sql), err, errlen))
        ok = false;
    sb_free(&sql);
    free(qname);
    return ok;
}

char *json_value_text(json_t *v)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_NULL:
        return NULL;
    case JSON_STRING:
        return strndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    case JSON_REAL: {
        /* shortest text that reads back as the same double */
        double d = json_real_value(v);
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        return strdup(buf);
    }
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    default:
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

static bool looks_integer(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static bool looks_numeric(const char *s)
{
    char *end;
    strtod(s, &end);
    return end != s && *end == '\0';
}

/* A JSON number into a timestamp or date column: Connect's logical types
 * (table.h) -- epoch milliseconds, or days since 1970-01-01 -- as the text
 * PostgreSQL reads ("2026-12-07 10:00:00.123+00").  NULL when out of range. */
static char *epoch_text(col_class cls, json_t *v)
{
    double d = json_number_value(v);
    /* a real must be whole and within long long before it is converted
     * (found by fuzz_decode: 1.7e129 overflowed the cast) */
    if (!json_is_integer(v) && !(d >= -9.2e18 && d <= 9.2e18 && d == (double)(long long)d))
        return NULL; /* a fraction of a millisecond or a day is no Connect value */
    long long n = json_is_integer(v) ? (long long)json_integer_value(v) : (long long)d;
    /* years 0001..9999 */
    long long lo = cls == COL_DATE ? -719162LL : -62135596800000LL;
    long long hi = cls == COL_DATE ? 2932896LL : 253402300799999LL;
    if (n < lo || n > hi)
        return NULL;
    long long ms = cls == COL_DATE ? n * 86400000LL : n;
    long long sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int frac = (int)(ms - sec * 1000);
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return NULL;
    char buf[64];
    /* four-digit years: PostgreSQL reads a one- or two-digit year as 19xx/20xx */
    int k =
        snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (cls != COL_DATE)
        snprintf(buf + k, sizeof buf - (size_t)k, " %02d:%02d:%02d.%03d%s", tm.tm_hour, tm.tm_min,
                 tm.tm_sec, frac, cls == COL_TIMESTAMPTZ ? "+00" : "");
    return strdup(buf);
}

/* Cheap type check of one field; what passes may still be refused by
 * PostgreSQL (a bad date, say), which the apply step isolates. */
static bool fits(const sink_column *c, json_t *v, char *reason, size_t reasonlen)
{
    const char *got = NULL;
    switch (c->cls) {
    case COL_INT:
        if (json_is_integer(v) || (json_is_string(v) && looks_integer(json_string_value(v))))
            return true;
        got = json_is_real(v) ? "a fraction" : NULL;
        break;
    case COL_NUMERIC:
        if (json_is_number(v) || (json_is_string(v) && looks_numeric(json_string_value(v))))
            return true;
        break;
    case COL_BOOL:
        if (json_is_boolean(v) || json_is_string(v))
            return true;
        break;
    case COL_JSON:
        return true;
    case COL_TIMESTAMPTZ:
    case COL_TIMESTAMP:
    case COL_DATE:
        if (json_is_string(v) || json_is_number(v))
            return true;
        break;
    case COL_TEXT:
    case COL_OTHER:
        if (!json_is_object(v) && !json_is_array(v))
            return true;
        break;
    }
    if (!got) {
        static const char *names[] = {"object", "array", "string", "integer",
                                      "real",   "true",  "false",  "null"};
        got = names[json_typeof(v)];
    }
    if (json_is_string(v))
        snprintf(reason, reasonlen, "wrong type for column \"%s\" (%s): string \"%.40s\"", c->name,
                 c->type, json_string_value(v));
    else
        snprintf(reason, reasonlen, "wrong type for column \"%s\" (%s): got %s", c->name, c->type,
                 got);
    return false;
}

bool table_row_values(const sink_table *t, json_t *row, bool need_key, char **vals, char *reason,
                      size_t reasonlen)
{
    for (size_t i = 0; i < t->ncols; i++)
        vals[i] = NULL;
    const char *name;
    json_t *v;
    json_object_foreach (row, name, v) {
        int idx = table_column(t, name);
        if (idx < 0) {
            snprintf(reason, reasonlen, "field \"%s\" has no column in table \"%s\"", name,
                     t->name);
            goto fail;
        }
        if (json_is_null(v))
            continue;
        if (!fits(&t->cols[idx], v, reason, reasonlen))
            goto fail;
        col_class cls = t->cols[idx].cls;
        if (json_is_number(v) &&
            (cls == COL_TIMESTAMPTZ || cls == COL_TIMESTAMP || cls == COL_DATE)) {
            vals[idx] = epoch_text(cls, v);
            if (!vals[idx]) {
                double d = json_number_value(v);
                bool whole =
                    json_is_integer(v) || d <= -9.2e18 || d >= 9.2e18 || d == (double)(long long)d;
                snprintf(reason, reasonlen,
                         "column \"%s\" (%s): %s is no epoch %s in years 1..9999", name,
                         t->cols[idx].type, whole ? "the number" : "the fraction",
                         cls == COL_DATE ? "day count" : "milliseconds");
                goto fail;
            }
            continue;
        }
        vals[idx] = json_value_text(v);
    }
    if (need_key) {
        for (size_t k = 0; k < t->nkeys; k++) {
            if (!vals[t->keys[k]]) {
                snprintf(reason, reasonlen, "key column \"%s\" is missing or null",
                         t->cols[t->keys[k]].name);
                goto fail;
            }
        }
    }
    return true;
fail:
    table_values_free(t, vals);
    return false;
}

void table_values_free(const sink_table *t, char **vals)
{
    for (size_t i = 0; i < t->ncols; i++) {
        free(vals[i]);
        vals[i] = NULL;
    }
}
