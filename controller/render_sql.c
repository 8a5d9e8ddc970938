/*
 * render_sql — the ConfigMap <run>-sql: the Flink statements of the run,
 * from the templates in sql/ (sql/flink/ for the gateway backend,
 * sql/confluent/ for Confluent Cloud) or from spec.flink.statementOverrides,
 * with the run's topics, bootstrap servers and job name substituted.
 *
 * Credentials never go into the ConfigMap: with a SASL security protocol
 * ${kafka_options} stays a placeholder, filled from the Secret only at
 * submission time.
 */
#define _POSIX_C_SOURCE 200809L
#include "render.h"

#include "../common/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sql_substitute(const char *tmpl, const char *const *vars)
{
    strbuf out;
    sb_init(&out);
    const char *p = tmpl;
    while (*p) {
        const char *s = strstr(p, "${");
        if (!s) {
            sb_puts(&out, p);
            break;
        }
        sb_append(&out, p, (size_t)(s - p));
        const char *e = strchr(s + 2, '}');
        if (!e) {
            sb_puts(&out, s);
            break;
        }
        size_t nlen = (size_t)(e - s - 2);
        const char *val = NULL;
        for (size_t i = 0; vars[i]; i += 2)
            if (strlen(vars[i]) == nlen && !strncmp(vars[i], s + 2, nlen))
                val = vars[i + 1];
        if (val)
            sb_puts(&out, val);
        else
            sb_append(&out, s, (size_t)(e - s + 1));
        p = e + 1;
    }
    return sb_steal(&out);
}

/* The override named name, or NULL. */
static const char * override(const json_t *run, const char *name)
{
    size_t i;
    json_t *o;
    json_array_foreach (spec_get(run, "flink.statementOverrides"), i, o) {
        const char *n = json_string_value(json_object_get(o, "name"));
        if (n && !strcmp(n, name))
            return json_string_value(json_object_get(o, "sql"));
    }
    return NULL;
}

json_t *render_sql_configmap(const json_t *run, const render_opts *o, char *err, size_t errlen)
{
    const char *mode = spec_str(run, "mode", "append");
    const char *backend = spec_str(run, "flink.backend", "gateway");
    const char *flavour = !strcmp(backend, "confluent") ? "confluent" : "flink";
    const char *proto = spec_str(run, "kafka.securityProtocol", "PLAINTEXT");
    char job[200], group[200];
    snprintf(job, sizeof job, "flinkpg-%s-%s", run_name(run), mode);
    snprintf(group, sizeof group, "flinkpg-%s", run_name(run));
    const char *vars[] = {
        "orders_topic", spec_str(run, "kafka.topics.orders", "orders"), "shipments_topic",
        spec_str(run, "kafka.topics.shipments", "shipments"), "output_topic",
        spec_str(run, "kafka.topics.output", "orders_enriched"), "bootstrap",
        spec_str(run, "kafka.bootstrapServers", ""), "job_name", job, "group_id", group,
        /* SASL: keep the placeholder, credentials are added at submission */
        "kafka_options", strncmp(proto, "SASL", 4) ? "" : "${kafka_options}", NULL};
    const char *files[] = {"sources", mode};
    json_t *data = json_object();
    for (size_t i = 0; i < 2; i++) {
        const char *ov = override(run, files[i]);
        char *tmpl;
        if (ov) {
            tmpl = strdup(ov);
        } else {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s/%s.sql", o->sql_dir, flavour, files[i]);
            tmpl = sb_read_file(path, err, errlen);
        }
        char *text = tmpl ? sql_substitute(tmpl, vars) : NULL;
        free(tmpl);
        if (!text) {
            if (tmpl)
                snprintf(err, errlen, "rendering %s.sql: out of memory", files[i]);
            json_decref(data);
            return NULL;
        }
        char key[64];
        snprintf(key, sizeof key, "%s.sql", files[i]);
        json_object_set_new(data, key, json_string(text));
        free(text);
    }
    char name[128];
    snprintf(name, sizeof name, "%s-sql", run_name(run));
    return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                     render_metadata(run, name, "sql"), "data", data);
}
