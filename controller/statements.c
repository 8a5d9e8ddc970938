/*
 * statements — see statements.h: backend selection, the result reasons, and
 * what both backends share (names, Secrets, rendering the ConfigMap's SQL).
 * The backends: stmt_confluent.c, stmt_gateway.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "statements.h"

#include "../common/xalloc.h"
#include "../common/confluent.h"
#include "../common/sqltmpl.h"
#include "../common/strbuf.h"
#include "render.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const stmt_backend *stmt_backend_for(const char *backend)
{
    return backend && !strcmp(backend, "confluent") ? &stmt_confluent_backend
                                                    : &stmt_gateway_backend;
}

const char *stmt_result_reason(stmt_result r)
{
    switch (r) {
    case STMT_RUNNING:
        return "Running";
    case STMT_PENDING:
        return "Pending";
    case STMT_DEGRADED:
        return "StatementDegraded";
    case STMT_FAILED:
        return "StatementFailed";
    case STMT_ERROR:
        return "BackendUnreachable";
    case STMT_NOT_WIRED:
        return "BackendNotWired";
    case STMT_GONE:
        return "Deleted";
    }
    return "Unknown";
}

void stmt_name_prefix(const json_t *run, char *out, size_t n)
{
    char full[600];
    snprintf(full, sizeof full, "flinkpg-%s-%s", run_namespace(run), run_name(run));
    size_t len = 0;
    for (const char *p = full; *p && len + 1 < sizeof full; p++)
        full[len++] = *p == '.' || *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    full[len] = 0;
    confluent_fit_name(full, "", STMT_PREFIX_MAX, out, n);
}

void stmt_name(const json_t *run, const char *file, size_t index, char *out, size_t n)
{
    char prefix[96];
    stmt_name_prefix(run, prefix, sizeof prefix);
    snprintf(out, n, "%s-%s-%zu", prefix, file, index);
}

bool stmt_secret_key(const stmt_ctx *x, const char *secret, const char *key, char *out, size_t n,
                     bool *missing, char *msg, size_t msglen)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", run_namespace(x->run), secret);
    json_t *s = NULL;
    long st = kube_get(x->kc, path, &s, err, sizeof err);
    if (missing)
        *missing = st == 404;
    if (st != 200) {
        json_decref(s);
        snprintf(msg, msglen, "reading Secret %s: %s", secret, err);
        return false;
    }
    const char *b64 = json_string_value(json_object_get(json_object_get(s, "data"), key));
    kube_blob v = {0};
    bool ok = b64 && base64_decode(b64, strlen(b64), &v) && v.len > 0 && v.len < n;
    if (ok)
        snprintf(out, n, "%.*s", (int)v.len, v.data);
    else
        snprintf(msg, msglen, "Secret %s has no usable key %s", secret, key);
    if (v.data)
        memset(v.data, 0, v.len);
    free(v.data);
    json_decref(s);
    return ok;
}

char *stmt_kafka_options(const stmt_ctx *x, char *msg, size_t msglen)
{
    const char *proto = spec_str(x->run, "kafka.securityProtocol", "PLAINTEXT");
    if (strncmp(proto, "SASL", 4))
        return strdup("");
    const char *sec = spec_str(x->run, "kafka.credentialsSecretRef.name", NULL);
    if (!sec) {
        snprintf(msg, msglen, "spec.kafka.credentialsSecretRef is required with %s", proto);
        return NULL;
    }
    char user[512], pass[512];
    if (!stmt_secret_key(x, sec, "api-key", user, sizeof user, NULL, msg, msglen) ||
        !stmt_secret_key(x, sec, "api-secret", pass, sizeof pass, NULL, msg, msglen)) {
        memset(pass, 0, sizeof pass);
        return NULL;
    }
    char why[128];
    char *out =
        stmt_sasl_options(proto, run_kafka_sasl_mechanism(x->run), user, pass, why, sizeof why);
    memset(pass, 0, sizeof pass);
    if (!out)
        snprintf(msg, msglen, "Secret %s: %s", sec, why);
    return out;
}

/* v as it must appear inside a JAAS double-quoted value that itself sits in
 * a SQL string literal: '\\' and '"' backslash-escaped (JAAS), '\'' doubled (SQL) */
static void sasl_escape(strbuf *sb, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            sb_putc(sb, '\\');
        if (*v == '\'')
            sb_putc(sb, '\'');
        sb_putc(sb, *v);
    }
}

char *stmt_sasl_options(const char *proto, const char *mechanism, const char *user,
                        const char *pass, char *msg, size_t msglen)
{
    /* the login module goes with the mechanism (Kafka's own classes,
     * unshaded: see sql/flink/sources.sql) */
    bool scram = !strncmp(mechanism, "SCRAM-", 6);
    /* a line break would end the JAAS value and the statement split alike */
    if (strpbrk(user, "\r\n") || strpbrk(pass, "\r\n")) {
        snprintf(msg, msglen, "api-key or api-secret holds a line break");
        return NULL;
    }
    strbuf sb;
    sb_init(&sb);
    sb_printf(&sb,
              "'properties.security.protocol' = '%s',\n  'properties.sasl.mechanism' = '%s',\n"
              "  'properties.sasl.jaas.config' = 'org.apache.kafka.common.security.%s "
              "required username=\"",
              proto, mechanism, scram ? "scram.ScramLoginModule" : "plain.PlainLoginModule");
    sasl_escape(&sb, user);
    sb_puts(&sb, "\" password=\"");
    sasl_escape(&sb, pass);
    sb_puts(&sb, "\";',");
    return sb_steal(&sb);
}

char **stmt_render_all(const json_t *run, const json_t *sql, const char *kafka_options,
                       const char ***files, size_t *count, char *msg, size_t msglen)
{
    const char *names[] = {"sources", spec_str(run, "mode", "append")};
    char **all = NULL;
    const char **fl = NULL;
    size_t nall = 0;
    for (size_t f = 0; f < 2; f++) {
        char key[64];
        snprintf(key, sizeof key, "%s.sql", names[f]);
        const char *text = json_string_value(json_object_get(sql, key));
        if (!text) {
            snprintf(msg, msglen, "the SQL ConfigMap has no %s", key);
            goto fail;
        }
        /* only ${kafka_options} can be left by render_sql.c; anything else is
         * reported by sqltmpl_render as an unknown placeholder */
        const char *vars[] = {"kafka_options", kafka_options ? kafka_options : "", NULL};
        size_t n = 0;
        char **st = sqltmpl_statements(key, text, kafka_options ? vars : vars + 2, &n, msg, msglen);
        if (!st)
            goto fail;
        all = xrealloc(all, (nall + n + 1) * sizeof *all);
        fl = xrealloc(fl, (nall + n + 1) * sizeof *fl);
        for (size_t i = 0; i < n; i++) {
            all[nall] = st[i];
            fl[nall++] = names[f];
        }
        free(st);
    }
    if (!nall) {
        snprintf(msg, msglen, "the SQL ConfigMap holds no statement");
        goto fail;
    }
    *files = fl;
    *count = nall;
    return all;
fail:
    stmt_free_all(all, fl, nall);
    return NULL;
}

void stmt_free_all(char **list, const char **files, size_t count)
{
    sqltmpl_free_list(list, count); /* wipes them */
    free(files);
}
