/* fuzz_watch — controller/watch.c: the frame splitter (a watch stream's JSON
 * lines arrive in chunks cut anywhere) and the parser of each line.  Byte 0
 * seeds the chunk sizes; the rest is the stream.  Property: the lines
 * delivered are the stream's complete non-empty lines, in order, whatever
 * the cuts. */
#include "../../controller/watch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    strbuf got;
} sink;

static bool on_line(const char *line, size_t len, void *ctx)
{
    sink *s = ctx;
    if (!len || memchr(line, '\n', len))
        abort(); /* lines are non-empty and hold no newline */
    sb_append(&s->got, line, len);
    sb_putc(&s->got, '\n');
    json_t *root = NULL, *obj = NULL;
    int code = 0;
    watch_parse_line(line, len, &root, &obj, &code);
    json_decref(root);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned seed = data[0];
    const char *stream = (const char *)data + 1;
    size_t n = size - 1;
    frame_splitter fs;
    frame_splitter_init(&fs, 4096);
    sink s;
    sb_init(&s.got);
    bool ok = true;
    for (size_t off = 0; off < n && ok;) {
        seed = seed * 1103515245u + 12345u;
        size_t chunk = 1 + (seed >> 16) % 64;
        if (chunk > n - off)
            chunk = n - off;
        ok = frame_splitter_feed(&fs, stream + off, chunk, on_line, &s);
        off += chunk;
    }
    if (ok) { /* every complete line came out, in order, nothing else */
        strbuf want;
        sb_init(&want);
        const char *p = stream, *end = stream + n;
        for (const char *nl; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1)
            if (nl > p) {
                sb_append(&want, p, (size_t)(nl - p));
                sb_putc(&want, '\n');
            }
        if (want.len != s.got.len || (want.len && memcmp(want.data, s.got.data, want.len)))
            abort();
        sb_free(&want);
    }
    sb_free(&s.got);
    frame_splitter_free(&fs);
    return 0;
}
