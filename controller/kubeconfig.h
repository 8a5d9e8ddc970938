/*
 * kubeconfig — where the API server is and how to authenticate to it.
 *
 * Two sources, as client-go has them:
 *   - a kubeconfig file (libyaml): the current context (or a named one) picks
 *     a cluster (server, certificate-authority[-data], insecure-skip-tls-verify)
 *     and a user (client-certificate[-data] + client-key[-data], token,
 *     tokenFile); relative file paths are relative to the kubeconfig's folder;
 *   - in-cluster: KUBERNETES_SERVICE_HOST/PORT, and the service account's
 *     token, ca.crt and namespace files.  The token is a file that the kubelet
 *     rotates: kube_config_token() re-reads it whenever its mtime changes.
 * *-data fields are decoded from base64 and handed to libcurl as blobs, so
 * nothing secret is written to disk.  Nothing in here is ever logged.
 */
#ifndef FLINKPG_KUBECONFIG_H
#define FLINKPG_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct {
    char *data;
    size_t len;
} kube_blob;

typedef struct {
    char *server;  /* https://host:port, no trailing slash */
    char *ca_file; /* PEM file, or NULL */
    kube_blob ca;  /* PEM bytes, or empty */
    bool insecure; /* insecure-skip-tls-verify */
    char *cert_file, *key_file;
    kube_blob cert, key;
    char *token;      /* static bearer token, or NULL */
    char *token_file; /* re-read on change (in-cluster, tokenFile) */
    time_t token_mtime;
    char *namespace; /* context namespace or the service account's; never NULL after load */
    char *context;   /* name of the context used (kubeconfig only) */
} kube_config;

/* Load a kubeconfig file; context NULL means current-context. */
bool kubeconfig_load(const char *path, const char *context, kube_config *cfg, char *err,
                     size_t errlen);
/* Parse kubeconfig text; dir resolves relative paths.  Used by the loader and tests. */
bool kubeconfig_parse(const char *text, size_t len, const char *dir, const char *context,
                      kube_config *cfg, char *err, size_t errlen);
/* As kubectl finds its configuration: path (--kubeconfig, else $KUBECONFIG
 * as the caller passes it), else ~/.kube/config outside a pod, else the
 * in-cluster service account in sa_dir; *from_file says which. */
bool kubeconfig_resolve(const char *path, const char *context, const char *sa_dir, kube_config *cfg,
                        bool *from_file, char *err, size_t errlen);
/* In-cluster: sa_dir is normally /var/run/secrets/kubernetes.io/serviceaccount. */
bool kubeconfig_incluster(const char *sa_dir, kube_config *cfg, char *err, size_t errlen);
/* The bearer token to send now (re-read from token_file when it changed), or
 * NULL when the config authenticates otherwise.  Not thread-safe: one config
 * per client. */
const char *kube_config_token(kube_config *cfg, char *err, size_t errlen);
bool kube_config_copy(kube_config *dst, const kube_config *src);
void kube_config_free(kube_config *cfg);

/* Standard base64 (padding optional).  Returns false on bad input. */
bool base64_decode(const char *in, size_t inlen, kube_blob *out);

#endif
