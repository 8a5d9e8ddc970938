/* Unit tests of controller/: the kubeconfig parser (contexts, *-data, file
 * paths, tokens, errors), the watch frame splitter (frames split across
 * chunks, several per chunk, oversize) with watch-line parsing, and the work
 * queue (coalescing, dirty while processing, delays, retry backoff, resync),
 * statement names, SASL options, pull settings and the generator Job's hash.
 * The caches, drift, golden renders, the stuck-pod finder and Event
 * aggregation: controller_state_test.c. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <sys/stat.h>
#include "../../common/backoff.h"
#include "../../common/confluent.h"
#include "../../controller/cache.h"
#include "../../controller/drift.h"
#include "../../controller/events.h"
#include "../../controller/kubeconfig.h"
#include "../../controller/podstatus.h"
#include "../../controller/statements.h"
#include "../../controller/watch.h"
#include "../../controller/workqueue.h"
#include "../../controller/render.h"
#include "unit.h"

#include <stdlib.h>
#include <unistd.h>

static const char *kc_text = "apiVersion: v1\n"
                             "kind: Config\n"
                             "clusters:\n"
                             "- name: a\n"
                             "  cluster:\n"
                             "    server: https://10.0.0.1:6443/\n"
                             "    certificate-authority: pki/ca.crt\n"
                             "- name: b\n"
                             "  cluster:\n"
                             "    server: https://b.example:443\n"
                             "    certificate-authority-data: aGVsbG8gY2E=\n"
                             "users:\n"
                             "- name: cert\n"
                             "  user:\n"
                             "    client-certificate: /abs/cert.pem\n"
                             "    client-key: key.pem\n"
                             "- name: tok\n"
                             "  user:\n"
                             "    token: sekret\n"
                             "- name: data\n"
                             "  user:\n"
                             "    client-certificate-data: Y2VydA==\n"
                             "    client-key-data: a2V5\n"
                             "contexts:\n"
                             "- name: one\n"
                             "  context: {cluster: a, user: cert, namespace: team}\n"
                             "- name: two\n"
                             "  context: {cluster: b, user: tok}\n"
                             "- name: three\n"
                             "  context: {cluster: b, user: data}\n"
                             "- name: broken\n"
                             "  context: {cluster: nope, user: tok}\n"
                             "current-context: one\n";

static void test_kubeconfig(void)
{
    kube_config c;
    char err[512];
    size_t n = strlen(kc_text);
    CHECK("kubeconfig: current context parses",
          kubeconfig_parse(kc_text, n, "/home/x/.kube", NULL, &c, err, sizeof err));
    CHECK_STR("kubeconfig: server without trailing slash", "https://10.0.0.1:6443", c.server);
    CHECK_STR("kubeconfig: relative CA path resolved", "/home/x/.kube/pki/ca.crt", c.ca_file);
    CHECK_STR("kubeconfig: absolute cert path kept", "/abs/cert.pem", c.cert_file);
    CHECK_STR("kubeconfig: relative key path resolved", "/home/x/.kube/key.pem", c.key_file);
    CHECK_STR("kubeconfig: context namespace", "team", c.namespace);
    CHECK("kubeconfig: no token for cert user", kube_config_token(&c, err, sizeof err) == NULL);
    kube_config_free(&c);

    CHECK("kubeconfig: named context",
          kubeconfig_parse(kc_text, n, ".", "two", &c, err, sizeof err));
    CHECK_STR("kubeconfig: CA data decoded", "hello ca", c.ca.data);
    CHECK("kubeconfig: CA data length", c.ca.len == 8);
    CHECK_STR("kubeconfig: token", "sekret", kube_config_token(&c, err, sizeof err));
    CHECK_STR("kubeconfig: default namespace", "default", c.namespace);
    kube_config cp;
    CHECK("kubeconfig: copy",
          kube_config_copy(&cp, &c) && !strcmp(cp.token, "sekret") && cp.ca.len == 8);
    kube_config_free(&cp);
    kube_config_free(&c);

    CHECK("kubeconfig: client cert data",
          kubeconfig_parse(kc_text, n, ".", "three", &c, err, sizeof err) &&
              !strcmp(c.cert.data, "cert") && !strcmp(c.key.data, "key"));
    kube_config_free(&c);

    CHECK("kubeconfig: missing cluster rejected",
          !kubeconfig_parse(kc_text, n, ".", "broken", &c, err, sizeof err));
    CHECK("kubeconfig: error names the cluster", strstr(err, "cluster nope") != NULL);
    CHECK("kubeconfig: unknown context rejected",
          !kubeconfig_parse(kc_text, n, ".", "zzz", &c, err, sizeof err) &&
              strstr(err, "context zzz") != NULL);
    const char *bad = "clusters: [\n";
    CHECK("kubeconfig: YAML error reported",
          !kubeconfig_parse(bad, strlen(bad), ".", NULL, &c, err, sizeof err) &&
              strstr(err, "YAML error") != NULL);
    const char *bad64 = "clusters:\n- name: a\n  cluster: {server: 'https://x', "
                        "certificate-authority-data: '%%%'}\n"
                        "contexts:\n- name: c\n  context: {cluster: a}\ncurrent-context: c\n";
    CHECK("kubeconfig: bad base64 rejected",
          !kubeconfig_parse(bad64, strlen(bad64), ".", NULL, &c, err, sizeof err) &&
              strstr(err, "certificate-authority-data") != NULL);
    const char *exec =
        "clusters:\n- name: a\n  cluster: {server: 'https://x'}\nusers:\n- name: u\n  user:\n    "
        "exec: {command: aws}\n"
        "contexts:\n- name: c\n  context: {cluster: a, user: u}\ncurrent-context: c\n";
    CHECK("kubeconfig: exec plugin refused with a reason",
          !kubeconfig_parse(exec, strlen(exec), ".", NULL, &c, err, sizeof err) &&
              strstr(err, "exec") != NULL);

    /* in-cluster, with token rotation */
    char dir[] = "/tmp/flinkpg-sa.XXXXXX";
    CHECK("in-cluster: temp dir", mkdtemp(dir) != NULL);
    char p[256];
    snprintf(p, sizeof p, "%s/token", dir);
    FILE *f = fopen(p, "w");
    fputs("tok-1\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/namespace", dir);
    f = fopen(p, "w");
    fputs("flinkpg-system", f);
    fclose(f);
    unsetenv("KUBERNETES_SERVICE_HOST");
    CHECK("in-cluster: refused outside a pod", !kubeconfig_incluster(dir, &c, err, sizeof err) &&
                                                   strstr(err, "KUBERNETES_SERVICE_HOST") != NULL);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    CHECK("in-cluster: loads", kubeconfig_incluster(dir, &c, err, sizeof err));
    CHECK_STR("in-cluster: server", "https://10.96.0.1:443", c.server);
    CHECK_STR("in-cluster: namespace", "flinkpg-system", c.namespace);
    CHECK_STR("in-cluster: token", "tok-1", kube_config_token(&c, err, sizeof err));
    snprintf(p, sizeof p, "%s/token", dir);
    f = fopen(p, "w");
    fputs("tok-2\n", f);
    fclose(f);
    struct timespec ts[2] = {{.tv_sec = time(NULL) + 5}, {.tv_sec = time(NULL) + 5}};
    utimensat(AT_FDCWD, p, ts, 0);
    CHECK_STR("in-cluster: rotated token re-read", "tok-2", kube_config_token(&c, err, sizeof err));
    kube_config_free(&c);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK("in-cluster: cleanup", system(cmd) == 0);
}

