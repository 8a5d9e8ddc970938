/* metrics — the sink's counters and its /metrics and /readyz answers; see app.h. */
#define _POSIX_C_SOURCE 200809L
#include "app.h"

#include "../common/httpd.h"
#include "../common/log.h"

#include <stdio.h>

static const double latency_buckets[NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                 0.5,   1,    2.5,   5,    10};

sink_stats g_stats;

void sink_metrics(strbuf *out, void *ctx)
{
    (void)ctx;
    sink_stats *s = &g_stats;
    prom_header(out, "flinkpg_sink_records_total", "counter", "Kafka records consumed");
    prom_sample(out, "flinkpg_sink_records_total", NULL, (double)atomic_load(&s->consumed));
    prom_header(out, "flinkpg_sink_changes_total", "counter", "Row changes decoded, per row kind");
    for (int k = 0; k < KIND_COUNT; k++) {
        char labels[32];
        snprintf(labels, sizeof labels, "kind=\"%s\"", row_kind_symbol((row_kind)k));
        prom_sample(out, "flinkpg_sink_changes_total", labels, (double)atomic_load(&s->kinds[k]));
    }
    prom_header(out, "flinkpg_sink_applied_total", "counter", "Actions applied to the table");
    prom_sample(out, "flinkpg_sink_applied_total", NULL, (double)atomic_load(&s->applied));
    prom_header(out, "flinkpg_sink_skipped_total", "counter", "Changes the policy ignores");
    prom_sample(out, "flinkpg_sink_skipped_total", NULL, (double)atomic_load(&s->skipped));
    prom_header(out, "flinkpg_sink_dead_letters_total", "counter",
                "Records written to the dead-letter table");
    prom_sample(out, "flinkpg_sink_dead_letters_total", NULL,
                (double)atomic_load(&s->dead_letters));
    prom_header(out, "flinkpg_sink_batches_total", "counter", "Batches committed");
    prom_sample(out, "flinkpg_sink_batches_total", NULL, (double)atomic_load(&s->batches));
    prom_header(out, "flinkpg_sink_isolated_batches_total", "counter",
                "Batches replayed record by record after PostgreSQL refused a row");
    prom_sample(out, "flinkpg_sink_isolated_batches_total", NULL,
                (double)atomic_load(&s->slow_batches));
    prom_header(out, "flinkpg_sink_resyncs_total", "counter",
                "Times the sink dropped an uncommitted batch and resumed from stored offsets");
    prom_sample(out, "flinkpg_sink_resyncs_total", NULL, (double)atomic_load(&s->resyncs));
    prom_header(out, "flinkpg_sink_batch_seconds", "histogram", "Time to apply and commit a batch");
    unsigned long long cum = 0;
    for (size_t i = 0; i <= NBUCKETS; i++) {
        char labels[32];
        cum += atomic_load(&s->latency_bucket[i]);
        if (i < NBUCKETS)
            snprintf(labels, sizeof labels, "le=\"%g\"", latency_buckets[i]);
        else
            snprintf(labels, sizeof labels, "le=\"+Inf\"");
        prom_sample(out, "flinkpg_sink_batch_seconds_bucket", labels, (double)cum);
    }
    prom_sample(out, "flinkpg_sink_batch_seconds_sum", NULL,
                (double)atomic_load(&s->latency_sum_us) / 1e6);
    prom_sample(out, "flinkpg_sink_batch_seconds_count", NULL, (double)cum);
    prom_header(out, "flinkpg_sink_lag", "gauge",
                "Records in the topic not yet committed to PostgreSQL (all assigned partitions; "
                "-1 until first measured)");
    prom_sample(out, "flinkpg_sink_lag", NULL, (double)atomic_load(&s->lag));
    prom_header(out, "flinkpg_sink_postgres_up", "gauge", "1 while connected to PostgreSQL");
    prom_sample(out, "flinkpg_sink_postgres_up", NULL, atomic_load(&s->pg_up));
}

bool sink_ready(void *ctx, char *why, size_t whylen)
{
    (void)ctx;
    if (!atomic_load(&g_stats.pg_up)) {
        snprintf(why, whylen, "not connected to PostgreSQL");
        return false;
    }
    /* A member of the group that holds no partition is ready: more replicas
     * than partitions, or a new pod of a rolling update while the old one
     * still owns the partition (requiring a partition would deadlock that
     * rollout: the old pod goes only once the new one is ready). */
    if (!atomic_load(&g_stats.in_group)) {
        snprintf(why, whylen, "not in the consumer group yet (no assignment received)");
        return false;
    }
    return true;
}

static void record_latency(int64_t ms)
{
    double sec = (double)ms / 1000.0;
    size_t i = 0;
    while (i < NBUCKETS && sec > latency_buckets[i])
        i++;
    atomic_fetch_add(&g_stats.latency_bucket[i], 1);
    atomic_fetch_add(&g_stats.latency_sum_us, (unsigned long long)ms * 1000ULL);
}

void stats_batch_applied(const batch *b, const apply_outcome *o, int64_t ms)
{
    for (int k = 0; k < KIND_COUNT; k++)
        atomic_fetch_add(&g_stats.kinds[k], b->kinds[k]);
    atomic_fetch_add(&g_stats.applied, o->applied);
    atomic_fetch_add(&g_stats.skipped, b->skipped);
    atomic_fetch_add(&g_stats.dead_letters, o->dead_letters);
    atomic_fetch_add(&g_stats.batches, 1);
    if (o->slow_path)
        atomic_fetch_add(&g_stats.slow_batches, 1);
    record_latency(ms);
}
