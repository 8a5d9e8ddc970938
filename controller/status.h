/*
 * status — the DemoRun's status as a person reads it in `kubectl describe`:
 * standard conditions (type, status, reason, message, lastTransitionTime,
 * observedGeneration); the Events are in events.h.
 *
 * lastTransitionTime moves only when a condition's status flips: the new
 * conditions are built against the old ones (cond_set).
 */
#ifndef FLINKPG_STATUS_H
#define FLINKPG_STATUS_H

#include "kubeclient.h"

#include <jansson.h>

/* RFC 3339 UTC, seconds ("2026-01-02T03:04:05Z") or micro ("...05.123456Z"). */
void time_now_rfc3339(char *out, size_t n, bool micro);

/* Append condition `type` to conds, keeping the lastTransitionTime of the
 * same type in old (an array, may be NULL) unless the status changed.
 * Returns true when the status changed (or the condition is new). */
bool cond_set(json_t *conds, const json_t *old, const char *type, const char *status,
              const char *reason, const char *message, long long generation);
const char *cond_status(const json_t *conds, const char *type);

#endif
