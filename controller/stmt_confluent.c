/*
 * stmt_confluent — the confluent backend of statements.h over
 * common/confluent: one statement resource per SQL statement of the run,
 * named <prefix>-<file>-<n> (stmt_name), created in order, each DDL waiting
 * for COMPLETED before the next is created (later reconciles continue).
 */
#define _POSIX_C_SOURCE 200809L
#include "statements.h"

#include "../common/confluent.h"
#include "../common/log.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A client for the run, its credentials read from the Secret.  *gone is set
 * when the Secret does not exist. */
static confluent *client_for(const stmt_ctx *x, bool *gone, char *msg, size_t msglen)
{
    const char *sec = spec_str(x->run, "flink.confluent.credentialsSecretRef.name", NULL);
    if (!sec) {
        snprintf(msg, msglen, "spec.flink.confluent.credentialsSecretRef is missing");
        return NULL;
    }
    char key[512], secret[512];
    if (!stmt_secret_key(x, sec, "api-key", key, sizeof key, gone, msg, msglen) ||
        !stmt_secret_key(x, sec, "api-secret", secret, sizeof secret, gone, msg, msglen)) {
        memset(secret, 0, sizeof secret);
        return NULL;
    }
    confluent_opts o = {.base_url = x->confluent_url && *x->confluent_url ? x->confluent_url : NULL,
                        .cloud = spec_str(x->run, "flink.confluent.cloud", "aws"),
                        .region = spec_str(x->run, "flink.confluent.region", NULL),
                        .org = spec_str(x->run, "flink.confluent.organization", NULL),
                        .env = spec_str(x->run, "flink.confluent.environment", NULL),
                        .api_key = key,
                        .api_secret = secret,
                        /* the work queue retries with its own backoff: keep one reconcile short */
                        .max_attempts = 4,
                        .backoff_base_ms = 200,
                        .backoff_cap_ms = 2000,
                        .request_timeout_ms = x->timeout_ms};
    confluent *c = confluent_new(&o, msg, msglen);
    memset(secret, 0, sizeof secret);
    return c;
}

/* Did the run's status already list this statement? */
static bool recorded(const json_t *run, const char *name)
{
    size_t i;
    json_t *it;
    json_array_foreach (json_object_get(json_object_get(run, "status"), "statements"), i, it) {
        const char *n = json_string_value(json_object_get(it, "name"));
        if (n && !strcmp(n, name))
            return true;
    }
    return false;
}

static bool phase_is(const char *p, const char *a, const char *b, const char *c)
{
    return p && ((a && !strcmp(p, a)) || (b && !strcmp(p, b)) || (c && !strcmp(p, c)));
}

/* The statement of this name: read, or created when absent.  One found
 * under our name that was never recorded and holds other SQL is not ours:
 * CF_CONFLICT (a recorded one is trusted: a newer controller's templates may
 * differ). */
static confluent_rc get_or_create(const stmt_ctx *x, confluent *cf, const char *name,
                                  const char *sql, const char *const *props, confluent_statement *s,
                                  char *err, size_t errlen)
{
    confluent_rc rc = confluent_get(cf, name, s, err, errlen);
    if (rc == CF_OK && !recorded(x->run, name) && (!s->statement || strcmp(s->statement, sql))) {
        snprintf(err, errlen,
                 "already exists with other SQL (phase %s); it is not this run's: delete it or "
                 "rename the run",
                 s->phase ? s->phase : "?");
        confluent_statement_free(s);
        return CF_CONFLICT;
    }
    if (rc != CF_NOT_FOUND)
        return rc;
    rc = confluent_create(cf, name, sql, spec_str(x->run, "flink.confluent.computePool", NULL),
                          spec_str(x->run, "flink.confluent.principal", NULL), props, s, err,
                          errlen);
    if (rc == CF_OK)
        log_info("statement_created", "run=%s/%s statement=%s", run_namespace(x->run),
                 run_name(x->run), name);
    return rc;
}

/* What the run's statements are, one at a time, in order */
typedef struct {
    size_t running, done, degraded;
    char why[1400];  /* the first that is not running */
    char sick[1400]; /* the first DEGRADED */
} tally;

