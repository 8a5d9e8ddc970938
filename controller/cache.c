/*
 * cache — see cache.h.
 *
 * A store is a chained hash table of "namespace/name" -> object, with an
 * epoch per entry: a complete list stamps what it delivered with the current
 * epoch, and WATCH_LIST_DONE removes every entry the list did not mention
 * (deleted while the watch was down) before starting the next epoch.
 *
 * Objects are kept as their compact JSON, deflated (zlib, raw) with a preset
 * dictionary: the first object the store was given.  The objects of one
 * kind that one controller renders are near copies of each other, so an
 * object shrinks to a few hundred bytes where its jansson tree took 15-25 KB
 * (1,000 DemoRuns: ~10,000 objects).  A read inflates and parses, some tens
 * of microseconds; the fields a list filters on (namespace, the store's
 * label) are kept beside the blob so that a list inflates only what it
 * returns.
 */
#define _POSIX_C_SOURCE 200809L
#include "cache.h"

#include "../common/hash.h"
#include "../common/htab.h"
#include "../common/xalloc.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_STORES 16

typedef struct kentry {
    htab_node node;      /* first: the table's link and hash */
    char *key;           /* "namespace/name" */
    size_t nslen;        /* the namespace's length in key */
    char *label;         /* the value of the store's label key, or NULL */
    unsigned char *blob; /* the object: compact JSON, deflated */
    size_t bloblen, rawlen;
    unsigned long long rv;
    uint64_t epoch;
    bool read_through;
} kentry;

struct kstore {
    pthread_mutex_t mu;
    char resource[64];
    bool known_only;
    char *label_key, *label_value;
    htab objs; /* of kentry */
    uint64_t epoch;
    char *dict; /* the deflate dictionary: the first object's JSON */
    size_t dictlen;
    size_t bytes; /* of the blobs, for kstore_bytes */
    atomic_bool synced;
};

struct kcache {
    kstore *stores[MAX_STORES];
    int n;
};

kcache *kcache_new(void)
{
    return xcalloc(1, sizeof(kcache));
}

static void entry_free(kentry *e)
{
    free(e->blob);
    free(e->label);
    free(e->key);
    free(e);
}

static void store_free(kstore *s)
{
    for (size_t b = 0; b < s->objs.nbuckets; b++)
        for (htab_node *n = s->objs.bucket[b], *next; n; n = next) {
            next = n->next;
            entry_free((kentry *)n);
        }
    htab_release(&s->objs);
    free(s->label_key);
    free(s->label_value);
    if (s->dict)
        memset(s->dict, 0, s->dictlen);
    free(s->dict);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void kcache_free(kcache *kc)
{
    if (!kc)
        return;
    for (int i = 0; i < kc->n; i++)
        store_free(kc->stores[i]);
    free(kc);
}

kstore *kcache_add(kcache *kc, const char *resource, bool known_only, const char *label_key,
                   const char *label_value)
{
    if (kc->n == MAX_STORES)
        return NULL;
    kstore *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->resource, sizeof s->resource, "%s", resource);
    s->known_only = known_only;
    s->label_key = label_key ? xstrdup(label_key) : NULL;
    s->label_value = label_value ? xstrdup(label_value) : NULL;
    htab_init(&s->objs, 256);
    s->epoch = 1;
    kc->stores[kc->n++] = s;
    return s;
}

kstore *kcache_store(kcache *kc, const char *resource)
{
    for (int i = 0; kc && i < kc->n; i++)
        if (!strcmp(kc->stores[i]->resource, resource))
            return kc->stores[i];
    return NULL;
}

/* ---- the table (mutex held) ---- */

static const char *meta_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), k));
}

static bool key_of(const json_t *o, char *out, size_t n)
{
    const char *ns = meta_str(o, "namespace"), *name = meta_str(o, "name");
    if (!name)
        return false;
    snprintf(out, n, "%s/%s", ns ? ns : "", name);
    return true;
}

static bool key_is(const htab_node *n, const void *key)
{
    return !strcmp(((const kentry *)n)->key, key);
}

static kentry *find(kstore *s, const char *key, uint64_t h)
{
    return (kentry *)htab_find(&s->objs, h, key_is, key);
}

static void remove_key(kstore *s, const char *key, uint64_t h)
{
    kentry *e = find(s, key, h);
    if (e) {
        s->bytes -= e->bloblen;
        htab_remove(&s->objs, &e->node);
        entry_free(e);
    }
}

