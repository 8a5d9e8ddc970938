/*
 * lease — see lease.h.  One thread: try_acquire_or_renew() every retry_s.
 */
#define _POSIX_C_SOURCE 200809L
#include "lease.h"

#include "../common/backoff.h"
#include "../common/log.h"
#include "status.h"

#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char record[512]; /* holder + renewTime last observed */
    int64_t observed_ms;
    int64_t renewed_ms; /* last successful renew (leader) */
} lease_obs;

static void path_of(const lease *l, char *out, size_t n, bool collection)
{
    if (collection)
        snprintf(out, n, "/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->namespace);
    else
        snprintf(out, n, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", l->namespace,
                 l->name);
}

/* Returns true when we hold the lease after this attempt. */
static bool try_acquire_or_renew(lease *l, kube_client *kc, lease_obs *o)
{
    char path[512], err[1024], now[40];
    time_now_rfc3339(now, sizeof now, true);
    path_of(l, path, sizeof path, false);
    json_t *cur = NULL;
    long st = kube_get(kc, path, &cur, err, sizeof err);
    if (st == 404) {
        json_t *obj = json_pack(
            "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s, s:s, s:i}}", "apiVersion",
            "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", l->name, "namespace",
            l->namespace, "spec", "holderIdentity", l->identity, "leaseDurationSeconds",
            l->duration_s, "acquireTime", now, "renewTime", now, "leaseTransitions", 0);
        path_of(l, path, sizeof path, true);
        st = kube_create(kc, path, obj, NULL, err, sizeof err);
        json_decref(obj);
        json_decref(cur);
        if (st != 201 && st != 409)
            log_warn("lease_failed", "lease=%s/%s error=%s", l->namespace, l->name, lq(err));
        return st == 201;
    }
    if (st != 200) {
        log_warn("lease_failed", "lease=%s/%s error=%s", l->namespace, l->name, lq(err));
        json_decref(cur);
        return false;
    }
    json_t *spec = json_object_get(cur, "spec");
    if (!spec) {
        spec = json_object();
        json_object_set_new(cur, "spec", spec);
    }
    const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
    const char *renew = json_string_value(json_object_get(spec, "renewTime"));
    long long dur = json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
    if (dur <= 0)
        dur = l->duration_s;
    char record[512];
    snprintf(record, sizeof record, "%s|%s", holder ? holder : "", renew ? renew : "");
    int64_t t = now_ms();
    if (strcmp(record, o->record)) {
        snprintf(o->record, sizeof o->record, "%s", record);
        o->observed_ms = t;
    }
    bool mine = holder && !strcmp(holder, l->identity);
    bool free_ = !holder || !*holder || t - o->observed_ms > dur * 1000;
    if (!mine && !free_) {
        json_decref(cur);
        return false;
    }
    if (!mine) {
        json_object_set_new(spec, "acquireTime", json_string(now));
        long long tr = json_integer_value(json_object_get(spec, "leaseTransitions"));
        json_object_set_new(spec, "leaseTransitions", json_integer(tr + 1));
    }
    json_object_set_new(spec, "holderIdentity", json_string(l->identity));
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(l->duration_s));
    json_object_set_new(spec, "renewTime", json_string(now));
    st = kube_put(kc, path, cur, NULL, err, sizeof err); /* carries metadata.resourceVersion */
    json_decref(cur);
    if (st != 200) {
        if (st != 409)
            log_warn("lease_failed", "lease=%s/%s error=%s", l->namespace, l->name, lq(err));
        return false;
    }
    return true;
}

static void release(lease *l, kube_client *kc)
{
    char path[512], err[1024], now[40];
    path_of(l, path, sizeof path, false);
    json_t *cur = NULL;
    if (kube_get(kc, path, &cur, err, sizeof err) != 200) {
        log_warn("lease_release_failed", "lease=%s/%s error=%s", l->namespace, l->name, lq(err));
        json_decref(cur);
        return;
    }
    json_t *spec = json_object_get(cur, "spec");
    const char *holder = json_string_value(json_object_get(spec, "holderIdentity"));
    if (spec && holder && !strcmp(holder, l->identity)) {
        time_now_rfc3339(now, sizeof now, true);
        json_object_set_new(spec, "holderIdentity", json_string(""));
        json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
        json_object_set_new(spec, "renewTime", json_string(now));
        if (kube_put(kc, path, cur, NULL, err, sizeof err) == 200)
            log_info("lease_released", "lease=%s/%s identity=%s", l->namespace, l->name,
                     lq(l->identity));
        else
            log_warn("lease_release_failed", "lease=%s/%s error=%s", l->namespace, l->name,
                     lq(err));
    }
    json_decref(cur);
}

static void *lease_main(void *arg)
{
    lease *l = arg;
    char err[1024];
    kube_client *kc = kube_client_new(l->cfg, err, sizeof err);
    if (!kc) {
        log_error("lease_failed", "error=%s", lq(err));
        atomic_store(&l->lost, 1);
        return NULL;
    }
    lease_obs o = {.observed_ms = now_ms()};
    while (!*l->stop) {
        bool held = try_acquire_or_renew(l, kc, &o);
        int64_t t = now_ms();
        if (held) {
            o.renewed_ms = t;
            if (!atomic_exchange(&l->leading, 1)) {
                atomic_fetch_add(&l->transitions, 1);
                log_info("leader_elected", "lease=%s/%s identity=%s", l->namespace, l->name,
                         lq(l->identity));
            }
        } else if (atomic_load(&l->leading) && t - o.renewed_ms > l->renew_deadline_s * 1000) {
            atomic_store(&l->leading, 0);
            atomic_store(&l->lost, 1);
            log_error("leader_lost", "lease=%s/%s identity=%s renew_deadline_s=%d", l->namespace,
                      l->name, lq(l->identity), l->renew_deadline_s);
            break;
        }
        sleep_ms_unless((uint32_t)l->retry_s * 1000, l->stop);
    }
    if (atomic_load(&l->leading) && *l->stop) {
        kube_client_set_stop(kc, NULL);
        release(l, kc);
        atomic_store(&l->leading, 0);
    }
    kube_client_free(kc);
    return NULL;
}

bool lease_start(lease *l, const kube_config *cfg, volatile int *stop, char *err, size_t errlen)
{
    l->cfg = cfg;
    l->stop = stop;
    int rc = pthread_create(&l->thread, NULL, lease_main, l);
    if (rc) {
        snprintf(err, errlen, "starting leader election: %s", strerror(rc));
        return false;
    }
    l->started = true;
    return true;
}

void lease_stop(lease *l)
{
    if (l->started)
        pthread_join(l->thread, NULL);
    l->started = false;
}

void lease_identity(const char *configured, char *out, size_t n)
{
    if (configured && *configured) {
        snprintf(out, n, "%s", configured);
        return;
    }
    char host[128] = "flinkpg";
    gethostname(host, sizeof host - 1);
    snprintf(out, n, "%s-%d", host, (int)getpid());
}
