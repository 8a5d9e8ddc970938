/*
 * decode — see decode.h.  Every path that rejects a record says why in words
 * a person can act on; the reason lands in the dead-letter table.
 */
#define _POSIX_C_SOURCE 200809L
#include "decode.h"

#include "../common/srwire.h"

#include <stdio.h>
#include <string.h>

static const char *kind_symbols[KIND_COUNT] = {"+I", "-U", "+U", "-D", "upsert"};

const char *row_kind_symbol(row_kind k)
{
    return k < KIND_COUNT ? kind_symbols[k] : "?";
}

static const char *encoding_names[] = {"upsert", "retract", "debezium", "append"};

bool encoding_parse(const char *name, sink_encoding *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, encoding_names[i]) == 0) {
            *out = (sink_encoding)i;
            return true;
        }
    }
    return false;
}

const char *encoding_name(sink_encoding e)
{
    return encoding_names[e];
}

void change_clear(change *c)
{
    json_decref(c->row);
    c->row = NULL;
}

/* Parse a key or value: optional registry header (the prefix, or the id in
 * a Kafka header: sid), then JSON. */
static json_t *parse_part(const char *what, const void *buf, size_t len, bool registry,
                          const void *sid, size_t sid_len, size_t max_bytes, char *reason,
                          size_t reasonlen)
{
    if (max_bytes && len > max_bytes) {
        snprintf(reason, reasonlen, "%s too large: %zu bytes, limit %zu", what, len, max_bytes);
        return NULL;
    }
    const void *payload = buf;
    size_t plen = len;
    if (registry && sid) {
        char err[160];
        if (srwire_header_id(sid, sid_len, err, sizeof err) != 0) {
            snprintf(reason, reasonlen, "bad %s: %s", what, err);
            return NULL;
        }
    } else if (registry) {
        uint32_t id;
        char err[160];
        if (srwire_decode(buf, len, &id, &payload, &plen, err, sizeof err) != 0) {
            snprintf(reason, reasonlen, "bad %s: %s", what, err);
            return NULL;
        }
    }
    json_error_t jerr;
    json_t *j = json_loadb(payload, plen, JSON_DECODE_ANY, &jerr);
    if (!j) {
        snprintf(reason, reasonlen, "malformed JSON in %s: %s (line %d, column %d)", what,
                 jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    return j;
}

/* Merge the key's fields into row where the row lacks them. */
static int merge_key(const decode_opts *o, json_t *row, json_t *key, char *reason, size_t reasonlen)
{
    if (!key || json_is_null(key))
        return 0;
    if (json_is_object(key)) {
        const char *name;
        json_t *v;
        json_object_foreach (key, name, v) {
            if (!json_object_get(row, name))
                json_object_set(row, name, v);
        }
        return 0;
    }
    if (o->nkeys == 1 && !json_is_array(key)) {
        if (!json_object_get(row, o->key_columns[0]))
            json_object_set(row, o->key_columns[0], key);
        return 0;
    }
    snprintf(reason, reasonlen, "key is a JSON %s; expected an object with the key columns%s",
             json_is_array(key) ? "array" : "scalar",
             o->nkeys == 1 ? "" : " (a scalar key works only with exactly one key column)");
    return -1;
}

static int need_object(json_t *v, const char *what, char *reason, size_t reasonlen)
{
    if (json_is_object(v))
        return 0;
    snprintf(reason, reasonlen, "%s is not a JSON object", what);
    return -1;
}

static int decode_debezium(json_t *value, change out[2], char *reason, size_t reasonlen)
{
    if (need_object(value, "debezium value", reason, reasonlen))
        return -1;
    json_t *op = json_object_get(value, "op");
    json_t *before = json_object_get(value, "before");
    json_t *after = json_object_get(value, "after");
    if (!json_is_string(op)) {
        snprintf(reason, reasonlen, "debezium value has no \"op\" string");
        return -1;
    }
    const char *o = json_string_value(op);
    if (!strcmp(o, "c") || !strcmp(o, "r")) {
        if (!json_is_object(after)) {
            snprintf(reason, reasonlen, "debezium op \"%s\" without an \"after\" object", o);
            return -1;
        }
        out[0] = (change){KIND_INSERT, json_deep_copy(after), false};
        return 1;
    }
    if (!strcmp(o, "d")) {
        if (!json_is_object(before)) {
            snprintf(reason, reasonlen, "debezium op \"d\" without a \"before\" object");
            return -1;
        }
        out[0] = (change){KIND_DELETE, json_deep_copy(before), false};
        return 1;
    }
    if (!strcmp(o, "u")) {
        if (!json_is_object(before) || !json_is_object(after)) {
            snprintf(reason, reasonlen,
                     "debezium op \"u\" needs both \"before\" and \"after\" objects");
            return -1;
        }
        out[0] = (change){KIND_UPDATE_BEFORE, json_deep_copy(before), false};
        out[1] = (change){KIND_UPDATE_AFTER, json_deep_copy(after), false};
        return 2;
    }
    snprintf(reason, reasonlen, "unknown debezium op \"%.16s\" (expected c, r, u or d)", o);
    return -1;
}

/* Each encoding: key and value parsed (either may be NULL or JSON null);
 * fills out, returns the number of changes or -1 with a reason.  The row is
 * always a new reference: the caller drops key and value. */
typedef int (*decode_fn)(const decode_opts *o, const raw_record *rec, json_t *key, json_t *value,
                         change out[2], char *reason, size_t reasonlen);

/* The value as the row, the key's fields merged in: the one-change encodings */
static int one_row(const decode_opts *o, row_kind kind, json_t *key, json_t *value, change out[2],
                   char *reason, size_t reasonlen)
{
    if (need_object(value, "value", reason, reasonlen) ||
        merge_key(o, value, key, reason, reasonlen))
        return -1;
    out[0] = (change){kind, json_incref(value), false};
    return 1;
}

static int decode_upsert(const decode_opts *o, const raw_record *rec, json_t *key, json_t *value,
                         change out[2], char *reason, size_t reasonlen)
{
    (void)rec;
    if (!key || json_is_null(key)) {
        snprintf(reason, reasonlen, "upsert record without a key");
        return -1;
    }
    if (value && !json_is_null(value))
        return one_row(o, KIND_UPSERT, key, value, out, reason, reasonlen);
    json_t *row = json_object(); /* a tombstone: only the key is known */
    if (merge_key(o, row, key, reason, reasonlen)) {
        json_decref(row);
        return -1;
    }
    out[0] = (change){KIND_DELETE, row, true};
    return 1;
}

static int decode_retract(const decode_opts *o, const raw_record *rec, json_t *key, json_t *value,
                          change out[2], char *reason, size_t reasonlen)
{
    row_kind kind = KIND_INSERT;
    if (rec->has_op) {
        if (rec->op_len != 1) {
            snprintf(reason, reasonlen, "op header must be one byte, got %zu bytes", rec->op_len);
            return -1;
        }
        unsigned char b = *(const unsigned char *)rec->op;
        if (b > 3) {
            snprintf(reason, reasonlen,
                     "unknown op header byte 0x%02x (expected 0 +I, 1 -U, 2 +U, 3 -D)", b);
            return -1;
        }
        kind = (row_kind)b;
    }
    if (!value || json_is_null(value)) {
        snprintf(reason, reasonlen,
                 "retract record of kind %s without a value (every retract record carries the "
                 "full row)",
                 row_kind_symbol(kind));
        return -1;
    }
    return one_row(o, kind, key, value, out, reason, reasonlen);
}

static int decode_debezium_record(const decode_opts *o, const raw_record *rec, json_t *key,
                                  json_t *value, change out[2], char *reason, size_t reasonlen)
{
    (void)rec;
    if (!value || json_is_null(value))
        return 0; /* debezium tombstones only serve log compaction */
    int n = decode_debezium(value, out, reason, reasonlen);
    for (int i = 0; i < n; i++) {
        if (merge_key(o, out[i].row, key, reason, reasonlen)) {
            for (int j = 0; j < n; j++)
                change_clear(&out[j]);
            return -1;
        }
    }
    return n;
}

static int decode_append(const decode_opts *o, const raw_record *rec, json_t *key, json_t *value,
                         change out[2], char *reason, size_t reasonlen)
{
    (void)rec;
    if (!value || json_is_null(value)) {
        snprintf(reason, reasonlen, "append record without a value");
        return -1;
    }
    return one_row(o, KIND_INSERT, key, value, out, reason, reasonlen);
}

int decode_record(const decode_opts *o, const raw_record *rec, change out[2], char *reason,
                  size_t reasonlen)
{
    static const decode_fn by_encoding[] = {
        [ENC_UPSERT] = decode_upsert,
        [ENC_RETRACT] = decode_retract,
        [ENC_DEBEZIUM] = decode_debezium_record,
        [ENC_APPEND] = decode_append,
    };
    json_t *key = NULL, *value = NULL;
    int n = -1;
    out[0].row = out[1].row = NULL;
    if (rec->key) {
        key = parse_part("key", rec->key, rec->key_len, o->key_registry, rec->key_sid,
                         rec->key_sid_len, o->max_bytes, reason, reasonlen);
        if (!key)
            return -1;
    }
    if (rec->value) {
        value = parse_part("value", rec->value, rec->value_len, o->value_registry, rec->value_sid,
                           rec->value_sid_len, o->max_bytes, reason, reasonlen);
        if (!value) {
            json_decref(key);
            return -1;
        }
    }
    n = by_encoding[o->encoding](o, rec, key, value, out, reason, reasonlen);
    json_decref(key);
    json_decref(value);
    return n;
}
