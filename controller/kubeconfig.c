/*
 * kubeconfig — see kubeconfig.h.  The file is loaded with libyaml's document
 * API into a node tree and walked with two small helpers: map_get (a key of
 * a mapping) and named (the entry of a clusters/users/contexts list whose
 * `name` matches).
 */
#define _POSIX_C_SOURCE 200809L
#include "kubeconfig.h"

#include "../common/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "opening %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        snprintf(err, errlen, "reading %s: %s", path, bad ? "read error" : "out of memory");
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

bool base64_decode(const char *in, size_t inlen, kube_blob *out)
{
    static const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out->data = malloc(inlen / 4 * 3 + 4);
    out->len = 0;
    if (!out->data)
        return false;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < inlen; i++) {
        char c = in[i];
        if (c == '=' || c == '\n' || c == '\r' || c == ' ')
            continue;
        const char *p = c ? strchr(alpha, c) : NULL;
        if (!p) {
            free(out->data);
            out->data = NULL;
            return false;
        }
        acc = (acc << 6) | (unsigned)(p - alpha);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (char)((acc >> bits) & 0xff);
        }
    }
    out->data[out->len] = '\0';
    return true;
}

/* ---- libyaml document helpers ---- */

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static const char *scalar(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_t *n = map_get(d, map, key);
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The `inner` mapping (cluster/user/context) of the list entry named name. */
static yaml_node_t *named(yaml_document_t *d, yaml_node_t *root, const char *list,
                          const char *inner, const char *name)
{
    yaml_node_t *seq = map_get(d, root, list);
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
         i++) {
        yaml_node_t *e = yaml_document_get_node(d, *i);
        const char *n = scalar(d, e, "name");
        if (n && !strcmp(n, name))
            return map_get(d, e, inner);
    }
    return NULL;
}

static char *resolve(const char *dir, const char *path)
{
    if (!path || !*path)
        return NULL;
    if (path[0] == '/' || !dir)
        return strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, path);
    return s;
}

static bool decode_field(yaml_document_t *d, yaml_node_t *m, const char *key, kube_blob *out,
                         char *err, size_t errlen)
{
    const char *v = scalar(d, m, key);
    if (!v)
        return true;
    if (!base64_decode(v, strlen(v), out)) {
        snprintf(err, errlen, "kubeconfig: %s is not valid base64", key);
        return false;
    }
    return true;
}

/* The user's credentials: client certificate and key (files or data), a
 * token or a token file; exec/auth-provider plugins are refused. */
static bool read_user(yaml_document_t *d, yaml_node_t *us, const char *uname, const char *dir,
                      kube_config *cfg, char *err, size_t errlen)
{
    if (us) {
        cfg->cert_file = resolve(dir, scalar(d, us, "client-certificate"));
        cfg->key_file = resolve(dir, scalar(d, us, "client-key"));
        if (!decode_field(d, us, "client-certificate-data", &cfg->cert, err, errlen) ||
            !decode_field(d, us, "client-key-data", &cfg->key, err, errlen))
            return false;
        const char *tok = scalar(d, us, "token");
        if (tok && *tok)
            cfg->token = xstrdup(tok);
        cfg->token_file = resolve(dir, scalar(d, us, "tokenFile"));
        if (map_get(d, us, "exec") || map_get(d, us, "auth-provider")) {
            snprintf(err, errlen,
                     "kubeconfig: user %s uses exec/auth-provider credentials, "
                     "which flinkpg-controller does not run; use a token or a "
                     "client certificate",
                     uname);
            return false;
        }
    }
    if ((cfg->cert_file || cfg->cert.data) != (cfg->key_file || cfg->key.data)) {
        snprintf(err, errlen,
                 "kubeconfig: user %s has a client certificate without a key "
                 "or a key without a certificate",
                 uname ? uname : "");
        return false;
    }
    return true;
}

