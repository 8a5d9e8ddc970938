/* validation — see validation.h. */
#define _POSIX_C_SOURCE 200809L
#include "validation.h"

#include "../common/pgutil.h"

#include "cafile.h"
#include "kubeconfig.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The URI, NUL-terminated in out->data (caller wipes and frees). */
static bool secret_uri(kube_client *kc, const json_t *run, kube_blob *out, char *err, size_t errlen)
{
    const char *existing = spec_str(run, "postgres.existingSecretRef.name", NULL);
    char name[300], path[600];
    if (existing)
        snprintf(name, sizeof name, "%s", existing);
    else
        snprintf(name, sizeof name, "%s-postgres", run_name(run));
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", run_namespace(run), name);
    json_t *s = NULL;
    char kerr[512];
    long st = kube_get(kc, path, &s, kerr, sizeof kerr);
    if (st != 200) {
        snprintf(err, errlen, "reading Secret %s: %s", name, st == 404 ? "not found" : kerr);
        json_decref(s);
        return false;
    }
    const char *b64 = json_string_value(json_object_get(json_object_get(s, "data"), "uri"));
    bool ok = b64 && base64_decode(b64, strlen(b64), out) && out->len > 0;
    json_decref(s);
    if (!ok) {
        snprintf(err, errlen, "Secret %s has no usable key \"uri\"", name);
        return false;
    }
    return true;
}

void validation_conn_params(const char *uri, const char *sslmode, const char *sslrootcert,
                            const char *keys[6], const char *vals[6])
{
    /* sslmode and sslrootcert before dbname: the expanded URI overrides
     * them, as it overrides PGSSLMODE and PGSSLROOTCERT in the sink's and
     * the generator's pods; a NULL value is skipped (the environment's) */
    static const char *const k[] = {"sslmode",         "sslrootcert",      "dbname",
                                    "connect_timeout", "application_name", NULL};
    const char *const v[] = {sslmode, sslrootcert, uri, "5", "flinkpg-controller", NULL};
    for (int i = 0; i < 6; i++) {
        keys[i] = k[i];
        vals[i] = v[i];
    }
}

/* Connect to the run's PostgreSQL (NULL with err on failure), with the
 * sslmode and the CA bundle of spec.postgres.tls. */
static PGconn *run_connect(kube_client *kc, const json_t *run, char *err, size_t errlen)
{
    kube_blob uri = {0};
    char ca[600] = "";
    const char *ca_secret = spec_str(run, "postgres.tls.caSecret.name", NULL);
    if (!secret_uri(kc, run, &uri, err, errlen) ||
        (ca_secret &&
         !ca_file_write(kc, run_namespace(run), ca_secret, run_ca_key(run, "postgres.tls.caSecret"),
                        ca, sizeof ca, err, errlen))) {
        if (uri.data)
            memset(uri.data, 0, uri.len);
        free(uri.data);
        return NULL;
    }
    /* base64_decode NUL-terminates the blob */
    const char *keys[6], *vals[6];
    validation_conn_params(uri.data, run_pg_sslmode(run), *ca ? ca : NULL, keys, vals);
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    /* libpq has read the bundle during the handshake: the copy goes now */
    ca_file_remove(ca);
    memset(uri.data, 0, uri.len);
    free(uri.data);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password */
        snprintf(err, errlen, "connecting to PostgreSQL: %s",
                 conn ? PQerrorMessage(conn) : "out of memory");
        pg_trim_message(err);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

bool run_pg_reachable(kube_client *kc, const json_t *run, char *err, size_t errlen)
{
    PGconn *conn = run_connect(kc, run, err, errlen);
    if (!conn)
        return false;
    PGresult *r = PQexec(conn, "SELECT 1");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "PostgreSQL answered the connection but not a query");
    PQclear(r);
    PQfinish(conn);
    return ok;
}

bool run_validate(kube_client *kc, const json_t *run, validate_result *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof *out);
    PGconn *conn = run_connect(kc, run, err, errlen);
    if (!conn)
        return false;
    bool ok = validate_tables(conn, VALIDATION_TARGET, VALIDATION_EXPECTED, out, err, errlen);
    PQfinish(conn);
    return ok; /* validate_tables trims its messages */
}

json_t *validation_json(const validate_result *r)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "verdict", r->pass ? "PASS" : "FAIL",
                     "rowsExpected", (json_int_t)r->rows_expected, "rowsPresent",
                     (json_int_t)r->rows_present, "missing", (json_int_t)r->missing, "unexpected",
                     (json_int_t)r->unexpected, "wrongValues", (json_int_t)r->wrong_values,
                     "duplicateKeys", (json_int_t)r->duplicate_keys);
}
