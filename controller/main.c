/*
 * flinkpg-controller — the Kubernetes operator for DemoRun resources.
 *
 * Threads: one watcher per resource (DemoRuns, the kinds it owns and their
 * pods, selected by label) turning events into keys on the work queue; the lease
 * thread (with --leader-elect); the HTTP endpoints; --workers worker threads
 * that take keys off the queue and reconcile them, each with its own API
 * client, only while this replica leads; and this main thread, which follows
 * the lease and every --resync-seconds queues all known DemoRuns again,
 * spread over half the period.  SIGTERM/SIGINT: stop watching, release the lease, exit 0.
 */
#define _POSIX_C_SOURCE 200809L
#define FLINKPG_WITH_RDKAFKA
#define FLINKPG_WITH_PQ
#define FLINKPG_WITH_JANSSON
#define FLINKPG_WITH_CURL
#define FLINKPG_WITH_YAML
#define FLINKPG_WITH_MHD
#define FLINKPG_WITH_ZLIB
#include "../common/libversions.h"
#include "../common/backoff.h"
#include "../common/config.h"
#include "../common/httpc.h"
#include "../common/httpd.h"
#include "../common/startup.h"
#include "../common/log.h"
#include "cache.h"
#include "events.h"
#include "options.h"
#include "kubeconfig.h"
#include "lease.h"
#include "reconcile.h"
#include "watch.h"
#include "workqueue.h"

#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int g_stop;

/* ---- watch callbacks ---- */

static workqueue *g_queue;

static void key_of(const json_t *obj, char *out, size_t n, const char *name)
{
    const char *ns =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
    snprintf(out, n, "%s/%s", ns ? ns : "", name ? name : "");
}

/* A complete list has just been parsed and folded into a store: the list's
 * own trees (megabytes at a thousand runs) are freed, but glibc keeps the
 * pages unless asked. */
static void after_list(void)
{
    malloc_trim(0);
}

static void on_demorun(watch_event ev, json_t *obj, void *ctx)
{
    kstore_event(ctx, ev, obj);
    if (ev == WATCH_LIST_DONE) {
        after_list();
        return;
    }
    char key[300];
    key_of(obj, key, sizeof key,
           json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")));
    wq_track(g_queue, key, ev != WATCH_DELETED);
    if (ev != WATCH_DELETED)
        wq_add(g_queue, key);
}

static void on_owned(watch_event ev, json_t *obj, void *ctx)
{
    kstore_event(ctx, ev, obj);
    if (ev == WATCH_LIST_DONE) {
        after_list();
        return;
    }
    size_t i;
    json_t *ref;
    json_array_foreach (json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
                        ref) {
        const char *kind = json_string_value(json_object_get(ref, "kind"));
        if (json_is_true(json_object_get(ref, "controller")) && kind && !strcmp(kind, "DemoRun")) {
            char key[300];
            key_of(obj, key, sizeof key, json_string_value(json_object_get(ref, "name")));
            wq_add(g_queue, key);
        }
    }
}

/* A Secret: ours (the in-cluster PostgreSQL's) re-queues its run as any
 * child does; one a DemoRun references by name (credentials, an existing
 * PostgreSQL) re-queues every run of its namespace that names it, so that a
 * rotated Secret rolls the sink (reconcile_apply.c, secret-versions). */
static kstore *g_runs;
static void on_secret(watch_event ev, json_t *obj, void *ctx)
{
    on_owned(ev, obj, ctx);
    if (ev != WATCH_ADDED && ev != WATCH_MODIFIED && ev != WATCH_DELETED)
        return;
    json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!ns || !name || !g_runs)
        return;
    json_t *runs = kstore_list(g_runs, ns, NULL, NULL);
    size_t i;
    json_t *run;
    json_array_foreach (json_object_get(runs, "items"), i, run) {
        if (run_uses_secret(run, name)) {
            char key[300];
            key_of(run, key, sizeof key, run_name(run));
            wq_add(g_queue, key);
        }
    }
    json_decref(runs);
}