bool kubeconfig_parse(const char *text, size_t len, const char *dir, const char *context,
                      kube_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    yaml_parser_t p;
    yaml_document_t d;
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "kubeconfig: libyaml initialisation failed");
        return false;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &d)) {
        snprintf(err, errlen, "kubeconfig: YAML error at line %zu: %s", p.problem_mark.line + 1,
                 p.problem ? p.problem : "unknown");
        yaml_parser_delete(&p);
        return false;
    }
    yaml_parser_delete(&p);
    bool ok = false;
    yaml_node_t *root = yaml_document_get_root_node(&d);
    const char *ctxname = context ? context : scalar(&d, root, "current-context");
    if (!ctxname || !*ctxname) {
        snprintf(err, errlen, "kubeconfig: no current-context (and no --context given)");
        goto out;
    }
    yaml_node_t *ctx = named(&d, root, "contexts", "context", ctxname);
    if (!ctx) {
        snprintf(err, errlen, "kubeconfig: context %s not found", ctxname);
        goto out;
    }
    const char *cname = scalar(&d, ctx, "cluster"), *uname = scalar(&d, ctx, "user");
    yaml_node_t *cl = cname ? named(&d, root, "clusters", "cluster", cname) : NULL;
    if (!cl) {
        snprintf(err, errlen, "kubeconfig: cluster %s of context %s not found",
                 cname ? cname : "(none)", ctxname);
        goto out;
    }
    yaml_node_t *us = uname ? named(&d, root, "users", "user", uname) : NULL;
    if (uname && !us) {
        snprintf(err, errlen, "kubeconfig: user %s of context %s not found", uname, ctxname);
        goto out;
    }
    const char *server = scalar(&d, cl, "server");
    if (!server || strncmp(server, "http", 4)) {
        snprintf(err, errlen, "kubeconfig: cluster %s has no http(s) server", cname);
        goto out;
    }
    cfg->server = xstrdup(server);
    size_t sl = strlen(cfg->server);
    while (sl > 0 && cfg->server[sl - 1] == '/')
        cfg->server[--sl] = '\0';
    cfg->context = xstrdup(ctxname);
    const char *ns = scalar(&d, ctx, "namespace");
    cfg->namespace = xstrdup(ns && *ns ? ns : "default");
    const char *insecure = scalar(&d, cl, "insecure-skip-tls-verify");
    cfg->insecure = insecure && !strcmp(insecure, "true");
    cfg->ca_file = resolve(dir, scalar(&d, cl, "certificate-authority"));
    if (!decode_field(&d, cl, "certificate-authority-data", &cfg->ca, err, errlen))
        goto out;
    if (!read_user(&d, us, uname, dir, cfg, err, errlen))
        goto out;
    ok = true;
out:
    yaml_document_delete(&d);
    if (!ok)
        kube_config_free(cfg);
    return ok;
}

bool kubeconfig_load(const char *path, const char *context, kube_config *cfg, char *err,
                     size_t errlen)
{
    size_t len;
    char *text = read_file(path, &len, err, errlen);
    if (!text)
        return false;
    char *dir = strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *slash = '\0';
    bool ok = kubeconfig_parse(text, len, slash ? dir : ".", context, cfg, err, errlen);
    if (!ok) {
        /* prefix the file name */
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, errlen, "%s: %s", path, tmp);
    }
    free(dir);
    free(text);
    return ok;
}

bool kubeconfig_incluster(const char *sa_dir, kube_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port) {
        snprintf(err, errlen,
                 "in-cluster configuration: KUBERNETES_SERVICE_HOST and "
                 "KUBERNETES_SERVICE_PORT are not set (not running in a pod? "
                 "pass --kubeconfig, set KUBECONFIG or create ~/.kube/config)");
        return false;
    }
    char buf[600];
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, sizeof buf, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    cfg->server = strdup(buf);
    snprintf(buf, sizeof buf, "%s/token", sa_dir);
    cfg->token_file = strdup(buf);
    snprintf(buf, sizeof buf, "%s/ca.crt", sa_dir);
    cfg->ca_file = strdup(buf);
    snprintf(buf, sizeof buf, "%s/namespace", sa_dir);
    char ignored[256];
    char *ns = read_file(buf, NULL, ignored, sizeof ignored);
    if (ns)
        ns[strcspn(ns, " \r\n")] = '\0';
    cfg->namespace = ns && *ns ? ns : strdup("default");
    if (ns && !*ns)
        free(ns);
    if (!cfg->server || !cfg->token_file || !cfg->ca_file || !cfg->namespace) {
        snprintf(err, errlen, "in-cluster configuration: out of memory");
        kube_config_free(cfg);
        return false;
    }
    if (!kube_config_token(cfg, err, errlen)) {
        kube_config_free(cfg);
        return false;
    }
    return true;
}

