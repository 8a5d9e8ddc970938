/*
 * kubeclient — the Kubernetes REST API over libcurl + jansson.
 *
 * One kube_client holds one curl handle (connection reuse, TLS session) and
 * its own copy of the configuration; it is used by one thread at a time, so
 * each thread (watchers, worker, lease) makes its own.  Every call returns
 * the HTTP status, or -1 when no response came (connection refused, TLS,
 * timeout); on anything but 2xx, err holds "METHOD path: <status> <the
 * API server's Status.message>" or curl's message, ready to log.
 *
 * Writes use server-side apply: kube_apply() PATCHes with content type
 * application/apply-patch+yaml (JSON is YAML), fieldManager=flinkpg and
 * force=true, so the controller owns exactly the fields it sets and takes
 * them back after a hand edit.
 */
#ifndef FLINKPG_KUBECLIENT_H
#define FLINKPG_KUBECLIENT_H

#include "kubeconfig.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define KUBE_FIELD_MANAGER "flinkpg"

typedef struct kube_client kube_client;

kube_client *kube_client_new(const kube_config *cfg, char *err, size_t errlen);
void kube_client_free(kube_client *kc);
const kube_config *kube_client_config(const kube_client *kc);
/* GETs answered from the informer caches, written objects kept there
 * (cache.h); NULL (the default): every call goes to the API server. */
typedef struct kcache kcache;
void kube_client_set_cache(kube_client *kc, kcache *cache);
/* GET of one of the controller's own children: from the cache, where a
 * synced cache without it answers 404 without asking; else the API server. */
long kube_get_child(kube_client *kc, const char *path, json_t **out, char *err, size_t errlen);
/* Set by the owner to abort a transfer in progress (SIGTERM). */
void kube_client_set_stop(kube_client *kc, volatile int *stop);

/* A request with an optional JSON body; *out (if out) receives the parsed
 * response body or NULL. */
long kube_request(kube_client *kc, const char *method, const char *path, const char *content_type,
                  const json_t *body, json_t **out, char *err, size_t errlen);

long kube_get(kube_client *kc, const char *path, json_t **out, char *err, size_t errlen);
long kube_apply(kube_client *kc, const char *path, const json_t *obj, json_t **out, char *err,
                size_t errlen);
long kube_merge_patch(kube_client *kc, const char *path, const json_t *patch, json_t **out,
                      char *err, size_t errlen);
long kube_create(kube_client *kc, const char *path, const json_t *obj, json_t **out, char *err,
                 size_t errlen);
long kube_put(kube_client *kc, const char *path, const json_t *obj, json_t **out, char *err,
              size_t errlen);
/* DELETE with propagationPolicy=Background. */
long kube_delete(kube_client *kc, const char *path, char *err, size_t errlen);

/* A streaming GET (watch): every received chunk goes to on_data, which
 * returns false to stop.  Returns the HTTP status or -1; a transfer stopped
 * by on_data or by the stop flag returns the status seen so far. */
typedef bool (*kube_data_fn)(const char *data, size_t len, void *ctx);
long kube_stream(kube_client *kc, const char *path, long timeout_s, kube_data_fn on_data, void *ctx,
                 char *err, size_t errlen);

#endif
