/* Unit tests of PostgreSQL over TLS, without a server: libpq's failure
 * messages classified (a certificate that cannot verify is final, an outage
 * is retried), and the controller's validation connection keeping the
 * sslmode and sslrootcert of the Secret's URI and of the environment, and
 * spec.postgres.tls's between the two.
 * tests/integration/pg_tls.sh runs the programs against a real TLS server. */
#define _POSIX_C_SOURCE 200809L
#include "../../common/pgutil.h"
#include "../../controller/validation.h"
#include "unit.h"

#include <stdlib.h>

#define AT "connection to server at \"127.0.0.1\", port 5432 failed: "

/* One option's value as libpq will use it for this connection (static). */
static const char *effective(PGconn *conn, const char *key)
{
    static char buf[512];
    buf[0] = '\0';
    PQconninfoOption *opts = PQconninfo(conn);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (!strcmp(o->keyword, key))
            snprintf(buf, sizeof buf, "%s", o->val ? o->val : "(unset)");
    PQconninfoFree(opts);
    return buf;
}

/* The controller's connection from uri and spec.postgres.tls's sslmode and
 * CA copy (NULL: unset), started (not waited for) against a port nobody
 * listens on: what libpq took from the URI, the spec and the environment. */
static PGconn *controller_conn_tls(const char *uri, const char *sslmode, const char *rootcert)
{
    const char *keys[6], *vals[6];
    validation_conn_params(uri, sslmode, rootcert, keys, vals);
    return PQconnectStartParams(keys, vals, 1);
}

static PGconn *controller_conn(const char *uri)
{
    return controller_conn_tls(uri, NULL, NULL);
}

/* spec.postgres.tls: the controller's sslmode and CA copy, under the URI's
 * own settings and over the environment (as PGSSLMODE/PGSSLROOTCERT in the
 * pods, under the URI) */
static void test_spec_tls(void)
{
    setenv("PGSSLMODE", "require", 1);
    setenv("PGSSLROOTCERT", "/env/ca.crt", 1);
    PGconn *c = controller_conn_tls("postgresql://u@127.0.0.1:1/db", "verify-full",
                                    "/tmp/flinkpg-controller-x/ca-1");
    CHECK_STR("spec.postgres.tls: its sslmode when the URI has none", "verify-full",
              effective(c, "sslmode"));
    CHECK_STR("spec.postgres.tls: the controller's CA copy as sslrootcert",
              "/tmp/flinkpg-controller-x/ca-1", effective(c, "sslrootcert"));
    PQfinish(c);
    c = controller_conn_tls("postgresql://u@127.0.0.1:1/db?sslmode=verify-ca&sslrootcert=/u/ca",
                            "verify-full", "/tmp/flinkpg-controller-x/ca-2");
    CHECK_STR("spec.postgres.tls: the URI's sslmode wins, as in the pods", "verify-ca",
              effective(c, "sslmode"));
    CHECK_STR("spec.postgres.tls: the URI's sslrootcert wins, as in the pods", "/u/ca",
              effective(c, "sslrootcert"));
    CHECK_STR("spec.postgres.tls: connect_timeout still the controller's", "5",
              effective(c, "connect_timeout"));
    PQfinish(c);
    c = controller_conn_tls("postgresql://u@127.0.0.1:1/db", "require", NULL);
    CHECK_STR("spec.postgres.tls: sslMode alone", "require", effective(c, "sslmode"));
    CHECK_STR("spec.postgres.tls: without a caSecret the environment's sslrootcert stays",
              "/env/ca.crt", effective(c, "sslrootcert"));
    PQfinish(c);
    unsetenv("PGSSLMODE");
    unsetenv("PGSSLROOTCERT");
}

/* A check's name: the message after libpq's "... failed: ", first line only. */
static const char *label(const char *prefix, const char *msg)
{
    static char buf[300];
    const char *m = strstr(msg, "failed: ") ? strstr(msg, "failed: ") + 8 : msg;
    snprintf(buf, sizeof buf, "%s: %.*s", prefix, (int)strcspn(m, "\n"), m);
    return buf;
}

int main(void)
{
    /* libpq's own words (PostgreSQL 15, OpenSSL 3): never mended by a retry */
    static const char *const final[] = {
        AT "server certificate for \"wrong.example\" (and 1 other name) does not match host "
           "name \"127.0.0.1\"",
        AT "server certificate for \"localhost\" does not match host name \"127.0.0.1\"",
        AT "SSL error: certificate verify failed",
        AT "server does not support SSL, but SSL was required",
        AT "root certificate file \"/nonexistent/ca.crt\" does not exist\nEither provide the "
           "file or change sslmode to disable server certificate verification.",
        AT "could not read root certificate file \"/etc/hostname\": no certificate or crl found",
        AT "certificate present, but not private key file \"/x/client.key\"",
        AT "SSL error: tlsv1 alert unknown ca",
        AT "SSL error: tlsv13 alert certificate required",
        "invalid sslmode value: \"verify\"",
    };
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        CHECK(label("final, not retried", final[i]), pg_failure_permanent(NULL, final[i]));
    /* an outage: retried with backoff */
    static const char *const transient[] = {
        AT "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
           "connections?",
        AT "FATAL:  the database system is starting up",
        AT "SSL SYSCALL error: EOF detected",
        AT "server closed the connection unexpectedly",
        "could not translate host name \"pg.default.svc\" to address: Name or service not known",
    };
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        CHECK(label("retried", transient[i]), !pg_failure_permanent(NULL, transient[i]));

    /* the controller: the URI's TLS settings survive its own parameters */
    unsetenv("PGSSLMODE");
    unsetenv("PGSSLROOTCERT");
    PGconn *c = controller_conn("postgresql://u@127.0.0.1:1/db?sslmode=verify-full"
                                "&sslrootcert=/certs/ca.crt&connect_timeout=60");
    CHECK("controller keeps the URI's sslmode",
          c && !strcmp(effective(c, "sslmode"), "verify-full"));
    CHECK_STR("controller keeps the URI's sslrootcert", "/certs/ca.crt",
              effective(c, "sslrootcert"));
    CHECK_STR("controller keeps the URI's host", "127.0.0.1", effective(c, "host"));
    CHECK_STR("controller bounds the connect (its 5 s over the URI's)", "5",
              effective(c, "connect_timeout"));
    CHECK_STR("controller names itself", "flinkpg-controller", effective(c, "application_name"));
    PQfinish(c);
    setenv("PGSSLMODE", "verify-full", 1);
    setenv("PGSSLROOTCERT", "/env/ca.crt", 1);
    c = controller_conn("postgresql://u@127.0.0.1:1/db");
    CHECK("controller takes PGSSLMODE when the URI has none",
          c && !strcmp(effective(c, "sslmode"), "verify-full"));
    CHECK_STR("controller takes PGSSLROOTCERT when the URI has none", "/env/ca.crt",
              effective(c, "sslrootcert"));
    PQfinish(c);
    c = controller_conn("host=127.0.0.1 port=1 sslmode=require sslrootcert=/uri/ca.crt");
    CHECK_STR("a key=value conninfo works too, and wins over the environment", "require",
              effective(c, "sslmode"));
    CHECK_STR("... its sslrootcert as well", "/uri/ca.crt", effective(c, "sslrootcert"));
    PQfinish(c);
    unsetenv("PGSSLMODE");
    unsetenv("PGSSLROOTCERT");
    test_spec_tls();
    return UNIT_DONE();
}
