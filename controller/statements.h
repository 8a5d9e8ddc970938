/*
 * statements — the seam between the reconciler and the Flink statement
 * backends (Apache Flink SQL Gateway, Confluent Cloud SQL API).
 *
 * The reconciler only calls stmt_ensure() (make the run's statements exist
 * and report how they are) and stmt_remove() (the finalizer).  The REST
 * clients live in common/flinkgw and common/confluent, written in parallel;
 * until they are merged, stmt_backend_for() returns a backend that says so
 * (STMT_NOT_WIRED), and the run's StatementsRunning condition stays False
 * with that reason: never a success that did not happen.
 */
#ifndef FLINKPG_STATEMENTS_H
#define FLINKPG_STATEMENTS_H

#include <jansson.h>
#include <stddef.h>

typedef enum {
    STMT_RUNNING,   /* every statement runs */
    STMT_PENDING,   /* submitted, not running yet */
    STMT_FAILED,    /* a statement failed; msg says which and why */
    STMT_ERROR,     /* could not reach the backend; retry */
    STMT_NOT_WIRED, /* this build has no client for the backend */
    STMT_GONE,      /* (remove) nothing left to delete */
} stmt_result;

typedef struct {
    const char *name;
    /* sql: the data of the run's ConfigMap (file name -> SQL).  statements
     * (out) receives [{name, id, phase}] for the status. */
    stmt_result (*ensure)(const json_t *run, const json_t *sql, json_t *statements, char *msg,
                          size_t msglen);
    stmt_result (*remove)(const json_t *run, char *msg, size_t msglen);
} stmt_backend;

const stmt_backend *stmt_backend_for(const char *backend);
const char *stmt_result_reason(stmt_result r);

#endif
