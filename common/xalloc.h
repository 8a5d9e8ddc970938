/*
 * xalloc — the allocation policy: memory is not a peer error.  These abort
 * with one line on stderr when the allocator fails (as Redis's zmalloc
 * does); callers never test for NULL.  err/errlen stays for real I/O and
 * peer errors.
 */
#ifndef FLINKPG_XALLOC_H
#define FLINKPG_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* json_dumps, which fails only when memory does (jansson's strings are
 * valid UTF-8 from their creation) */
struct json_t;
char *xjson_dumps(const struct json_t *j, size_t flags);
/* The one place that gives up. */
_Noreturn void xalloc_die(size_t n);

#endif
