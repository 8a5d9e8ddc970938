/* batch — growable arrays of records, actions and dead letters; see sink.h. */
#define _POSIX_C_SOURCE 200809L
#include "sink.h"

#include <stdlib.h>
#include <string.h>

void batch_init(batch *b)
{
    memset(b, 0, sizeof *b);
}

static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return arr;
    size_t n = *cap ? *cap * 2 : 256;
    while (n < need)
        n *= 2;
    void *p = realloc(arr, n * size);
    if (!p)
        abort(); /* out of memory: nothing sensible to do mid-batch */
    *cap = n;
    return p;
}

batch_record *batch_add_record(batch *b)
{
    b->recs = grow(b->recs, &b->caprecs, b->nrecs + 1, sizeof *b->recs);
    batch_record *r = &b->recs[b->nrecs++];
    memset(r, 0, sizeof *r);
    return r;
}

action *batch_add_action(batch *b)
{
    b->acts = grow(b->acts, &b->capacts, b->nacts + 1, sizeof *b->acts);
    action *a = &b->acts[b->nacts++];
    memset(a, 0, sizeof *a);
    return a;
}

void batch_add_dead(batch *b, uint32_t rec, const char *reason)
{
    b->dlq = grow(b->dlq, &b->capdlq, b->ndlq + 1, sizeof *b->dlq);
    b->dlq[b->ndlq].rec = rec;
    /* reasons quote pieces of the record: keep them valid UTF-8 for the text column */
    char *copy = strdup(reason);
    if (!copy)
        abort();
    for (unsigned char *p = (unsigned char *)copy; *p;) {
        int len = *p < 0x80         ? 1
                  : (*p >> 5) == 6  ? 2
                  : (*p >> 4) == 14 ? 3
                  : (*p >> 3) == 30 ? 4
                                    : 0;
        int ok = len > 0;
        for (int i = 1; ok && i < len; i++)
            ok = (p[i] & 0xC0) == 0x80;
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += len;
    }
    b->dlq[b->ndlq].reason = copy;
    b->ndlq++;
    b->recs[rec].dead = true;
}

void batch_clear(batch *b, size_t ncols)
{
    for (size_t i = 0; i < b->nrecs; i++)
        free(b->recs[i].headers_json);
    for (size_t i = 0; i < b->nacts; i++) {
        for (size_t c = 0; c < ncols; c++)
            free(b->acts[i].vals[c]);
        free(b->acts[i].vals);
    }
    for (size_t i = 0; i < b->ndlq; i++)
        free(b->dlq[i].reason);
    b->nrecs = b->nacts = b->ndlq = 0;
    memset(b->kinds, 0, sizeof b->kinds);
    b->skipped = 0;
}

void batch_free(batch *b, size_t ncols)
{
    batch_clear(b, ncols);
    free(b->recs);
    free(b->acts);
    free(b->dlq);
    batch_init(b);
}
