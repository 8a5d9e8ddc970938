/*
 * flinkgw_error — what went wrong, from a Flink SQL Gateway's error body or a
 * JobManager's root exception: a Java stack trace cut down to its causes.
 * See flinkgw.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "flinkgw.h"
#include "strbuf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* "Caused by: org.x.FooException: message" -> "FooException: message" */
static void short_cause(const char *line, size_t len, strbuf *out)
{
    const char *colon = memchr(line, ':', len);
    const char *cls_end = colon ? colon : line + len;
    const char *cls = line;
    for (const char *p = line; p < cls_end; p++)
        if (*p == '.')
            cls = p + 1;
    sb_append(out, cls, (size_t)(line + len - cls));
}

/* The useful part of a Java stack trace: the first "Caused by:" that is not
 * the Gateway's own wrapper and, when different, the deepest one; without a
 * cause chain, the trace's first line. */
static void trace_cause(const char *trace, strbuf *sb)
{
    const char *first = NULL, *deepest = NULL;
    size_t first_len = 0, deepest_len = 0;
    for (const char *p = trace; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        static const char cb[] = "Caused by: ";
        if (len > sizeof cb - 1 && strncmp(p, cb, sizeof cb - 1) == 0) {
            const char *c = p + sizeof cb - 1;
            size_t cl = len - (sizeof cb - 1);
            const char *w = strstr(c, "SqlGatewayException");
            bool wrapper = w && w < c + cl;
            bool exec =
                cl > 66 &&
                strncmp(c, "org.apache.flink.table.gateway.service.utils.SqlExecutionException",
                        66) == 0;
            if (!first && !wrapper && !exec) {
                first = c;
                first_len = cl;
            }
            deepest = c;
            deepest_len = cl;
        }
        p = eol ? eol + 1 : NULL;
    }
    if (first) {
        short_cause(first, first_len, sb);
        if (deepest != first) {
            sb_puts(sb, " (root cause: ");
            short_cause(deepest, deepest_len, sb);
            sb_puts(sb, ")");
        }
    } else if (deepest) {
        short_cause(deepest, deepest_len, sb);
    } else {
        const char *p = trace;
        if (strncmp(p, "<Exception on server side:\n", 27) == 0)
            p += 27;
        const char *eol = strchr(p, '\n');
        short_cause(p, eol ? (size_t)(eol - p) : strlen(p), sb);
    }
}

void flinkgw_error_message(const char *body, char *out, size_t outlen)
{
    json_error_t je;
    json_t *root = json_loads(body ? body : "", 0, &je);
    json_t *errs = root ? json_object_get(root, "errors") : NULL;
    if (!json_is_array(errs) || json_array_size(errs) == 0) {
        snprintf(out, outlen, "%.300s", body && *body ? body : "(empty response)");
        json_decref(root);
        return;
    }
    /* the trace is the longest element; the first is a summary */
    const char *summary = json_string_value(json_array_get(errs, 0));
    const char *trace = NULL;
    size_t i;
    json_t *v;
    json_array_foreach (errs, i, v) {
        const char *s = json_string_value(v);
        if (s && (!trace || strlen(s) > strlen(trace)))
            trace = s;
    }
    strbuf sb;
    sb_init(&sb);
    if (trace && trace != summary)
        trace_cause(trace, &sb);
    else
        sb_puts(&sb, summary ? summary : "unknown error");
    snprintf(out, outlen, "%s", sb_str(&sb));
    sb_free(&sb);
    json_decref(root);
}

void flinkgw_trace_message(const char *trace, char *out, size_t outlen)
{
    strbuf sb;
    sb_init(&sb);
    trace_cause(trace, &sb);
    snprintf(out, outlen, "%s", sb_str(&sb));
    sb_free(&sb);
}
