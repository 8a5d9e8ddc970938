/*
 * render_postgres — an in-cluster PostgreSQL for one run: a Secret with the
 * credentials (the password is generated once and then kept: the reconciler
 * passes the existing one back in), a headless Service, and a one-replica
 * StatefulSet whose claim is deleted with it (persistentVolumeClaimRetention
 * Policy whenDeleted: Delete).  The official image runs as uid 999 here;
 * /var/run/postgresql and /tmp are emptyDirs so the root filesystem stays
 * read-only.
 */
#define _POSIX_C_SOURCE 200809L
#include "render.h"

#include <stdio.h>
#include <string.h>

bool random_password(char *out, size_t n)
{
    static const char alpha[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    unsigned char raw[64];
    if (n < 2 || n - 1 > sizeof raw)
        return false;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f)
        return false;
    size_t got = fread(raw, 1, n - 1, f);
    fclose(f);
    if (got != n - 1)
        return false;
    for (size_t i = 0; i < n - 1; i++)
        out[i] = alpha[raw[i] % (sizeof alpha - 1)];
    out[n - 1] = '\0';
    return true;
}

static void pg_name(const json_t *run, char *out, size_t n)
{
    snprintf(out, n, "%s-postgres", run_name(run));
}

json_t *render_pg_secret(const json_t *run, const char *password)
{
    char name[128], uri[512], host[200];
    pg_name(run, name, sizeof name);
    const char *db = spec_str(run, "postgres.inCluster.database", "flinkpg");
    snprintf(host, sizeof host, "%s.%s.svc", name, run_namespace(run));
    snprintf(uri, sizeof uri, "postgresql://flinkpg:%s@%s:5432/%s", password, host, db);
    return json_pack("{s:s, s:s, s:o, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "apiVersion", "v1",
                     "kind", "Secret", "metadata", render_metadata(run, name, "postgres"), "type",
                     "Opaque", "stringData", "username", "flinkpg", "password", password,
                     "database", db, "host", host, "uri", uri);
}

json_t *render_pg_service(const json_t *run)
{
    char name[128];
    pg_name(run, name, sizeof name);
    json_t *sel = render_labels(run, "postgres");
    json_object_del(sel, "app.kubernetes.io/managed-by");
    return json_pack("{s:s, s:s, s:o, s:{s:s, s:o, s:[{s:s, s:i, s:s}]}}", "apiVersion", "v1",
                     "kind", "Service", "metadata", render_metadata(run, name, "postgres"), "spec",
                     "clusterIP", "None", "selector", sel, "ports", "name", "postgres", "port",
                     5432, "targetPort", "postgres");
}

json_t *render_pg_statefulset(const json_t *run, const render_opts *o)
{
    char name[128];
    pg_name(run, name, sizeof name);
    const char *image = spec_str(run, "postgres.inCluster.image", o->postgres_image);
    const char *size = spec_str(run, "postgres.inCluster.storageSize", "1Gi");
    json_t *sel = render_labels(run, "postgres");
    json_object_del(sel, "app.kubernetes.io/managed-by");
    json_t *psec = render_pod_security();
    json_object_set_new(psec, "runAsUser", json_integer(999));
    json_object_set_new(psec, "runAsGroup", json_integer(999));
    json_object_set_new(psec, "fsGroup", json_integer(999));
    /* change the volume's group only when its root does not match already: a
     * recursive g+rwx on every restart is what makes postgres refuse PGDATA */
    json_object_set_new(psec, "fsGroupChangePolicy", json_string("OnRootMismatch"));
    json_t *env = json_pack(
        "[{s:s, s:{s:{s:s, s:s}}}, {s:s, s:{s:{s:s, s:s}}}, {s:s, s:{s:{s:s, s:s}}}, {s:s, s:s}]",
        "name", "POSTGRES_USER", "valueFrom", "secretKeyRef", "name", name, "key", "username",
        "name", "POSTGRES_PASSWORD", "valueFrom", "secretKeyRef", "name", name, "key", "password",
        "name", "POSTGRES_DB", "valueFrom", "secretKeyRef", "name", name, "key", "database", "name",
        "PGDATA", "value", "/var/lib/postgresql/data/pgdata");
    json_t *container =
        json_pack("{s:s, s:s, s:o, s:[{s:s, s:i}], s:o, s:o, s:{s:{s:[s, s, s]}, s:i}, "
                  "s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
                  "name", "postgres", "image", image, "env", env, "ports", "name", "postgres",
                  "containerPort", 5432, "securityContext", render_container_security(),
                  "resources", render_resources("100m", "256Mi", "1", "1Gi"), "readinessProbe",
                  "exec", "command", "pg_isready", "-U", "flinkpg", "periodSeconds", 5,
                  "volumeMounts", "name", "data", "mountPath", "/var/lib/postgresql/data", "name",
                  "run", "mountPath", "/var/run/postgresql", "name", "tmp", "mountPath", "/tmp");
    json_t *spec =
        json_pack("{s:i, s:s, s:{s:O}, s:{s:s, s:s}, s:{s:{s:O}, s:{s:b, s:b, s:o, s:[o], "
                  "s:[{s:s, s:{}}, {s:s, s:{}}]}}, "
                  "s:[{s:{s:s}, s:{s:[s], s:{s:{s:s}}}}]}",
                  "replicas", 1, "serviceName", name, "selector", "matchLabels", sel,
                  "persistentVolumeClaimRetentionPolicy", "whenDeleted", "Delete", "whenScaled",
                  "Retain", "template", "metadata", "labels", sel, "spec",
                  "automountServiceAccountToken", 0, "enableServiceLinks", 0, "securityContext",
                  psec, "containers", container, "volumes", "name", "run", "emptyDir", "name",
                  "tmp", "emptyDir", "volumeClaimTemplates", "metadata", "name", "data", "spec",
                  "accessModes", "ReadWriteOnce", "resources", "requests", "storage", size);
    json_decref(sel);
    /* container is still held by the pod spec inside spec */
    render_pull(json_object_get(json_object_get(spec, "template"), "spec"), container, o);
    return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "apps/v1", "kind", "StatefulSet",
                     "metadata", render_metadata(run, name, "postgres"), "spec", spec);
}
