/*
 * render — the desired objects of one DemoRun, as JSON ready for server-side
 * apply.  Pure functions: DemoRun (as read from the API server) + controller
 * options in, one object out; no I/O except reading the SQL templates.
 *
 *   <run>-postgres   Secret (password), Service (headless), StatefulSet    render_postgres.c
 *   <run>-sql        ConfigMap with the rendered Flink SQL                 render_sql.c
 *   <run>-generator  Job                                                   render_workloads.c
 *   <run>-sink       Deployment                                            render_workloads.c
 *
 * Every object carries the run's labels and a controller ownerReference to
 * the DemoRun, so the garbage collector removes it with the run.  Pods are
 * hardened (render_common.c): non-root, read-only root filesystem, no
 * privilege escalation, all capabilities dropped, RuntimeDefault seccomp,
 * requests and limits.
 */
#ifndef FLINKPG_RENDER_H
#define FLINKPG_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *postgres_image;
    const char *generator_image;
    const char *sink_image;
    const char *sql_dir;           /* folder holding flink/ and confluent/ */
    const char *image_pull_policy; /* Always, IfNotPresent, Never; NULL/"": the cluster's default */
    const char *image_pull_secrets; /* comma-separated Secret names in the run's namespace */
} render_opts;

/* Labels and owner reference */
json_t *render_labels(const json_t *run, const char *component);
json_t *render_metadata(const json_t *run, const char *name, const char *component);
json_t *render_pod_security(void);
json_t *render_container_security(void);
json_t *render_resources(const char *cpu_req, const char *mem_req, const char *cpu_lim,
                         const char *mem_lim);
/* imagePullPolicy on the container, imagePullSecrets on the pod spec, from o */
void render_pull(json_t *pod_spec, json_t *container, const render_opts *o);
const char *run_name(const json_t *run);
const char *run_namespace(const json_t *run);
/* spec field by dotted path, e.g. "kafka.topics.orders"; NULL if absent */
json_t *spec_get(const json_t *run, const char *dotted);
const char *spec_str(const json_t *run, const char *dotted, const char *def);
long long spec_int(const json_t *run, const char *dotted, long long def);
bool spec_bool(const json_t *run, const char *dotted);
/* Does the run name this Secret (credentials, Schema Registry, Confluent,
 * an existing PostgreSQL, a CA bundle)? */
bool run_uses_secret(const json_t *run, const char *name);

/* render_tls.c: the CA bundles of spec.kafka.tls.caSecret and
 * spec.postgres.tls.caSecret, mounted read-only in the sink's and the
 * generator's pods (only the named key, as ca.crt), and the variables that
 * point the programs at them.  Paths go into the environment, never a bundle. */
#define KAFKA_CA_DIR "/etc/flinkpg/kafka-ca"
#define PG_CA_DIR "/etc/flinkpg/pg-ca"
#define CA_FILE_NAME "ca.crt"
#define CA_DEFAULT_KEY "ca.crt"
/* KAFKA_SASL_MECHANISM (when spec.kafka.saslMechanism is set) and
 * KAFKA_SSL_CA_LOCATION (with spec.kafka.tls) */
void render_tls_kafka_env(json_t *env, const json_t *run);
/* PGSSLMODE and PGSSLROOTCERT (with spec.postgres.tls) */
void render_tls_pg_env(json_t *env, const json_t *run);
/* the Secret volumes on the pod spec, their read-only mounts on container */
void render_tls_mounts(json_t *pod_spec, json_t *container, const json_t *run);
/* spec.kafka.saslMechanism, PLAIN when unset */
const char *run_kafka_sasl_mechanism(const json_t *run);
/* the sslmode for the run's PostgreSQL: spec.postgres.tls.sslMode,
 * verify-full with a caSecret and no sslMode, NULL without spec.postgres.tls
 * (libpq's own default, or the URI's) */
const char *run_pg_sslmode(const json_t *run);
/* the key of a caSecret ("kafka.tls.caSecret" or "postgres.tls.caSecret") */
const char *run_ca_key(const json_t *run, const char *ca_secret);

/* render_postgres.c; password: the existing one, or a new random one */
json_t *render_pg_secret(const json_t *run, const char *password);
json_t *render_pg_service(const json_t *run);
json_t *render_pg_statefulset(const json_t *run, const render_opts *o);
bool random_password(char *out, size_t n);

/* render_sql.c: NULL with err on a missing template */
json_t *render_sql_configmap(const json_t *run, const render_opts *o, char *err, size_t errlen);
/* Replace ${name} placeholders; vars is a NULL-terminated name,value list.
 * Unknown placeholders are kept as they are. */
char *sql_substitute(const char *tmpl, const char *const *vars);

/* render_workloads.c */
json_t *render_generator_job(const json_t *run, const render_opts *o);
json_t *render_sink_deployment(const json_t *run, const render_opts *o);
/* the spec hash annotation put on the Job (its template is immutable) */
#define GENERATOR_HASH_ANNOTATION "flinkpg.io/generator-spec-hash"

#endif
