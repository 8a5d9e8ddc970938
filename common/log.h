/*
 * log — one line per event, in logfmt, for humans and machines.
 *
 *   ts=2026-11-22T10:00:00.123Z level=info component=sink run=demo event=batch records=500
 *
 * Every line carries the component and the run name so that `grep run=demo`
 * finds everything one DemoRun did.  Callers pass the event name and a printf
 * format for the remaining key=value pairs; values that may contain spaces or
 * quotes go through lq(), which quotes and escapes them.  A line is written
 * with a single write so lines from several threads never interleave.
 * Secrets never reach this module: callers redact first (see pgutil_redact).
 */
#ifndef FLINKPG_LOG_H
#define FLINKPG_LOG_H

#include <stdbool.h>

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* run: the run every line belongs to ("" prints run=-); NULL for a process
 * serving many runs (the controller), whose events carry their own run= */
void log_init(const char *component, const char *run);
void log_set_level(log_level level);
/* Parses "debug", "info", "warn", "error"; returns false for anything else. */
bool log_parse_level(const char *name, log_level *out);
bool log_enabled(log_level level);

void log_event(log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Quote a value for logfmt when it needs it.  Returns one of a small ring of
 * thread-local buffers, so up to 8 lq() results may be used in one call. */
const char *lq(const char *value);

#define log_debug(ev, ...) log_event(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)

#endif
