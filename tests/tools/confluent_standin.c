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
 *   POST   …/statements            201 with the Statement; 409 if the name exists
 *                                  (also while it is DELETING); 400 on a bad name
 *                                  (lowercase, digits, '-', at most 72 characters)
 *   GET    …/statements/{name}     the Statement; the phase moves PENDING → RUNNING
 *                                  (or COMPLETED for DDL) on the next read, or to
 *                                  FAILED when the SQL is refused (below); a
 *                                  RUNNING statement whose SQL holds "DEGRADE_ME"
 *                                  turns DEGRADED on the read after
 *   PUT    …/statements/{name}     spec.stopped true → STOPPED, false → RUNNING;
 *                                  metadata.resource_version is required (400),
 *                                  a stale one → 409
 *   DELETE …/statements/{name}     202; the statement is DELETING for the next
 *                                  --delete-reads reads (default 2), then gone; 404
 *                                  when absent
 *   GET    …/statements?page_size&page_token   pages, metadata.next carries the token
 *
 * The SQL is not parsed, but two things Confluent refuses are checked, so a
 * template that would fail there fails here (phase FAILED, detail as Flink
 * words it):
 *   - a CREATE TABLE option outside Confluent's documented list (e.g.
 *     'kafka.topic': a Confluent table owns the topic of its name);
 *   - a statement naming tables without sql.current-catalog and
 *     sql.current-database among spec.properties, unless every name is
 *     qualified (`catalog`.`database`.`table`).
 * SQL holding "FAIL_ME" fails as an unknown object.
 * Every request needs HTTP Basic with --key/--secret (else 401 with
 * WWW-Authenticate).  Errors use the spec's Failure body {"errors": [{"status",
 * "code", "title", "detail"}]}.
 *
 * Fault injection for retry tests: POST /_standin/inject?status=429&count=2
 * &retry_after=1 makes the next `count` API requests answer `status` (with
 * Retry-After when given); inject?lose=1 serves the next request and then
 * drops the connection without an answer (a lost reply); inject?stale=1 makes
 * the next PUT find the statement updated by someone else meanwhile.
 * GET /_standin/stats answers {"requests": N}.
 *
 *   confluent_standin --port 0 --port-file F --key K --secret S [--delete-reads N]
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

#define MAXST 8192            /* make bench-controller: 1000 runs x 6 statements */
static json_t *g_st[MAXST];   /* statements, NULL = free slot */
static int g_deleting[MAXST]; /* reads left while DELETING */
static long g_version;
static const char *g_key = "key", *g_secret = "secret";
static int inj_status, inj_count, inj_retry_after = -1, inj_lose, inj_stale;
static int g_delete_reads = 2;
static bool g_mute; /* the request being served loses its answer */
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
    if (!text || g_mute) {
        free(text);
        return MHD_NO;
    }
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
    if (!len || len > 72 || n[0] == '-' || n[len - 1] == '-')
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

/* Confluent's CREATE TABLE options (docs.confluent.io/cloud/current/flink/
 * reference/statements/create-table.html, "WITH options"), and the
 * format-specific ones under key.<format>. / value.<format>. */
static bool known_option(const char *k, size_t n)
{
    static const char opts[] =
        " changelog.mode connector error-handling.log.target error-handling.mode"
        " kafka.cleanup-policy kafka.compaction.time kafka.consumer.isolation-level"
        " kafka.max-message-size kafka.producer.compression.type kafka.retention.size"
        " kafka.retention.time key.fields-prefix key.format scan.bounded.mode"
        " scan.bounded.specific-offsets scan.bounded.timestamp-millis scan.startup.mode"
        " scan.startup.specific-offsets scan.startup.timestamp-millis value.fields-include"
        " value.format ";
    char word[130];
    if (n + 3 > sizeof word)
        return false;
    snprintf(word, sizeof word, " %.*s ", (int)n, k);
    if (strstr(opts, word))
        return true;
    static const char *const formats[] = {"avro-registry.", "json-registry.", "proto-registry."};
    for (size_t i = 0; i < 3; i++) /* key.<format>.* and value.<format>.* */
        for (const char *side = "key."; side; side = strcmp(side, "key.") ? NULL : "value.") {
            size_t sl = strlen(side), fl = strlen(formats[i]);
            if (n > sl + fl && !strncmp(k, side, sl) && !strncmp(k + sl, formats[i], fl))
                return true;
        }
    return false;
}

/* The first option key of a WITH ( ... ) or SET ( ... ) clause that Confluent does not know,
 * copied to out; false when all are known. */
static bool unknown_option(const char *sql, char *out, size_t n)
{
    const char *w = strstr(sql, "WITH (");
    if (!w)
        w = strstr(sql, "SET (");
    if (!w)
        return false;
    for (const char *p = strchr(w, '(') + 1; *p && *p != ')';) {
        if (*p != '\'') {
            p++;
            continue;
        }
        const char *k = ++p; /* a literal: 'key' = 'value' */
        while (*p && !(*p == '\'' && p[1] != '\''))
            p += *p == '\'' ? 2 : 1;
        size_t kl = (size_t)(p - k);
        if (*p)
            p++;
        const char *q = p;
        while (*q == ' ' || *q == '\n' || *q == '\t')
            q++;
        if (*q == '=') { /* it was a key: skip its value */
            if (!known_option(k, kl)) {
                snprintf(out, n, "%.*s", (int)kl, k);
                return true;
            }
            p = strchr(q, '\'');
            if (!p)
                break;
            for (p++; *p && !(*p == '\'' && p[1] != '\''); p += *p == '\'' ? 2 : 1)
                ;
            if (*p)
                p++;
        }
    }
    return false;
}

