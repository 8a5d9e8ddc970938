/*
 * validation — the controller's look at a run's result: read the `uri` key of
 * the run's PostgreSQL Secret (<run>-postgres, or spec.postgres.existingSecretRef),
 * connect once with a short connect_timeout (and spec.postgres.tls: its
 * sslmode, its CA bundle through cafile.h), and compare the sink's table with
 * the generator's expectation (common/validate.h: orders_shipments against
 * expected_orders_shipments).  The URI is never logged nor put in err.
 */
#ifndef FLINKPG_VALIDATION_H
#define FLINKPG_VALIDATION_H

#include "../common/validate.h"
#include "kubeclient.h"

#include <jansson.h>

#define VALIDATION_TARGET DEMO_TARGET_TABLE
#define VALIDATION_EXPECTED DEMO_EXPECTED_TABLE

/* False with a reason in err (Secret missing, PostgreSQL unreachable, tables
 * not there yet); the caller reports Validated=Unknown and retries later. */
bool run_validate(kube_client *kc, const json_t *run, validate_result *out, char *err,
                  size_t errlen);

/* Whether the run's PostgreSQL answers a query (the PostgresReady condition
 * of a run on an existing server); false with the reason in err. */
bool run_pg_reachable(kube_client *kc, const json_t *run, char *err, size_t errlen);

/* libpq's keywords and values for the connection (PQconnectdbParams with
 * expand_dbname): sslmode and sslrootcert (spec.postgres.tls: its sslmode,
 * the controller's private copy of its CA bundle; NULL when not set) come
 * first, so that the expanded URI's own settings win over them as they win
 * over PGSSLMODE and PGSSLROOTCERT in the pods; the PG* environment applies
 * to what neither sets; connect_timeout=5 and application_name are set over
 * everything.  NULL-terminated; the values point at the arguments. */
void validation_conn_params(const char *uri, const char *sslmode, const char *sslrootcert,
                            const char *keys[6], const char *vals[6]);

/* status.validation as the CRD describes it. */
json_t *validation_json(const validate_result *r);

#endif
