/* pgutil — see pgutil.h. */
#define _POSIX_C_SOURCE 200809L
#include "pgutil.h"

#include "backoff.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Server notices (e.g. "relation already exists, skipping") become log lines
 * instead of raw text on stderr. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("pg_notice", "message=%s", lq(message));
}

bool pg_failure_permanent(PGconn *conn, const char *msg)
{
    if (conn && PQconnectionNeedsPassword(conn))
        return true; /* asked for a password, none given */
    static const char *const transient[] = {
        "starting up",
        "shutting down",
        "in recovery mode",
        "not yet accepting connections",
        "not accepting connections",
        "too many clients",
        "remaining connection slots",
        "could not translate host name", /* a Service not there yet */
        /* a pooler or proxy in front (PgBouncer): its own limits and its server */
        "no more connections allowed",
        "pgbouncer cannot connect to server",
        "server login has been failing",
        "server conn crashed",
        "query_wait_timeout",
    };
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        if (strstr(msg, transient[i]))
            return false;
    static const char *const permanent[] = {
        "FATAL:", /* the server answered and refused: role, database, password, pg_hba */
        "invalid connection option",
        "unterminated quoted string",
        "missing \"=\"",
        "for connection option",
        "invalid port number",
        "invalid sslmode value",
        /* TLS: not offered, or a certificate that cannot verify (libpq's words) */
        "but SSL was required",
        "certificate verify failed",
        "does not match host name",
        "certificate file", /* root or client: missing or unreadable */
        "private key file",
        "alert unknown ca", /* the server refuses our client certificate */
        "alert certificate required",
        "alert bad certificate",
        "unsupported protocol", /* ssl_min_protocol_version not met */
        "password authentication failed",
    };
    for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++)
        if (strstr(msg, permanent[i]))
            return true;
    return false;
}

PGconn *pg_connect_try(const char *conninfo, char *err, size_t errlen, bool *permanent)
{
    PGconn *conn = PQconnectdb(conninfo ? conninfo : "");
    if (conn && PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(conn, on_notice, NULL);
        PGresult *r = PQexec(conn, "SET application_name = 'flinkpg'");
        PQclear(r);
        return conn;
    }
    snprintf(err, errlen, "%s", conn ? PQerrorMessage(conn) : "out of memory");
    pg_trim_message(err);
    if (permanent)
        *permanent = pg_failure_permanent(conn, err);
    PQfinish(conn);
    return NULL;
}

PGconn *pg_connect_once(const char *conninfo, char *err, size_t errlen)
{
    return pg_connect_try(conninfo, err, errlen, NULL);
}

void pg_trim_message(char *msg)
{
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
}

PGconn *pg_connect_bounded(const char *conninfo, const char *what, int64_t timeout_ms,
                           volatile int *stop, pg_connect_status *status, char *err, size_t errlen)
{
    backoff b;
    backoff_init(&b, 200, 15000);
    int64_t t0 = now_ms();
    for (unsigned attempt = 1;; attempt++) {
        bool permanent = false;
        PGconn *conn = pg_connect_try(conninfo, err, errlen, &permanent);
        if (conn) {
            log_info("pg_connected", "target=%s conn=%s attempts=%u", lq(what),
                     lq(pg_describe(conn)), attempt);
            *status = PG_CONNECTED;
            return conn;
        }
        if (permanent) {
            *status = PG_REFUSED;
            return NULL;
        }
        uint32_t delay = backoff_next(&b);
        int64_t left = timeout_ms > 0 ? timeout_ms - (now_ms() - t0) : INT64_MAX;
        if (left <= 0) {
            *status = PG_TIMED_OUT;
            return NULL;
        }
        if ((int64_t)delay > left)
            delay = (uint32_t)left;
        log_warn("pg_unavailable", "target=%s attempt=%u retry_in_ms=%u error=%s", lq(what),
                 attempt, delay, lq(err));
        if (!sleep_ms_unless(delay, stop)) {
            *status = PG_STOPPED;
            return NULL;
        }
    }
}

PGconn *pg_connect_configured(cfg_spec *spec, const char *conn_opt, const char *timeout_opt,
                              const char *what, volatile int *stop, pg_connect_status *status)
{
    char err[1024];
    long long timeout_s = cfg_int(spec, timeout_opt);
    PGconn *conn = pg_connect_bounded(cfg_str(spec, conn_opt), what, timeout_s * 1000, stop, status,
                                      err, sizeof err);
    if (conn || *status == PG_STOPPED)
        return conn;
    if (*status == PG_REFUSED)
        log_error("pg_connect_failed", "setting=%s reason=refused error=%s",
                  lq(cfg_origin(spec, conn_opt)), lq(err));
    else
        log_error("pg_connect_failed", "setting=%s reason=no_answer timeout_s=%lld error=%s",
                  lq(cfg_origin(spec, timeout_opt)), timeout_s, lq(err));
    return NULL;
}

const char *pg_describe(PGconn *conn)
{
    static _Thread_local char buf[512];
    const char *host = PQhost(conn);
    snprintf(buf, sizeof buf, "host=%s port=%s dbname=%s user=%s",
             host && *host ? host : "(socket)", PQport(conn), PQdb(conn), PQuser(conn));
    return buf;
}

char *pg_quote_qualified(PGconn *conn, const char *name)
{
    const char *dot = strchr(name, '.');
    if (!dot) {
        char *q = PQescapeIdentifier(conn, name, strlen(name));
        char *out = q ? strdup(q) : NULL;
        PQfreemem(q);
        return out;
    }
    char *schema = PQescapeIdentifier(conn, name, (size_t)(dot - name));
    char *rel = PQescapeIdentifier(conn, dot + 1, strlen(dot + 1));
    char *out = NULL;
    if (schema && rel) {
        size_t len = strlen(schema) + strlen(rel) + 2;
        out = malloc(len);
        if (out)
            snprintf(out, len, "%s.%s", schema, rel);
    }
    PQfreemem(schema);
    PQfreemem(rel);
    return out;
}

bool pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok && err)
        snprintf(err, errlen, "%s", PQerrorMessage(conn));
    PQclear(r);
    return ok;
}

const char *pg_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

bool pg_connection_lost(PGconn *conn, const PGresult *res)
{
    if (!conn || PQstatus(conn) != CONNECTION_OK)
        return true;
    const char *st = pg_sqlstate(res);
    /* 08: connection exception; 57P01..57P03: admin shutdown, crash shutdown,
     * cannot connect now; 53: insufficient resources; 40001/40P01 retryable */
    return strncmp(st, "08", 2) == 0 || strncmp(st, "57P0", 4) == 0 || strncmp(st, "53", 2) == 0 ||
           strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || (!*st && !res);
}