/* A pod is owned by a ReplicaSet, a Job or a StatefulSet, not by the
 * DemoRun: its run is in the label every child and pod template carries.
 * Pods are watched so that a pod stuck in ImagePullBackOff or
 * CrashLoopBackOff shows in the DemoRun's status at once (podstatus.h): the
 * kubelet's retries change the pod and nothing the DemoRun owns. */
static void on_pod(watch_event ev, json_t *obj, void *ctx)
{
    kstore_event(ctx, ev, obj);
    if (ev == WATCH_LIST_DONE) {
        after_list();
        return;
    }
    const char *run = json_string_value(json_object_get(
        json_object_get(json_object_get(obj, "metadata"), "labels"), "flinkpg.io/run"));
    if (!run || !*run)
        return;
    char key[300];
    key_of(obj, key, sizeof key, run);
    wq_add(g_queue, key);
}

/* ---- operational endpoints ---- */

#define NWATCH 8
static watcher g_watch[NWATCH];
static lease g_lease;
static bool g_elect;
static atomic_ullong g_ok, g_err, g_requeue;
static atomic_llong g_heartbeat;

typedef struct {
    pthread_t thread;
    int id;
    bool started;
    reconciler r;            /* its own kube_client: one per thread */
    atomic_llong busy_since; /* 0 when idle */
} worker;

static worker *g_workers;
static int g_nworkers;
static atomic_bool g_leading; /* set before the workers start: !--leader-elect */

static void metrics(strbuf *out, void *ctx)
{
    (void)ctx;
    prom_header(out, "flinkpg_controller_reconciles_total", "counter", "Reconciles by result");
    prom_sample(out, "flinkpg_controller_reconciles_total", "result=\"ok\"",
                (double)atomic_load(&g_ok));
    prom_sample(out, "flinkpg_controller_reconciles_total", "result=\"error\"",
                (double)atomic_load(&g_err));
    prom_sample(out, "flinkpg_controller_reconciles_total", "result=\"requeue\"",
                (double)atomic_load(&g_requeue));
    prom_header(out, "flinkpg_controller_queue_depth", "gauge", "Keys waiting in the work queue");
    prom_sample(out, "flinkpg_controller_queue_depth", NULL, (double)wq_len(g_queue));
    prom_header(out, "flinkpg_controller_leader", "gauge", "1 while this replica leads");
    prom_sample(out, "flinkpg_controller_leader", NULL,
                g_elect ? atomic_load(&g_lease.leading) : 1);
    prom_header(out, "flinkpg_controller_watch_events_total", "counter",
                "Watch events per resource");
    prom_header(out, "flinkpg_controller_watch_relists_total", "counter",
                "Lists (initial and after 410 Gone)");
    prom_header(out, "flinkpg_controller_watch_reconnects_total", "counter",
                "Watches re-opened after an error");
    for (int i = 0; i < NWATCH; i++) {
        char l[96];
        snprintf(l, sizeof l, "resource=\"%s\"", g_watch[i].name);
        prom_sample(out, "flinkpg_controller_watch_events_total", l,
                    (double)atomic_load(&g_watch[i].events));
        prom_sample(out, "flinkpg_controller_watch_relists_total", l,
                    (double)atomic_load(&g_watch[i].relists));
        prom_sample(out, "flinkpg_controller_watch_reconnects_total", l,
                    (double)atomic_load(&g_watch[i].reconnects));
    }
}

static bool ready(void *ctx, char *why, size_t n)
{
    (void)ctx;
    for (int i = 0; i < NWATCH; i++)
        if (!atomic_load(&g_watch[i].synced)) {
            snprintf(why, n, "watch of %s not synced yet", g_watch[i].name);
            return false;
        }
    return true;
}