typedef struct {
    char frames[8][128];
    int n;
} collected;

static bool collect(const char *line, size_t len, void *ctx)
{
    collected *c = ctx;
    if (c->n < 8)
        snprintf(c->frames[c->n++], 128, "%.*s", (int)len, line);
    return true;
}

static void test_frames(void)
{
    frame_splitter fs;
    collected c = {0};
    frame_splitter_init(&fs, 64);
    const char *stream =
        "{\"type\":\"ADDED\"}\n{\"type\":\"MODIFIED\"}\n\n{\"type\":\"BOOKMARK\"}\n";
    /* byte by byte */
    for (size_t i = 0; stream[i]; i++)
        frame_splitter_feed(&fs, stream + i, 1, collect, &c);
    CHECK("frames: byte-by-byte gives 3 frames", c.n == 3);
    CHECK_STR("frames: first frame intact", "{\"type\":\"ADDED\"}", c.frames[0]);
    CHECK_STR("frames: third frame intact", "{\"type\":\"BOOKMARK\"}", c.frames[2]);
    /* all at once, and split mid-frame */
    c.n = 0;
    frame_splitter_feed(&fs, stream, strlen(stream), collect, &c);
    CHECK("frames: one chunk gives 3 frames", c.n == 3);
    c.n = 0;
    frame_splitter_feed(&fs, "{\"a\":", 5, collect, &c);
    CHECK("frames: partial frame held back", c.n == 0 && fs.partial.len == 5);
    frame_splitter_feed(&fs, "1}\n{\"b\"", 7, collect, &c);
    CHECK_STR("frames: frame joined across chunks", "{\"a\":1}", c.frames[0]);
    frame_splitter_feed(&fs, ":2}\n", 4, collect, &c);
    CHECK("frames: next frame joined too", c.n == 2 && !strcmp(c.frames[1], "{\"b\":2}"));
    char big[100];
    memset(big, 'x', sizeof big);
    CHECK("frames: oversize frame refused",
          !frame_splitter_feed(&fs, big, sizeof big, collect, &c) && fs.overflow);
    frame_splitter_free(&fs);

    json_t *root, *obj;
    int code;
    const char *l1 = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"message\":"
                     "\"too old resource version: 1 (5)\"}}";
    const char *t = watch_parse_line(l1, strlen(l1), &root, &obj, &code);
    CHECK("watch line: ERROR 410 recognised", t && !strcmp(t, "ERROR") && code == 410);
    json_decref(root);
    const char *l2 = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":"
                     "410,\"reason\":\"Expired\"}";
    t = watch_parse_line(l2, strlen(l2), &root, &obj, &code);
    CHECK("watch line: bare Status as ERROR", t && !strcmp(t, "ERROR") && code == 410);
    json_decref(root);
    const char *l3 =
        "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"77\"}}}";
    t = watch_parse_line(l3, strlen(l3), &root, &obj, &code);
    CHECK("watch line: BOOKMARK with object", t && !strcmp(t, "BOOKMARK") && obj && code == 0);
    json_decref(root);
    t = watch_parse_line("{not json", 9, &root, &obj, &code);
    CHECK("watch line: garbage rejected", t == NULL && root == NULL);
}

