/* Unit tests of the controller's state: the stuck-pod finder (podstatus.h)
 * on PodList fixtures, the Event aggregator (events.h) on a fake clock, the
 * informer caches (cache.h), the drift check (drift.h) and every child
 * rendered from a sample DemoRun against reviewed golden JSON
 * (tests/unit/golden/; FLINKPG_UPDATE_GOLDEN=1 rewrites them). */
#define _POSIX_C_SOURCE 200809L
#include "../../controller/cache.h"
#include "../../controller/drift.h"
#include "../../controller/events.h"
#include "../../controller/podstatus.h"
#include "../../controller/render.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ten minutes of a reconcile failing every second, on a fake clock. */
static void test_event_aggregation(void)
{
    evagg *a = evagg_new(NULL);
    int creates = 0, patches = 0;
    long last_count = 0;
    char first[320] = "";
    for (int i = 0; i < 600; i++) {
        ev_decision d = evagg_decide(a, "uid-1", "run", "Warning", "ReconcileFailed",
                                     "statements: connection refused", 1000000 + i * 1000LL);
        creates += d.action == EV_CREATE;
        patches += d.action == EV_SERIES;
        if (i == 0)
            snprintf(first, sizeof first, "%s", d.name);
        else if (strcmp(d.name, first))
            break;
        if (d.action == EV_SERIES)
            last_count = d.count;
    }
    CHECK("events: 600 identical failures make one Event", creates == 1);
    CHECK("events: its series is patched on the first repeat and then every 30 s",
          patches >= 20 && patches <= 22);
    CHECK("events: the last series write counts the occurrences so far", last_count >= 570);

    /* a note that changes every time (a duration): combined after 4 */
    int made = 0, combined = 0;
    char note[64];
    for (int i = 0; i < 200; i++) {
        snprintf(note, sizeof note, "timeout after %d ms", 1000 + i);
        ev_decision d =
            evagg_decide(a, "uid-1", "run", "Warning", "StatementSlow", note, 2000000 + i * 1000LL);
        made += d.action == EV_CREATE;
        combined += d.combined && d.action == EV_CREATE;
    }
    CHECK("events: 200 different notes make 4 Events plus one combined",
          made == 5 && combined == 1);

    /* another object is counted on its own */
    ev_decision o = evagg_decide(a, "uid-2", "other", "Warning", "ReconcileFailed",
                                 "statements: connection refused", 2300000);
    CHECK("events: another DemoRun gets its own Event", o.action == EV_CREATE && o.count == 1);

    /* idle past the window: forgotten, a new occurrence creates again */
    ev_decision late = evagg_decide(a, "uid-1", "run", "Warning", "ReconcileFailed",
                                    "statements: connection refused", 2300000 + 11 * 60000LL);
    CHECK("events: after 10 idle minutes the entry is forgotten", late.action == EV_CREATE);
    CHECK("events: forgotten entries are freed", evagg_size(a) <= 4);

    /* lost (404 on PATCH): the next occurrence creates the Event again */
    evagg_lost(a, "uid-1", "Warning", "ReconcileFailed", "statements: connection refused", false);
    ev_decision again = evagg_decide(a, "uid-1", "run", "Warning", "ReconcileFailed",
                                     "statements: connection refused", 2300000 + 11 * 60000LL + 1);
    CHECK("events: an expired Event is created again", again.action == EV_CREATE);
    evagg_free(a);

    evagg_limits lim = {
        .series_interval_ms = 30000, .window_ms = 600000, .similar = 4, .capacity = 8};
    a = evagg_new(&lim);
    for (int i = 0; i < 100; i++) {
        snprintf(note, sizeof note, "uid-%d", i);
        evagg_decide(a, note, "run", "Normal", "Applied", "x", 1000 + i);
    }
    CHECK("events: the table never holds more than its capacity", evagg_size(a) <= 8);
    evagg_free(a);
}

static json_t *obj_rv(const char *ns, const char *name, const char *rv, const char *label)
{
    json_t *o = json_pack("{s:{s:s, s:s, s:s, s:{}}}", "metadata", "namespace", ns, "name", name,
                          "resourceVersion", rv, "labels");
    if (label)
        json_object_set_new(json_object_get(json_object_get(o, "metadata"), "labels"),
                            "app.kubernetes.io/managed-by", json_string(label));
    return o;
}