static bool healthy(void *ctx, char *why, size_t n)
{
    (void)ctx;
    if (now_ms() - atomic_load(&g_heartbeat) > 60000) {
        snprintf(why, n, "main loop stalled");
        return false;
    }
    /* every call a reconcile makes is bounded: a worker busy for 5 minutes is stuck */
    for (int i = 0; g_workers && i < g_nworkers; i++) {
        int64_t since = atomic_load(&g_workers[i].busy_since);
        if (since && now_ms() - since > 300000) {
            snprintf(why, n, "worker %d stuck in one reconcile for %lld s", i,
                     (long long)(now_ms() - since) / 1000);
            return false;
        }
    }
    return true;
}

/* ---- workers ---- */

/* The work queue hands a key to one worker at a time, so two workers never
 * reconcile the same DemoRun; a slow backend holds one worker, not all. */
static void *work(void *arg)
{
    worker *w = arg;
    char key[300];
    while (!g_stop) {
        if (!atomic_load(&g_leading)) {
            sleep_ms_unless(200, &g_stop);
            continue;
        }
        if (!wq_get(g_queue, key, sizeof key, 500))
            continue;
        char *slash = strchr(key, '/');
        if (!slash) {
            wq_done(g_queue, key);
            continue;
        }
        atomic_store(&w->busy_since, now_ms());
        *slash = '\0';
        int res = reconcile_demorun(&w->r, key, slash + 1);
        *slash = '/';
        atomic_store(&w->busy_since, 0);
        if (res < 0) {
            atomic_fetch_add(&g_err, 1);
            uint32_t d = wq_retry(g_queue, key);
            if (w->r.retry_within_ms > 0 && d > (uint32_t)w->r.retry_within_ms) {
                d = (uint32_t)w->r.retry_within_ms;
                wq_add_after(g_queue, key, d); /* the earlier time wins */
            }
            log_debug("requeue", "key=%s retry_ms=%u worker=%d", lq(key), d, w->id);
        } else {
            wq_forget(g_queue, key);
            if (res > 0) {
                atomic_fetch_add(&g_requeue, 1);
                wq_add_after(g_queue, key, (uint32_t)res);
            } else {
                atomic_fetch_add(&g_ok, 1);
            }
        }
        wq_done(g_queue, key);
    }
    return NULL;
}

static void versions(void)
{
    libversion_curl();
    libversion_jansson();
    libversion_yaml();
    libversion_rdkafka();
    libversion_pq();
    libversion_mhd();
    libversion_zlib();
}

/* The settings that can never work; 0 or exit 2 (printed). */
static int check_options(cfg_spec *spec)
{
    char err[1024];
    const char *ipp = cfg_str(spec, "image-pull-policy");
    long long nw = cfg_int(spec, "workers");
    long long bt = cfg_int(spec, "backend-timeout"), ct = cfg_int(spec, "cleanup-timeout");
    const char *bad = NULL, *why = NULL;
    if (ipp && *ipp && strcmp(ipp, "Always") && strcmp(ipp, "IfNotPresent") && strcmp(ipp, "Never"))
        bad = "image-pull-policy", why = "is not one of Always, IfNotPresent, Never";
    else if (nw < 1 || nw > 64)
        bad = "workers", why = "is not between 1 and 64";
    else if (bt < 1)
        bad = "backend-timeout", why = "is not at least 1";
    else if (ct < 0)
        bad = "cleanup-timeout", why = "is negative (0: never give up)";
    if (bad) {
        fprintf(stderr, "flinkpg-controller: %s\n", cfg_invalid(spec, bad, why, err, sizeof err));
        return 2;
    }
    /* the SQL templates must be there before anything is reconciled */
    const char *sqldir = cfg_str(spec, "sql-dir");
    static const char *const templates[] = {"flink/sources.sql", "flink/upsert.sql",
                                            "confluent/sources.sql"};
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++) {
        char t[1024];
        snprintf(t, sizeof t, "%s/%s", sqldir ? sqldir : "", templates[i]);
        if (access(t, R_OK) != 0) {
            fprintf(
                stderr,
                "flinkpg-controller: --sql-dir (or FLINKPG_SQL_DIR) \"%s\": cannot read %s: %s\n",
                sqldir ? sqldir : "", templates[i], strerror(errno));
            return 2;
        }
    }
    return 0;
}