/* Why Confluent would refuse the statement, or NULL */
static const char *refusal(const json_t *st, char *buf, size_t n)
{
    const json_t *spec = json_object_get(st, "spec");
    const char *sql = json_string_value(json_object_get(spec, "statement"));
    if (!sql)
        return NULL;
    if (strstr(sql, "FAIL_ME"))
        return "SQL validation failed: Object 'FAIL_ME' not found";
    char opt[128];
    if ((!strncmp(sql, "CREATE TABLE", 12) || !strncmp(sql, "ALTER TABLE", 11)) &&
        unknown_option(sql, opt, sizeof opt)) {
        snprintf(buf, n,
                 "Unsupported options found for table: '%s'. Supported options: changelog.mode, "
                 "kafka.cleanup-policy, kafka.retention.time, key.format, scan.startup.mode, "
                 "value.fields-include, value.format, ... (see CREATE TABLE)",
                 opt);
        return buf;
    }
    const json_t *props = json_object_get(spec, "properties");
    bool placed = json_object_get(props, "sql.current-catalog") &&
                  json_object_get(props, "sql.current-database");
    bool names = !strncmp(sql, "CREATE", 6) || !strncmp(sql, "INSERT", 6) ||
                 !strncmp(sql, "SELECT", 6) || !strncmp(sql, "ALTER", 5);
    if (names && !placed && !strstr(sql, "`.`")) {
        snprintf(buf, n,
                 "SQL validation failed: the statement names a table without a catalog and "
                 "database, and sql.current-catalog / sql.current-database are not set");
        return buf;
    }
    return NULL;
}

/* One read of statement i: the phase moves on.  false when a DELETING
 * statement is gone with this read (the slot is freed). */
static bool advance(int i)
{
    json_t *st = g_st[i];
    json_t *s = json_object_get(st, "status");
    const char *phase = json_string_value(json_object_get(s, "phase"));
    const char *sql = json_string_value(json_object_get(json_object_get(st, "spec"), "statement"));
    char buf[512];
    if (phase && !strcmp(phase, "DELETING")) {
        if (g_deleting[i]-- > 0)
            return true;
        json_decref(st);
        g_st[i] = NULL;
        return false;
    }
    if (phase && !strcmp(phase, "RUNNING") && sql && strstr(sql, "DEGRADE_ME")) {
        set_phase(st, "DEGRADED", "The statement is running but unhealthy: DEGRADE_ME");
        return true;
    }
    if (!phase || strcmp(phase, "PENDING"))
        return true;
    const char *why = refusal(st, buf, sizeof buf);
    if (why)
        set_phase(st, "FAILED", why);
    else if (sql && (strncmp(sql, "CREATE", 6) == 0 || strncmp(sql, "SET", 3) == 0 ||
                     strncmp(sql, "ALTER", 5) == 0))
        set_phase(st, "COMPLETED", "Command completed successfully.");
    else
        set_phase(st, "RUNNING", "Statement is running.");
    return true;
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
                           "name must be lowercase alphanumeric or '-', at most 72 characters", -1);
        }
        if (find(n) >= 0) {
            json_decref(in);
            return failure(c, 409, "resource_already_exists", "Conflict",
                           "Statement name already exists", -1);
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
        return reply(c, 201, json_incref(st), -1);
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
            if (advance(i))
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
        if (!advance(i))
            return failure(c, 404, "not_found", "Not Found", "statement not found", -1);
        return reply(c, 200, json_incref(g_st[i]), -1);
    }
    if (!strcmp(method, "DELETE")) {
        const char *ph =
            json_string_value(json_object_get(json_object_get(g_st[i], "status"), "phase"));
        if (!ph || strcmp(ph, "DELETING")) {
            set_phase(g_st[i], "DELETING", "Statement is being deleted.");
            g_deleting[i] = g_delete_reads;
            bump(g_st[i]);
        }
        if (g_delete_reads <= 0) {
            json_decref(g_st[i]);
            g_st[i] = NULL;
        }
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
        if (!in || !json_is_object(spec) || !rv) {
            json_decref(in);
            return failure(c, 400, "bad_request", "Bad Request",
                           "spec and metadata.resource_version are required", -1);
        }
        if (inj_stale) { /* someone else updated it since the client's read */
            inj_stale = 0;
            bump(g_st[i]);
            cur = json_string_value(
                json_object_get(json_object_get(g_st[i], "metadata"), "resource_version"));
        }
        if (cur && strcmp(rv, cur)) {
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
        const char *lose = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lose");
        const char *stale = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "stale");
        if (lose || stale) {
            inj_lose = lose ? atoi(lose) : inj_lose;
            inj_stale = stale ? atoi(stale) : inj_stale;
            return reply(c, 200, json_pack("{s:b}", "ok", 1), -1);
        }
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
    g_mute = inj_lose > 0; /* served, then the answer is lost: the connection just closes */
    if (g_mute)
        inj_lose--;
    enum MHD_Result r = api(c, method, url, k->body.len ? sb_str(&k->body) : NULL, base);
    g_mute = false;
    return r;
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
        else if (!strcmp(argv[i], "--delete-reads"))
            g_delete_reads = atoi(argv[i + 1]);
        else {
            fprintf(stderr,
                    "usage: confluent_standin [--port N] [--port-file F] [--key K] [--secret S] "
                    "[--delete-reads N]\n");
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