/* The informer cache: paths, list/watch/relist, known-only Secrets, RV order. */
static void test_cache(void)
{
    kpath_t p;
    CHECK("cache path: core object", kpath_parse("/api/v1/namespaces/ns1/secrets/s1", &p) &&
                                         !strcmp(p.resource, "secrets") && !strcmp(p.ns, "ns1") &&
                                         !strcmp(p.name, "s1") && !p.is_list);
    CHECK("cache path: group object with a subresource",
          kpath_parse("/apis/flinkpg.io/v1alpha1/namespaces/d/demoruns/r/status?fieldManager=x",
                      &p) &&
              !strcmp(p.resource, "demoruns") && !strcmp(p.name, "r") && !strcmp(p.sub, "status"));
    CHECK("cache path: label-selected list",
          kpath_parse("/api/v1/namespaces/d/pods?labelSelector=flinkpg.io%2Frun%3Dr1", &p) &&
              p.is_list && !strcmp(p.selector, "flinkpg.io/run=r1"));
    CHECK("cache path: a paged list is not the cache's",
          !kpath_parse("/api/v1/namespaces/d/pods?limit=500", &p));
    CHECK("cache path: cluster-scoped is not the cache's", !kpath_parse("/api/v1/nodes/n1", &p));

    kcache *kc = kcache_new();
    kstore *dep = kcache_add(kc, "deployments", false, "app.kubernetes.io/managed-by", "flinkpg");
    kstore *sec = kcache_add(kc, "secrets", true, "app.kubernetes.io/managed-by", "flinkpg");
    json_t *out = NULL;
    json_t *a = obj_rv("d", "a", "10", "flinkpg"), *b = obj_rv("d", "b", "11", "flinkpg");
    kstore_event(dep, WATCH_SYNC, a);
    CHECK("cache: nothing answered before the first list completes",
          kcache_try_get(kc, "/apis/apps/v1/namespaces/d/deployments/a", &out) == -1);
    kstore_event(dep, WATCH_SYNC, b);
    kstore_event(dep, WATCH_LIST_DONE, NULL);
    CHECK("cache: a synced store answers a GET",
          kcache_try_get(kc, "/apis/apps/v1/namespaces/d/deployments/a", &out) == 200 &&
              json_equal(out, a));
    json_decref(out);
    CHECK("cache: a miss goes to the API server",
          kcache_try_get(kc, "/apis/apps/v1/namespaces/d/deployments/zz", &out) == -1);
    json_t *a_old = obj_rv("d", "a", "9", "flinkpg");
    kstore_event(dep, WATCH_MODIFIED, a_old);
    out = kstore_get(dep, "d", "a");
    CHECK("cache: an older resourceVersion never replaces a newer one",
          !strcmp(json_string_value(
                      json_object_get(json_object_get(out, "metadata"), "resourceVersion")),
                  "10"));
    json_decref(out);
    /* relist: b deleted while the watch was down */
    kstore_event(dep, WATCH_SYNC, a);
    kstore_event(dep, WATCH_LIST_DONE, NULL);
    CHECK("cache: a relist prunes what it did not mention",
          kstore_size(dep) == 1 && !kstore_get(dep, "d", "b"));
    kstore_event(dep, WATCH_DELETED, a);
    CHECK("cache: DELETED removes", kstore_size(dep) == 0);

    json_t *theirs = obj_rv("d", "kafka-creds", "20", NULL),
           *ours = obj_rv("d", "r-postgres", "21", "flinkpg");
    kstore_event(sec, WATCH_SYNC, theirs);
    kstore_event(sec, WATCH_SYNC, ours);
    kstore_event(sec, WATCH_LIST_DONE, NULL);
    CHECK("cache: Secrets of others are not kept", kstore_size(sec) == 1);
    kcache_note(kc, "GET", "/api/v1/namespaces/d/secrets/kafka-creds", theirs);
    CHECK("cache: a Secret read once is kept", kstore_size(sec) == 2);
    json_t *theirs2 = obj_rv("d", "kafka-creds", "25", NULL);
    kstore_event(sec, WATCH_MODIFIED, theirs2);
    out = kstore_get(sec, "d", "kafka-creds");
    CHECK("cache: and kept fresh by the watch",
          !strcmp(json_string_value(
                      json_object_get(json_object_get(out, "metadata"), "resourceVersion")),
                  "25"));
    json_decref(out);
    json_t *c30 = obj_rv("d", "c", "30", "flinkpg");
    kcache_note(kc, "PATCH",
                "/apis/apps/v1/namespaces/d/deployments/c?fieldManager=flinkpg&force=true", c30);
    json_decref(c30);
    CHECK("cache: an applied object is kept (write-through)", kstore_size(dep) == 1);
    CHECK("cache: a list by the store's label is answered",
          kcache_try_get(kc,
                         "/apis/apps/v1/namespaces/d/"
                         "deployments?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dflinkpg",
                         &out) == 200 &&
              json_array_size(json_object_get(out, "items")) == 1);
    json_decref(out);
    CHECK("cache: a list by another label is not",
          kcache_try_get(kc, "/apis/apps/v1/namespaces/d/deployments?labelSelector=x%3Dy", &out) ==
              -1);
    json_decref(a), json_decref(b), json_decref(a_old), json_decref(theirs), json_decref(ours),
        json_decref(theirs2);
    kcache_free(kc);

    /* the objects are kept deflated against the store's first one: 200 sink
     * Deployments as the controller renders them, in two namespaces */
    kc = kcache_new();
    dep = kcache_add(kc, "deployments", false, "flinkpg.io/run", NULL);
    render_opts o = {.postgres_image = "pg:1", .generator_image = "gen:1", .sink_image = "sink:1"};
    size_t raw = 0;
    bool same = true;
    for (int i = 0; i < 200; i++) {
        char doc[512];
        snprintf(doc, sizeof doc,
                 "{\"apiVersion\":\"flinkpg.io/v1alpha1\",\"kind\":\"DemoRun\","
                 "\"metadata\":{\"name\":\"run-%d\",\"namespace\":\"%s\",\"uid\":\"u-%d\"},"
                 "\"spec\":{\"mode\":\"upsert\",\"postgres\":{\"inCluster\":{}}}}",
                 i, i % 2 ? "team-a" : "team-ab", i);
        json_t *run = json_loads(doc, 0, NULL);
        json_t *d = render_sink_deployment(run, &o);
        json_t *m = json_object_get(d, "metadata");
        char rv[16];
        snprintf(rv, sizeof rv, "%d", 1000 + i);
        json_object_set_new(m, "resourceVersion", json_string(rv));
        json_object_set_new(m, "managedFields", json_pack("[{s:s}]", "manager", "flinkpg"));
        char *text = json_dumps(d, JSON_COMPACT);
        raw += strlen(text);
        free(text);
        kstore_event(dep, WATCH_SYNC, d);
        json_t *back = kstore_get(dep, i % 2 ? "team-a" : "team-ab",
                                  json_string_value(json_object_get(m, "name")));
        json_object_del(m, "managedFields");
        same &= back && json_equal(back, d);
        json_decref(back);
        json_decref(d);
        json_decref(run);
    }
    kstore_event(dep, WATCH_LIST_DONE, NULL);
    CHECK("cache: a deflated object reads back equal (managedFields dropped)", same);
    char msg[160];
    snprintf(msg, sizeof msg, "cache: 200 Deployments take %zu bytes, %zu as compact JSON (< 1/8)",
             kstore_bytes(dep), raw);
    CHECK(msg, kstore_bytes(dep) * 8 < raw);
    out = kstore_list(dep, "team-a", NULL, NULL);
    CHECK("cache: a list by namespace is exact (team-a, not team-ab)",
          json_array_size(json_object_get(out, "items")) == 100);
    json_decref(out);
    out = kstore_list(dep, "team-ab", "flinkpg.io/run", "run-4");
    CHECK("cache: a list by the store's label finds the one run",
          json_array_size(json_object_get(out, "items")) == 1);
    json_decref(out);
    kcache_free(kc);
}

