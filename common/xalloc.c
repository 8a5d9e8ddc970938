/* xalloc — see xalloc.h. */
#define _POSIX_C_SOURCE 200809L
#include "xalloc.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Noreturn void xalloc_die(size_t n)
{
    /* no stdio buffers, no allocation: write(2) and abort */
    char msg[96];
    int len = snprintf(msg, sizeof msg, "flinkpg: out of memory (allocating %zu bytes)\n", n);
    if (len > 0 && write(2, msg, (size_t)len) < 0)
        abort();
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        xalloc_die(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        xalloc_die(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        xalloc_die(n);
    return q;
}

char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        xalloc_die(strlen(s) + 1);
    return d;
}

char *xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        xalloc_die(n + 1);
    return d;
}

char *xjson_dumps(const json_t *j, size_t flags)
{
    char *text = json_dumps(j, flags);
    if (!text)
        xalloc_die(0);
    return text;
}