/* As kubectl: --kubeconfig / $KUBECONFIG, else in-cluster when running in a
 * pod, else ~/.kube/config.  *from_file says which. */
/* One watch per kind, each filling its informer store (cache.h). */
static void set_up_watches(cfg_spec *spec, kcache *cache)
{
    const char *wns = cfg_str(spec, "namespace");
    static char paths[NWATCH][256];
    static const struct {
        const char *name, *group, *res;
    } kinds[NWATCH] = {
        {"demoruns", "/apis/flinkpg.io/v1alpha1", "demoruns"},
        {"statefulsets", "/apis/apps/v1", "statefulsets"},
        {"deployments", "/apis/apps/v1", "deployments"},
        {"jobs", "/apis/batch/v1", "jobs"},
        {"configmaps", "/api/v1", "configmaps"},
        {"secrets", "/api/v1", "secrets"},
        {"services", "/api/v1", "services"},
        {"pods", "/api/v1", "pods"},
    };
    for (int i = 0; i < NWATCH; i++) {
        if (wns && *wns)
            snprintf(paths[i], sizeof paths[i], "%s/namespaces/%s/%s", kinds[i].group, wns,
                     kinds[i].res);
        else
            snprintf(paths[i], sizeof paths[i], "%s/%s", kinds[i].group, kinds[i].res);
        bool pods = !strcmp(kinds[i].res, "pods"), secrets = !strcmp(kinds[i].res, "secrets");
        /* pods: see on_pod; not every pod template carries managed-by.
         * secrets: unfiltered, so that the Secrets a DemoRun references
         * (no label of ours) stay fresh in the cache; only ours and those
         * read once are kept (cache.h). */
        kstore *store = kcache_add(cache, kinds[i].res, secrets,
                                   !i     ? NULL
                                   : pods ? "flinkpg.io/run"
                                          : "app.kubernetes.io/managed-by",
                                   !i || pods ? NULL : "flinkpg");
        g_watch[i] = (watcher){.name = kinds[i].name,
                               .path = paths[i],
                               .label_selector = !i || secrets ? NULL
                                                 : pods        ? "flinkpg.io/run"
                                                        : "app.kubernetes.io/managed-by=flinkpg",
                               .ctx = store,
                               .on_event = !i        ? on_demorun
                                           : pods    ? on_pod
                                           : secrets ? on_secret
                                                     : on_owned,
                               .timeout_s = cfg_int(spec, "watch-timeout"),
                               .start_rv = i ? NULL : cfg_str(spec, "debug-watch-from")};
    }
    g_runs = kcache_store(cache, "demoruns"); /* for on_secret */
}

static bool start_lease(cfg_spec *spec, const kube_config *kcfg, const char *ident)
{
    char err[1024];
    const char *lns = cfg_str(spec, "lease-namespace");
    g_lease = (lease){.namespace = lns && *lns ? lns : kcfg->namespace,
                      .name = cfg_str(spec, "lease-name"),
                      .identity = ident,
                      .duration_s = (int)cfg_int(spec, "lease-duration")};
    g_lease.renew_deadline_s = g_lease.duration_s * 2 / 3;
    g_lease.retry_s = g_lease.duration_s / 7 > 0 ? g_lease.duration_s / 7 : 1;
    if (!lease_start(&g_lease, kcfg, &g_stop, err, sizeof err)) {
        log_error("startup_failed", "error=%s", lq(err));
        return false;
    }
    return true;
}

/* --workers threads, each with its own API client over the shared caches;
 * r is their reconcilers' template. */