/* Does the live object still hold what was applied? */
static void test_drift(void)
{
    json_t *d = json_loads("{\"metadata\":{\"name\":\"s\",\"labels\":{\"a\":\"1\"}},"
                           "\"spec\":{\"replicas\":1,\"template\":{\"spec\":{\"containers\":"
                           "[{\"name\":\"c\",\"env\":[{\"name\":\"X\",\"value\":\"1\"}]}],"
                           "\"volumes\":[{\"name\":\"t\",\"emptyDir\":{}}]}}}}",
                           0, NULL);
    json_t *l = json_deep_copy(d);
    json_object_set_new(json_object_get(l, "metadata"), "resourceVersion", json_string("7"));
    json_object_set_new(json_object_get(json_object_get(l, "metadata"), "labels"), "extra",
                        json_string("y"));
    json_object_set_new(l, "status", json_pack("{s:i}", "readyReplicas", 1));
    CHECK("drift: defaults, status and other labels are no drift", desired_holds(d, l));
    json_object_set_new(json_object_get(l, "spec"), "replicas", json_integer(3));
    CHECK("drift: a hand-scaled replica count is", !desired_holds(d, l));
    json_object_set_new(json_object_get(l, "spec"), "replicas", json_integer(1));
    json_t *env = json_array_get(
        json_object_get(
            json_array_get(json_object_get(
                               json_object_get(
                                   json_object_get(json_object_get(l, "spec"), "template"), "spec"),
                               "containers"),
                           0),
            "env"),
        0);
    json_object_set_new(env, "value", json_string("2"));
    CHECK("drift: an edited env value is", !desired_holds(d, l));
    json_decref(l);
    json_t *sd = json_pack("{s:{s:s}}", "stringData", "password", "pw1");
    json_t *sl = json_pack("{s:{s:s}}", "data", "password", "cHcx"); /* base64("pw1") */
    CHECK("drift: a Secret's stringData against its data", desired_holds(sd, sl));
    json_object_set_new(json_object_get(sl, "data"), "password", json_string("cHcy"));
    CHECK("drift: a changed Secret value is drift", !desired_holds(sd, sl));
    json_decref(d), json_decref(sd), json_decref(sl);
}

