/*
 * pollstate — what a poll source has already published, kept in a JSON file:
 *
 *   {"cursor":"2024-05-01 10:00:00.123+00","hashes":{"{\"id\":1}":"9f2c…", …}}
 *
 * cursor: the highest cursor value published (postgres source); hashes: a
 * 64-bit FNV-1a hash of the last published content per key (both sources),
 * so a row seen again with the same content is not published twice and an
 * HTTP item that vanished is recognised.  The file is replaced atomically
 * (write a temporary file, fsync, rename) after every poll whose records
 * Kafka acknowledged.
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pollstate {
    char *path;
    json_t *root; /* {"cursor": str|null, "hashes": {key: hex}} */
};

uint64_t hash64(const void *data, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h ? h : 1; /* 0 means "unknown" */
}

pollstate *pollstate_load(const char *path, char *err, size_t errlen)
{
    pollstate *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->path = strdup(path);
    FILE *f = fopen(path, "r");
    if (!f && errno != ENOENT) {
        snprintf(err, errlen, "--state-file %s: %s", path, strerror(errno));
        pollstate_free(s);
        return NULL;
    }
    if (f) {
        bool ok = pollstate_read(s, f, err, errlen);
        fclose(f);
        if (!ok) {
            pollstate_free(s);
            return NULL;
        }
    } else {
        s->root = json_pack("{s:n,s:{}}", "cursor", "hashes");
    }
    return s;
}

bool pollstate_read(pollstate *s, FILE *f, char *err, size_t errlen)
{
    json_error_t jerr;
    json_decref(s->root);
    s->root = json_loadf(f, 0, &jerr);
    if (!json_is_object(s->root) || !json_is_object(json_object_get(s->root, "hashes"))) {
        snprintf(err, errlen,
                 "--state-file %s is not a flinkpg poll state (%s); move it away "
                 "to start from scratch",
                 s->path, s->root ? "no \"hashes\" object" : jerr.text);
        return false;
    }
    return true;
}

const char *pollstate_cursor(pollstate *s)
{
    return json_string_value(json_object_get(s->root, "cursor"));
}

void pollstate_set_cursor(pollstate *s, const char *cursor)
{
    json_object_set_new(s->root, "cursor", cursor ? json_string(cursor) : json_null());
}

/* A hash as the file holds it: 16 hex digits; anything else (a hand-edited
 * file) counts as unknown, 0 */
static uint64_t hash_of(const json_t *v)
{
    const char *hex = json_string_value(v);
    return hex ? strtoull(hex, NULL, 16) : 0;
}

uint64_t pollstate_hash(pollstate *s, const char *key)
{
    return hash_of(json_object_get(json_object_get(s->root, "hashes"), key));
}

void pollstate_set_hash(pollstate *s, const char *key, uint64_t hash)
{
    json_t *h = json_object_get(s->root, "hashes");
    if (!hash) {
        json_object_del(h, key);
        return;
    }
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, hash);
    json_object_set_new(h, key, json_string(hex));
}

void pollstate_each(pollstate *s, void (*fn)(const char *key, uint64_t hash, void *ctx), void *ctx)
{
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get(s->root, "hashes"), k, v)
        fn(k, hash_of(v), ctx); /* a value not a string crashed this (fuzz_pollstate) */
}

bool pollstate_save(pollstate *s, char *err, size_t errlen)
{
    size_t n = strlen(s->path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        abort();
    snprintf(tmp, n, "%s.tmp", s->path);
    bool ok = false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        char *text = json_dumps(s->root, JSON_COMPACT | JSON_SORT_KEYS);
        size_t len = text ? strlen(text) : 0, off = 0;
        while (text && off < len) {
            ssize_t w = write(fd, text + off, len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        ok = text && off == len && fsync(fd) == 0;
        free(text);
        ok = close(fd) == 0 && ok;
        ok = ok && rename(tmp, s->path) == 0;
    }
    if (!ok) {
        snprintf(err, errlen, "writing %s: %s", s->path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

void pollstate_free(pollstate *s)
{
    if (!s)
        return;
    json_decref(s->root);
    free(s->path);
    free(s);
}

void poll_changes_add(poll_changes *c, char *key, char *value, uint64_t hash)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        if (!c->v)
            abort();
    }
    c->v[c->n++] = (poll_change){key, value, hash};
}

void poll_changes_free(poll_changes *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].key);
        free(c->v[i].value);
    }
    free(c->v);
    free(c->cursor);
    *c = (poll_changes){0};
}
