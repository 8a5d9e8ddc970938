/*
 * pgutil — the libpq habits every program shares: connect with retry and
 * backoff (reported, never fatal), describe a connection without its password,
 * quote possibly schema-qualified identifiers, and tell a lost connection
 * (retry the whole transaction) from a data error (isolate the record).
 */
#ifndef FLINKPG_PGUTIL_H
#define FLINKPG_PGUTIL_H

#include "config.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    PG_CONNECTED,
    PG_STOPPED,   /* *stop was set while waiting */
    PG_REFUSED,   /* a setting that can never work: not retried */
    PG_TIMED_OUT, /* no answer within the bound */
} pg_connect_status;

/* Connect, retrying with backoff (each attempt logged) while the server does
 * not answer, for at most timeout_ms (0: no bound) or until *stop is set.
 * A failure no retry can mend (pg_failure_permanent) ends it at once.  On
 * anything but PG_CONNECTED returns NULL with the last libpq message in err.
 * `what` names the connection in log lines ("sink database"). */
PGconn *pg_connect_bounded(const char *conninfo, const char *what, int64_t timeout_ms,
                           volatile int *stop, pg_connect_status *status, char *err, size_t errlen);
/* pg_connect_bounded as a program's options configure it: the connection
 * string from option conn_opt, the bound in seconds from timeout_opt.  When
 * it gives up, one pg_connect_failed line names the setting to mend and where
 * its value came from (config.h): conn_opt when refused, timeout_opt when no
 * answer came in time. */
PGconn *pg_connect_configured(cfg_spec *spec, const char *conn_opt, const char *timeout_opt,
                              const char *what, volatile int *stop, pg_connect_status *status);
/* One attempt; on failure returns NULL and the libpq message in err, and
 * *permanent (when not NULL) says whether retrying can help. */
PGconn *pg_connect_once(const char *conninfo, char *err, size_t errlen);
PGconn *pg_connect_try(const char *conninfo, char *err, size_t errlen, bool *permanent);
/* A failed connection that no retry mends: a connection string libpq
 * refuses, a password not given or refused, a role or database that does not
 * exist, TLS that cannot be agreed.  A server that does not answer, is
 * starting up, shutting down, in recovery or full is worth retrying. */
bool pg_failure_permanent(PGconn *conn, const char *msg);

/* Drop the newline (and spaces) libpq ends its messages with, in place. */
void pg_trim_message(char *msg);

/* "host=h port=p dbname=d user=u" with any password left out.  Static buffer. */
const char *pg_describe(PGconn *conn);

/* Quote "name" or "schema.name" as identifiers.  malloc'd; NULL on failure. */
char *pg_quote_qualified(PGconn *conn, const char *name);

/* Run a command expecting no rows; on failure copies the message to err. */
bool pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/* True when the failure means the connection is gone (or the server is
 * shutting down / in recovery): the caller reconnects and retries, rather than
 * blaming the data. */
bool pg_connection_lost(PGconn *conn, const PGresult *res);

/* The SQLSTATE of a failed result, or "" */
const char *pg_sqlstate(const PGresult *res);

#endif
