/*
 * cache — informer caches: the objects the watchers (watch.h) list and
 * watch, kept in memory so that a reconcile reads them without asking the
 * API server.  A steady-state reconcile then makes no request at all: its
 * GETs are answered here, and an apply whose desired object has not changed
 * is skipped (reconcile_demorun.c compares a hash annotation).
 *
 *   kstore        one resource ("secrets", "demoruns", ...): namespace/name ->
 *                 object, filled by the watcher of that resource
 *                 (kstore_event), pruned after every complete list
 *   kcache        the stores by resource name; a kube_client given one
 *                 (kube_client_set_cache) answers GETs of an object or of a
 *                 label-selected list from a synced store, and keeps the
 *                 objects its writes return (write-through)
 *
 * A store answers only once its first list is complete, and only for the
 * objects it holds: a miss goes to the API server (read-through).  Stores of
 * "known only" kind (Secrets: the watch is not label-filtered, since the
 * Secrets a DemoRun references carry no label of ours) keep an object only
 * when it has the store's label or was read through before, so the Secrets
 * of the rest of the cluster are never kept.
 *
 * Objects handed out are deep copies: callers own them.  Between a write
 * and its watch event the store may briefly hold the older object; the
 * newer of two resourceVersions (compared as the integers etcd issues) wins.
 * Thread-safe.
 */
#ifndef FLINKPG_CACHE_H
#define FLINKPG_CACHE_H

#include "watch.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct kstore kstore;
typedef struct kcache kcache;

kcache *kcache_new(void);
void kcache_free(kcache *kc);
/* A store for `resource`.  known_only: keep only objects labelled
 * label_key=label_value (label_value NULL: any value) or read through. */
kstore *kcache_add(kcache *kc, const char *resource, bool known_only, const char *label_key,
                   const char *label_value);
kstore *kcache_store(kcache *kc, const char *resource);

/* The watcher's events (WATCH_LIST_DONE: a complete list was delivered). */
void kstore_event(kstore *s, watch_event ev, const json_t *obj);
bool kstore_synced(kstore *s);
size_t kstore_size(kstore *s);
/* Bytes the store's objects take (deflated, with its dictionary). */
size_t kstore_bytes(kstore *s);

/* A copy of namespace/name, or NULL. */
json_t *kstore_get(kstore *s, const char *ns, const char *name);
/* {"kind": "List", "items": [...]} of the objects in ns with label
 * key=value (value NULL: the key present). */
json_t *kstore_list(kstore *s, const char *ns, const char *key, const char *value);
/* Keep obj (a copy) unless the store holds a newer resourceVersion. */
void kstore_put(kstore *s, const json_t *obj, bool read_through);

/* Requests: "/api/v1/namespaces/ns/secrets/name[/sub][?q]" and
 * "/apis/g/v/namespaces/ns/res/name..." -> parts (empty when absent).
 * false for anything else (cluster-scoped, malformed). */
typedef struct {
    char resource[64], ns[256], name[256], sub[64], selector[512];
    bool is_list;
} kpath_t;
bool kpath_parse(const char *path, kpath_t *p);

/* Used by kubeclient.c: answer a GET from the cache (200 and *out) or -1. */
long kcache_try_get(kcache *kc, const char *path, json_t **out);
/* Like kcache_try_get, and 404 when a synced store that selects the object's
 * kind by our label does not hold it: for our own children only (a child we
 * created is in the store at once, write-through). */
long kcache_lookup_child(kcache *kc, const char *path, json_t **out);
/* Used by kubeclient.c: an object a GET or a write returned. */
void kcache_note(kcache *kc, const char *method, const char *path, const json_t *obj);

#endif
