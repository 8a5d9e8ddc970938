/*
 * schemareg — a Confluent Schema Registry client, just enough to register
 * (or look up: registering an identical schema again returns the same id)
 * the JSON Schema of a subject, over the REST API with libcurl:
 *
 *   POST {url}/subjects/{subject}/versions
 *   Content-Type: application/vnd.schemaregistry.v1+json
 *   {"schemaType":"JSON","schema":"<the schema as a string>"}   → 200 {"id":N}
 *
 * HTTP Basic authentication with an API key and secret (Confluent Cloud).
 * Errors are answered as {"error_code":40101,"message":"..."}.  Bad
 * credentials (401/403) and refused schemas (4xx) fail at once; an
 * unreachable registry or a 5xx is retried with backoff, `attempts` times.
 * The caller calls curl_global_init once at start-up.
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

#endif
