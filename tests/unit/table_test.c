/*
 * table_test — sink/table.c's row -> column text step without PostgreSQL:
 * JSON numbers into timestamp and date columns read as Kafka Connect's
 * logical types (epoch milliseconds, epoch days), as Confluent Cloud's Flink
 * writes them with 'json-registry'; strings pass unchanged; what cannot be a
 * time is refused with the column named.
 */
#define _POSIX_C_SOURCE 200809L
#include "../../sink/table.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static sink_column cols[] = {
    {.name = "id", .type = "bigint", .cls = COL_INT, .is_key = true},
    {.name = "amount", .type = "numeric(12,2)", .cls = COL_NUMERIC},
    {.name = "at", .type = "timestamp with time zone", .cls = COL_TIMESTAMPTZ},
    {.name = "local", .type = "timestamp without time zone", .cls = COL_TIMESTAMP},
    {.name = "day", .type = "date", .cls = COL_DATE},
};
static size_t keys[] = {0};
static sink_table table = {.name = "t", .cols = cols, .ncols = 5, .keys = keys, .nkeys = 1};

/* the column texts of row (JSON), "|"-joined, NULL as "~"; or "!" + reason */
static void values(const char *json, char *out, size_t n)
{
    json_error_t je;
    json_t *row = json_loads(json, 0, &je);
    char *vals[5], reason[256];
    if (!table_row_values(&table, row, true, vals, reason, sizeof reason)) {
        snprintf(out, n, "!%s", reason);
    } else {
        out[0] = 0;
        for (size_t i = 0; i < 5; i++)
            snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? "|" : "",
                     vals[i] ? vals[i] : "~");
        table_values_free(&table, vals);
    }
    json_decref(row);
}

int main(void)
{
    char got[512];
    values("{\"id\":1,\"amount\":12.50,\"at\":1733565600123,\"local\":1733565600123,\"day\":20064}",
           got, sizeof got);
    CHECK_STR("epoch ms into timestamptz (+00) and timestamp, epoch days into date",
              "1|12.5|2024-12-07 10:00:00.123+00|2024-12-07 10:00:00.123|2024-12-07", got);
    values("{\"id\":2,\"at\":-1,\"day\":-1}", got, sizeof got);
    CHECK_STR("before the epoch: floor, not truncation",
              "2|~|1969-12-31 23:59:59.999+00|~|1969-12-31", got);
    values("{\"id\":3,\"at\":0,\"local\":1.0e3}", got, sizeof got);
    CHECK_STR("the epoch itself; a whole real counts",
              "3|~|1970-01-01 00:00:00.000+00|1970-01-01 "
              "00:00:01.000|~",
              got);
    values("{\"id\":4,\"at\":\"2026-12-07T10:00:00Z\",\"day\":\"2026-12-07\"}", got, sizeof got);
    CHECK_STR("ISO strings pass unchanged (Apache Flink's json format)",
              "4|~|2026-12-07T10:00:00Z|~|2026-12-07", got);
    values("{\"id\":5,\"at\":1.5}", got, sizeof got);
    CHECK("a fraction of a millisecond is refused, naming the column",
          !strncmp(got, "!column \"at\"", 12) && strstr(got, "epoch milliseconds"));
    values("{\"id\":6,\"at\":253402300800000}", got, sizeof got);
    CHECK("past the year 9999 is refused", got[0] == '!' && strstr(got, "years 1..9999"));
    values("{\"id\":8,\"at\":1.7e129}", got, sizeof got);
    CHECK("a real too large for any clock is refused (fuzz_decode found the cast overflow)",
          got[0] == '!' && strstr(got, "epoch milliseconds"));
    values("{\"id\":9,\"at\":-62135596800000,\"day\":-719162}", got, sizeof got);
    CHECK_STR("year 1 keeps four digits (PostgreSQL would read \"1-01-01\" as 2001)",
              "9|~|0001-01-01 00:00:00.000+00|~|0001-01-01", got);
    values("{\"id\":7,\"day\":true}", got, sizeof got);
    CHECK("a boolean for a date is refused", got[0] == '!' && strstr(got, "wrong type"));
    return UNIT_DONE();
}