/* A thousand keys: O(1) lookups, the heap orders delays, a spread resync. */
static void test_workqueue_scale(void)
{
    workqueue *q = wq_new(10, 80);
    char k[64];
    static int64_t due[1000];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "ns/run-%d", i);
        wq_track(q, k, true);
        uint32_t d = (uint32_t)(1000 + (i * 7919) % 1000); /* shuffled due times */
        due[i] = now_ms() + d;
        wq_add_after(q, k, d);
    }
    wq_add_after(q, "ns/run-500", 20); /* an earlier request wins */
    CHECK("queue scale: 1000 keys held", wq_size(q) == 1000 && wq_len(q) == 0);
    CHECK("queue scale: the earliest due key comes first",
          wq_get(q, k, sizeof k, 500) && !strcmp(k, "ns/run-500"));
    wq_done(q, k);
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "ns/run-%d", i);
        wq_track(q, k, false);
    }
    CHECK("queue scale: deleted keys still delayed are kept until processed", wq_size(q) == 999);
    size_t got = 0;
    int64_t prev_due = 0, t0 = now_ms();
    bool ordered = true, too_soon = false;
    while (got < 999 && wq_get(q, k, sizeof k, 3000)) {
        int i = atoi(k + strlen("ns/run-"));
        /* a key due at the same millisecond as the previous may come first */
        ordered &= due[i] + 1 >= prev_due;
        too_soon |= now_ms() < due[i] - 1;
        prev_due = due[i];
        wq_done(q, k);
        got++;
    }
    CHECK("queue scale: delayed keys come out in due order, none early",
          got == 999 && ordered && !too_soon);
    CHECK("queue scale: and then every one is forgotten", wq_size(q) == 0);
    (void)t0;

    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "ns/s-%d", i);
        wq_track(q, k, true);
    }
    t0 = now_ms();
    CHECK("queue scale: spread resync re-adds every tracked key", wq_resync_spread(q, 400) == 100);
    size_t early = 0;
    for (got = 0; got < 100 && wq_get(q, k, sizeof k, 1000); got++) {
        early += now_ms() - t0 < 100;
        wq_done(q, k);
    }
    CHECK("queue scale: a spread resync hands keys out over the period", got == 100 && early < 50);
    wq_free(q);
}

