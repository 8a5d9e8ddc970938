/*
 * render_tls — the TLS material of a run's two programs (see render.h).
 *
 * A CA bundle is not secret, but it lives in a Secret the user names, and it
 * is a file to the programs (KAFKA_SSL_CA_LOCATION, PGSSLROOTCERT): so it is
 * a Secret volume holding just the named key, mounted read-only under
 * /etc/flinkpg, readable by the pod's group (fsGroup, render_pod_security)
 * and nobody else.  The volumes are named in the pod template, so
 * stamp_secret_versions (reconcile_apply.c) stamps their Secrets too and a
 * rotated CA rolls the sink.
 */
#define _POSIX_C_SOURCE 200809L
#include "render.h"

#include <stdio.h>
#include <string.h>

/* 0440: the owner (root) and the pod's fsGroup may read, nobody may write */
#define CA_FILE_MODE 0440

const char *run_kafka_sasl_mechanism(const json_t *run)
{
    return spec_str(run, "kafka.saslMechanism", "PLAIN");
}

const char *run_pg_sslmode(const json_t *run)
{
    const char *mode = spec_str(run, "postgres.tls.sslMode", NULL);
    if (mode)
        return mode;
    return spec_str(run, "postgres.tls.caSecret.name", NULL) ? "verify-full" : NULL;
}

const char *run_ca_key(const json_t *run, const char *ca_secret)
{
    char dotted[128];
    snprintf(dotted, sizeof dotted, "%s.key", ca_secret);
    return spec_str(run, dotted, CA_DEFAULT_KEY);
}

static void env_value(json_t *env, const char *name, const char *value)
{
    json_array_append_new(env, json_pack("{s:s, s:s}", "name", name, "value", value));
}

void render_tls_kafka_env(json_t *env, const json_t *run)
{
    const char *mech = spec_str(run, "kafka.saslMechanism", NULL);
    if (mech)
        env_value(env, "KAFKA_SASL_MECHANISM", mech);
    if (spec_str(run, "kafka.tls.caSecret.name", NULL))
        env_value(env, "KAFKA_SSL_CA_LOCATION", KAFKA_CA_DIR "/" CA_FILE_NAME);
}

void render_tls_pg_env(json_t *env, const json_t *run)
{
    const char *mode = run_pg_sslmode(run);
    if (mode)
        env_value(env, "PGSSLMODE", mode);
    if (spec_str(run, "postgres.tls.caSecret.name", NULL))
        env_value(env, "PGSSLROOTCERT", PG_CA_DIR "/" CA_FILE_NAME);
}

/* One CA Secret as volume `volume`, mounted read-only at dir. */
static void mount_ca(json_t *pod, json_t *container, const json_t *run, const char *ca_secret,
                     const char *volume, const char *dir)
{
    char dotted[128];
    snprintf(dotted, sizeof dotted, "%s.name", ca_secret);
    const char *secret = spec_str(run, dotted, NULL);
    if (!secret)
        return;
    json_t *vols = json_object_get(pod, "volumes");
    if (!json_is_array(vols)) {
        vols = json_array();
        json_object_set_new(pod, "volumes", vols);
    }
    json_array_append_new(vols, json_pack("{s:s, s:{s:s, s:[{s:s, s:s}], s:i}}", "name", volume,
                                          "secret", "secretName", secret, "items", "key",
                                          run_ca_key(run, ca_secret), "path", CA_FILE_NAME,
                                          "defaultMode", CA_FILE_MODE));
    json_t *mounts = json_object_get(container, "volumeMounts");
    if (!json_is_array(mounts)) {
        mounts = json_array();
        json_object_set_new(container, "volumeMounts", mounts);
    }
    json_array_append_new(
        mounts, json_pack("{s:s, s:s, s:b}", "name", volume, "mountPath", dir, "readOnly", 1));
}

void render_tls_mounts(json_t *pod_spec, json_t *container, const json_t *run)
{
    mount_ca(pod_spec, container, run, "kafka.tls.caSecret", "kafka-ca", KAFKA_CA_DIR);
    mount_ca(pod_spec, container, run, "postgres.tls.caSecret", "pg-ca", PG_CA_DIR);
}
