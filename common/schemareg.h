/*
 * schemareg — a Confluent Schema Registry client, just enough to register
 * (or look up: registering an identical schema again returns the same id)
 * the JSON Schema of a subject, and to read a subject's latest schema, over
 * the REST API (common/httpc):
 *
 *   POST {url}/subjects/{subject}/versions
 *   Content-Type: application/vnd.schemaregistry.v1+json
 *   {"schemaType":"JSON","schema":"<the schema as a string>"}   → 200 {"id":N}
 *   GET  {url}/subjects/{subject}/versions/latest  → 200 {"id","schema",…}
 *                                                    404 {"error_code":40401}
 *
 * HTTP Basic authentication with an API key and secret (Confluent Cloud).
 * Errors are answered as {"error_code":40101,"message":"..."}; a schema
 * incompatible with the subject's earlier ones is 409 (error_code 409, or
 * 40901 in newer registries).  Bad credentials (401/403) and refused schemas
 * (4xx) fail at once; an unreachable registry, 429 (Confluent Cloud's rate
 * limit: docs.confluent.io/cloud/current/sr/fundamentals/sr-limits, honouring
 * Retry-After) and 5xx are retried with backoff, `attempts` times.  The caller
 * calls httpc_global_init once at start-up.
 */
#ifndef FLINKPG_SCHEMAREG_H
#define FLINKPG_SCHEMAREG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *url;      /* e.g. https://psrc-xxxx.confluent.cloud */
    const char *user;     /* API key, or NULL for none */
    const char *password; /* API secret; never logged */
    long timeout_ms;      /* per request; 0 = 10 s */
    int attempts;         /* 0 = 5 */
} schemareg;

/* Register schema (JSON Schema text) under subject; *id gets the schema id.
 * False with a message naming the registry, the subject and the reason. */
bool schemareg_register(const schemareg *sr, const char *subject, const char *schema, uint32_t *id,
                        char *err, size_t errlen);

/* The latest version of subject: 1 with *id and *schema (malloc'd text), 0
 * when the subject does not exist, -1 with err on any other failure. */
int schemareg_latest(const schemareg *sr, const char *subject, uint32_t *id, char **schema,
                     char *err, size_t errlen);

#endif