/* last: the run's final statement (the INSERT); every one before it is DDL
 * and must COMPLETE before the next is created, as the CLI waits */
static stmt_result classify(tally *t, const char *name, const confluent_statement *s, bool last)
{
    const char *ph = s->phase ? s->phase : "PENDING";
    const char *detail = s->detail && *s->detail ? s->detail : NULL;
    if (!last && phase_is(ph, "RUNNING", "DEGRADED", NULL)) {
        snprintf(t->why, sizeof t->why, "statement %s is %s; the next waits until it COMPLETES",
                 name, ph);
        return STMT_PENDING;
    }
    if (phase_is(ph, "DEGRADED", NULL, NULL)) {
        /* running but unhealthy (sql.v1.StatementStatus.phase in the spec,
         * flink-gateway/v1/api/openapi.yaml): not a failure; the next
         * statements are still submitted */
        if (!t->degraded++)
            snprintf(t->sick, sizeof t->sick, "statement %s is DEGRADED: %s", name,
                     detail ? detail : "(no detail)");
        t->running++;
        return STMT_RUNNING;
    }
    if (phase_is(ph, "FAILED", "FAILING", NULL)) {
        snprintf(t->why, sizeof t->why, "statement %s is %s: %s", name, ph,
                 detail ? detail : "(no detail)");
        return STMT_FAILED;
    }
    if (phase_is(ph, "COMPLETED", NULL, NULL)) {
        t->done++;
        return STMT_RUNNING;
    }
    if (phase_is(ph, "RUNNING", NULL, NULL)) {
        t->running++;
        return STMT_RUNNING;
    }
    /* PENDING, STOPPING, STOPPED, DELETING: the next one waits */
    snprintf(t->why, sizeof t->why, "statement %s is %s%s%s", name, ph, detail ? ": " : "",
             detail ? detail : "");
    return STMT_PENDING;
}

static stmt_result cf_ensure(const stmt_ctx *x, const json_t *sql, json_t *statements, char *msg,
                             size_t msglen)
{
    confluent *cf = client_for(x, NULL, msg, msglen);
    if (!cf)
        return STMT_ERROR;
    const char **files = NULL;
    size_t n = 0;
    /* Confluent manages the Kafka connection: no ${kafka_options} there */
    char **all = stmt_render_all(x->run, sql, "", &files, &n, msg, msglen);
    if (!all) {
        confluent_free(cf);
        return STMT_FAILED;
    }
    /* required by the CRD for this backend (the templates' names are unqualified) */
    const char *props[] = {"sql.current-catalog", spec_str(x->run, "flink.confluent.catalog", ""),
                           "sql.current-database", spec_str(x->run, "flink.confluent.database", ""),
                           NULL};
    stmt_result res = STMT_RUNNING;
    size_t idx[2] = {0, 0};
    tally t = {0};
    for (size_t i = 0; i < n && res == STMT_RUNNING; i++) {
        size_t *k = &idx[strcmp(files[i], "sources") ? 1 : 0];
        char name[128], err[1024];
        stmt_name(x->run, files[i], ++*k, name, sizeof name);
        confluent_statement s;
        confluent_rc rc = get_or_create(x, cf, name, all[i], props, &s, err, sizeof err);
        if (rc != CF_OK) {
            snprintf(t.why, sizeof t.why, "statement %s: %s", name, err);
            /* refused (bad request, credentials, a name held by other SQL):
             * retrying the same will not help */
            bool refused = rc == CF_AUTH || rc == CF_CONFLICT ||
                           (rc == CF_ERROR && strstr(err, "HTTP 4") && !strstr(err, "HTTP 429"));
            res = refused ? STMT_FAILED : STMT_ERROR;
            break;
        }
        const char *uid =
            json_string_value(json_object_get(json_object_get(s.raw, "metadata"), "uid"));
        json_array_append_new(statements,
                              json_pack("{s:s, s:s, s:s}", "name", name, "id", uid ? uid : name,
                                        "phase", s.phase ? s.phase : "PENDING"));
        res = classify(&t, name, &s, i + 1 == n);
        confluent_statement_free(&s);
    }
    if (res == STMT_RUNNING && t.degraded) {
        res = STMT_DEGRADED;
        snprintf(msg, msglen, "%s (%zu statement(s) at %s: %zu running, %zu degraded)", t.sick, n,
                 confluent_url(cf), t.running, t.degraded);
    } else if (res == STMT_RUNNING)
        snprintf(msg, msglen, "%zu statement(s) at %s: %zu running, %zu completed", n,
                 confluent_url(cf), t.running, t.done);
    else
        snprintf(msg, msglen, "%s", t.why);
    stmt_free_all(all, files, n);
    confluent_free(cf);
    return res;
}

