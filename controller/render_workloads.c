/*
 * render_workloads — the run's two programs: the generator Job (produces the
 * orders and shipments topics) and the sink Deployment (applies the Flink
 * output topic to PostgreSQL).  Both are configured entirely through the
 * environment variables of their option tables (see sink/main.c); secrets
 * arrive as secretKeyRefs, never as values, and CA bundles as read-only files
 * (render_tls.c).
 *
 * A Job's pod template is immutable, so the Job carries a hash
 * (GENERATOR_HASH_ANNOTATION) and the reconciler replaces the Job when the
 * hash it renders differs from the one on the cluster.  The hash covers what
 * the user asked for in the DemoRun (spec.generator, spec.kafka,
 * spec.postgres), not the controller's defaults: a replaced Job produces every
 * event again, so an upgrade of the controller (a new default generator image,
 * pull policy or secrets) must not replace the Job of a run in progress or done.
 */
#define _POSIX_C_SOURCE 200809L
#include "render.h"

#include "../common/validate.h"

#include "../common/hash.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void env_add(json_t *env, const char *name, const char *value)
{
    if (value)
        json_array_append_new(env, json_pack("{s:s, s:s}", "name", name, "value", value));
}

static void env_int(json_t *env, const char *name, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    env_add(env, name, buf);
}

static void env_secret(json_t *env, const char *name, const char *secret, const char *key)
{
    json_array_append_new(env, json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", name, "valueFrom",
                                         "secretKeyRef", "name", secret, "key", key));
}

/* The Secret holding the run's PostgreSQL URI (key "uri"): the in-cluster
 * one the controller renders, or the user's existing one. */
static void postgres_secret(const json_t *run, char *out, size_t len)
{
    const char *existing = spec_str(run, "postgres.existingSecretRef.name", NULL);
    if (existing)
        snprintf(out, len, "%s", existing);
    else
        snprintf(out, len, "%s-postgres", run_name(run));
}

/* A 0..1 ratio knob as the generator's whole-percent option. */
static void env_kafka(json_t *env, const json_t *run)
{
    env_add(env, "FLINKPG_RUN", run_name(run));
    env_add(env, "KAFKA_BOOTSTRAP_SERVERS", spec_str(run, "kafka.bootstrapServers", ""));
    env_add(env, "KAFKA_SECURITY_PROTOCOL", spec_str(run, "kafka.securityProtocol", "PLAINTEXT"));
    const char *cred = spec_str(run, "kafka.credentialsSecretRef.name", NULL);
    if (cred) {
        env_secret(env, "KAFKA_API_KEY", cred, "api-key");
        env_secret(env, "KAFKA_API_SECRET", cred, "api-secret");
    }
    render_tls_kafka_env(env, run);
    const char *sr = spec_str(run, "kafka.schemaRegistry.url", NULL);
    if (sr) {
        env_add(env, "SCHEMA_REGISTRY_URL", sr);
        const char *src = spec_str(run, "kafka.schemaRegistry.credentialsSecretRef.name", NULL);
        if (src) {
            env_secret(env, "SCHEMA_REGISTRY_API_KEY", src, "api-key");
            env_secret(env, "SCHEMA_REGISTRY_API_SECRET", src, "api-secret");
        }
    }
}

static json_t *pod_spec(json_t *container, const char *restart, const json_t *run,
                        const render_opts *o)
{
    json_object_set_new(container, "securityContext", render_container_security());
    /* enableServiceLinks off: no docker-link variables (KAFKA_PORT=tcp://…
     * for a Service named kafka) in an environment that is configuration */
    json_t *spec = json_pack("{s:b, s:b, s:s, s:o, s:[O]}", "automountServiceAccountToken", 0,
                             "enableServiceLinks", 0, "restartPolicy", restart, "securityContext",
                             render_pod_security(), "containers", container);
    render_tls_mounts(spec, container, run);
    render_pull(spec, container, o);
    json_decref(container);
    return spec;
}

