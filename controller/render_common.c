/*
 * render_common — what every rendered object shares: labels, metadata with
 * the controller ownerReference, the hardened security contexts, and
 * accessors for the DemoRun's spec.
 */
#define _POSIX_C_SOURCE 200809L
#include "render.h"

#include "../common/config.h"

#include <stdlib.h>
#include <string.h>

const char *run_name(const json_t *run)
{
    return json_string_value(json_object_get(json_object_get(run, "metadata"), "name"));
}

const char *run_namespace(const json_t *run)
{
    return json_string_value(json_object_get(json_object_get(run, "metadata"), "namespace"));
}

json_t *spec_get(const json_t *run, const char *dotted)
{
    json_t *cur = json_object_get(run, "spec");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", dotted);
    char *save = NULL;
    for (char *part = strtok_r(buf, ".", &save); part && cur; part = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, part);
    return cur;
}

const char *spec_str(const json_t *run, const char *dotted, const char *def)
{
    const char *s = json_string_value(spec_get(run, dotted));
    return s && *s ? s : def;
}

long long spec_int(const json_t *run, const char *dotted, long long def)
{
    json_t *v = spec_get(run, dotted);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

bool spec_bool(const json_t *run, const char *dotted)
{
    return json_is_true(spec_get(run, dotted));
}

json_t *render_labels(const json_t *run, const char *component)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "app.kubernetes.io/name", "flinkpg",
                     "app.kubernetes.io/instance", run_name(run), "app.kubernetes.io/component",
                     component, "app.kubernetes.io/managed-by", "flinkpg", "flinkpg.io/run",
                     run_name(run));
}

json_t *render_metadata(const json_t *run, const char *name, const char *component)
{
    const char *uid = json_string_value(json_object_get(json_object_get(run, "metadata"), "uid"));
    return json_pack("{s:s, s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}", "name", name,
                     "namespace", run_namespace(run), "labels", render_labels(run, component),
                     "ownerReferences", "apiVersion", "flinkpg.io/v1alpha1", "kind", "DemoRun",
                     "name", run_name(run), "uid", uid ? uid : "", "controller", 1,
                     "blockOwnerDeletion", 1);
}

json_t *render_pod_security(void)
{
    return json_pack("{s:b, s:i, s:i, s:i, s:{s:s}}", "runAsNonRoot", 1, "runAsUser", 65532,
                     "runAsGroup", 65532, "fsGroup", 65532, "seccompProfile", "type",
                     "RuntimeDefault");
}

void render_pull(json_t *pod_spec, json_t *container, const render_opts *o)
{
    if (o->image_pull_policy && *o->image_pull_policy)
        json_object_set_new(container, "imagePullPolicy", json_string(o->image_pull_policy));
    size_t n = 0;
    char **names = o->image_pull_secrets && *o->image_pull_secrets
                       ? cfg_split(o->image_pull_secrets, ',', &n)
                       : NULL;
    if (!n) {
        cfg_free_list(names, n);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s}", "name", names[i]));
    json_object_set_new(pod_spec, "imagePullSecrets", list);
    cfg_free_list(names, n);
}

json_t *render_container_security(void)
{
    return json_pack("{s:b, s:b, s:b, s:{s:[s]}, s:{s:s}}", "allowPrivilegeEscalation", 0,
                     "readOnlyRootFilesystem", 1, "runAsNonRoot", 1, "capabilities", "drop", "ALL",
                     "seccompProfile", "type", "RuntimeDefault");
}

json_t *render_resources(const char *cpu_req, const char *mem_req, const char *cpu_lim,
                         const char *mem_lim)
{
    return json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "requests", "cpu", cpu_req, "memory", mem_req,
                     "limits", "cpu", cpu_lim, "memory", mem_lim);
}

bool run_uses_secret(const json_t *run, const char *name)
{
    static const char *const refs[] = {"kafka.credentialsSecretRef.name",
                                       "kafka.schemaRegistry.credentialsSecretRef.name",
                                       "flink.confluent.credentialsSecretRef.name",
                                       "postgres.existingSecretRef.name",
                                       "kafka.tls.caSecret.name",
                                       "postgres.tls.caSecret.name"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        const char *v = spec_str(run, refs[i], NULL);
        if (v && !strcmp(v, name))
            return true;
    }
    return false;
}
