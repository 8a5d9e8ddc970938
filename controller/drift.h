/*
 * drift — does a live object still hold what the controller applied?
 *
 * desired_holds(desired, live) is true when every value of the desired
 * object is in the live one: objects key by key (the live object may have
 * more: defaults, status, other managers' fields), arrays element by
 * element in order and of the same length, scalars equal.  An empty object
 * or array we send is satisfied by its absence (the API server drops some).
 * A Secret's stringData is compared with the base64-decoded data the API
 * server stores instead.  false means a hand edit (or a server-side
 * normalisation of what we sent): the apply is made again.
 */
#ifndef FLINKPG_DRIFT_H
#define FLINKPG_DRIFT_H

#include <jansson.h>
#include <stdbool.h>

bool desired_holds(const json_t *desired, const json_t *live);

#endif
