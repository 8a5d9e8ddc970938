/*
 * fakesr — a stand-in Schema Registry for the generator's tests, written from
 * Confluent's published Schema Registry REST API reference ("Schema Registry
 * API Reference", docs.confluent.io), because the real one cannot run here.
 * Only what the generator uses, with the documented shapes:
 *
 *   POST /subjects/{subject}/versions   body {"schema":"...","schemaType":"JSON"}
 *        → 200 {"id":N}; the same schema text gets the same id, under any subject
 *        → 422 {"error_code":42201,...} when "schema" is missing or not JSON
 *        → 409 {"error_code":409,"message":"Schema being registered is
 *          incompatible with an earlier schema for subject ..."} when it is not
 *          BACKWARD compatible with the subject's latest (the registry's default
 *          level): checked here as JSON Schema's two commonest breaks -- a
 *          property whose type changed, a required property the latest lacks
 *   GET  /subjects                      → ["subject", ...]
 *   GET  /subjects/{subject}/versions/latest → {"subject","version","id","schema"}
 *        → 404 {"error_code":40401,"message":"Subject '…' not found."}
 *   GET  /schemas/ids/{id}              → {"schemaType":"JSON","schema":"..."}
 *   every request: HTTP Basic with --user/--password, else
 *        401 {"error_code":40101,"message":"Unauthorized"}
 * POST /_fakesr/inject?count=N: the next N requests answer 429 (error_code
 * 42901, Retry-After: 1), Confluent Cloud's rate limit.
 *
 *   fakesr --user U --password P [--port N] --port-file F
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *user = "", *password = "";
static json_t *schemas;  /* [schema text, ...]; id = index + 1 */
static json_t *subjects; /* {subject: [id, ...]} */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int throttle; /* requests left to answer 429 */

typedef struct {
    char *data;
    size_t len;
} body;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/vnd.schemaregistry.v1+json");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned code, int ec, const char *msg)
{
    return reply(c, code, json_pack("{s:i,s:s}", "error_code", ec, "message", msg));
}

/* the type of a property, through oneOf [null, T] */
static const char *type_of(json_t *p)
{
    json_t *alts = json_object_get(p, "oneOf");
    for (size_t i = 0; json_is_array(alts) && i < json_array_size(alts); i++) {
        const char *t = json_string_value(json_object_get(json_array_get(alts, i), "type"));
        if (t && strcmp(t, "null"))
            return t;
    }
    return json_string_value(json_object_get(p, "type"));
}

