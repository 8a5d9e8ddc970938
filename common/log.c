/*
 * log — see log.h.  Formatting happens into a stack buffer; the finished line
 * goes out with one write(2) on stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char g_component[32] = "flinkpg";
static char g_run[128] = "";
static bool g_no_run; /* log_init(component, NULL): events name their own run */
static atomic_int g_level = LOG_INFO;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *component, const char *run)
{
    snprintf(g_component, sizeof g_component, "%s", component ? component : "flinkpg");
    g_no_run = run == NULL;
    snprintf(g_run, sizeof g_run, "%s", run ? run : "");
}

void log_set_level(log_level level)
{
    atomic_store(&g_level, (int)level);
}

bool log_parse_level(const char *name, log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level)i;
            return true;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *out = LOG_WARN;
        return true;
    }
    return false;
}

bool log_enabled(log_level level)
{
    return (int)level >= atomic_load(&g_level);
}

const char *lq(const char *value)
{
    static _Thread_local char ring[8][1024];
    static _Thread_local unsigned next;
    char *out = ring[next++ % 8];
    if (!value)
        return "\"\"";
    bool needs = value[0] == '\0';
    for (const char *p = value; *p && !needs; p++)
        needs = (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20);
    if (!needs) {
        snprintf(out, 1024, "%s", value);
        return out;
    }
    size_t o = 0;
    out[o++] = '"';
    for (const char *p = value; *p && o < 1024 - 6; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c == '\r' || c == '\t') {
            out[o++] = ' ';
        } else if (c < 0x20) {
            continue;
        } else {
            out[o++] = (char)c;
        }
    }
    /* trim the trailing blank that libpq leaves on its messages */
    while (o > 1 && out[o - 1] == ' ')
        o--;
    if (o > 1 && out[o - 1] == 'n' && out[o - 2] == '\\')
        o -= 2;
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

void log_event(log_level level, const char *event, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char line[4096];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s component=%s%s%s event=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level], g_component, g_no_run ? "" : " run=",
                     g_no_run   ? ""
                     : g_run[0] ? g_run
                                : "-",
                     event);
    if (fmt && fmt[0] && n > 0 && (size_t)n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