static bool start_workers(int n, const reconciler *r, const kube_config *kcfg, kcache *cache)
{
    char err[1024];
    g_workers = calloc((size_t)n, sizeof *g_workers);
    if (!g_workers)
        abort();
    g_nworkers = n;
    for (int i = 0; i < n; i++) {
        worker *w = &g_workers[i];
        w->r = *r;
        w->id = i;
        w->r.kc = kube_client_new(kcfg, err, sizeof err);
        if (w->r.kc)
            kube_client_set_cache(w->r.kc, cache);
        if (!w->r.kc || pthread_create(&w->thread, NULL, work, w) != 0) {
            log_error("startup_failed", "error=%s", lq(w->r.kc ? "cannot start a worker" : err));
            kube_client_free(w->r.kc);
            w->r.kc = NULL;
            return false;
        }
        w->started = true;
    }
    return true;
}

static void stop_workers(void)
{
    for (int i = 0; g_workers && i < g_nworkers; i++)
        if (g_workers[i].started) {
            pthread_join(g_workers[i].thread, NULL);
            kube_client_free(g_workers[i].r.kc);
        }
    worker *w = g_workers;
    g_workers = NULL;
    free(w);
}

/* Until stopped: follow the Lease (workers run only while leading) and
 * resync every run each period, spread over its first half.  1 when the
 * lease was lost. */
static int lead(int64_t resync_ms)
{
    int64_t next_resync = now_ms() + resync_ms;
    bool was_leading = false;
    while (!g_stop) {
        atomic_store(&g_heartbeat, now_ms());
        bool leading = true;
        if (g_elect) {
            if (atomic_load(&g_lease.lost)) {
                log_error("exiting", "reason=%s", lq("lost the leader lease"));
                return 1;
            }
            leading = atomic_load(&g_lease.leading);
            if (leading && !was_leading)
                wq_resync(g_queue); /* a new leader looks at everything */
            was_leading = leading;
        }
        atomic_store(&g_leading, leading);
        if (leading && resync_ms > 0 && now_ms() >= next_resync) {
            size_t n = wq_resync_spread(g_queue, (uint32_t)(resync_ms / 2));
            log_debug("resync", "runs=%zu", n);
            next_resync = now_ms() + resync_ms;
        }
        sleep_ms_unless(200, &g_stop);
    }
    return 0;
}

/* Watches, lease, workers, the loop, and everything stopped again. */
static int run(cfg_spec *spec, const kube_config *kcfg, const char *ident)
{
    char err[1024];
    g_queue = wq_new(500, 300000);
    if (!g_queue)
        abort();
    kcache *cache = kcache_new();
    set_up_watches(spec, cache);
    atomic_store(&g_heartbeat, now_ms());
    httpd *srv = NULL;
    httpd_handlers h = {.metrics = metrics, .ready = ready, .healthy = healthy};
    int rc = startup_http(cfg_str(spec, "http-listen"), &h, &srv) ? 0 : 1;
    for (int i = 0; !rc && i < NWATCH; i++)
        if (!watcher_start(&g_watch[i], kcfg, &g_stop, err, sizeof err)) {
            log_error("startup_failed", "error=%s", lq(err));
            rc = 1;
        }
    g_elect = cfg_bool(spec, "leader-elect");
    /* a standby must not reconcile before the loop first looks at the lease */
    atomic_store(&g_leading, !g_elect);
    if (!rc && g_elect && !start_lease(spec, kcfg, ident))
        rc = 1;
    reconciler r = {.render = {.postgres_image = cfg_str(spec, "postgres-image"),
                               .generator_image = cfg_str(spec, "generator-image"),
                               .sink_image = cfg_str(spec, "sink-image"),
                               .sql_dir = cfg_str(spec, "sql-dir"),
                               .image_pull_policy = cfg_str(spec, "image-pull-policy"),
                               .image_pull_secrets = cfg_str(spec, "image-pull-secrets")},
                    .identity = ident,
                    .confluent_url = cfg_str(spec, "confluent-url"),
                    .backend_timeout_ms = cfg_int(spec, "backend-timeout") * 1000,
                    .cleanup_timeout_s = cfg_int(spec, "cleanup-timeout")};
    /* Events go out from their own thread: a reconcile does not wait for them */
    if (!rc && !events_start(kcfg, err, sizeof err)) {
        log_error("startup_failed", "error=%s", lq(err));
        rc = 1;
    }
    if (!rc && !start_workers((int)cfg_int(spec, "workers"), &r, kcfg, cache))
        rc = 1;
    if (!rc)
        rc = lead(cfg_int(spec, "resync-seconds") * 1000);
    g_stop = 1;
    log_info("stopping", "reason=%s", rc ? "error" : "signal");
    wq_shutdown(g_queue);
    stop_workers();
    events_stop(); /* after the workers: what they queued is sent */
    for (int i = 0; i < NWATCH; i++)
        watcher_join(&g_watch[i]);
    kcache_free(cache);
    if (g_elect)
        lease_stop(&g_lease);
    httpd_stop(srv);
    wq_free(g_queue);
    return rc;
}

