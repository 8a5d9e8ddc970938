/*
 * kbare — the ceiling for the generator's benchmark: the same payloads
 * produced by the barest librdkafka loop (same idempotent producer settings,
 * no pacing, no bookkeeping), timed from the first produce to the last
 * acknowledgement.
 *
 *   kbare -b BOOTSTRAP -f EVENTS_FILE -o ORDERS_TOPIC -s SHIPMENTS_TOPIC
 *
 * EVENTS_FILE is flinkpg-generator --events-file output (topic<TAB>key<TAB>value,
 * empty value = tombstone); it is read into memory before the clock starts.
 * Prints "kbare: events=N elapsed_ms=T rate_per_s=R failed=F".
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long failed;
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    if (m->err)
        failed++;
}

static long long ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

typedef struct {
    int orders;
    char *key, *value;
} ev;

int main(int argc, char **argv)
{
    const char *bs = NULL, *file = NULL, *topics[2] = {NULL, NULL};
    int o;
    while ((o = getopt(argc, argv, "b:f:o:s:")) != -1) {
        if (o == 'b')
            bs = optarg;
        else if (o == 'f')
            file = optarg;
        else if (o == 'o')
            topics[1] = optarg;
        else if (o == 's')
            topics[0] = optarg;
    }
    FILE *f = file ? fopen(file, "r") : NULL;
    if (!bs || !f || !topics[0] || !topics[1]) {
        fprintf(stderr,
                "usage: kbare -b BOOTSTRAP -f EVENTS_FILE -o ORDERS_TOPIC -s SHIPMENTS_TOPIC\n");
        return 2;
    }
    ev *evs = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        char *k = strchr(line, '\t');
        char *v = k ? strchr(k + 1, '\t') : NULL;
        if (!v)
            continue;
        *k++ = '\0';
        *v++ = '\0';
        if (n == cap)
            evs = realloc(evs, (cap = cap ? cap * 2 : 4096) * sizeof *evs);
        evs[n++] = (ev){strstr(k, "order_id") != NULL && !strstr(k, "shipment"), strdup(k),
                        *v ? strdup(v) : NULL};
    }
    free(line);
    fclose(f);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bs, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err)) {
        fprintf(stderr, "kbare: %s\n", err);
        return 2;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kbare: %s\n", err);
        return 2;
    }
    long long t0 = ms();
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topics[evs[i].orders]),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(evs[i].key, strlen(evs[i].key)),
                    RD_KAFKA_V_VALUE(evs[i].value, evs[i].value ? strlen(evs[i].value) : 0),
                    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        if (e)
            failed++;
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    long long t1 = ms();
    printf("kbare: events=%zu elapsed_ms=%lld rate_per_s=%.0f failed=%lld\n", n, t1 - t0,
           t1 > t0 ? (double)n * 1000.0 / (double)(t1 - t0) : 0.0, failed);
    rd_kafka_destroy(rk);
    for (size_t i = 0; i < n; i++) {
        free(evs[i].key);
        free(evs[i].value);
    }
    free(evs);
    return failed ? 1 : 0;
}