/* obj against tests/unit/golden/<file> (written anew when update); takes obj */
static void golden_check(const char *root, const char *file, json_t *obj, bool update)
{
    char path[1024], name[160];
    json_error_t je;
    snprintf(path, sizeof path, "%s/tests/unit/golden/%s", root, file);
    if (update && obj)
        json_dump_file(obj, path, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_t *want = json_load_file(path, 0, &je);
    snprintf(name, sizeof name, "golden: the rendered %s equals the reviewed one", file);
    CHECK(name, obj && want && json_equal(obj, want));
    if (obj && want && !json_equal(obj, want)) {
        char *got = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("  rendered:\n%s\n", got ? got : "?");
        free(got);
    }
    json_decref(want);
    json_decref(obj);
}

static json_t *golden_run(const char *root, const char *file)
{
    char path[1024];
    json_error_t je;
    snprintf(path, sizeof path, "%s/tests/unit/golden/%s", root, file);
    return json_load_file(path, 0, &je);
}

/* Every child the controller renders for a sample DemoRun, compared with
 * the reviewed copies in tests/unit/golden/ (FLINKPG_UPDATE_GOLDEN=1 writes
 * them anew: review the diff before committing).  A second DemoRun
 * (demorun_tls.json: SASL_SSL with SCRAM-SHA-512, the brokers' CA and an
 * existing PostgreSQL with its CA) has its own *_tls.json workloads. */
static void test_render_golden(void)
{
    const char *root = getenv("FLINKPG_ROOT") ? getenv("FLINKPG_ROOT") : ".";
    char err[512];
    json_t *run = golden_run(root, "demorun.json");
    json_t *tls = golden_run(root, "demorun_tls.json");
    CHECK("golden: the sample DemoRuns read", run != NULL && tls != NULL);
    if (!run || !tls) {
        json_decref(run);
        json_decref(tls);
        return;
    }
    char sql[1024];
    snprintf(sql, sizeof sql, "%s/sql", root);
    render_opts o = {.postgres_image = "docker.io/library/postgres:16",
                     .generator_image = "docker.io/flinkpg/flinkpg-generator:0.0.0",
                     .sink_image = "docker.io/flinkpg/flinkpg-sink:0.0.0",
                     .sql_dir = sql};
    bool update = getenv("FLINKPG_UPDATE_GOLDEN") && *getenv("FLINKPG_UPDATE_GOLDEN") == '1';
    golden_check(root, "secret.json", render_pg_secret(run, "golden-password"), update);
    golden_check(root, "service.json", render_pg_service(run), update);
    golden_check(root, "statefulset.json", render_pg_statefulset(run, &o), update);
    golden_check(root, "configmap.json", render_sql_configmap(run, &o, err, sizeof err), update);
    golden_check(root, "job.json", render_generator_job(run, &o), update);
    golden_check(root, "deployment.json", render_sink_deployment(run, &o), update);
    golden_check(root, "job_tls.json", render_generator_job(tls, &o), update);
    golden_check(root, "deployment_tls.json", render_sink_deployment(tls, &o), update);
    json_decref(run);
    json_decref(tls);
}

/* The value of env variable name in the first container of a workload's
 * pod template, NULL when absent (or not a plain value). */
static const char *env_of(const json_t *workload, const char *name)
{
    const json_t *ct = json_array_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(workload, "spec"), "template"), "spec"),
            "containers"),
        0);
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(ct, "env"), i, e)
        if (!strcmp(json_string_value(json_object_get(e, "name")), name))
            return json_string_value(json_object_get(e, "value"));
    return NULL;
}

