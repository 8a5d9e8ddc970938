/*
 * confluent — see confluent.h for the API.  cf_call() is the one place that
 * sends a request, decides whether to retry, and turns an error answer into
 * "HTTP <status> <title>: <detail>".
 */
#define _POSIX_C_SOURCE 200809L
#include "confluent.h"

#include "backoff.h"
#include "hash.h"
#include "httpc.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct confluent {
    char *url; /* …/statements */
    char *key, *secret;
    int max_attempts;
    unsigned base_ms, cap_ms;
    long request_ms;
};

/* a copy of an optional string */
static char *dup_opt(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void confluent_statement_free(confluent_statement *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->phase);
    free(s->detail);
    free(s->statement);
    free(s->compute_pool_id);
    free(s->principal);
    json_decref(s->raw);
    memset(s, 0, sizeof *s);
}

static bool valid_segment(const char *what, const char *v, char *err, size_t errlen)
{
    if (!v || !*v) {
        snprintf(err, errlen, "%s is required", what);
        return false;
    }
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.')) {
            snprintf(err, errlen,
                     "%s \"%s\" contains '%c'; expected letters, digits, '-', '_', '.'", what, v,
                     *p);
            return false;
        }
    return true;
}

confluent *confluent_new(const confluent_opts *o, char *err, size_t errlen)
{
    if (!valid_segment("organization id", o->org, err, errlen) ||
        !valid_segment("environment id", o->env, err, errlen))
        return NULL;
    if (!o->api_key || !*o->api_key || !o->api_secret || !*o->api_secret) {
        snprintf(err, errlen, "a Flink API key and secret are required");
        return NULL;
    }
    strbuf sb;
    sb_init(&sb);
    if (o->base_url && *o->base_url) {
        sb_puts(&sb, o->base_url);
        while (sb.len && sb.data[sb.len - 1] == '/')
            sb.data[--sb.len] = 0;
    } else {
        if (!valid_segment("cloud", o->cloud, err, errlen) ||
            !valid_segment("region", o->region, err, errlen)) {
            sb_free(&sb);
            return NULL;
        }
        sb_printf(&sb, "https://flink.%s.%s.confluent.cloud", o->region, o->cloud);
    }
    sb_printf(&sb, "/sql/v1/organizations/%s/environments/%s/statements", o->org, o->env);
    confluent *c = xcalloc(1, sizeof *c);
    c->url = sb_steal(&sb);
    c->key = xstrdup(o->api_key);
    c->secret = xstrdup(o->api_secret);
    c->max_attempts = o->max_attempts > 0 ? o->max_attempts : 6;
    c->base_ms = o->backoff_base_ms ? o->backoff_base_ms : 500;
    c->request_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : 30000;
    c->cap_ms = o->backoff_cap_ms ? o->backoff_cap_ms : 30000;
    return c;
}

void confluent_free(confluent *c)
{
    if (!c)
        return;
    free(c->url);
    free(c->key);
    if (c->secret) {
        memset(c->secret, 0, strlen(c->secret));
        free(c->secret);
    }
    free(c);
}

const char *confluent_url(const confluent *c)
{
    return c->url;
}

bool confluent_valid_name(const char *name, char *err, size_t errlen)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0) {
        snprintf(err, errlen, "statement name is empty");
        return false;
    }
    if (n > CONFLUENT_NAME_MAX) {
        snprintf(err, errlen, "statement name \"%.40s…\" is %zu characters; at most %d allowed",
                 name, n, CONFLUENT_NAME_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
            snprintf(err, errlen,
                     "statement name \"%s\" contains '%c' at position %zu; use lowercase letters, "
                     "digits and '-' (e.g. flinkpg-demo-upsert)",
                     name, ch, i + 1);
            return false;
        }
    }
    if (name[0] == '-' || name[n - 1] == '-') {
        snprintf(err, errlen, "statement name \"%s\" must start and end with a letter or digit",
                 name);
        return false;
    }
    return true;
}

void confluent_fit_name(const char *base, const char *suffix, size_t max, char *out, size_t n)
{
    size_t bl = strlen(base), sl = strlen(suffix);
    if (max > CONFLUENT_NAME_MAX)
        max = CONFLUENT_NAME_MAX;
    if (bl + sl <= max) {
        snprintf(out, n, "%s%s", base, suffix);
        return;
    }
    /* cut + '-' + 8 hex of the whole base: distinct long bases stay distinct */
    size_t cut = max > sl + 9 ? max - sl - 9 : 0;
    while (cut > 0 && base[cut - 1] == '-')
        cut--;
    snprintf(out, n, "%.*s%s%08x%s", (int)cut, base, cut ? "-" : "",
             (unsigned)(fnv1a64(base) & 0xffffffffu), suffix);
}

