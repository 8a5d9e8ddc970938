/*
 * events — events.k8s.io/v1 Events about DemoRuns, aggregated the way
 * client-go's recorders do, so that a run failing every few seconds for an
 * hour leaves a few Event objects with a count, not thousands:
 *
 *   - the same (object, type, reason, note) again is a repeat: the first
 *     repeat PATCHes the Event's `series` (count, lastObservedTime), later
 *     ones at most once per series interval (the count is exact whenever it
 *     is written; `kubectl describe` shows "(x41 over 12m)");
 *   - more than `similar` distinct notes for the same (object, type, reason)
 *     within the window go into one Event "(combined from similar events):
 *     <latest note>", itself a series — so a message that changes every time
 *     (a duration, an offset) cannot make a storm either;
 *   - an entry idle for longer than the window is forgotten; the table holds
 *     at most `capacity` entries (the least recently used goes first).
 *
 * The decisions are pure (evagg_decide, unit-tested with a fake clock);
 * event_emit() performs them against the API server.  Thread-safe.
 */
#ifndef FLINKPG_EVENTS_H
#define FLINKPG_EVENTS_H

#include "kubeclient.h"

#include <jansson.h>
#include <stdint.h>

typedef struct evagg evagg;

typedef struct {
    int64_t series_interval_ms; /* at most one series PATCH per Event this often (30 s) */
    int64_t window_ms;          /* forget entries idle this long; similar-note window (10 min) */
    int similar;                /* distinct notes per (object, type, reason) before combining (4) */
    size_t capacity;            /* entries kept (4096) */
} evagg_limits;

typedef enum {
    EV_CREATE,   /* POST a new Event named `name` (with series when count > 1) */
    EV_SERIES,   /* PATCH the series of Event `name` to `count` */
    EV_SUPPRESS, /* counted, nothing sent now */
} ev_action;

typedef struct {
    ev_action action;
    char name[320]; /* the Event's metadata.name */
    long count;     /* occurrences so far */
    bool combined;  /* the note goes into the "(combined from similar events)" Event */
} ev_decision;

evagg *evagg_new(const evagg_limits *lim); /* NULL lim: the defaults above */
void evagg_free(evagg *a);

/* Decide what to do with one occurrence at time now_ms. */
ev_decision evagg_decide(evagg *a, const char *uid, const char *run_name, const char *type,
                         const char *reason, const char *note, int64_t now_ms);
/* The Event named in a decision no longer exists (404 on PATCH): the next
 * occurrence creates it again. */
void evagg_lost(evagg *a, const char *uid, const char *type, const char *reason, const char *note,
                bool combined);
size_t evagg_size(evagg *a);

/* The sender thread, with its own API client: from events_start on,
 * event_emit only queues (at most 1024 waiting; more are dropped and
 * counted, as client-go's broadcaster does) and returns.  events_stop sends
 * what is queued, then stops.  Without a sender event_emit sends in line. */
bool events_start(const kube_config *cfg, char *err, size_t errlen);
void events_stop(void);

/* Record an event about the DemoRun through the process's aggregator;
 * failures are logged, never fatal.  type is "Normal" or "Warning". */
void event_emit(kube_client *kc, const json_t *run, const char *type, const char *reason,
                const char *action, const char *note, const char *instance);

#endif
