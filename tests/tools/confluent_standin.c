/*
 * confluent_standin — a stand-in for Confluent Cloud's Flink statements API,
 * written from Confluent's published OpenAPI spec "SQL API v1"
 * (flink-gateway/v1/api/openapi.yaml of confluentinc/ccloud-sdk-go-v2:
 * paths /sql/v1/organizations/{organization_id}/environments/{environment_id}/
 * statements[/{statement_name}], schemas sql.v1.Statement, sql.v1.StatementSpec,
 * sql.v1.StatementStatus, sql.v1.StatementList, ObjectMeta, ListMeta, Failure).
 * Confluent Cloud cannot run here, so this is NOT the real service: it keeps
 * statements in memory and imitates only what the spec documents:
 *
 *   POST   …/statements            create; 409 if the name exists; 400 on a bad name
 *   GET    …/statements/{name}     the Statement; the phase moves PENDING → RUNNING
 *                                  (or COMPLETED for DDL, FAILED for SQL containing
 *                                  "FAIL_ME") on the next read
 *   PUT    …/statements/{name}     spec.stopped true → STOPPED, false → RUNNING;
 *                                  a stale metadata.resource_version → 409
 *   DELETE …/statements/{name}     202; 404 when absent
 *   GET    …/statements?page_size&page_token   pages, metadata.next carries the token
 * Every request needs HTTP Basic with --key/--secret (else 401 with
 * WWW-Authenticate).  Errors use the spec's Failure body {"errors": [{"status",
 * "code", "title", "detail"}]}.
 *
 * Fault injection for retry tests: POST /_standin/inject?status=429&count=2
 * &retry_after=1 makes the next `count` API requests answer `status` (with
 * Retry-After when given); GET /_standin/stats answers {"requests": N}.
 *
 *   confluent_standin --port 0 --port-file F --key K --secret S
 */
#define _POSIX_C_SOURCE 200809L
#include "../../common/strbuf.h"

#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXST 8192          /* make bench-controller: 1000 runs x 6 statements */
static json_t *g_st[MAXST]; /* statements, NULL = free slot */
static long g_version;
static const char *g_key = "key", *g_secret = "secret";
static int inj_status, inj_count, inj_retry_after = -1;
static long g_requests;
static volatile sig_atomic_t g_stop;

static void on_sig(int s)
{
    (void)s;
    g_stop = 1;
}

typedef struct {
    strbuf body;
} conn;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, json_t *body,
                             int retry_after)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : strdup("");
    json_decref(body);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "X-Request-Id", "standin");
    if (retry_after >= 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", v);
    }
    if (status == 401)
        MHD_add_response_header(
            r, "WWW-Authenticate",
            "Basic error=\"invalid_key\", error_description=\"The API Key is invalid\"");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result failure(struct MHD_Connection *c, unsigned status, const char *code,
                               const char *title, const char *detail, int retry_after)
{
    char st[8];
    snprintf(st, sizeof st, "%u", status);
    json_t *e = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s}]}", "errors", "id", "standin", "status", st,
                          "code", code, "title", title, "detail", detail);
    return reply(c, status, e, retry_after);
}

static int find(const char *name)
{
    for (int i = 0; i < MAXST; i++)
        if (g_st[i] && !strcmp(json_string_value(json_object_get(g_st[i], "name")), name))
            return i;
    return -1;
}

static bool valid_name(const char *n)
{
    size_t len = strlen(n);
    if (!len || len > 100 || n[0] == '-' || n[len - 1] == '-')
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '-'))
            return false;
    return true;
}