json_t *render_generator_job(const json_t *run, const render_opts *o)
{
    char name[128];
    snprintf(name, sizeof name, "%s-generator", run_name(run));
    json_t *env = json_array();
    env_kafka(env, run);
    /* the generator's own variables (flinkpg-generator --help) */
    env_add(env, "ORDERS_TOPIC", spec_str(run, "kafka.topics.orders", "orders"));
    env_add(env, "SHIPMENTS_TOPIC", spec_str(run, "kafka.topics.shipments", "shipments"));
    env_int(env, "GEN_SEED", spec_int(run, "generator.seed", 1));
    env_int(env, "GEN_ORDERS", spec_int(run, "generator.orders", 1000));
    env_int(env, "GEN_RATE", spec_int(run, "generator.rate", 100));
    /* the knobs carry the generator's own names and units: one to one */
    static const char *const knob_env[][2] = {
        {"amendPct", "GEN_AMEND_PCT"},
        {"cancelPct", "GEN_CANCEL_PCT"},
        {"shipmentCancelPct", "GEN_SHIPMENT_CANCEL_PCT"},
        {"earlyShipmentPct", "GEN_EARLY_SHIPMENT_PCT"},
        {"noShipmentPct", "GEN_NO_SHIPMENT_PCT"},
        {"maxShipments", "GEN_MAX_SHIPMENTS"},
    };
    json_t *knobs = spec_get(run, "generator.knobs");
    for (size_t i = 0; i < sizeof knob_env / sizeof knob_env[0]; i++) {
        json_t *v = json_object_get(knobs, knob_env[i][0]);
        if (json_is_integer(v))
            env_int(env, knob_env[i][1], json_integer_value(v));
    }
    /* the expected table goes next to the target table, for validation */
    char pgsecret[160];
    postgres_secret(run, pgsecret, sizeof pgsecret);
    env_add(env, "GEN_TARGET_TABLE", DEMO_TARGET_TABLE);
    /* Confluent's tables are 'json-registry' (sql/confluent/sources.sql):
     * the generator frames its events with the subjects' schema ids */
    if (!strcmp(spec_str(run, "flink.backend", "gateway"), "confluent"))
        env_add(env, "GEN_FORMAT", "registry");
    /* as the sink: a new in-cluster PostgreSQL may come up long after the
     * Job starts; a refused password still ends it at once */
    env_add(env, "GEN_CONNECT_TIMEOUT", "0");
    env_secret(env, "POSTGRES_URL", pgsecret, "uri");
    render_tls_pg_env(env, run);
    json_t *container = json_pack("{s:s, s:s, s:o, s:o}", "name", "generator", "image",
                                  spec_str(run, "generator.image", o->generator_image), "env", env,
                                  "resources", render_resources("100m", "64Mi", "1", "256Mi"));
    json_t *labels = render_labels(run, "generator");
    json_t *tmpl = json_pack("{s:{s:o}, s:o}", "metadata", "labels", labels, "spec",
                             pod_spec(container, "Never", run, o));
    json_t *asked =
        json_pack("{s:O*, s:O*, s:O*}", "generator", spec_get(run, "generator"), "kafka",
                  spec_get(run, "kafka"), "postgres", spec_get(run, "postgres"));
    char *text = json_dumps(asked, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(asked);
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv1a64(text ? text : ""));
    free(text);
    json_t *meta = render_metadata(run, name, "generator");
    json_object_set_new(meta, "annotations", json_pack("{s:s}", GENERATOR_HASH_ANNOTATION, hash));
    return json_pack("{s:s, s:s, s:o, s:{s:b, s:i, s:o}}", "apiVersion", "batch/v1", "kind", "Job",
                     "metadata", meta, "spec", "suspend", spec_bool(run, "suspend"), "backoffLimit",
                     3, "template", tmpl);
}