/* "HTTP 400 Bad Request: detail; title2: detail2" from a Failure body */
void confluent_failure_message(long status, const char *body, char *out, size_t outlen)
{
    json_error_t je;
    json_t *root = json_loads(body ? body : "", 0, &je);
    json_t *errs = json_object_get(root, "errors");
    strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "HTTP %ld", status);
    if (json_is_array(errs) && json_array_size(errs) > 0) {
        size_t i;
        json_t *e;
        json_array_foreach (errs, i, e) {
            const char *t = json_string_value(json_object_get(e, "title"));
            const char *d = json_string_value(json_object_get(e, "detail"));
            sb_printf(&sb, "%s %s%s%s", i ? ";" : "", t ? t : "", t && d ? ": " : "", d ? d : "");
        }
    } else if (body && *body) {
        sb_printf(&sb, " %.200s", body);
    }
    snprintf(out, outlen, "%s", sb_str(&sb));
    sb_free(&sb);
    json_decref(root);
}

/* 409 is retried only where the body is rebuilt from a fresh read (a PUT's
 * stale resource_version); a POST's 409 (resource_already_exists) is
 * permanent and left to confluent_create. */
static bool retryable(long status, bool refreshes)
{
    return status == 429 || (status == 409 && refreshes) || status >= 500;
}

/* Sends one request with retries.  *out receives the parsed body of a 2xx
 * answer (NULL for an empty one).  refresh, when set, is called before each
 * retry to rebuild the body (stop/resume re-read the resource_version). */
typedef char *(*body_fn)(confluent *c, void *ctx, char *err, size_t errlen);

static confluent_rc cf_call(confluent *c, const char *method, const char *url, const char *body,
                            body_fn refresh, void *ctx, json_t **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    backoff b;
    backoff_init(&b, c->base_ms, c->cap_ms);
    char *owned = NULL;
    confluent_rc rc = CF_ERROR;
    for (int attempt = 1;; attempt++) {
        httpc_request rq = {.method = method,
                            .url = url,
                            .body = owned ? owned : body,
                            .user = c->key,
                            .password = c->secret,
                            .timeout_ms = c->request_ms};
        httpc_response rs;
        char terr[512];
        long status = 0, retry_after = -1;
        if (!httpc_do(&rq, &rs, terr, sizeof terr)) {
            snprintf(err, errlen, "%s", terr);
            rc = CF_ERROR;
        } else {
            status = rs.status;
            retry_after = rs.retry_after_s;
            if (status >= 200 && status < 300) {
                rc = CF_OK;
                if (out && rs.body.len) {
                    json_error_t je;
                    *out = json_loads(sb_str(&rs.body), 0, &je);
                    if (!*out) {
                        snprintf(err, errlen, "%s %s: HTTP %ld with a body that is not JSON: %s",
                                 method, url, status, je.text);
                        rc = CF_ERROR;
                    }
                }
                httpc_response_free(&rs);
                break;
            }
            char msg[768];
            confluent_failure_message(status, sb_str(&rs.body), msg, sizeof msg);
            snprintf(err, errlen, "%s %s: %s", method, url, msg);
            httpc_response_free(&rs);
            if (status == 401 || status == 403) {
                snprintf(err + strlen(err), errlen - strlen(err),
                         " (check the Flink API key and secret, and that the key belongs to "
                         "this environment)");
                rc = CF_AUTH;
                break;
            }
            rc = status == 404 ? CF_NOT_FOUND : status == 409 ? CF_CONFLICT : CF_ERROR;
            if (!retryable(status, refresh != NULL))
                break;
        }
        /* transport errors (status 0) are retried like 5xx */
        if (attempt >= c->max_attempts) {
            snprintf(err + strlen(err), errlen - strlen(err), " (gave up after %d attempts)",
                     attempt);
            break;
        }
        uint32_t wait = backoff_next(&b);
        if (retry_after >= 0 && (uint64_t)retry_after * 1000 > wait)
            wait = retry_after > 300 ? 300000u : (uint32_t)retry_after * 1000u;
        log_warn("confluent_retry", "method=%s url=%s status=%ld attempt=%d wait_ms=%u error=%s",
                 method, lq(url), status, attempt, wait, lq(err));
        sleep_ms_unless(wait, NULL);
        if (refresh) {
            free(owned);
            owned = refresh(c, ctx, err, errlen);
            if (!owned) {
                rc = CF_ERROR;
                break;
            }
        }
    }
    free(owned);
    return rc;
}

static char *item_url(confluent *c, const char *name)
{
    strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "%s/%s", c->url, name); /* name validated: URL-safe */
    return sb_steal(&sb);
}

