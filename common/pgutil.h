/*
 * pgutil — the libpq habits every program shares: connect with retry and
 * backoff (reported, never fatal), describe a connection without its password,
 * quote possibly schema-qualified identifiers, and tell a lost connection
 * (retry the whole transaction) from a data error (isolate the record).
 */
#ifndef FLINKPG_PGUTIL_H
#define FLINKPG_PGUTIL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Connect, retrying with backoff until it works or *stop is set (then NULL).
 * `what` names the connection in log lines ("sink database"). */
PGconn *pg_connect_retry(const char *conninfo, const char *what, volatile int *stop);
/* One attempt; on failure returns NULL and the libpq message in err. */
PGconn *pg_connect_once(const char *conninfo, char *err, size_t errlen);

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