static json_t *pod_of(const json_t *workload)
{
    return json_object_get(json_object_get(json_object_get(workload, "spec"), "template"), "spec");
}

/* The TLS settings of a DemoRun in its workloads (render_tls.c). */
static void test_render_tls(void)
{
    render_opts o = {.generator_image = "g:1", .sink_image = "s:1"};
    const char *base = "{\"metadata\":{\"name\":\"r\",\"namespace\":\"ns\"},\"spec\":{"
                       "\"mode\":\"append\",\"kafka\":{\"bootstrapServers\":\"k:9093\","
                       "\"securityProtocol\":\"SSL\"%s},\"postgres\":{\"existingSecretRef\":"
                       "{\"name\":\"pg\"}%s}}}";
    char text[1024];
    json_error_t je;
    snprintf(text, sizeof text, base, "", "");
    json_t *plain = json_loads(text, 0, &je);
    json_t *dep = render_sink_deployment(plain, &o);
    CHECK("tls: without spec.*.tls no volumes, no TLS variables",
          !json_object_get(pod_of(dep), "volumes") && !env_of(dep, "KAFKA_SSL_CA_LOCATION") &&
              !env_of(dep, "PGSSLMODE") && !env_of(dep, "PGSSLROOTCERT") &&
              !env_of(dep, "KAFKA_SASL_MECHANISM"));
    CHECK("tls: the run's SASL mechanism defaults to PLAIN (topic deletion)",
          !strcmp(run_kafka_sasl_mechanism(plain), "PLAIN") && !run_pg_sslmode(plain));
    json_decref(dep);
    json_decref(plain);

    snprintf(text, sizeof text, base, ",\"tls\":{\"caSecret\":{\"name\":\"kca\"}}",
             ",\"tls\":{\"sslMode\":\"require\"}");
    json_t *run = json_loads(text, 0, &je);
    dep = render_sink_deployment(run, &o);
    json_t *vol = json_array_get(json_object_get(pod_of(dep), "volumes"), 0);
    CHECK_STR("tls: the Kafka CA as a file, its path in KAFKA_SSL_CA_LOCATION",
              "/etc/flinkpg/kafka-ca/ca.crt", env_of(dep, "KAFKA_SSL_CA_LOCATION"));
    CHECK(
        "tls: one Secret volume, only the key (default ca.crt), mode 0440",
        json_array_size(json_object_get(pod_of(dep), "volumes")) == 1 &&
            !strcmp(
                json_string_value(json_object_get(json_object_get(vol, "secret"), "secretName")),
                "kca") &&
            json_integer_value(json_object_get(json_object_get(vol, "secret"), "defaultMode")) ==
                0440 &&
            !strcmp(json_string_value(json_object_get(
                        json_array_get(json_object_get(json_object_get(vol, "secret"), "items"), 0),
                        "key")),
                    "ca.crt"));
    CHECK_STR("tls: sslMode alone sets PGSSLMODE", "require", env_of(dep, "PGSSLMODE"));
    CHECK("tls: no caSecret, no PGSSLROOTCERT", !env_of(dep, "PGSSLROOTCERT"));
    CHECK("tls: both CA Secrets are the run's (rotation requeues it)",
          run_uses_secret(run, "kca") && !run_uses_secret(run, "other"));
    json_t *job = render_generator_job(run, &o);
    CHECK("tls: the generator gets the same file and variables",
          env_of(job, "KAFKA_SSL_CA_LOCATION") && env_of(job, "PGSSLMODE") &&
              json_array_size(json_object_get(pod_of(job), "volumes")) == 1);
    json_decref(job);
    json_decref(dep);
    json_decref(run);
}

