/*
 * startup — how every flinkpg program begins, kcat-style: parse, check,
 * run.  One path for the four mains:
 *
 *   startup_signals   SIGTERM/SIGINT set the stop flag the program polls;
 *                     SIGPIPE is ignored (a closed socket is an error return)
 *   startup_options   the options (config.h): --help and --version answered,
 *                     a bad flag or value said in one line with exit 2, a run
 *                     with nothing given at all answered with the usage line;
 *                     then logging (component, run name, level)
 *   startup_http      the /metrics, /healthz, /readyz server when asked for
 *
 * libcurl's global state is set up by httpc_global_init (httpc.h), by the
 * programs that link libcurl.
 */
#ifndef FLINKPG_STARTUP_H
#define FLINKPG_STARTUP_H

#include "config.h"
#include "httpd.h"

#include <stdbool.h>

/* The options every long-running program has, for its cfg_opt table. */
#define STARTUP_OPT_HTTP_LISTEN                                                                    \
    {                                                                                              \
        .name = "http-listen", .env = "HTTP_LISTEN", .kind = OPT_STR, .def = "",                   \
        .group = "Operations",                                                                     \
        .help = "serve /metrics, /healthz, /readyz on host:port (empty: off)"                      \
    }
#define STARTUP_OPT_LOG_LEVEL(help_text)                                                           \
    {                                                                                              \
        .name = "log-level", .env = "LOG_LEVEL", .kind = OPT_STR, .def = "info",                   \
        .group = "Operations", .help = help_text                                                   \
    }
#define STARTUP_OPT_RUN_NAME                                                                       \
    {                                                                                              \
        .name = "run-name", .env = "FLINKPG_RUN", .kind = OPT_STR, .def = "",                      \
        .group = "Operations", .help = "name of the DemoRun, put on every log line"                \
    }

void startup_signals(volatile int *stop);

/* -1: go on; otherwise the exit code (0 after --help or --version).
 * component: the log lines' component=; the run name comes from the option
 * "run-name" when the program has one.  usage_without_args: a run with no
 * argument and no setting from the environment prints the usage line and
 * exits 2 (not for programs that may run on defaults alone). */
int startup_options(cfg_spec *spec, int argc, char **argv, const char *component,
                    bool usage_without_args);

/* Serve h on `listen` (empty or NULL: nothing, *out NULL, true); false with
 * one log line when it cannot. */
bool startup_http(const char *listen, const httpd_handlers *h, httpd **out);

#endif