void confluent_statement_parse(json_t *j, confluent_statement *s)
{
    memset(s, 0, sizeof *s);
    json_t *spec = json_object_get(j, "spec"), *status = json_object_get(j, "status");
    s->name = dup_opt(json_string_value(json_object_get(j, "name")));
    s->phase = dup_opt(json_string_value(json_object_get(status, "phase")));
    s->detail = dup_opt(json_string_value(json_object_get(status, "detail")));
    s->statement = dup_opt(json_string_value(json_object_get(spec, "statement")));
    s->compute_pool_id = dup_opt(json_string_value(json_object_get(spec, "compute_pool_id")));
    s->principal = dup_opt(json_string_value(json_object_get(spec, "principal")));
    s->stopped = json_is_true(json_object_get(spec, "stopped"));
    s->raw = json_incref(j);
}

/* A POST answered 409 (the name exists -- "resource_already_exists" in the
 * spec, flink-gateway/v1/api/openapi.yaml of confluentinc/ccloud-sdk-go-v2,
 * createSqlv1Statement; e.g. our own earlier POST whose answer was lost, then
 * retried): the statement is ours when it holds the same SQL -- adopt it --
 * and a conflict to report when it does not. */
static confluent_rc adopt(confluent *c, const char *name, const char *statement,
                          confluent_statement *out, char *err, size_t errlen)
{
    confluent_statement s;
    char gerr[1024];
    confluent_rc rc = confluent_get(c, name, &s, gerr, sizeof gerr);
    if (rc == CF_NOT_FOUND) { /* deleted meanwhile: the next attempt creates it */
        snprintf(err, errlen, "statement %s: 409 on create, then gone; try again", name);
        return CF_ERROR;
    }
    if (rc != CF_OK) {
        snprintf(err, errlen, "statement %s exists (409) and cannot be read: %s", name, gerr);
        return rc;
    }
    if (s.phase && !strcmp(s.phase, "DELETING")) {
        snprintf(err, errlen,
                 "statement %s is still being deleted; create it again once it is gone", name);
        confluent_statement_free(&s);
        return CF_ERROR;
    }
    if (!s.statement || strcmp(s.statement, statement)) {
        snprintf(err, errlen,
                 "a statement named %s already exists with other SQL (phase %s); it is not this "
                 "one: delete it or choose another name",
                 name, s.phase ? s.phase : "?");
        confluent_statement_free(&s);
        return CF_CONFLICT;
    }
    log_info("confluent_statement_adopted", "name=%s phase=%s", name, s.phase ? s.phase : "?");
    if (out)
        *out = s;
    else
        confluent_statement_free(&s);
    return CF_OK;
}

confluent_rc confluent_create(confluent *c, const char *name, const char *statement,
                              const char *compute_pool_id, const char *principal,
                              const char *const *props, confluent_statement *out, char *err,
                              size_t errlen)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!confluent_valid_name(name, err, errlen))
        return CF_ERROR;
    if (!statement || !*statement) {
        snprintf(err, errlen, "statement %s: the SQL text is empty", name);
        return CF_ERROR;
    }
    json_t *spec = json_pack("{s:s}", "statement", statement);
    json_t *p = json_object();
    json_t *body = spec && p ? json_pack("{s:s,s:o}", "name", name, "spec", spec) : NULL;
    if (!body) {
        json_decref(spec);
        json_decref(p);
        snprintf(err, errlen, "statement %s: cannot encode the request (invalid UTF-8?)", name);
        return CF_ERROR;
    }
    if (compute_pool_id && *compute_pool_id)
        json_object_set_new(spec, "compute_pool_id", json_string(compute_pool_id));
    if (principal && *principal)
        json_object_set_new(spec, "principal", json_string(principal));
    for (size_t i = 0; props && props[i] && props[i + 1]; i += 2)
        json_object_set_new(p, props[i], json_string(props[i + 1]));
    json_object_set_new(spec, "properties", p);
    char *text = xjson_dumps(body, JSON_COMPACT);
    json_decref(body);
    json_t *res = NULL;
    confluent_rc rc = cf_call(c, "POST", c->url, text, NULL, NULL, &res, err, errlen);
    free(text);
    if (rc == CF_CONFLICT) {
        json_decref(res);
        return adopt(c, name, statement, out, err, errlen);
    }
    if (rc == CF_OK) {
        log_info("confluent_statement_created", "name=%s", name);
        if (out && res)
            confluent_statement_parse(res, out);
    }
    json_decref(res);
    return rc;
}

confluent_rc confluent_get(confluent *c, const char *name, confluent_statement *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!confluent_valid_name(name, err, errlen))
        return CF_ERROR;
    char *url = item_url(c, name); /* never NULL (xalloc.h) */
    json_t *res = NULL;
    confluent_rc rc = cf_call(c, "GET", url, NULL, NULL, NULL, &res, err, errlen);
    free(url);
    if (rc == CF_OK) {
        if (!json_is_object(res)) {
            snprintf(err, errlen, "GET statement %s: empty answer", name);
            rc = CF_ERROR;
        } else {
            confluent_statement_parse(res, out);
        }
    }
    json_decref(res);
    return rc;
}

