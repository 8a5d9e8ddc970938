/*
 * Unit tests of the pieces of the REST clients that need no server: template
 * rendering and splitting (sql/flink/README.md's rule), Flink error
 * extraction, Confluent statement-name validation.
 */
#include "../../common/confluent.h"
#include "../../common/flinkgw.h"
#include "../../common/sqltmpl.h"
#include "unit.h"

#include <stdlib.h>

static void test_render(void)
{
    const char *vars[] = {"topic", "orders", "opts", "'a' = 'b;c',", NULL};
    char err[256] = "";
    char *s = sqltmpl_render("T ${topic} ${opts} ${topic}", vars, err, sizeof err);
    CHECK_STR("render substitutes every placeholder", "T orders 'a' = 'b;c', orders", s);
    free(s);
    s = sqltmpl_render("x ${nope} y", vars, err, sizeof err);
    CHECK("render refuses an unknown placeholder", s == NULL);
    CHECK("the error names it", strstr(err, "${nope}") != NULL);
    s = sqltmpl_render("x ${open", vars, err, sizeof err);
    CHECK("render refuses an unterminated placeholder", s == NULL);
    s = sqltmpl_render("no placeholders", NULL, err, sizeof err);
    CHECK_STR("render without vars", "no placeholders", s);
    free(s);
    s = sqltmpl_render("", NULL, err, sizeof err);
    CHECK_STR("render of empty text is empty, not an error", "", s);
    free(s);
    s = sqltmpl_render("a ${topic\n}", vars, err, sizeof err);
    CHECK("a placeholder cannot span lines", s == NULL && strstr(err, "unterminated"));
    s = sqltmpl_render("last $", vars, err, sizeof err);
    CHECK_STR("a lone '$' at the end stays", "last $", s);
    free(s);
    const char *ml[] = {"opts", "'a' = 'b',\n  'c' = 'd;',", NULL};
    s = sqltmpl_render(
        "-- ${opts} documented here, ${unknown} too\nWITH (\n  ${opts}\n  'x' = 'y'\n);\n", ml, err,
        sizeof err);
    CHECK_STR("render leaves comment lines alone (a multi-line value cannot spill out of one)",
              "-- ${opts} documented here, ${unknown} too\nWITH (\n  'a' = 'b',\n  'c' = 'd;',\n  "
              "'x' = 'y'\n);\n",
              s);
    size_t n = 0;
    char **st = s ? sqltmpl_split(s, &n) : NULL;
    CHECK("which then splits into one statement", st && n == 1 && !strncmp(st[0], "WITH (", 6));
    sqltmpl_free_list(st, n);
    free(s);
}

static void test_split(void)
{
    const char *sql = "-- header; with a semicolon;\n"
                      "SET 'a' = 'b';\n"
                      "\n"
                      "CREATE TABLE t (\n"
                      "  x INT -- trailing comment stays\n"
                      "  , j STRING\n"
                      ") WITH (\n"
                      "    -- a comment line inside\n"
                      "  'jaas' = 'x required u=\"a\" p=\"b\";'\n"
                      ");  \n"
                      "INSERT INTO t SELECT 1, 'a'\n";
    size_t n = 0;
    char **st = sqltmpl_split(sql, &n);
    CHECK("split finds three statements", st && n == 3);
    if (st && n == 3) {
        CHECK_STR("first statement, no ';'", "SET 'a' = 'b'", st[0]);
        CHECK("a ';' inside a line does not split", strstr(st[1], "p=\"b\";'") != NULL);
        CHECK("comment lines are dropped", strstr(st[1], "comment line inside") == NULL);
        CHECK("the last statement needs no ';'", strncmp(st[2], "INSERT INTO t", 13) == 0);
    }
    sqltmpl_free_list(st, n);
    st = sqltmpl_split("-- only a comment\n\n", &n);
    CHECK("only comments: no statements", st && n == 0);
    sqltmpl_free_list(st, n);
}