/* resourceVersion as a number; 0 when it is not one */
static unsigned long long rv_num(const json_t *o)
{
    const char *rv = meta_str(o, "resourceVersion");
    if (!rv || !*rv)
        return 0;
    for (const char *p = rv; *p; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return strtoull(rv, NULL, 10);
}

static const char *label_of(const kstore *s, const json_t *o)
{
    if (!s->label_key)
        return NULL;
    return json_string_value(
        json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), s->label_key));
}

static bool labelled(const kstore *s, const json_t *o)
{
    if (!s->label_key)
        return true;
    const char *v = label_of(s, o);
    return v && (!s->label_value || !strcmp(v, s->label_value));
}

/* ---- the blobs ---- */

/* One deflate and one inflate stream for every store, reset per object
 * (a stream's state is ~260 KB; made once, not per call). */
static pthread_mutex_t codec_mu = PTHREAD_MUTEX_INITIALIZER;
static z_stream zdef, zinf;
static bool zdef_ready, zinf_ready;

#define DICT_MAX 32768 /* deflate's window */

static unsigned char *pack(const kstore *s, const char *text, size_t len, size_t *outlen)
{
    if (len > UINT_MAX)
        abort();
    pthread_mutex_lock(&codec_mu);
    if (!zdef_ready) {
        if (deflateInit2(&zdef, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
            Z_OK)
            abort();
        zdef_ready = true;
    } else {
        deflateReset(&zdef);
    }
    if (s->dictlen)
        deflateSetDictionary(&zdef, (const Bytef *)s->dict, (uInt)s->dictlen);
    uLong bound = deflateBound(&zdef, (uLong)len);
    unsigned char *out = malloc(bound);
    if (!out)
        abort();
    zdef.next_in = (Bytef *)(uintptr_t)text;
    zdef.avail_in = (uInt)len;
    zdef.next_out = out;
    zdef.avail_out = (uInt)bound;
    if (deflate(&zdef, Z_FINISH) != Z_STREAM_END)
        abort(); /* cannot happen with deflateBound's room */
    *outlen = zdef.total_out;
    pthread_mutex_unlock(&codec_mu);
    unsigned char *fit = realloc(out, *outlen ? *outlen : 1);
    return fit ? fit : out;
}

static json_t *unpack(const kstore *s, const kentry *e)
{
    char *text = malloc(e->rawlen + 1);
    if (!text)
        abort();
    pthread_mutex_lock(&codec_mu);
    if (!zinf_ready) {
        if (inflateInit2(&zinf, -15) != Z_OK)
            abort();
        zinf_ready = true;
    } else {
        inflateReset(&zinf);
    }
    if (s->dictlen)
        inflateSetDictionary(&zinf, (const Bytef *)s->dict, (uInt)s->dictlen);
    zinf.next_in = e->blob;
    zinf.avail_in = (uInt)e->bloblen;
    zinf.next_out = (Bytef *)text;
    zinf.avail_out = (uInt)e->rawlen;
    int rc = inflate(&zinf, Z_FINISH);
    size_t got = zinf.total_out;
    pthread_mutex_unlock(&codec_mu);
    if (rc != Z_STREAM_END || got != e->rawlen)
        abort(); /* our own bytes, in our own memory */
    json_t *o = json_loadb(text, e->rawlen, 0, NULL);
    memset(text, 0, e->rawlen); /* a Secret's data passed through it */
    free(text);
    if (!o)
        abort();
    return o;
}

/* The compact JSON of obj without metadata.managedFields and kubectl's
 * last-applied annotation: often the larger part of an object, and nothing
 * the controller reads (client-go's informers strip them the same way when
 * told to).  Shallow copies down to what is dropped; obj is not changed. */
static char *slim_text(const json_t *obj, size_t *len)
{
    json_t *top = json_copy((json_t *)(uintptr_t)obj);
    json_t *meta = json_copy(json_object_get(obj, "metadata"));
    if (!top || !meta)
        abort();
    json_object_del(meta, "managedFields");
    json_t *ann = json_object_get(meta, "annotations");
    if (json_object_get(ann, "kubectl.kubernetes.io/last-applied-configuration")) {
        json_t *a2 = json_copy(ann);
        if (!a2)
            abort();
        json_object_del(a2, "kubectl.kubernetes.io/last-applied-configuration");
        json_object_set_new(meta, "annotations", a2);
    }
    json_object_set_new(top, "metadata", meta);
    char *text = json_dumps(top, JSON_COMPACT);
    json_decref(top);
    if (!text)
        abort();
    *len = strlen(text);
    return text;
}

/* Insert or replace; an older resourceVersion never replaces a newer one. */
static void put_locked(kstore *s, const json_t *obj, bool from_list, bool read_through)
{
    char key[600];
    if (!key_of(obj, key, sizeof key))
        return;
    uint64_t h = fnv1a64(key);
    kentry *e = find(s, key, h);
    if (!e && s->known_only && !read_through && !labelled(s, obj))
        return; /* a Secret of the rest of the cluster */
    unsigned long long got = rv_num(obj);
    if (e && e->rv && got && got < e->rv) {
        if (from_list)
            e->epoch = s->epoch; /* still exists */
        return;
    }
    size_t rawlen;
    char *text = slim_text(obj, &rawlen);
    /* a store of Secrets gets no dictionary: it would keep one Secret's data
     * in memory for the life of the process */
    if (!s->dict && !s->known_only) {
        s->dictlen = rawlen < DICT_MAX ? rawlen : DICT_MAX;
        s->dict = malloc(s->dictlen ? s->dictlen : 1);
        if (!s->dict)
            abort();
        memcpy(s->dict, text + rawlen - s->dictlen, s->dictlen);
    }
    size_t bloblen;
    unsigned char *blob = pack(s, text, rawlen, &bloblen);
    memset(text, 0, rawlen);
    free(text);
    const char *lv = label_of(s, obj);
    if (e) {
        s->bytes -= e->bloblen;
        free(e->blob);
        free(e->label);
    } else {
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(key);
        e->nslen = (size_t)(strchr(e->key, '/') - e->key);
        e->node.hash = h;
        htab_insert(&s->objs, &e->node);
    }
    e->blob = blob;
    e->bloblen = bloblen;
    e->rawlen = rawlen;
    e->label = lv ? xstrdup(lv) : NULL;
    e->rv = got;
    e->epoch = s->epoch;
    e->read_through |= read_through;
    s->bytes += bloblen;
}

/* ---- the watcher's side ---- */

void kstore_event(kstore *s, watch_event ev, const json_t *obj)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    switch (ev) {
    case WATCH_SYNC:
    case WATCH_ADDED:
    case WATCH_MODIFIED:
        put_locked(s, obj, ev == WATCH_SYNC, false);
        break;
    case WATCH_DELETED: {
        char key[600];
        if (key_of(obj, key, sizeof key))
            remove_key(s, key, fnv1a64(key));
        break;
    }
    case WATCH_LIST_DONE:
        /* whatever the list did not mention is gone */
        for (size_t b = 0; b < s->objs.nbuckets; b++)
            for (htab_node *n = s->objs.bucket[b], *next; n; n = next) {
                next = n->next;
                kentry *e = (kentry *)n;
                if (e->epoch != s->epoch) {
                    s->bytes -= e->bloblen;
                    htab_remove(&s->objs, n);
                    entry_free(e);
                }
            }
        s->epoch++;
        atomic_store(&s->synced, true);
        break;
    }
    pthread_mutex_unlock(&s->mu);
}

