/*
 * reconcile — one DemoRun, level-triggered and idempotent:
 *
 *   read the DemoRun -> deleting? run the finalizer, done
 *   -> ensure our finalizer -> server-side apply every child (render.h)
 *   -> submit/observe the statements (statements.h)
 *   -> compute conditions + phase from what the children report
 *   -> write status (only if it changed) -> events for what changed
 *
 * Running it twice in a row changes nothing the second time: applies of an
 * unchanged object are no-ops on the API server, and status is compared
 * before it is written.
 */
#ifndef FLINKPG_RECONCILE_H
#define FLINKPG_RECONCILE_H

#include "kubeclient.h"
#include "render.h"

#include <stdint.h>

#define DEMORUN_FINALIZER "flinkpg.io/cleanup"

typedef struct {
    kube_client *kc;
    render_opts render;
    const char *identity;      /* reportingInstance of events */
    const char *confluent_url; /* --confluent-url: overrides the Confluent Cloud endpoint */
    long backend_timeout_ms;   /* --backend-timeout: each call to Flink / Confluent */
    long cleanup_timeout_s;    /* --cleanup-timeout: the finalizer gives up on the backend after */
    long retry_within_ms; /* out, per call: retry no later than this (0: the queue's backoff) */
} reconciler;

/* Returns 0 when done, >0 to requeue after that many ms, <0 on error (the
 * caller retries with backoff). */
int reconcile_demorun(reconciler *r, const char *ns, const char *name);

#endif