static void test_workqueue(void)
{
    workqueue *q = wq_new(10, 80);
    char k[64];
    wq_add(q, "ns/a");
    wq_add(q, "ns/b");
    wq_add(q, "ns/a");
    CHECK("queue: duplicate adds coalesce", wq_len(q) == 2);
    CHECK("queue: FIFO first", wq_get(q, k, sizeof k, 0) && !strcmp(k, "ns/a"));
    wq_add(q, "ns/a"); /* while processing */
    CHECK("queue: processing key not handed out twice",
          wq_get(q, k, sizeof k, 0) && !strcmp(k, "ns/b"));
    CHECK("queue: empty while a is processing", !wq_get(q, k, sizeof k, 0));
    wq_done(q, "ns/a");
    CHECK("queue: dirty key requeued on done", wq_get(q, k, sizeof k, 0) && !strcmp(k, "ns/a"));
    wq_done(q, "ns/a");
    wq_done(q, "ns/b");
    int64_t t0 = now_ms();
    wq_add_after(q, "ns/c", 60);
    CHECK("queue: delayed key not ready yet", !wq_get(q, k, sizeof k, 10));
    CHECK("queue: delayed key arrives",
          wq_get(q, k, sizeof k, 500) && !strcmp(k, "ns/c") && now_ms() - t0 >= 55);
    wq_done(q, "ns/c");
    uint32_t d1 = wq_retry(q, "ns/d"), d2 = wq_retry(q, "ns/d"), d3 = wq_retry(q, "ns/d");
    uint32_t d4 = wq_retry(q, "ns/d"), d5 = wq_retry(q, "ns/d");
    CHECK("queue: retry backoff doubles", d1 == 10 && d2 == 20 && d3 == 40 && d4 == 80);
    CHECK("queue: retry backoff capped", d5 == 80);
    CHECK("queue: failures counted", wq_failures(q, "ns/d") == 5);
    wq_forget(q, "ns/d");
    CHECK("queue: forget resets failures",
          wq_failures(q, "ns/d") == 0 && wq_retry(q, "ns/d") == 10);
    CHECK("queue: retried key arrives", wq_get(q, k, sizeof k, 500) && !strcmp(k, "ns/d"));
    wq_done(q, "ns/d");
    wq_track(q, "ns/x", true);
    wq_track(q, "ns/y", true);
    wq_track(q, "ns/y", false);
    CHECK("queue: resync re-adds tracked keys only",
          wq_resync(q) == 1 && wq_get(q, k, sizeof k, 0) && !strcmp(k, "ns/x"));
    wq_done(q, "ns/x");
    CHECK("queue: processed untracked keys are forgotten", wq_size(q) == 1);
    wq_track(q, "ns/x", false);
    CHECK("queue: a deleted idle key is forgotten", wq_size(q) == 0);
    wq_shutdown(q);
    CHECK("queue: get returns false after shutdown", !wq_get(q, k, sizeof k, -1));
    wq_free(q);
}

