/*
 * httpd — the operational endpoints of every long-running program, served by
 * libmicrohttpd on its own thread:
 *
 *   GET /metrics   Prometheus text exposition, rendered by the program's callback
 *   GET /healthz   200 while the process is alive and its main loop turns
 *   GET /readyz    200 when the program says it is ready (callback), else 503
 *
 * The callbacks run on the server thread: they must only read atomics or
 * take their own locks.
 */
#ifndef FLINKPG_HTTPD_H
#define FLINKPG_HTTPD_H

#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct httpd httpd;

typedef struct {
    void (*metrics)(strbuf *out, void *ctx);
    /* returns true when ready; may write a one-line reason into why */
    bool (*ready)(void *ctx, char *why, size_t whylen);
    bool (*healthy)(void *ctx, char *why, size_t whylen);
    void *ctx;
} httpd_handlers;

/* listen is "host:port" (port 0 picks a free one).  NULL on failure, with a
 * message in err. */
httpd *httpd_start(const char *listen, const httpd_handlers *h, char *err, size_t errlen);
/* The port actually bound. */
int httpd_port(const httpd *srv);
void httpd_stop(httpd *srv);

/* Prometheus helpers: a # HELP / # TYPE header, then samples. */
void prom_header(strbuf *out, const char *name, const char *type, const char *help);
void prom_sample(strbuf *out, const char *name, const char *labels, double value);

#endif
