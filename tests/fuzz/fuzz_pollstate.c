/* fuzz_pollstate — the generator's poll-source state file
 * (generator/pollstate.c): the cursor and the content hash of every key the
 * source has shown, read back at start-up from a file anyone could edit. */
#define _DEFAULT_SOURCE
#include "../../generator/gen.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void each(const char *key, uint64_t hash, void *ctx)
{
    (void)hash;
    (*(size_t *)ctx) += strlen(key) + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    /* a state file that does not exist: an empty state */
    pollstate *s = pollstate_load("/nonexistent-fuzz-dir/state.json", err, sizeof err);
    if (!s)
        abort();
    FILE *f = fmemopen((void *)data, size, "r");
    if (f && pollstate_read(s, f, err, sizeof err)) {
        const char *c = pollstate_cursor(s);
        if (c)
            pollstate_set_cursor(s, c);
        size_t seen = 0;
        pollstate_each(s, each, &seen);
        pollstate_set_hash(s, "{\"id\":1}", pollstate_hash(s, "{\"id\":1}") + 1);
    }
    if (f)
        fclose(f);
    pollstate_free(s);
    return 0;
}