const char *kube_config_token(kube_config *cfg, char *err, size_t errlen)
{
    if (!cfg->token_file)
        return cfg->token;
    struct stat st;
    if (stat(cfg->token_file, &st) != 0) {
        snprintf(err, errlen, "service account token %s: %s", cfg->token_file, strerror(errno));
        return cfg->token; /* keep using the last one we read, if any */
    }
    if (cfg->token && st.st_mtime == cfg->token_mtime)
        return cfg->token;
    char *t = read_file(cfg->token_file, NULL, err, errlen);
    if (!t)
        return cfg->token;
    t[strcspn(t, "\r\n")] = '\0';
    free(cfg->token);
    cfg->token = t;
    cfg->token_mtime = st.st_mtime;
    return cfg->token;
}

static bool dup_blob(kube_blob *d, const kube_blob *s)
{
    d->len = s->len;
    d->data = NULL;
    if (!s->data)
        return true;
    d->data = malloc(s->len + 1);
    if (!d->data)
        return false;
    memcpy(d->data, s->data, s->len + 1);
    return true;
}

#define DUPS(f) (dst->f = src->f ? strdup(src->f) : NULL, !src->f || dst->f)

bool kube_config_copy(kube_config *dst, const kube_config *src)
{
    memset(dst, 0, sizeof *dst);
    dst->insecure = src->insecure;
    dst->token_mtime = src->token_mtime;
    bool ok = DUPS(server) && DUPS(ca_file) && DUPS(cert_file) && DUPS(key_file) && DUPS(token) &&
              DUPS(token_file) && DUPS(namespace) && DUPS(context) &&
              dup_blob(&dst->ca, &src->ca) && dup_blob(&dst->cert, &src->cert) &&
              dup_blob(&dst->key, &src->key);
    if (!ok)
        kube_config_free(dst);
    return ok;
}

static void wipe(char *s, size_t n)
{
    if (s) {
        volatile char *v = s;
        while (n--)
            *v++ = 0;
    }
}

void kube_config_free(kube_config *cfg)
{
    if (cfg->token)
        wipe(cfg->token, strlen(cfg->token));
    wipe(cfg->key.data, cfg->key.len);
    free(cfg->server);
    free(cfg->ca_file);
    free(cfg->ca.data);
    free(cfg->cert_file);
    free(cfg->key_file);
    free(cfg->cert.data);
    free(cfg->key.data);
    free(cfg->token);
    free(cfg->token_file);
    free(cfg->namespace);
    free(cfg->context);
    memset(cfg, 0, sizeof *cfg);
}

bool kubeconfig_resolve(const char *path, const char *context, const char *sa_dir, kube_config *cfg,
                        bool *from_file, char *err, size_t errlen)
{
    char home_cfg[512];
    const char *home = getenv("HOME");
    const char *in_pod = getenv("KUBERNETES_SERVICE_HOST");
    if ((!path || !*path) && (!in_pod || !*in_pod) && home && *home) {
        snprintf(home_cfg, sizeof home_cfg, "%s/.kube/config", home);
        if (access(home_cfg, F_OK) == 0)
            path = home_cfg;
    }
    *from_file = path && *path;
    return *from_file ? kubeconfig_load(path, context, cfg, err, errlen)
                      : kubeconfig_incluster(sa_dir, cfg, err, errlen);
}
