/* fuzz_responses — what the REST clients make of answers they did not
 * write: the SQL Gateway's result pages (common/flinkgw.c), its error bodies
 * and JobManager stack traces (flinkgw_error.c), Confluent's Statement, its
 * Failure bodies and list paging (common/confluent.c).  The input is the
 * answer's body; jansson parses it as the clients do. */
#include "../../common/confluent.h"
#include "../../common/flinkgw.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char out[1024], err[256];
    flinkgw_error_message(text, out, sizeof out);
    flinkgw_trace_message(text, out, sizeof out);
    confluent_failure_message(400, text, out, sizeof out);
    free(confluent_page_token(text));
    json_t *j = json_loadb(text, size, 0, NULL);
    if (j) {
        flinkgw_result r = {.columns = json_array(), .rows = json_array()};
        const char *next = NULL;
        /* two pages of the same answer: the second appends to the first */
        for (int i = 0; i < 2; i++)
            if (flinkgw_result_page(j, &r, &next, err, sizeof err) == FLINKGW_PAGE_BAD && !err[0])
                abort();
        flinkgw_result_free(&r);
        confluent_statement s;
        confluent_statement_parse(j, &s);
        confluent_statement_free(&s);
        json_decref(j);
    }
    free(text);
    return 0;
}
