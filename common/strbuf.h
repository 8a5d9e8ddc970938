/*
 * strbuf — a growable byte buffer.  Used for COPY payloads, SQL text,
 * Prometheus output and HTTP bodies.  Grows through xalloc.h: out of memory
 * aborts, so an append always succeeds.
 */
#ifndef FLINKPG_STRBUF_H
#define FLINKPG_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
} strbuf;

void sb_init(strbuf *sb);
void sb_free(strbuf *sb);
void sb_reset(strbuf *sb);
void sb_append(strbuf *sb, const void *data, size_t len);
void sb_puts(strbuf *sb, const char *s);
void sb_putc(strbuf *sb, char c);
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminated view of the contents (never NULL). */
const char *sb_str(strbuf *sb);
/* Take ownership of the bytes; the buffer is left empty. */
char *sb_steal(strbuf *sb);
/* A whole file as a NUL-terminated string (malloc'd; "" for an empty file),
 * or NULL with a message naming the file in err. */
char *sb_read_file(const char *path, char *err, size_t errlen);

#endif
