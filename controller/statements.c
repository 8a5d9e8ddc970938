/*
 * statements — see statements.h.  Only the placeholder backend lives here
 * for now: it submits nothing and says so.  Wiring a real client means
 * adding a stmt_backend next to it and returning it from stmt_backend_for().
 */
#include "statements.h"

#include <stdio.h>
#include <string.h>

static stmt_result unwired_ensure(const json_t *run, const json_t *sql, json_t *statements,
                                  char *msg, size_t msglen)
{
    (void)run, (void)sql, (void)statements;
    snprintf(msg, msglen, "this build of flinkpg-controller has no statement client for this "
                          "backend yet: the SQL is rendered into the ConfigMap but not submitted");
    return STMT_NOT_WIRED;
}

static stmt_result unwired_remove(const json_t *run, char *msg, size_t msglen)
{
    (void)run;
    snprintf(msg, msglen, "no statements were submitted by this build; nothing to delete");
    return STMT_GONE;
}

static const stmt_backend gateway_unwired = {"gateway", unwired_ensure, unwired_remove};
static const stmt_backend confluent_unwired = {"confluent", unwired_ensure, unwired_remove};

const stmt_backend *stmt_backend_for(const char *backend)
{
    return backend && !strcmp(backend, "confluent") ? &confluent_unwired : &gateway_unwired;
}

const char *stmt_result_reason(stmt_result r)
{
    switch (r) {
    case STMT_RUNNING: return "Running";
    case STMT_PENDING: return "Pending";
    case STMT_FAILED: return "StatementFailed";
    case STMT_ERROR: return "BackendUnreachable";
    case STMT_NOT_WIRED: return "BackendNotWired";
    case STMT_GONE: return "Deleted";
    }
    return "Unknown";
}