/* A PodList with one pod of `component` whose container status is `cs`
 * (JSON text); spec image flinkpg/nope:dev for container "sink". */
static json_t *pod_list(const char *component, const char *cs_json, const char *key)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"r1-%s-7c9-abcde\","
             "\"labels\":{\"app.kubernetes.io/component\":\"%s\"}},"
             "\"spec\":{\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox:1\"}],"
             "\"containers\":[{\"name\":\"sink\",\"image\":\"flinkpg/nope:dev\"}]},"
             "\"status\":{\"phase\":\"Pending\",\"%s\":[%s]}}]}",
             component, component, key, cs_json);
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        printf("fixture does not parse: %s\n", e.text);
    return j;
}

static void test_pod_problems(void)
{
    pod_problem pp;
    json_t *l = pod_list("sink",
                         "{\"name\":\"sink\",\"image\":\"flinkpg/nope:dev\",\"ready\":false,"
                         "\"state\":{\"waiting\":{\"reason\":\"ErrImagePull\",\"message\":"
                         "\"rpc error: code = NotFound desc = failed to pull and unpack image "
                         "\\\"docker.io/flinkpg/nope:dev\\\": not found\"}}}",
                         "containerStatuses");
    CHECK("pods: ErrImagePull found", pod_problem_find(l, "sink", &pp));
    CHECK_STR("pods: ErrImagePull reason", "ErrImagePull", pp.reason);
    CHECK_STR("pods: ErrImagePull message names pod, container, image and the kubelet",
              "pod r1-sink-7c9-abcde container sink image \"flinkpg/nope:dev\": ErrImagePull: rpc "
              "error: code = NotFound desc = failed to pull and unpack image "
              "\"docker.io/flinkpg/nope:dev\": not found",
              pp.message);
    CHECK("pods: another component's pods are not looked at",
          !pod_problem_find(l, "generator", &pp));
    json_decref(l);

    l = pod_list(
        "sink",
        "{\"name\":\"sink\",\"image\":\"docker.io/flinkpg/nope:dev\",\"state\":{\"waiting\":"
        "{\"reason\":\"ImagePullBackOff\",\"message\":\"Back-off pulling image "
        "\\\"flinkpg/nope:dev\\\"\"}}}",
        "containerStatuses");
    CHECK("pods: ImagePullBackOff found", pod_problem_find(l, "sink", &pp));
    CHECK_STR("pods: ImagePullBackOff message, the image as the spec wrote it",
              "pod r1-sink-7c9-abcde container sink image \"flinkpg/nope:dev\": ImagePullBackOff: "
              "Back-off pulling image \"flinkpg/nope:dev\"",
              pp.message);
    /* the pod being deleted: an old ReplicaSet's, not what is waited for */
    json_object_set_new(json_object_get(json_array_get(json_object_get(l, "items"), 0), "metadata"),
                        "deletionTimestamp", json_string("2026-01-01T00:00:00Z"));
    CHECK("pods: a pod being deleted is skipped", !pod_problem_find(l, "sink", &pp));
    json_decref(l);

    l = pod_list("sink",
                 "{\"name\":\"sink\",\"image\":\"flinkpg/sink:dev\",\"ready\":true,"
                 "\"state\":{\"running\":{\"startedAt\":\"2026-01-01T00:00:00Z\"}}}",
                 "containerStatuses");
    CHECK("pods: a running pod is healthy", !pod_problem_find(l, "sink", &pp));
    json_decref(l);

    l = pod_list("sink",
                 "{\"name\":\"sink\",\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}",
                 "containerStatuses");
    CHECK("pods: ContainerCreating is not reported (it passes by itself)",
          !pod_problem_find(l, "sink", &pp));
    json_decref(l);

    l = pod_list("generator",
                 "{\"name\":\"sink\",\"restartCount\":4,\"state\":{\"waiting\":{\"reason\":"
                 "\"CrashLoopBackOff\",\"message\":\"back-off 1m20s restarting failed "
                 "container=sink pod=r1-generator-7c9-abcde_ns(uid)\"}},\"lastState\":"
                 "{\"terminated\":{\"exitCode\":2,\"reason\":\"Error\"}}}",
                 "containerStatuses");
    CHECK("pods: CrashLoopBackOff found", pod_problem_find(l, "generator", &pp));
    CHECK_STR("pods: CrashLoopBackOff with the last exit code",
              "pod r1-generator-7c9-abcde container sink image \"flinkpg/nope:dev\": "
              "CrashLoopBackOff: back-off 1m20s restarting failed container=sink "
              "pod=r1-generator-7c9-abcde_ns(uid); last exit code 2 (Error)",
              pp.message);
    json_decref(l);

    l = pod_list("postgres",
                 "{\"name\":\"init\",\"state\":{\"waiting\":{\"reason\":\"InvalidImageName\"}}}",
                 "initContainerStatuses");
    CHECK("pods: an init container is looked at too", pod_problem_find(l, "postgres", &pp));
    CHECK_STR("pods: init container without a kubelet message",
              "pod r1-postgres-7c9-abcde container init image \"busybox:1\": InvalidImageName",
              pp.message);
    json_decref(l);

    l = json_loads("{\"kind\":\"PodList\",\"items\":[]}", 0, NULL);
    CHECK("pods: an empty list has no problem", !pod_problem_find(l, "sink", &pp));
    json_decref(l);
    CHECK("pods: NULL has no problem", !pod_problem_find(NULL, "sink", &pp));
    l = json_loads(
        "{\"items\":[{},{\"metadata\":{\"name\":\"x\"}},{\"metadata\":{\"name\":\"y\","
        "\"labels\":{\"app.kubernetes.io/component\":\"sink\"}},\"status\":"
        "{\"containerStatuses\":[{},{\"state\":{\"waiting\":{}}},{\"state\":{\"waiting\":"
        "{\"reason\":7}}}]}},{\"metadata\":{\"name\":\"z\",\"labels\":"
        "{\"app.kubernetes.io/component\":\"sink\"}},\"status\":{\"containerStatuses\":"
        "[{\"state\":{\"waiting\":{\"reason\":\"CreateContainerConfigError\"}}}]}}]}",
        0, NULL);
    CHECK("pods: missing fields are skipped, a later pod is still found",
          l && pod_problem_find(l, "sink", &pp));
    CHECK_STR("pods: missing names and image shown as ?",
              "pod z container ? image \"?\": CreateContainerConfigError", pp.message);
    json_decref(l);

    /* a long kubelet message with line breaks and a multi-byte character at
     * the cut: one line, valid UTF-8, ends "..." */
    char big[2000] =
        "{\"name\":\"sink\",\"state\":{\"waiting\":{\"reason\":\"CreateContainerError\","
        "\"message\":\"line1\\nline2 ";
    size_t n = strlen(big);
    for (int i = 0; i < 300; i++) {
        memcpy(big + n, "\xc3\xa9", 2); /* é */
        n += 2;
    }
    snprintf(big + n, sizeof big - n, "\"}}}");
    l = pod_list("sink", big, "containerStatuses");
    CHECK("pods: long message found", pod_problem_find(l, "sink", &pp));
    json_t *s = json_string(pp.message);
    CHECK("pods: long message cut to valid UTF-8", s != NULL);
    json_decref(s);
    size_t ml = strlen(pp.message);
    CHECK("pods: long message fits and ends ...",
          ml < sizeof pp.message && ml > 400 && !strcmp(pp.message + ml - 3, "..."));
    CHECK("pods: line break made a space", strstr(pp.message, "line1 line2") != NULL);
    json_decref(l);

    CHECK("pods: stuck reasons",
          pod_reason_stuck("ErrImageNeverPull") && pod_reason_stuck("CrashLoopBackOff") &&
              !pod_reason_stuck("ContainerCreating") && !pod_reason_stuck("PodInitializing") &&
              !pod_reason_stuck(NULL));
    CHECK("pods: pull retries are one problem",
          pod_reasons_same_problem("ErrImagePull", "ImagePullBackOff") &&
              !pod_reasons_same_problem("Progressing", "ImagePullBackOff") &&
              !pod_reasons_same_problem(NULL, "ErrImagePull") &&
              !pod_reasons_same_problem("CrashLoopBackOff", "ImagePullBackOff"));
}

int main(void)
{
    test_pod_problems();
    test_render_golden();
    test_render_tls();
    test_drift();
    test_cache();
    test_event_aggregation();
    return UNIT_DONE();
}