json_t *render_sink_deployment(const json_t *run, const render_opts *o)
{
    char name[128], pgsecret[160];
    snprintf(name, sizeof name, "%s-sink", run_name(run));
    postgres_secret(run, pgsecret, sizeof pgsecret);
    const char *mode = spec_str(run, "mode", "append");
    bool confluent = !strcmp(spec_str(run, "flink.backend", "gateway"), "confluent");
    /* Apache Flink writes retract streams as debezium-json; Confluent uses the op header. */
    const char *encoding = strcmp(mode, "retract") ? mode : confluent ? "retract" : "debezium";
    json_t *env = json_array();
    env_kafka(env, run);
    env_add(env, "SINK_TOPIC", spec_str(run, "kafka.topics.output", "orders_enriched"));
    env_add(env, "SINK_GROUP", name);
    env_add(env, "SINK_ENCODING", encoding);
    env_add(env, "SINK_POLICY", spec_str(run, "sink.policy", "changelog"));
    env_int(env, "SINK_BATCH_SIZE", spec_int(run, "sink.batchSize", 5000));
    env_add(env, "SINK_TABLE", DEMO_TARGET_TABLE);
    /* PostgreSQL may come up long after the sink (a new StatefulSet, an image
     * pull): wait for it rather than crash-loop; a refused password or a
     * missing database still ends the pod at once, with the reason. */
    env_add(env, "SINK_CONNECT_TIMEOUT", "0");
    /* The sink creates the target table when it is missing (a new in-cluster
     * PostgreSQL has nothing): the demo's columns, keyed unless the policy
     * is insert-all, which needs a table without a key to show its damage. */
    const char *policy = spec_str(run, "sink.policy", "changelog");
    env_add(env, "SINK_CREATE_TABLE", "true");
    env_add(env, "SINK_COLUMNS", DEMO_TABLE_COLUMNS);
    json_t *keys = spec_get(run, "sink.keyColumns");
    if (!json_array_size(keys) && strcmp(policy, "insert-all") != 0)
        env_add(env, "SINK_KEY_COLUMNS", DEMO_TABLE_KEY);
    if (json_array_size(keys)) {
        char buf[1024] = "";
        size_t i;
        json_t *k;
        json_array_foreach (keys, i, k) {
            size_t l = strlen(buf);
            snprintf(buf + l, sizeof buf - l, "%s%s", i ? "," : "", json_string_value(k));
        }
        env_add(env, "SINK_KEY_COLUMNS", buf);
    }
    if (confluent) {
        env_add(env, "SINK_KEY_FORMAT", "registry");
        env_add(env, "SINK_VALUE_FORMAT", "registry");
    }
    env_secret(env, "POSTGRES_URL", pgsecret, "uri");
    render_tls_pg_env(env, run);
    env_add(env, "HTTP_LISTEN", "0.0.0.0:8080");
    json_t *container = json_pack(
        "{s:s, s:s, s:o, s:[{s:s, s:i}], s:o, s:{s:{s:s, s:s}, s:i}, s:{s:{s:s, s:s}, s:i}}",
        "name", "sink", "image", spec_str(run, "sink.image", o->sink_image), "env", env, "ports",
        "name", "http", "containerPort", 8080, "resources",
        render_resources("100m", "64Mi", "1", "512Mi"), "readinessProbe", "httpGet", "path",
        "/readyz", "port", "http", "periodSeconds", 5, "livenessProbe", "httpGet", "path",
        "/healthz", "port", "http", "periodSeconds", 10);
    json_t *sel = render_labels(run, "sink");
    json_object_del(sel, "app.kubernetes.io/managed-by");
    long long replicas = spec_bool(run, "suspend") ? 0 : spec_int(run, "sink.replicas", 1);
    return json_pack("{s:s, s:s, s:o, s:{s:I, s:{s:O}, s:{s:{s:o}, s:o}}}", "apiVersion", "apps/v1",
                     "kind", "Deployment", "metadata", render_metadata(run, name, "sink"), "spec",
                     "replicas", (json_int_t)replicas, "selector", "matchLabels", sel, "template",
                     "metadata", "labels", sel, "spec", pod_spec(container, "Always", run, o));
}
