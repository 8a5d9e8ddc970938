/* httpd — see httpd.h. */
#define _POSIX_C_SOURCE 200809L
#include "httpd.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct httpd {
    struct MHD_Daemon *daemon;
    httpd_handlers h;
    int port;
};

static enum MHD_Result respond(struct MHD_Connection *c, unsigned code, const char *type,
                               char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned code, const char *text)
{
    char *body = strdup(text);
    return body ? respond(c, code, "text/plain; charset=utf-8", body, strlen(body)) : MHD_NO;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **state)
{
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)state;
    httpd *srv = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/metrics") == 0) {
        strbuf sb;
        sb_init(&sb);
        if (srv->h.metrics)
            srv->h.metrics(&sb, srv->h.ctx);
        size_t len = sb.len;
        char *body = sb_steal(&sb);
        if (!body)
            body = strdup("");
        return respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
    }
    bool ready = strcmp(url, "/readyz") == 0;
    if (ready || strcmp(url, "/healthz") == 0) {
        char why[256] = "";
        bool (*fn)(void *, char *, size_t) = ready ? srv->h.ready : srv->h.healthy;
        bool ok = fn ? fn(srv->h.ctx, why, sizeof why) : true;
        char text[300];
        snprintf(text, sizeof text, "%s%s%s\n", ok ? "ok" : "not ready", why[0] ? ": " : "", why);
        return respond_text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, text);
    }
    return respond_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz, /readyz\n");
}

httpd *httpd_start(const char *listen, const httpd_handlers *h, char *err, size_t errlen)
{
    const char *colon = strrchr(listen, ':');
    if (!colon) {
        snprintf(err, errlen, "http listen address \"%s\": expected host:port", listen);
        return NULL;
    }
    char host[128];
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(colon + 1));
    if (!host[0] || strcmp(host, "0.0.0.0") == 0)
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "localhost") == 0)
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "http listen address \"%s\": host must be an IPv4 address", listen);
        return NULL;
    }
    httpd *srv = xcalloc(1, sizeof *srv);
    srv->h = *h;
    srv->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle,
                         srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errlen, "cannot serve http on %s (address in use?)", listen);
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : ntohs(addr.sin_port);
    return srv;
}

int httpd_port(const httpd *srv)
{
    return srv->port;
}

void httpd_stop(httpd *srv)
{
    if (!srv)
        return;
    MHD_stop_daemon(srv->daemon);
    free(srv);
}

void prom_header(strbuf *out, const char *name, const char *type, const char *help)
{
    sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(strbuf *out, const char *name, const char *labels, double value)
{
    if (labels && *labels)
        sb_printf(out, "%s{%s} %.17g\n", name, labels, value);
    else
        sb_printf(out, "%s %.17g\n", name, value);
}