typedef struct {
    const char *name;
    bool stopped;
} stop_ctx;

/* GET the statement, flip spec.stopped, drop the read-only status: the PUT body. */
static char *stop_body(confluent *c, void *vctx, char *err, size_t errlen)
{
    stop_ctx *sc = vctx;
    confluent_statement s;
    if (confluent_get(c, sc->name, &s, err, errlen) != CF_OK)
        return NULL;
    json_t *obj = json_deep_copy(s.raw);
    confluent_statement_free(&s);
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        json_decref(obj);
        snprintf(err, errlen, "statement %s has no spec to update", sc->name);
        return NULL;
    }
    json_object_set_new(spec, "stopped", json_boolean(sc->stopped));
    json_object_del(obj, "status");
    char *text = xjson_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

confluent_rc confluent_set_stopped(confluent *c, const char *name, bool stopped, char *err,
                                   size_t errlen)
{
    if (!confluent_valid_name(name, err, errlen))
        return CF_ERROR;
    stop_ctx sc = {name, stopped};
    char *body = stop_body(c, &sc, err, errlen);
    if (!body)
        return CF_ERROR;
    char *url = item_url(c, name);
    confluent_rc rc = cf_call(c, "PUT", url, body, stop_body, &sc, NULL, err, errlen);
    free(url);
    free(body);
    if (rc == CF_OK)
        log_info("confluent_statement_updated", "name=%s stopped=%s", name,
                 stopped ? "true" : "false");
    return rc;
}

confluent_rc confluent_delete(confluent *c, const char *name, char *err, size_t errlen)
{
    if (!confluent_valid_name(name, err, errlen))
        return CF_ERROR;
    char *url = item_url(c, name); /* never NULL (xalloc.h) */
    confluent_rc rc = cf_call(c, "DELETE", url, NULL, NULL, NULL, NULL, err, errlen);
    free(url);
    if (rc == CF_NOT_FOUND) {
        log_info("confluent_statement_absent", "name=%s", name);
        return CF_OK;
    }
    if (rc == CF_OK)
        log_info("confluent_statement_deleted", "name=%s", name);
    return rc;
}

/* page_token=... out of a "next" URL */
char *confluent_page_token(const char *next)
{
    const char *p = next ? strstr(next, "page_token=") : NULL;
    if (!p)
        return NULL;
    p += strlen("page_token=");
    size_t n = strcspn(p, "&#");
    return n ? strndup(p, n) : NULL; /* kept percent-encoded: sent back as is */
}

confluent_rc confluent_list(confluent *c, int page_size, const char *page_token, json_t **items,
                            char **next_token, char *err, size_t errlen)
{
    *items = NULL;
    *next_token = NULL;
    strbuf url;
    sb_init(&url);
    sb_printf(&url, "%s?page_size=%d", c->url, page_size > 0 ? page_size : 100);
    if (page_token && *page_token) {
        /* the token comes from the server's own "next" URL: already encoded */
        sb_printf(&url, "&page_token=%s", page_token);
    }
    json_t *res = NULL;
    confluent_rc rc = cf_call(c, "GET", sb_str(&url), NULL, NULL, NULL, &res, err, errlen);
    sb_free(&url);
    if (rc != CF_OK) {
        json_decref(res);
        return rc;
    }
    json_t *data = json_object_get(res, "data");
    if (!json_is_array(data)) {
        snprintf(err, errlen, "GET %s: no data array in the answer", c->url);
        json_decref(res);
        return CF_ERROR;
    }
    *items = json_incref(data);
    *next_token = confluent_page_token(
        json_string_value(json_object_get(json_object_get(res, "metadata"), "next")));
    json_decref(res);
    return CF_OK;
}

confluent_rc confluent_each(confluent *c, confluent_each_fn fn, void *ctx, char *err, size_t errlen)
{
    char *token = NULL;
    confluent_rc rc;
    do {
        json_t *items = NULL;
        char *next = NULL;
        rc = confluent_list(c, 100, token, &items, &next, err, errlen);
        free(token);
        token = next;
        if (rc != CF_OK)
            break;
        size_t i;
        json_t *it;
        json_array_foreach (items, i, it) {
            const char *name = json_string_value(json_object_get(it, "name"));
            const char *phase =
                json_string_value(json_object_get(json_object_get(it, "status"), "phase"));
            fn(name ? name : "?", phase ? phase : "?", ctx);
        }
        json_decref(items);
    } while (token);
    free(token);
    return rc;
}
