/*
 * reconcile_run — what the parts of one DemoRun's reconcile share
 * (controller-internal):
 *
 *   reconcile_demorun.c  the entry point, the finalizer and cleanup
 *   reconcile_apply.c    the children, applied only when they differ (hash + drift)
 *   reconcile_observe.c  each child's condition, validation, Ready and the phase,
 *                        and the status written only when it changed
 */
#ifndef FLINKPG_RECONCILE_RUN_H
#define FLINKPG_RECONCILE_RUN_H

#include "reconcile.h"
#include "statements.h"

#include "../common/strbuf.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct {
    reconciler *r;
    json_t *run;
    const char *ns, *name;
    strbuf changed; /* "statefulset/x created, ..." */
    char err[1024];
} rctx;

/* A condition as this reconcile computes it (status.h writes it). */
typedef struct {
    const char *type, *status, *reason;
    char msg[512];
} cond_in;

/* The DemoRun's conditions, in the order the status lists them. */
typedef struct {
    cond_in postgres;   /* PostgresReady */
    cond_in statements; /* StatementsRunning */
    cond_in generator;  /* GeneratorComplete */
    cond_in sink;       /* SinkReady */
    cond_in validated;  /* Validated */
    cond_in ready;      /* Ready */
} run_conds;
/* write_status walks the six in order, as an array */
_Static_assert(sizeof(run_conds) == 6 * sizeof(cond_in),
               "run_conds holds six cond_in, nothing else");

/* What the applies returned (live objects, NULL when not made) and what the
 * statements step found. */
typedef struct {
    json_t *sts, *cm, *job, *dep, *pods;
    int job_replaced;   /* apply_job: 1 when the Job was deleted to be made again */
    char sqlerr[512];   /* why the SQL ConfigMap could not be rendered */
    json_t *statements; /* status.statements */
    stmt_result sr;
    int requeue; /* ms, 0: none */
} run_children;

void note_change(rctx *c, const char *kind, const char *name, const char *what);
const char *rv_of(const json_t *obj);

/* reconcile_apply.c: every child in apply order, and the run's pods; false
 * (c->err set) when an apply failed */
bool apply_children(rctx *c, run_children *ch);

/* reconcile_observe.c */
void observe_children(rctx *c, run_children *ch, run_conds *cs, json_t **validation);
const char *derive_phase(const rctx *c, const run_conds *cs);
int write_status(rctx *c, run_conds *cs, const char *phase, json_t *statements, json_t *validation);

#endif