/* Is name one of this run's: <prefix>-<file>-<digits>? */
static bool ours(const char *prefix, const char *name)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) || name[pl] != '-')
        return false;
    const char *rest = name + pl + 1;
    static const char *files[] = {"sources", "append", "upsert", "retract"};
    for (size_t i = 0; i < 4; i++) {
        size_t fl = strlen(files[i]);
        if (!strncmp(rest, files[i], fl) && rest[fl] == '-' && rest[fl + 1]) {
            const char *d = rest + fl + 1;
            while (*d >= '0' && *d <= '9')
                d++;
            if (!*d)
                return true;
        }
    }
    return false;
}

/* The run's statements in a list of all: to delete, or already DELETING */
typedef struct {
    const char *prefix;
    json_t *names;
    size_t deleting;
} run_statements;

static void collect_ours(const char *name, const char *phase, void *ctx)
{
    run_statements *rs = ctx;
    if (!ours(rs->prefix, name))
        return;
    if (!strcmp(phase, "DELETING")) /* DELETE answered 202 earlier: wait */
        rs->deleting++;
    else
        json_array_append_new(rs->names, json_string(name));
}

static stmt_result cf_remove(const stmt_ctx *x, char *msg, size_t msglen)
{
    bool gone = false;
    confluent *cf = client_for(x, &gone, msg, msglen);
    if (!cf) {
        json_t *recorded = json_object_get(json_object_get(x->run, "status"), "statements");
        if (gone && !json_array_size(recorded)) {
            /* never submitted, and no credentials to look with */
            snprintf(msg, msglen,
                     "no statements recorded and the credentials Secret is gone; "
                     "nothing to delete");
            return STMT_GONE;
        }
        return STMT_ERROR;
    }
    char prefix[96];
    stmt_name_prefix(x->run, prefix, sizeof prefix);
    /* every statement of the run, listed (a status write may have been lost) */
    run_statements rs = {.prefix = prefix, .names = json_array()};
    json_t *names = rs.names;
    char err[1024];
    stmt_result res = STMT_GONE;
    if (confluent_each(cf, collect_ours, &rs, err, sizeof err) != CF_OK) {
        snprintf(msg, msglen, "listing statements: %s", err);
        res = STMT_ERROR;
    }
    size_t deleting = rs.deleting;
    size_t deleted = 0;
    /* the sink INSERT before the source tables: from the end */
    for (size_t i = json_array_size(names); res == STMT_GONE && i-- > 0;) {
        const char *nm = json_string_value(json_array_get(names, i));
        if (confluent_delete(cf, nm, err, sizeof err) != CF_OK) {
            snprintf(msg, msglen, "deleting statement %s: %s", nm, err);
            res = STMT_ERROR;
        } else {
            deleted++;
            log_info("statement_deleted", "run=%s/%s statement=%s", run_namespace(x->run),
                     run_name(x->run), nm);
        }
    }
    /* DELETE answers 202 ("A Statement is being deleted", deleteSqlv1Statement
     * in the spec) and the statement stays DELETING for a while: the run is
     * clean once a list shows none of its statements */
    if (res == STMT_GONE && (deleted || deleting)) {
        snprintf(msg, msglen, "%zu statement(s) deleting at %s", deleted + deleting,
                 confluent_url(cf));
        res = STMT_PENDING;
    } else if (res == STMT_GONE)
        snprintf(msg, msglen, "no statement of the run left at %s", confluent_url(cf));
    json_decref(names);
    confluent_free(cf);
    return res;
}

const stmt_backend stmt_confluent_backend = {"confluent", cf_ensure, cf_remove};