static void test_errors(void)
{
    char out[512];
    const char *body =
        "{\"errors\":[\"Internal server error.\",\"<Exception on server side:\\n"
        "org.apache.flink.table.gateway.api.utils.SqlGatewayException: Failed to fetchResults.\\n"
        "\\tat x.y(Z.java:1)\\n"
        "Caused by: org.apache.flink.table.gateway.api.utils.SqlGatewayException: Failed to "
        "fetchResults.\\n"
        "Caused by: org.apache.flink.table.gateway.service.utils.SqlExecutionException: Failed to "
        "execute the operation 7b.\\n"
        "Caused by: org.apache.flink.table.api.ValidationException: SQL validation failed. Object "
        "'nosuch' not found\\n"
        "Caused by: org.apache.calcite.sql.validate.SqlValidatorException: Object 'nosuch' not "
        "found\\n"
        "\\t... 3 more\\n>\"]}";
    flinkgw_error_message(body, out, sizeof out);
    CHECK_STR("Flink error: first real cause and the root cause",
              "ValidationException: SQL validation failed. Object 'nosuch' not found (root cause: "
              "SqlValidatorException: Object 'nosuch' not found)",
              out);
    flinkgw_error_message("{\"errors\":[\"Session 'x' does not exist\"]}", out, sizeof out);
    CHECK_STR("Flink error without a trace", "Session 'x' does not exist", out);
    flinkgw_error_message("not json", out, sizeof out);
    CHECK_STR("non-JSON error body is shown as is", "not json", out);
}

static void test_names(void)
{
    char err[256];
    CHECK("valid name", confluent_valid_name("flinkpg-demo-upsert-1", err, sizeof err));
    CHECK("uppercase refused", !confluent_valid_name("Demo", err, sizeof err));
    CHECK("the error says why", strstr(err, "lowercase") != NULL);
    CHECK("underscore refused", !confluent_valid_name("a_b", err, sizeof err));
    CHECK("leading dash refused", !confluent_valid_name("-ab", err, sizeof err));
    CHECK("trailing dash refused", !confluent_valid_name("ab-", err, sizeof err));
    CHECK("empty refused", !confluent_valid_name("", err, sizeof err));
    char longname[102];
    memset(longname, 'a', 101);
    longname[101] = 0;
    longname[73] = 0;
    CHECK("73 characters refused (Confluent's limit is 72)",
          !confluent_valid_name(longname, err, sizeof err));
    CHECK("the error names the limit", strstr(err, "at most 72") != NULL);
    longname[72] = 0;
    CHECK("72 characters accepted", confluent_valid_name(longname, err, sizeof err));
    char fit[128], fit2[128];
    memset(longname, 'a', 101);
    longname[101] = 0;
    confluent_fit_name("demo-upsert", "-ddl-1", 72, fit, sizeof fit);
    CHECK("fit: a short name is kept", !strcmp(fit, "demo-upsert-ddl-1"));
    confluent_fit_name(longname, "-ddl-12", 72, fit, sizeof fit);
    CHECK("fit: a long one is cut to 72 and stays valid",
          strlen(fit) == 72 && confluent_valid_name(fit, err, sizeof err));
    CHECK("fit: the suffix is kept", strstr(fit, "-ddl-12") == fit + 72 - 7);
    longname[100] = 'b';
    confluent_fit_name(longname, "-ddl-12", 72, fit2, sizeof fit2);
    CHECK("fit: long names differing only past the cut stay distinct", strcmp(fit, fit2) != 0);
    memset(longname, '-', 90);
    confluent_fit_name(longname, "", 60, fit, sizeof fit);
    CHECK("fit: never starts with a dash", fit[0] != '-' && strlen(fit) <= 60);
}

int main(void)
{
    test_render();
    test_split();
    test_errors();
    test_names();
    return UNIT_DONE();
}