/* Why new_s cannot read what old_s wrote (BACKWARD), or NULL */
static const char *incompatible(json_t *old_s, json_t *new_s, char *buf, size_t n)
{
    json_t *op = json_object_get(old_s, "properties"), *np = json_object_get(new_s, "properties");
    const char *name;
    json_t *p;
    json_object_foreach (np, name, p) {
        json_t *o = json_object_get(op, name);
        const char *nt = type_of(p), *ot = o ? type_of(o) : NULL;
        if (o && nt && ot && strcmp(nt, ot)) {
            snprintf(buf, n, "{oldType:%s, newType:%s, path:'#/properties/%s'} TYPE_CHANGED", ot,
                     nt, name);
            return buf;
        }
    }
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(new_s, "required"), i, r) {
        const char *rn = json_string_value(r);
        if (rn && !json_object_get(op, rn)) {
            snprintf(buf, n,
                     "{path:'#/properties/%s'} REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
                     rn);
            return buf;
        }
    }
    return NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    body *b = *state;
    if (!b) {
        *state = calloc(1, sizeof(body));
        return MHD_YES;
    }
    if (*upload_size) {
        b->data = realloc(b->data, b->len + *upload_size + 1);
        memcpy(b->data + b->len, upload, *upload_size);
        b->len += *upload_size;
        b->data[b->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    char *pass = NULL;
    char *u = MHD_basic_auth_get_username_password(c, &pass);
    bool ok = u && pass && !strcmp(u, user) && !strcmp(pass, password);
    MHD_free(u);
    MHD_free(pass);
    if (!ok)
        return error(c, 401, 40101, "Unauthorized");
    enum MHD_Result ret;
    pthread_mutex_lock(&mu);
    if (!strcmp(url, "/_fakesr/inject")) {
        const char *n = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "count");
        throttle = n ? atoi(n) : 1;
        pthread_mutex_unlock(&mu);
        return reply(c, 200, json_pack("{s:b}", "ok", 1));
    }
    if (throttle > 0) {
        throttle--;
        pthread_mutex_unlock(&mu);
        json_t *j = json_pack("{s:i,s:s}", "error_code", 42901, "message", "Rate limit exceeded");
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        struct MHD_Response *r =
            MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Retry-After", "1");
        enum MHD_Result rr = MHD_queue_response(c, 429, r);
        MHD_destroy_response(r);
        return rr;
    }
    char subject[512];
    unsigned id;
    if (!strcmp(method, "POST") && sscanf(url, "/subjects/%511[^/]/versions", subject) == 1) {
        json_t *req = b->data ? json_loads(b->data, 0, NULL) : NULL;
        const char *schema = json_string_value(json_object_get(req, "schema"));
        const char *type = json_string_value(json_object_get(req, "schemaType"));
        json_t *parsed = schema ? json_loads(schema, 0, NULL) : NULL;
        json_t *ids0 = json_object_get(subjects, subject);
        size_t nv = json_array_size(ids0);
        json_t *latest =
            nv ? json_loads(
                     json_string_value(json_array_get(
                         schemas, (size_t)json_integer_value(json_array_get(ids0, nv - 1)) - 1)),
                     0, NULL)
               : NULL;
        char why[512], msg[1200];
        const char *bad = latest && parsed ? incompatible(latest, parsed, why, sizeof why) : NULL;
        json_decref(latest);
        if (!parsed || (type && strcmp(type, "JSON"))) {
            ret = error(c, 422, 42201, "Invalid schema");
        } else if (bad) {
            snprintf(msg, sizeof msg,
                     "Schema being registered is incompatible with an earlier schema for subject "
                     "\"%s\", details: [%s]",
                     subject, bad);
            ret = error(c, 409, 409, msg);
        } else {
            size_t i, n = json_array_size(schemas);
            for (i = 0; i < n; i++)
                if (!strcmp(json_string_value(json_array_get(schemas, i)), schema))
                    break;
            if (i == n)
                json_array_append_new(schemas, json_string(schema));
            json_t *ids = json_object_get(subjects, subject);
            if (!ids)
                json_object_set_new(subjects, subject, ids = json_array());
            json_array_append_new(ids, json_integer((json_int_t)i + 1));
            ret = reply(c, 200, json_pack("{s:I}", "id", (json_int_t)i + 1));
        }
        json_decref(parsed);
        json_decref(req);
    } else if (!strcmp(method, "GET") &&
               sscanf(url, "/subjects/%511[^/]/versions/latest", subject) == 1) {
        json_t *ids = json_object_get(subjects, subject);
        size_t nv = json_array_size(ids);
        if (!nv) {
            char msg[600];
            snprintf(msg, sizeof msg, "Subject '%s' not found.", subject);
            ret = error(c, 404, 40401, msg);
        } else {
            json_int_t sid = json_integer_value(json_array_get(ids, nv - 1));
            ret = reply(c, 200,
                        json_pack("{s:s,s:I,s:I,s:s,s:O}", "subject", subject, "version",
                                  (json_int_t)nv, "id", sid, "schemaType", "JSON", "schema",
                                  json_array_get(schemas, (size_t)sid - 1)));
        }
    } else if (!strcmp(method, "GET") && !strcmp(url, "/subjects")) {
        json_t *list = json_array();
        const char *k;
        json_t *v;
        json_object_foreach (subjects, k, v)
            json_array_append_new(list, json_string(k));
        ret = reply(c, 200, list);
    } else if (!strcmp(method, "GET") && sscanf(url, "/schemas/ids/%u", &id) == 1 && id >= 1 &&
               id <= json_array_size(schemas)) {
        ret = reply(c, 200,
                    json_pack("{s:s,s:O}", "schemaType", "JSON", "schema",
                              json_array_get(schemas, id - 1)));
    } else {
        ret = error(c, 404, 40401, "Not found");
    }
    pthread_mutex_unlock(&mu);
    return ret;
}

static void done(void *cls, struct MHD_Connection *c, void **state,
                 enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    body *b = *state;
    if (b) {
        free(b->data);
        free(b);
    }
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    unsigned port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--user"))
            user = argv[i + 1];
        else if (!strcmp(argv[i], "--password"))
            password = argv[i + 1];
        else if (!strcmp(argv[i], "--port"))
            port = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
    }
    schemas = json_array();
    subjects = json_object();
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, handle,
        NULL, MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fakesr: cannot listen\n");
        return 1;
    }
    unsigned bound = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        fprintf(f, "%u\n", bound);
        fclose(f);
    }
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int sig;
    sigwait(&s, &sig);
    MHD_stop_daemon(d);
    json_decref(schemas);
    json_decref(subjects);
    return 0;
}
