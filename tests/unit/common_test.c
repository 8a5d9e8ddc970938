/* Unit tests of common/: configuration precedence and .env parsing, the
 * Schema Registry header, backoff bounds, logfmt quoting, JSON value text,
 * which Kafka errors are fatal. */
#define _POSIX_C_SOURCE 200809L
#include "../../common/backoff.h"
#include "../../common/config.h"
#include "../../common/kafkaconf.h"
#include "../../common/log.h"
#include "../../common/srwire.h"
#include "../../sink/table.h"
#include "unit.h"

#include <stdlib.h>
#include <unistd.h>

static cfg_opt make_opts(cfg_opt *o)
{
    o[0] = (cfg_opt){.name = "topic", .env = "UT_TOPIC", .kind = OPT_STR, .def = "d"};
    o[1] = (cfg_opt){.name = "size", .env = "UT_SIZE", .kind = OPT_INT, .def = "5"};
    o[2] = (cfg_opt){.name = "flag", .env = "UT_FLAG", .kind = OPT_BOOL, .def = "false"};
    o[3] = (cfg_opt){.name = "prop", .env = "UT_PROP", .kind = OPT_LIST, .short_name = 'X'};
    return o[0];
}

int main(void)
{
    char err[512];
    cfg_opt o[4];

    /* defaults */
    make_opts(o);
    cfg_spec s = {.prog = "t", .summary = "t", .opts = o, .nopts = 4};
    char *a0[] = {"t", NULL};
    CHECK("parse with no flags", cfg_parse(&s, 1, a0, err, sizeof err) == CFG_OK);
    CHECK_STR("default applies", "d", cfg_str(&s, "topic"));
    CHECK("default int", cfg_int(&s, "size") == 5 && !cfg_find(&s, "size")->set);
    cfg_free(&s);

    /* env beats default, flag beats env */
    setenv("UT_TOPIC", "from-env", 1);
    make_opts(o);
    char *a1[] = {"t", "--size=9", "-X", "a=b", "--prop", "c=d", "--flag", NULL};
    CHECK("parse flags", cfg_parse(&s, 7, a1, err, sizeof err) == CFG_OK);
    CHECK_STR("environment beats default", "from-env", cfg_str(&s, "topic"));
    CHECK("flag with =", cfg_int(&s, "size") == 9);
    CHECK("bool flag", cfg_bool(&s, "flag"));
    CHECK("list flag repeats", o[3].nlist == 2 && !strcmp(o[3].list[1], "c=d"));
    cfg_free(&s);
    make_opts(o);
    char *a2[] = {"t", "--topic", "from-flag", NULL};
    cfg_parse(&s, 3, a2, err, sizeof err);
    CHECK_STR("flag beats environment", "from-flag", cfg_str(&s, "topic"));
    cfg_free(&s);
    unsetenv("UT_TOPIC");

    /* errors name the option */
    make_opts(o);
    char *a3[] = {"t", "--size", "many", NULL};
    CHECK("bad integer is an error", cfg_parse(&s, 3, a3, err, sizeof err) == CFG_ERROR);
    CHECK("error names the flag", strstr(err, "--size") && strstr(err, "many"));
    cfg_free(&s);
    make_opts(o);
    char *a4[] = {"t", "--nope", NULL};
    CHECK("unknown flag is an error",
          cfg_parse(&s, 2, a4, err, sizeof err) == CFG_ERROR && strstr(err, "--nope"));
    cfg_free(&s);
    make_opts(o);
    setenv("UT_SIZE", "x1", 1);
    CHECK("bad env value names the variable",
          cfg_parse(&s, 1, a0, err, sizeof err) == CFG_ERROR && strstr(err, "UT_SIZE"));
    unsetenv("UT_SIZE");
    cfg_free(&s);

    /* .env files: quotes, comments, export, existing variables win */
    char path[] = "/tmp/flinkpg-unit-envXXXXXX";
    int fd = mkstemp(path);
    const char *text = "# comment\n\nexport UT_TOPIC=\"quoted value\"\nUT_SIZE=12 # trailing\n"
                       "UT_PROP='a=b'\nUT_FLAG=yes\n";
    CHECK("write env file", write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    setenv("UT_FLAG", "no", 1);
    make_opts(o);
    char *a5[] = {"t", "--env-file", path, NULL};
    CHECK("parse with env file", cfg_parse(&s, 3, a5, err, sizeof err) == CFG_OK);
    CHECK_STR(".env double quotes", "quoted value", cfg_str(&s, "topic"));
    CHECK(".env trailing comment stripped", cfg_int(&s, "size") == 12);
    CHECK(".env single quotes", o[3].nlist == 1 && !strcmp(o[3].list[0], "a=b"));
    CHECK("process environment beats .env", !cfg_bool(&s, "flag"));
    {
        char want[256];
        snprintf(want, sizeof want, "UT_SIZE (%s line 4)", path);
        CHECK_STR("origin: a .env line, with its file and line", want, cfg_origin(&s, "size"));
        CHECK_STR("origin: the process environment", "UT_FLAG (environment)",
                  cfg_origin(&s, "flag"));
        char e2[256];
        snprintf(want, sizeof want, "UT_SIZE (%s line 4): \"12\" is too big", path);
        CHECK_STR("cfg_invalid: origin, value, why", want,
                  cfg_invalid(&s, "size", "is too big", e2, sizeof e2));
    }
    cfg_free(&s);
    unsetenv("UT_TOPIC");
    make_opts(o);
    char *a6[] = {"t", "--size", "7", NULL};
    cfg_parse(&s, 3, a6, err, sizeof err);
    CHECK_STR("origin: a flag", "--size", cfg_origin(&s, "size"));
    CHECK_STR("origin: a default", "--topic (default)", cfg_origin(&s, "topic"));
    cfg_free(&s);
    FILE *f = fopen(path, "w");
    fputs("GOOD=1\nthis line is wrong\n", f);
    fclose(f);
    CHECK("malformed .env line is reported with its line number",
          !cfg_load_env_file(path, err, sizeof err) && strstr(err, ":2:"));
    unlink(path);
    unsetenv("UT_TOPIC");
    unsetenv("UT_SIZE");
    unsetenv("UT_PROP");
    unsetenv("UT_FLAG");
    unsetenv("GOOD");

    size_t n;
    char **parts = cfg_split(" a, b ,,c ", ',', &n);
    CHECK("split trims and skips empties",
          n == 3 && !strcmp(parts[0], "a") && !strcmp(parts[1], "b") && !strcmp(parts[2], "c"));
    cfg_free_list(parts, n);

    /* Schema Registry header round trip */
    unsigned char h[SRWIRE_HEADER_LEN + 2];
    srwire_header(0x01020304u, h);
    h[5] = '{';
    h[6] = '}';
    uint32_t id;
    const void *payload;
    size_t plen;
    CHECK("srwire round trip",
          srwire_decode(h, sizeof h, &id, &payload, &plen, err, sizeof err) == 0 &&
              id == 0x01020304u && plen == 2 && payload == h + 5);
    CHECK("srwire header bytes are big-endian", h[0] == 0 && h[1] == 1 && h[4] == 4);

    /* backoff grows, is capped, and stays within [d/2, d] */
    backoff b;
    backoff_init(&b, 100, 1000);
    uint32_t d1 = backoff_next(&b), d2 = backoff_next(&b);
    for (int i = 0; i < 10; i++)
        backoff_next(&b);
    uint32_t dmax = backoff_next(&b);
    CHECK("backoff first delay in [50,100]", d1 >= 50 && d1 <= 100);
    CHECK("backoff second delay in [100,200]", d2 >= 100 && d2 <= 200);
    CHECK("backoff capped", dmax >= 500 && dmax <= 1000);

    /* logfmt quoting */
    CHECK_STR("lq leaves simple values", "abc", lq("abc"));
    CHECK_STR("lq quotes spaces and escapes quotes", "\"a \\\"b\\\"\"", lq("a \"b\""));
    CHECK_STR("lq empty", "\"\"", lq(""));

    /* JSON values as PostgreSQL text */
    json_t *v = json_real(19.99);
    char *t = json_value_text(v);
    CHECK_STR("real prints shortest round-trip form", "19.99", t);
    free(t);
    json_decref(v);
    v = json_loads("{\"a\":[1,2]}", 0, NULL);
    t = json_value_text(v);
    CHECK_STR("object prints as compact JSON", "{\"a\":[1,2]}", t);
    free(t);
    json_decref(v);
    v = json_integer(-9007199254740993LL);
    t = json_value_text(v);
    CHECK_STR("big integers keep every digit", "-9007199254740993", t);
    free(t);
    json_decref(v);
    CHECK("null is SQL NULL", json_value_text(json_null()) == NULL);

    /* Kafka errors: certificate and credential failures end the program,
     * the rest is retried */
    char cause[160], broker[64];
    const char *vf = "sasl_ssl://127.0.0.1:9095/bootstrap: SSL handshake failed: "
                     "error:0A000086:SSL routines::certificate verify failed: broker ...";
    CHECK("an expired certificate is fatal",
          kafka_error_fatal(RD_KAFKA_RESP_ERR__SSL, vf, 10, cause, sizeof cause));
    CHECK_STR("... and says so", "broker certificate rejected: certificate has expired", cause);
    CHECK("an unknown CA is fatal",
          kafka_error_fatal(RD_KAFKA_RESP_ERR__SSL, vf, 20, cause, sizeof cause));
    CHECK_STR("... and says so",
              "broker certificate rejected: unable to get local issuer certificate", cause);
    kafka_error_fatal(RD_KAFKA_RESP_ERR__SSL, vf, 0, cause, sizeof cause);
    CHECK_STR("a rejection with no verify code seen", "broker certificate rejected", cause);
    kafka_error_fatal(RD_KAFKA_RESP_ERR__SSL, vf, 99, cause, sizeof cause);
    CHECK_STR("a code without words", "broker certificate rejected: verify error 99", cause);
    CHECK("the verdict reported with the first read (_TRANSPORT) is fatal too",
          kafka_error_fatal(RD_KAFKA_RESP_ERR__TRANSPORT,
                            "ssl://h:1/bootstrap: error:0A000086:SSL routines::certificate verify "
                            "failed",
                            10, cause, sizeof cause));
    CHECK("another TLS failure (a reset mid-handshake) is retried",
          !kafka_error_fatal(RD_KAFKA_RESP_ERR__SSL,
                             "ssl://h:1/bootstrap: SSL handshake failed: Disconnected", 0, cause,
                             sizeof cause));
    CHECK("refused credentials are fatal",
          kafka_error_fatal(RD_KAFKA_RESP_ERR__AUTHENTICATION, "x", 0, cause, sizeof cause));
    CHECK_STR("... and say so", "SASL authentication failed", cause);
    CHECK("a broker down is retried",
          !kafka_error_fatal(RD_KAFKA_RESP_ERR__TRANSPORT, "Connection refused", 0, cause,
                             sizeof cause) &&
              !kafka_error_fatal(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "1/1 brokers are down", 0,
                                 cause, sizeof cause));
    CHECK("no reason at all",
          !kafka_error_fatal(RD_KAFKA_RESP_ERR__SSL, NULL, 10, cause, sizeof cause));
    kafka_reason_broker(vf, broker, sizeof broker);
    CHECK_STR("the broker out of the reason", "127.0.0.1:9095", broker);
    kafka_reason_broker("sasl_ssl://b-1.example.com:9092/1: SASL authentication error", broker,
                        sizeof broker);
    CHECK_STR("a broker by name and id", "b-1.example.com:9092", broker);
    kafka_reason_broker("1/1 brokers are down", broker, sizeof broker);
    CHECK_STR("no broker named", "-", broker);
    CHECK("no words for an unknown code", kafka_x509_text(12345) == NULL);
    return UNIT_DONE();
}