bool kstore_synced(kstore *s)
{
    return s && atomic_load(&s->synced);
}

size_t kstore_size(kstore *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->objs.n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- the readers' side ---- */

json_t *kstore_get(kstore *s, const char *ns, const char *name)
{
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns ? ns : "", name);
    pthread_mutex_lock(&s->mu);
    kentry *e = find(s, key, fnv1a64(key));
    json_t *copy = e ? unpack(s, e) : NULL;
    pthread_mutex_unlock(&s->mu);
    return copy;
}

json_t *kstore_list(kstore *s, const char *ns, const char *key, const char *value)
{
    json_t *items = json_array();
    if (!items)
        abort();
    size_t nslen = ns ? strlen(ns) : 0;
    bool by_label = key && s->label_key && !strcmp(key, s->label_key);
    pthread_mutex_lock(&s->mu);
    for (size_t b = 0; b < s->objs.nbuckets; b++)
        for (htab_node *n = s->objs.bucket[b]; n; n = n->next) {
            const kentry *e = (const kentry *)n;
            if (nslen && (e->nslen != nslen || memcmp(e->key, ns, nslen)))
                continue;
            if (by_label && (!e->label || (value && strcmp(e->label, value))))
                continue;
            json_t *o = unpack(s, e);
            if (key && !by_label) {
                const char *v = json_string_value(json_object_get(
                    json_object_get(json_object_get(o, "metadata"), "labels"), key));
                if (!v || (value && strcmp(v, value))) {
                    json_decref(o);
                    continue;
                }
            }
            json_array_append_new(items, o);
        }
    pthread_mutex_unlock(&s->mu);
    return json_pack("{s:s, s:o}", "kind", "List", "items", items);
}