static void now_iso(char *out, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void bump(json_t *st)
{
    char v[32], ts[32];
    snprintf(v, sizeof v, "%ld", ++g_version);
    now_iso(ts, sizeof ts);
    json_t *m = json_object_get(st, "metadata");
    json_object_set_new(m, "resource_version", json_string(v));
    json_object_set_new(m, "updated_at", json_string(ts));
}

static void set_phase(json_t *st, const char *phase, const char *detail)
{
    json_t *s = json_object_get(st, "status");
    json_object_set_new(s, "phase", json_string(phase));
    json_object_set_new(s, "detail", json_string(detail));
}

/* the phase a PENDING statement moves to when read again */
static void advance(json_t *st)
{
    json_t *s = json_object_get(st, "status");
    const char *phase = json_string_value(json_object_get(s, "phase"));
    if (!phase || strcmp(phase, "PENDING"))
        return;
    const char *sql = json_string_value(json_object_get(json_object_get(st, "spec"), "statement"));
    if (sql && strstr(sql, "FAIL_ME"))
        set_phase(st, "FAILED", "SQL validation failed: Object 'FAIL_ME' not found");
    else if (sql && (strncmp(sql, "CREATE", 6) == 0 || strncmp(sql, "SET", 3) == 0))
        set_phase(st, "COMPLETED", "Command completed successfully.");
    else
        set_phase(st, "RUNNING", "Statement is running.");
}

static enum MHD_Result api(struct MHD_Connection *c, const char *method, const char *url,
                           const char *body, const char *base)
{
    /* url = base[/name] */
    const char *rest = url + strlen(base);
    char name[160] = "";
    if (*rest == '/')
        snprintf(name, sizeof name, "%s", rest + 1);
    else if (*rest)
        return failure(c, 404, "not_found", "Not Found", "unknown path", -1);

    if (!*name && !strcmp(method, "POST")) {
        json_error_t je;
        json_t *in = json_loads(body ? body : "", 0, &je);
        const char *n = json_string_value(json_object_get(in, "name"));
        json_t *spec = json_object_get(in, "spec");
        const char *sql = json_string_value(json_object_get(spec, "statement"));
        if (!in || !n || !json_is_object(spec) || !sql) {
            json_decref(in);
            return failure(c, 400, "bad_request", "Bad Request",
                           "name and spec.statement are required", -1);
        }
        if (!valid_name(n)) {
            json_decref(in);
            return failure(c, 400, "invalid_name", "Bad Request",
                           "name must be lowercase alphanumeric or '-', at most 100 characters",
                           -1);
        }
        if (find(n) >= 0) {
            json_decref(in);
            return failure(c, 409, "conflict", "Conflict", "statement name already exists", -1);
        }
        int slot = -1;
        for (int i = 0; i < MAXST && slot < 0; i++)
            if (!g_st[i])
                slot = i;
        if (slot < 0) {
            json_decref(in);
            return failure(c, 429, "quota", "Too Many Statements", "stand-in is full", -1);
        }
        char ts[32], self[512];
        now_iso(ts, sizeof ts);
        snprintf(self, sizeof self, "%s/%s", base, n);
        json_t *st = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s},s:O,s:{s:s,s:s}}", "api_version",
                               "sql/v1", "kind", "Statement", "name", n, "metadata", "self", self,
                               "created_at", ts, "uid", n, "spec", spec, "status", "phase",
                               "PENDING", "detail", "Statement is pending.");
        json_decref(in);
        if (!st)
            return MHD_NO;
        if (!json_object_get(json_object_get(st, "spec"), "stopped"))
            json_object_set_new(json_object_get(st, "spec"), "stopped", json_false());
        bump(st);
        g_st[slot] = st;
        return reply(c, 200, json_incref(st), -1);
    }
    if (!*name && !strcmp(method, "GET")) {
        const char *ps = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page_size");
        const char *pt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page_token");
        int size = ps ? atoi(ps) : 10, start = pt ? atoi(pt) : 0, i, seen = 0;
        if (size < 1 || size > 100)
            return failure(c, 400, "invalid_page_size", "Bad Request", "page_size must be 1..100",
                           -1);
        json_t *data = json_array();
        for (i = 0; i < MAXST; i++) {
            if (!g_st[i])
                continue;
            if (seen++ < start)
                continue;
            if ((int)json_array_size(data) == size)
                break;
            advance(g_st[i]);
            json_array_append(data, g_st[i]);
        }
        bool more = false;
        for (; i < MAXST; i++)
            if (g_st[i])
                more = true;
        json_t *meta = json_pack("{s:s}", "self", base);
        if (more) {
            char next[600];
            snprintf(next, sizeof next, "%s?page_size=%d&page_token=%d", base, size, start + size);
            json_object_set_new(meta, "next", json_string(next));
        }
        return reply(c, 200,
                     json_pack("{s:s,s:s,s:o,s:o}", "api_version", "sql/v1", "kind",
                               "StatementList", "metadata", meta, "data", data),
                     -1);
    }
    if (!*name)
        return failure(c, 405, "method_not_allowed", "Method Not Allowed", method, -1);
    int i = find(name);
    if (i < 0)
        return failure(c, 404, "not_found", "Not Found", "statement not found", -1);
    if (!strcmp(method, "GET")) {
        advance(g_st[i]);
        return reply(c, 200, json_incref(g_st[i]), -1);
    }
    if (!strcmp(method, "DELETE")) {
        json_decref(g_st[i]);
        g_st[i] = NULL;
        return reply(c, 202, NULL, -1);
    }
    if (!strcmp(method, "PUT")) {
        json_error_t je;
        json_t *in = json_loads(body ? body : "", 0, &je);
        json_t *spec = json_object_get(in, "spec");
        const char *rv =
            json_string_value(json_object_get(json_object_get(in, "metadata"), "resource_version"));
        const char *cur = json_string_value(
            json_object_get(json_object_get(g_st[i], "metadata"), "resource_version"));
        if (!in || !json_is_object(spec)) {
            json_decref(in);
            return failure(c, 400, "bad_request", "Bad Request", "spec is required", -1);
        }
        if (rv && cur && strcmp(rv, cur)) {
            json_decref(in);
            return failure(c, 409, "conflict", "Conflict",
                           "resource_version is stale: read the statement again", -1);
        }
        const char *old_sql =
            json_string_value(json_object_get(json_object_get(g_st[i], "spec"), "statement"));
        const char *new_sql = json_string_value(json_object_get(spec, "statement"));
        if (new_sql && old_sql && strcmp(new_sql, old_sql)) {
            json_decref(in);
            return failure(c, 400, "immutable", "Bad Request", "spec.statement is immutable", -1);
        }
        bool stop = json_is_true(json_object_get(spec, "stopped"));
        json_object_set_new(json_object_get(g_st[i], "spec"), "stopped", json_boolean(stop));
        if (stop)
            set_phase(g_st[i], "STOPPED", "Statement was stopped by the user.");
        else
            set_phase(g_st[i], "PENDING", "Statement is resuming.");
        bump(g_st[i]);
        json_decref(in);
        return reply(c, 202, NULL, -1);
    }
    return failure(c, 405, "method_not_allowed", "Method Not Allowed", method, -1);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    conn *k = *state;
    if (!k) {
        k = calloc(1, sizeof *k);
        if (!k)
            return MHD_NO;
        sb_init(&k->body);
        *state = k;
        return MHD_YES;
    }
    if (*upload_size) {
        sb_append(&k->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (!strcmp(url, "/_standin/inject")) {
        const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
        const char *n = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "count");
        const char *ra = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "retry_after");
        inj_status = s ? atoi(s) : 0;
        inj_count = n ? atoi(n) : 1;
        inj_retry_after = ra ? atoi(ra) : -1;
        return reply(c, 200, json_pack("{s:b}", "ok", 1), -1);
    }
    if (!strcmp(url, "/_standin/stats"))
        return reply(c, 200, json_pack("{s:I}", "requests", (json_int_t)g_requests), -1);
    g_requests++;
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(c, &pass);
    bool ok = user && pass && !strcmp(user, g_key) && !strcmp(pass, g_secret);
    MHD_free(user);
    MHD_free(pass);
    if (!ok)
        return failure(c, 401, "user_unauthenticated", "Authentication Required",
                       "Valid authentication credentials must be provided", -1);
    if (inj_count > 0) {
        inj_count--;
        const char *title = inj_status == 429   ? "Rate Limit Exceeded"
                            : inj_status == 409 ? "Conflict"
                                                : "Service Unavailable";
        return failure(c, (unsigned)inj_status, "injected", title, "injected by the stand-in",
                       inj_retry_after);
    }
    /* /sql/v1/organizations/{org}/environments/{env}/statements[...] */
    char org[128], env[128];
    int off = 0;
    if (sscanf(url, "/sql/v1/organizations/%127[^/]/environments/%127[^/]/statements%n", org, env,
               &off) != 2 ||
        off == 0)
        return failure(c, 404, "not_found", "Not Found", "unknown path", -1);
    char base[400];
    snprintf(base, sizeof base, "%.*s", off, url);
    return api(c, method, url, k->body.len ? sb_str(&k->body) : NULL, base);
}

static void done(void *cls, struct MHD_Connection *c, void **state,
                 enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    conn *k = *state;
    if (k) {
        sb_free(&k->body);
        free(k);
    }
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *port_file = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            g_key = argv[i + 1];
        else if (!strcmp(argv[i], "--secret"))
            g_secret = argv[i + 1];
        else {
            fprintf(stderr,
                    "usage: confluent_standin [--port N] [--port-file F] [--key K] [--secret S]\n");
            return 2;
        }
    }
    /* one thread: the handlers share the in-memory store without locks */
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, handle, NULL,
                         MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "confluent_standin: cannot listen on port %d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = info ? info->port : port;
    fprintf(stderr, "confluent_standin: listening on 127.0.0.1:%d\n", bound);
    if (port_file) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", bound) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) {
            fprintf(stderr, "confluent_standin: cannot write %s\n", port_file);
            MHD_stop_daemon(d);
            return 1;
        }
    }
    signal(SIGTERM, on_sig);
    signal(SIGINT, on_sig);
    while (!g_stop)
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    MHD_stop_daemon(d);
    for (int i = 0; i < MAXST; i++)
        json_decref(g_st[i]);
    return 0;
}
