/*
 * httpc — one HTTP request with libcurl, for the REST clients (flinkgw,
 * confluent).  The body goes out as given, the response comes back whole in a
 * strbuf together with the status and the Retry-After header (seconds), so a
 * caller decides about retries itself.  Basic credentials are handed to
 * libcurl (CURLOPT_USERNAME/PASSWORD) and never appear in an error message.
 *
 * Transport errors (connection refused, timeout) return false with libcurl's
 * message and the method and URL in err; any HTTP status, 4xx/5xx included,
 * returns true: the status is the caller's business.
 */
#ifndef FLINKPG_HTTPC_H
#define FLINKPG_HTTPC_H

#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *method; /* GET, POST, PUT, DELETE */
    const char *url;
    const char *body;         /* NULL: no body */
    const char *content_type; /* default application/json when a body is sent */
    const char *user;         /* HTTP Basic user, NULL: no authentication */
    const char *password;
    long timeout_ms; /* whole request; 0: 30 s */
} httpc_request;

typedef struct {
    long status;
    long retry_after_s; /* Retry-After in seconds, -1 when absent */
    strbuf body;
} httpc_response;

/* Must be called once before threads start (curl_global_init). */
bool httpc_global_init(char *err, size_t errlen);
bool httpc_do(const httpc_request *rq, httpc_response *rs, char *err, size_t errlen);
void httpc_response_free(httpc_response *rs);

/* --probe: one GET, its status and the answer's first line printed on one
 * line; 0 on 2xx, else 1 (an exec probe's exit status). */
int httpc_probe(const char *url);

/* Percent-encode one URL path segment or query value. Caller frees. */
char *httpc_escape(const char *s);

#endif