static void test_statement_names(void)
{
    char a[128], b[128], c[128], err[256];
    json_t *run = json_pack("{s:{s:s, s:s}}", "metadata", "namespace", "team.a", "name", "Demo_1");
    stmt_name(run, "sources", 2, a, sizeof a);
    CHECK("names: lowercase, '.' and '_' made '-'", !strcmp(a, "flinkpg-team-a-demo-1-sources-2"));
    CHECK("names: valid for Confluent", confluent_valid_name(a, err, sizeof err));
    json_decref(run);
    char longname[254];
    memset(longname, 'x', 253);
    longname[253] = 0;
    run = json_pack("{s:{s:s, s:s}}", "metadata", "namespace", "ns", "name", longname);
    stmt_name(run, "retract", 12, a, sizeof a);
    stmt_name(run, "retract", 12, b, sizeof b);
    CHECK("names: long runs stay within Confluent's 72 characters", strlen(a) <= 72);
    CHECK("names: deterministic", !strcmp(a, b));
    CHECK("names: long name still valid", confluent_valid_name(a, err, sizeof err));
    longname[252] = 'y';
    json_object_set_new(json_object_get(run, "metadata"), "name", json_string(longname));
    stmt_name(run, "retract", 12, c, sizeof c);
    CHECK("names: long names differing at the end stay distinct", strcmp(a, c) != 0);
    json_decref(run);
    /* the longest a Kubernetes object allows: 63-character namespace and name */
    char ns63[64], n63[64];
    memset(ns63, 'n', 63);
    memset(n63, 'r', 63);
    ns63[63] = n63[63] = 0;
    run = json_pack("{s:{s:s, s:s}}", "metadata", "namespace", ns63, "name", n63);
    stmt_name(run, "retract", 999, a, sizeof a);
    CHECK("names: 63-character namespace and name, 999th statement: within 72",
          strlen(a) <= 72 && confluent_valid_name(a, err, sizeof err));
    json_decref(run);
}

static void test_sasl_options(void)
{
    char msg[128] = "";
    char *o = stmt_sasl_options("SASL_SSL", "PLAIN", "KEY1", "s3cr3t", msg, sizeof msg);
    CHECK("sasl options: protocol, mechanism and JAAS line",
          o && strstr(o, "'properties.security.protocol' = 'SASL_SSL'") &&
              strstr(o, "'properties.sasl.mechanism' = 'PLAIN'") &&
              strstr(o, "PlainLoginModule required username=\"KEY1\" password=\"s3cr3t\";',"));
    free(o);
    o = stmt_sasl_options("SASL_PLAINTEXT", "PLAIN", "k", "a'b\"c\\d", msg, sizeof msg);
    CHECK_STR("sasl options: quote, double quote and backslash escaped",
              "'properties.security.protocol' = 'SASL_PLAINTEXT',\n  'properties.sasl.mechanism' = "
              "'PLAIN',\n  'properties.sasl.jaas.config' = "
              "'org.apache.kafka.common.security.plain.PlainLoginModule required username=\"k\" "
              "password=\"a''b\\\"c\\\\d\";',",
              o);
    free(o);
    o = stmt_sasl_options("SASL_SSL", "PLAIN", "k", "pa\nss", msg, sizeof msg);
    CHECK("sasl options: a line break in a secret is refused", !o && strstr(msg, "line break"));
    free(o);
    o = stmt_sasl_options("SASL_SSL", "SCRAM-SHA-512", "k", "p", msg, sizeof msg);
    CHECK("sasl options: SCRAM (spec.kafka.saslMechanism) with its own login module",
          o && strstr(o, "'properties.sasl.mechanism' = 'SCRAM-SHA-512'") &&
              strstr(o, "'org.apache.kafka.common.security.scram.ScramLoginModule required "
                        "username=\"k\" password=\"p\";',") &&
              !strstr(o, "Plain"));
    free(o);
}

