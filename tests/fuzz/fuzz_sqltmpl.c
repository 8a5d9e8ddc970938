/* fuzz_sqltmpl — common/sqltmpl: render ${placeholders} and split into
 * statements.  Input: the template text.  Checked beyond "no crash": the
 * split statements hold no empty one. */
#include "../../common/sqltmpl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    static const char *const vars[] = {
        "orders_topic", "o", "shipments_topic", "s", "output_topic", "out", "kafka_options",
        "'a' = 'b',",   NULL};
    size_t n = 0;
    char err[256];
    char **st = sqltmpl_statements("fuzz.sql", text, vars, &n, err, sizeof err);
    for (size_t i = 0; st && i < n; i++)
        if (!st[i][0])
            abort(); /* an empty statement must never be sent */
    if (st)
        sqltmpl_free_list(st, n);
    free(text);
    return 0;
}
