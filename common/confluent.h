/*
 * confluent — a client for Confluent Cloud's Flink statements API ("SQL API
 * v1", published OpenAPI spec; the stand-in in tests/tools/confluent_standin.c
 * is written from the same spec).
 *
 * How the API works: a *statement* is a named resource in an environment,
 *   {base}/sql/v1/organizations/{org}/environments/{env}/statements[/{name}]
 * with base = https://flink.{region}.{cloud}.confluent.cloud.  Requests use
 * HTTP Basic with a Flink API key and secret.
 *   POST   …/statements        {"name", "spec": {"statement", "compute_pool_id",
 *                               "principal", "properties": {"sql.current-catalog": …,
 *                               "sql.current-database": …}}}  → the Statement
 *   GET    …/statements/{name} → {"name", "metadata": {"resource_version", …},
 *                               "spec": {…, "stopped"}, "status": {"phase", "detail"}}
 *   PUT    …/statements/{name} the whole Statement back with spec.stopped changed
 *                               (metadata.resource_version guards against lost
 *                               updates: a stale one answers 409)
 *   DELETE …/statements/{name}
 *   GET    …/statements?page_size=&page_token= → {"data": [...], "metadata":
 *                               {"next": URL with the next page_token}}
 * Phases: PENDING, RUNNING, COMPLETED, DEGRADED, FAILING, FAILED, STOPPING,
 * STOPPED, DELETING.  Errors answer {"errors": [{"status", "code", "title",
 * "detail"}]}; messages here carry title and detail.
 *
 * Retries: 429 and 5xx are retried with exponential backoff (full jitter),
 * waiting at least what Retry-After asks; a PUT's 409 (a stale
 * metadata.resource_version) is retried after reading the statement again.
 * A POST's 409 is not retried: the name exists, and confluent_create adopts
 * the statement when it holds the same SQL (our own POST whose answer was
 * lost) and reports a conflict when it does not.  Names are checked before
 * anything is sent: lowercase letters, digits and '-', starting with a letter
 * or digit, not ending with '-', at most 72 characters (Confluent Cloud's
 * limit for statement names: docs.confluent.io/cloud/current/flink/concepts/
 * statements.html, "Statement name").  The secret never appears in a log
 * line or an error.
 *
 * Codes (the spec): POST answers 201 with the Statement, DELETE 202 after
 * which the statement is DELETING until it is gone (404), PUT needs
 * metadata.resource_version.
 */
#ifndef FLINKPG_CONFLUENT_H
#define FLINKPG_CONFLUENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct confluent confluent;

typedef struct {
    const char *base_url; /* overrides https://flink.<region>.<cloud>.confluent.cloud */
    const char *cloud, *region;
    const char *org, *env; /* organization id, environment id */
    const char *api_key, *api_secret;
    int max_attempts;         /* per call, default 6 */
    unsigned backoff_base_ms; /* default 500 */
    unsigned backoff_cap_ms;  /* default 30000 */
    long request_timeout_ms;  /* each HTTP request, default 30000 */
} confluent_opts;

typedef enum {
    CF_OK = 0,
    CF_ERROR = -1,     /* transport, decoding, validation, or a non-retryable HTTP error */
    CF_NOT_FOUND = -2, /* 404 */
    CF_CONFLICT = -3,  /* 409: a create whose name holds other SQL; a PUT after every retry */
    CF_AUTH = -4,      /* 401/403 */
} confluent_rc;

typedef struct {
    char *name, *phase, *detail, *statement, *compute_pool_id, *principal;
    bool stopped;
    json_t *raw; /* the whole Statement as answered */
} confluent_statement;

void confluent_statement_free(confluent_statement *s);
/* The parts of a Statement (an API answer) into *s (freed with the above). */
void confluent_statement_parse(json_t *j, confluent_statement *s);
/* "HTTP <status> <title>: <detail>; …" from an error answer's Failure body. */
void confluent_failure_message(long status, const char *body, char *out, size_t outlen);
/* The page_token of a list answer's metadata.next URL (malloc'd), or NULL. */
char *confluent_page_token(const char *next);

confluent *confluent_new(const confluent_opts *o, char *err, size_t errlen);
void confluent_free(confluent *c);
/* The collection URL, for messages. */
const char *confluent_url(const confluent *c);

#define CONFLUENT_NAME_MAX 72

bool confluent_valid_name(const char *name, char *err, size_t errlen);
/* base + suffix when it fits in max (<= CONFLUENT_NAME_MAX) characters, else
 * base cut + '-' + 8 hex of a hash of the whole base + suffix: deterministic,
 * and distinct bases stay distinct. */
void confluent_fit_name(const char *base, const char *suffix, size_t max, char *out, size_t n);

/* props: NULL-terminated alternating keys and values, may be NULL.  A name
 * that exists with the same SQL is adopted (CF_OK, *out filled); with other
 * SQL it is CF_CONFLICT. */
confluent_rc confluent_create(confluent *c, const char *name, const char *statement,
                              const char *compute_pool_id, const char *principal,
                              const char *const *props, confluent_statement *out, char *err,
                              size_t errlen);
confluent_rc confluent_get(confluent *c, const char *name, confluent_statement *out, char *err,
                           size_t errlen);
/* stopped=true stops, false resumes. */
confluent_rc confluent_set_stopped(confluent *c, const char *name, bool stopped, char *err,
                                   size_t errlen);
/* A statement already gone counts as deleted. */
confluent_rc confluent_delete(confluent *c, const char *name, char *err, size_t errlen);
/* One page: *items receives the data array (caller decrefs), *next_token the
 * token of the next page or NULL at the end (caller frees). page_token may be NULL. */
confluent_rc confluent_list(confluent *c, int page_size, const char *page_token, json_t **items,
                            char **next_token, char *err, size_t errlen);

/* Every statement of the environment, page after page: fn(name, phase). */
typedef void (*confluent_each_fn)(const char *name, const char *phase, void *ctx);
confluent_rc confluent_each(confluent *c, confluent_each_fn fn, void *ctx, char *err,
                            size_t errlen);

#endif
