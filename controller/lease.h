/*
 * lease — leader election on a coordination.k8s.io/v1 Lease, as client-go
 * does it: the holder renews spec.renewTime every retry period; another
 * replica takes the Lease over only when it has seen the same record
 * unchanged for leaseDurationSeconds (by its own clock, so clock skew
 * between nodes does not matter).  Writes are PUTs with the
 * resourceVersion read, so two candidates never both win.  A leader that
 * cannot renew within the renew deadline stops leading (the caller exits).
 * lease_release() (SIGTERM) clears holderIdentity so a standby takes over at
 * once.
 */
#ifndef FLINKPG_LEASE_H
#define FLINKPG_LEASE_H

#include "kubeclient.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct {
    const char *namespace, *name, *identity;
    int duration_s, renew_deadline_s, retry_s;
    atomic_int leading; /* 1 while this process holds the lease */
    atomic_int lost;    /* set when leadership was lost (the caller exits) */
    atomic_ullong transitions;
    /* internal */
    const kube_config *cfg;
    volatile int *stop;
    pthread_t thread;
    bool started;
} lease;

bool lease_start(lease *l, const kube_config *cfg, volatile int *stop, char *err, size_t errlen);
/* Joins the thread (stop must be set) and releases the lease if held. */
void lease_stop(lease *l);

/* The holder identity: the configured one, else "<hostname>-<pid>". */
void lease_identity(const char *configured, char *out, size_t n);

#endif
