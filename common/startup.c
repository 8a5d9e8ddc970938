/* startup — see startup.h. */
#define _POSIX_C_SOURCE 200809L
#include "startup.h"

#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile int *g_stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    if (g_stop_flag)
        *g_stop_flag = 1;
}

void startup_signals(volatile int *stop)
{
    g_stop_flag = stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int startup_options(cfg_spec *spec, int argc, char **argv, const char *component,
                    bool usage_without_args)
{
    char err[1024];
    cfg_result cr = cfg_parse(spec, argc, argv, err, sizeof err);
    if (cr == CFG_HELP)
        return 0;
    if (cr == CFG_ERROR) {
        fprintf(stderr, "%s: %s (see --help)\n", spec->prog, err);
        return 2;
    }
    if (usage_without_args && argc == 1 && !cfg_any_set(spec))
        return cfg_usage_hint(spec); /* nothing given at all: how to start */
    log_init(component, cfg_find(spec, "run-name") ? cfg_str(spec, "run-name") : NULL);
    log_level lvl;
    if (!log_parse_level(cfg_str(spec, "log-level"), &lvl)) {
        fprintf(stderr, "%s: %s\n", spec->prog,
                cfg_invalid(spec, "log-level", "is not one of debug, info, warn, error", err,
                            sizeof err));
        return 2;
    }
    log_set_level(lvl);
    return -1;
}

bool startup_http(const char *listen, const httpd_handlers *h, httpd **out)
{
    *out = NULL;
    if (!listen || !*listen)
        return true;
    char err[256];
    *out = httpd_start(listen, h, err, sizeof err);
    if (!*out) {
        log_error("http_failed", "listen=%s error=%s", lq(listen), lq(err));
        return false;
    }
    log_info("http_listening", "listen=%s port=%d", lq(listen), httpd_port(*out));
    return true;
}