size_t kstore_bytes(kstore *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->bytes + s->dictlen;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void kstore_put(kstore *s, const json_t *obj, bool read_through)
{
    if (!s || !json_is_object(obj))
        return;
    pthread_mutex_lock(&s->mu);
    put_locked(s, obj, false, read_through);
    pthread_mutex_unlock(&s->mu);
}

/* ---- paths ---- */

static void url_decode(const char *in, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        if (in[i] == '%' && i + 2 < n && isxdigit((unsigned char)in[i + 1]) &&
            isxdigit((unsigned char)in[i + 2])) {
            char hex[3] = {in[i + 1], in[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = in[i] == '+' ? ' ' : in[i];
        }
    }
    out[o] = '\0';
}

static bool copy_seg(const char **p, char *out, size_t n)
{
    const char *s = *p, *e = s;
    while (*e && *e != '/' && *e != '?')
        e++;
    if (e == s || (size_t)(e - s) >= n)
        return false;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = '\0';
    *p = *e == '/' ? e + 1 : e;
    return true;
}

bool kpath_parse(const char *path, kpath_t *p)
{
    memset(p, 0, sizeof *p);
    const char *s;
    char skip[128];
    if (!strncmp(path, "/api/v1/namespaces/", 19)) {
        s = path + 19;
    } else if (!strncmp(path, "/apis/", 6)) {
        s = path + 6;
        if (!copy_seg(&s, skip, sizeof skip) || !copy_seg(&s, skip, sizeof skip) ||
            strncmp(s, "namespaces/", 11))
            return false;
        s += 11;
    } else {
        return false;
    }
    if (!copy_seg(&s, p->ns, sizeof p->ns) || !copy_seg(&s, p->resource, sizeof p->resource))
        return false;
    if (*s && *s != '?') {
        if (!copy_seg(&s, p->name, sizeof p->name))
            return false;
        if (*s && *s != '?' && !copy_seg(&s, p->sub, sizeof p->sub))
            return false;
        if (*s && *s != '?')
            return false; /* deeper than name/subresource */
    } else {
        p->is_list = true;
    }
    const char *q = strchr(path, '?');
    for (; q && *q;) {
        q++;
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (!strncmp(q, "labelSelector=", 14))
            url_decode(q + 14, len - 14, p->selector, sizeof p->selector);
        else if (p->is_list && len)
            return false; /* a list with limit, watch, fieldSelector...: not a cache's */
        q = amp;
    }
    return true;
}

long kcache_try_get(kcache *kc, const char *path, json_t **out)
{
    kpath_t p;
    if (!kc || !kpath_parse(path, &p) || p.sub[0])
        return -1;
    kstore *s = kcache_store(kc, p.resource);
    if (!kstore_synced(s))
        return -1;
    if (!p.is_list) {
        json_t *o = kstore_get(s, p.ns, p.name);
        if (!o)
            return -1;
        *out = o;
        return 200;
    }
    /* one "key=value" or "key" requirement: what list_pods asks */
    char key[sizeof p.selector], *eq;
    snprintf(key, sizeof key, "%s", p.selector);
    if (!key[0] || strchr(key, ',') || strchr(key, '!') || strchr(key, ' '))
        return -1;
    eq = strchr(key, '=');
    if (eq)
        *eq++ = '\0';
    /* the store holds every object with this label only if its watch selects on it */
    if (!s->label_key || strcmp(s->label_key, key) || s->known_only ||
        (s->label_value && (!eq || strcmp(s->label_value, eq))))
        return -1;
    *out = kstore_list(s, p.ns, key, eq);
    return 200;
}

long kcache_lookup_child(kcache *kc, const char *path, json_t **out)
{
    long st = kcache_try_get(kc, path, out);
    if (st == 200)
        return st;
    kpath_t p;
    if (!kc || !kpath_parse(path, &p) || p.sub[0] || p.is_list)
        return -1;
    kstore *s = kcache_store(kc, p.resource);
    return kstore_synced(s) ? 404 : -1;
}

void kcache_note(kcache *kc, const char *method, const char *path, const json_t *obj)
{
    kpath_t p;
    if (!kc || !json_is_object(obj) || !kpath_parse(path, &p) || p.is_list)
        return;
    kstore *s = kcache_store(kc, p.resource);
    if (!s)
        return;
    /* a GET that missed: kept only by "known only" stores (a referenced
     * Secret, kept fresh by the watch from now on); writes always */
    bool get = !strcmp(method, "GET");
    if (get && !s->known_only)
        return;
    kstore_put(s, obj, get);
}
