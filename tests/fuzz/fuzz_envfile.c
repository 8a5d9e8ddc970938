/* fuzz_envfile — common/config.c's .env reader: KEY=VALUE lines, comments,
 * `export`, single and double quotes, escapes.  Each run starts from an empty
 * environment (what it sets would otherwise pile up). */
#define _DEFAULT_SOURCE
#include "../../common/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clearenv();
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    char err[512] = "";
    if (!cfg_load_env_stream(f, "fuzz.env", err, sizeof err) && !strstr(err, "fuzz.env:"))
        abort(); /* a refused line is named by file and line */
    fclose(f);
    return 0;
}
