/*
 * status — see status.h.
 *
 * The DemoRun's conditions (computed in reconcile_demorun.c):
 *
 *   PostgresReady      the in-cluster StatefulSet has a ready replica; for
 *                      spec.postgres.existingSecretRef: the server answers a query
 *                      (ExternalServerReachable / ExternalServerUnreachable)
 *   StatementsRunning  the Flink statements run (statements.h)
 *   GeneratorComplete  the generator's Job is Complete (False/JobFailed when failed)
 *   SinkReady          the sink Deployment has all its replicas available
 *   Validated          orders_shipments compared with expected_orders_shipments
 *                      (validation.h), only once GeneratorComplete and SinkReady
 *                      are True: True/Pass, False/Fail (the numbers in the
 *                      message and in status.validation / status.rows),
 *                      Unknown/ValidationError (PostgreSQL unreachable, a table
 *                      missing: retried on every resync), Unknown/WaitingFor*.
 *                      A FAIL is re-checked on every resync while the sink
 *                      catches up; a PASS for the current generation stands and
 *                      PostgreSQL is no longer queried.
 *   Ready              the run's parts are up: PostgresReady, StatementsRunning
 *                      and SinkReady True.  It does not wait for the generator
 *                      nor for Validated (a run is Ready while it is still
 *                      producing); phase Completed is GeneratorComplete and
 *                      Validated both True.
 *
 * PostgresReady, GeneratorComplete and SinkReady are False with the kubelet's
 * reason (ImagePullBackOff, CrashLoopBackOff, ..., see podstatus.h) while one
 * of the component's pods is stuck; the message names the pod, the container
 * and the image, and a Warning event is emitted when the problem first appears.
 */
#define _POSIX_C_SOURCE 200809L
#include "status.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void time_now_rfc3339(char *out, size_t n, bool micro)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (micro)
        snprintf(out, n, "%s.%06ldZ", base, ts.tv_nsec / 1000);
    else
        snprintf(out, n, "%sZ", base);
}

static json_t *find_cond(const json_t *conds, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach (conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && !strcmp(t, type))
            return c;
    }
    return NULL;
}

const char *cond_status(const json_t *conds, const char *type)
{
    return json_string_value(json_object_get(find_cond(conds, type), "status"));
}

bool cond_set(json_t *conds, const json_t *old, const char *type, const char *status,
              const char *reason, const char *message, long long generation)
{
    json_t *prev = find_cond(old, type);
    const char *pst = json_string_value(json_object_get(prev, "status"));
    const char *plt = json_string_value(json_object_get(prev, "lastTransitionTime"));
    bool changed = !pst || strcmp(pst, status) != 0;
    char now[40];
    time_now_rfc3339(now, sizeof now, false);
    json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", type, "status",
                                           status, "reason", reason, "message", message,
                                           "lastTransitionTime", !changed && plt ? plt : now,
                                           "observedGeneration", (json_int_t)generation));
    return changed;
}
