/*
 * httpfile — a local HTTP endpoint for the poll source's tests: every GET
 * answers 200 with the current content of a file (read per request, so the
 * test changes the "API" by rewriting the file), as application/json.  When
 * the file is missing it answers 503, like a backend that is down.
 *
 *   httpfile --file F [--port N] --port-file P
 */
#define _POSIX_C_SOURCE 200809L
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *path;

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size, (void)state;
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t len = 0;
    unsigned code = 503;
    if (f) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        data = malloc((size_t)n + 1);
        len = fread(data, 1, (size_t)n, f);
        fclose(f);
        code = 200;
    } else {
        data = strdup("{\"error\":\"down\"}");
        len = strlen(data);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    unsigned port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--file"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "--port"))
            port = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
    }
    if (!path) {
        fprintf(stderr, "usage: httpfile --file F [--port N] [--port-file P]\n");
        return 2;
    }
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
                         NULL, handle, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "httpfile: cannot listen\n");
        return 1;
    }
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        fprintf(f, "%u\n", MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
        fclose(f);
    }
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int sig;
    sigwait(&s, &sig);
    MHD_stop_daemon(d);
    return 0;
}
