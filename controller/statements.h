/*
 * statements — the seam between the reconciler and the Flink statement
 * backends (Apache Flink SQL Gateway, Confluent Cloud SQL API).
 *
 * The reconciler only calls ensure() (make the run's statements exist and
 * report how they are) and remove() (the finalizer).  The REST clients are
 * common/flinkgw (gateway) and common/confluent (confluent):
 *
 *   confluent  one statement resource per SQL statement of the ConfigMap,
 *              named stmt_name(): GET, 404 -> create; a DDL statement must
 *              COMPLETE before the next one is created.  remove() deletes
 *              every statement of the run (listed by name).
 *   gateway    one session runs sources.sql + <mode>.sql; the INSERT's job
 *              id goes to status.statements, and later reconciles ask the
 *              JobManager about that job instead of submitting again (a job
 *              of the run's name already running is adopted, so a lost
 *              status write cannot make a second job).  remove() cancels it.
 *
 * Credentials (the Flink API key of Confluent, the Kafka SASL key for
 * ${kafka_options}) are read from the run's Secrets at call time, used, and
 * wiped; they never reach the ConfigMap, the status, a log line or an event.
 */
#ifndef FLINKPG_STATEMENTS_H
#define FLINKPG_STATEMENTS_H

#include "kubeclient.h"

#include <jansson.h>
#include <stddef.h>

typedef enum {
    STMT_RUNNING,   /* every statement runs */
    STMT_PENDING,   /* submitted, not running yet */
    STMT_DEGRADED,  /* all run, one DEGRADED (running, unhealthy); msg says which */
    STMT_FAILED,    /* a statement failed; msg says which and why */
    STMT_ERROR,     /* could not reach the backend (or read its Secret); retry */
    STMT_NOT_WIRED, /* this build has no client for the backend */
    STMT_GONE,      /* (remove) nothing left to delete */
} stmt_result;

/* What a backend may use besides the run. */
typedef struct {
    kube_client *kc;           /* to read the run's Secrets */
    const char *confluent_url; /* overrides https://flink.<region>.<cloud>.confluent.cloud */
    const json_t *run;
    long timeout_ms; /* each call to the backend (0: the client's default) */
} stmt_ctx;

typedef struct {
    const char *name;
    /* sql: the data of the run's ConfigMap (file name -> SQL).  statements
     * (out) receives [{name, id, phase}] for the status. */
    stmt_result (*ensure)(const stmt_ctx *x, const json_t *sql, json_t *statements, char *msg,
                          size_t msglen);
    stmt_result (*remove)(const stmt_ctx *x, char *msg, size_t msglen);
} stmt_backend;

const stmt_backend *stmt_backend_for(const char *backend);
const char *stmt_result_reason(stmt_result r);

/* ---- shared by the backends (statements.c) ---- */

/* "flinkpg-<namespace>-<name>" made a valid Confluent name prefix: lowercase,
 * '.' -> '-', at most STMT_PREFIX_MAX characters (longer ones: cut + '-' + 8
 * hex of a hash of the whole), deterministic.  60 leaves room for
 * "-retract-999" within Confluent's 72 (common/confluent.h). */
#define STMT_PREFIX_MAX 60
void stmt_name_prefix(const json_t *run, char *out, size_t n);
/* <prefix>-<file>-<index> (index from 1). */
void stmt_name(const json_t *run, const char *file, size_t index, char *out, size_t n);

/* Read key from Secret name in the run's namespace into out (NUL-terminated);
 * false with msg set (the key's value never). 404 sets *missing when given. */
bool stmt_secret_key(const stmt_ctx *x, const char *secret, const char *key, char *out, size_t n,
                     bool *missing, char *msg, size_t msglen);

/* The ${kafka_options} text for SASL runs ("" otherwise) -- contains the
 * Kafka secret: wipe and free it.  NULL with msg set on failure. */
char *stmt_kafka_options(const stmt_ctx *x, char *msg, size_t msglen);

/* The same text from its parts, the credentials escaped for the JAAS value
 * and the SQL literal around it (a quote in a secret cannot end either); a
 * line break in them is refused: NULL with msg set.  mechanism: PLAIN,
 * SCRAM-SHA-256 or SCRAM-SHA-512 (spec.kafka.saslMechanism), which also
 * picks the JAAS login module. */
char *stmt_sasl_options(const char *proto, const char *mechanism, const char *user,
                        const char *pass, char *msg, size_t msglen);

/* Render every statement of the ConfigMap's sources.sql then <mode>.sql
 * with ${kafka_options} (which may be NULL: then it must not appear).
 * files[i] receives the file ("sources" or the mode) of statement i.  Free
 * with sqltmpl_free_list (the strings may hold credentials: wiped first). */
char **stmt_render_all(const json_t *run, const json_t *sql, const char *kafka_options,
                       const char ***files, size_t *count, char *msg, size_t msglen);
void stmt_free_all(char **list, const char **files, size_t count);

extern const stmt_backend stmt_confluent_backend;
extern const stmt_backend stmt_gateway_backend;

#endif