/* The pull settings reach every pod the controller creates. */
static void test_pull_settings(void)
{
    json_error_t e;
    json_t *run = json_loads("{\"apiVersion\":\"flinkpg.io/v1alpha1\",\"kind\":\"DemoRun\","
                             "\"metadata\":{\"name\":\"r1\",\"namespace\":\"ns\",\"uid\":\"u1\"},"
                             "\"spec\":{\"mode\":\"upsert\",\"postgres\":{\"inCluster\":{}}}}",
                             0, &e);
    render_opts o = {.postgres_image = "pg:1",
                     .generator_image = "gen:1",
                     .sink_image = "sink:1",
                     .image_pull_policy = "Never",
                     .image_pull_secrets = " regcred , other,, "};
    json_t *objs[3] = {render_generator_job(run, &o), render_sink_deployment(run, &o),
                       render_pg_statefulset(run, &o)};
    const char *names[3] = {"generator Job", "sink Deployment", "postgres StatefulSet"};
    for (int i = 0; i < 3; i++) {
        json_t *pod =
            json_object_get(json_object_get(json_object_get(objs[i], "spec"), "template"), "spec");
        json_t *c = json_array_get(json_object_get(pod, "containers"), 0);
        json_t *ps = json_object_get(pod, "imagePullSecrets");
        char name[96];
        snprintf(name, sizeof name, "pull settings: %s has imagePullPolicy and both secrets",
                 names[i]);
        CHECK(name,
              json_string_value(json_object_get(c, "imagePullPolicy")) &&
                  !strcmp(json_string_value(json_object_get(c, "imagePullPolicy")), "Never") &&
                  json_array_size(ps) == 2 &&
                  !strcmp(json_string_value(json_object_get(json_array_get(ps, 0), "name")),
                          "regcred") &&
                  !strcmp(json_string_value(json_object_get(json_array_get(ps, 1), "name")),
                          "other"));
        json_decref(objs[i]);
    }
    o.image_pull_policy = "";
    o.image_pull_secrets = NULL;
    json_t *d = render_sink_deployment(run, &o);
    json_t *pod = json_object_get(json_object_get(json_object_get(d, "spec"), "template"), "spec");
    CHECK("pull settings: none set, none rendered (the cluster's defaults apply)",
          !json_object_get(pod, "imagePullSecrets") &&
              !json_object_get(json_array_get(json_object_get(pod, "containers"), 0),
                               "imagePullPolicy"));
    json_decref(d);
    json_decref(run);
}

/* The generator Job is replaced (every event produced again) only when the
 * DemoRun asks for something else, never for a new controller default. */
static const char *job_hash(const json_t *job)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(job, "metadata"), "annotations"),
                        GENERATOR_HASH_ANNOTATION));
}

static void test_generator_hash(void)
{
    json_error_t e;
    json_t *run =
        json_loads("{\"metadata\":{\"name\":\"r1\",\"namespace\":\"ns\",\"uid\":\"u1\"},"
                   "\"spec\":{\"mode\":\"retract\",\"kafka\":{\"bootstrapServers\":\"k:9092\"},"
                   "\"postgres\":{\"inCluster\":{}},\"generator\":{\"rate\":60}}}",
                   0, &e);
    render_opts a = {.generator_image = "flinkpg/flinkpg-generator:0.1.0"};
    render_opts b = {.generator_image = "flinkpg/flinkpg-generator:0.2.0",
                     .image_pull_policy = "Always",
                     .image_pull_secrets = "regcred"};
    json_t *ja = render_generator_job(run, &a), *jb = render_generator_job(run, &b);
    CHECK("generator hash: a controller upgrade (default image, pull settings) keeps the Job",
          job_hash(ja) && job_hash(jb) && !strcmp(job_hash(ja), job_hash(jb)));
    json_object_set_new(json_object_get(json_object_get(run, "spec"), "generator"), "rate",
                        json_integer(61));
    json_t *jc = render_generator_job(run, &a);
    CHECK("generator hash: a change of spec.generator replaces the Job",
          job_hash(jc) && strcmp(job_hash(ja), job_hash(jc)));
    json_object_set_new(json_object_get(json_object_get(run, "spec"), "generator"), "image",
                        json_string("mine/gen:1"));
    json_t *jd = render_generator_job(run, &a);
    CHECK("generator hash: the DemoRun's own generator image replaces the Job",
          job_hash(jd) && strcmp(job_hash(jc), job_hash(jd)));
    json_decref(ja), json_decref(jb), json_decref(jc), json_decref(jd), json_decref(run);
}

int main(void)
{
    test_generator_hash();
    test_pull_settings();
    test_sasl_options();
    test_statement_names();
    test_kubeconfig();
    test_frames();
    test_workqueue();
    test_workqueue_scale();
    return UNIT_DONE();
}