int main(int argc, char **argv)
{
    /* glibc gives each thread that allocates its own arena (8 per core);
     * with a dozen threads sharing the caches' objects that is memory held
     * and never reused.  Two arenas keep the RSS near what is live. */
    mallopt(M_ARENA_MAX, 2);
    cfg_spec spec = {
        .prog = "flinkpg-controller",
        .summary = "Reconciles DemoRun resources (flinkpg.io/v1alpha1) into PostgreSQL, "
                   "generator, sink and Flink statements.",
        .usage_example = "  flinkpg-controller --kubeconfig ~/.kube/config --sql-dir sql "
                         "--http-listen 127.0.0.1:8080\n"
                         "  flinkpg-controller --leader-elect        # in a pod",
        .versions = versions,
        .opts = controller_options,
        .nopts = controller_noptions};
    /* no usage line for a bare run: in a pod, defaults and the environment are enough */
    int rc = startup_options(&spec, argc, argv, "controller", false);
    const char *probe_url = rc < 0 ? cfg_str(&spec, "probe") : NULL;
    if (probe_url && *probe_url) { /* --probe: nothing else runs, nothing else is checked */
        char perr[256];
        rc = httpc_global_init(perr, sizeof perr) ? httpc_probe(probe_url) : 1;
        cfg_free(&spec);
        return rc;
    }
    if (rc < 0)
        rc = check_options(&spec) ? 2 : -1;
    if (rc >= 0) {
        cfg_free(&spec);
        return rc;
    }
    char err[1024];
    if (!httpc_global_init(err, sizeof err)) {
        log_error("startup_failed", "error=%s", lq(err));
        cfg_free(&spec);
        return 1;
    }
    kube_config kcfg;
    bool from_file;
    if (!kubeconfig_resolve(cfg_str(&spec, "kubeconfig"), cfg_str(&spec, "context"),
                            cfg_str(&spec, "serviceaccount-dir"), &kcfg, &from_file, err,
                            sizeof err)) {
        log_error("startup_failed", "error=%s", lq(err));
        cfg_free(&spec);
        return 1;
    }
    char ident[256];
    lease_identity(cfg_str(&spec, "identity"), ident, sizeof ident);
    const char *watch_ns = cfg_str(&spec, "namespace");
    log_info("starting", "server=%s config=%s watch=%s identity=%s leader_elect=%s workers=%lld",
             lq(kcfg.server), from_file ? "kubeconfig" : "in-cluster",
             lq(watch_ns && *watch_ns ? watch_ns : "all-namespaces"), lq(ident),
             cfg_bool(&spec, "leader-elect") ? "true" : "false",
             (long long)cfg_int(&spec, "workers"));
    startup_signals(&g_stop);
    rc = run(&spec, &kcfg, ident);
    kube_config_free(&kcfg);
    cfg_free(&spec);
    curl_global_cleanup();
    log_info("stopped", "reconciles_ok=%llu reconciles_failed=%llu",
             (unsigned long long)atomic_load(&g_ok), (unsigned long long)atomic_load(&g_err));
    return rc;
}
