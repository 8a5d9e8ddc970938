/*
 * produce — the generator's Kafka producer.
 *
 * Idempotent (enable.idempotence=true: no duplicates and no reordering per
 * partition on retries), keyed, so librdkafka's default partitioner puts every
 * event of one key on the same partition in publication order.  Records are
 * copied into librdkafka; with Schema Registry ids they are framed with the
 * wire header first.  Every delivery report is counted; the caller's exit
 * status depends on `failed`.
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include "../common/kafkaconf.h"
#include "../common/log.h"
#include "../common/srwire.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char *data;
    size_t cap;
} scratch;

struct producer {
    rd_kafka_t *rk;
    atomic_llong sent, delivered, failed;
    scratch kframe, vframe; /* scratch for Schema Registry framing */
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    producer *p = opaque;
    if (m->err) {
        long long n = atomic_fetch_add(&p->failed, 1);
        if (n == 0) /* the first in full; the rest are counted in the summary */
            log_error("delivery_failed", "topic=%s partition=%d error=%s more=counted_in_summary",
                      lq(rd_kafka_topic_name(m->rkt)), (int)m->partition,
                      lq(rd_kafka_err2str(m->err)));
    } else {
        atomic_fetch_add(&p->delivered, 1);
    }
}

producer *producer_new(rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    producer *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    if (!kafka_conf_set(conf, "enable.idempotence", "true", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!p->rk) {
        free(p);
        return NULL; /* rd_kafka_new frees conf only on success */
    }
    return p;
}

/* The wire header and the payload in buf (grown as needed). */
static const void *frame(scratch *buf, uint32_t id, const char *data, size_t len)
{
    size_t need = len + SRWIRE_HEADER_LEN;
    if (need > buf->cap) {
        buf->cap = need * 2;
        buf->data = realloc(buf->data, buf->cap);
        if (!buf->data)
            abort();
    }
    srwire_header(id, buf->data);
    memcpy(buf->data + SRWIRE_HEADER_LEN, data, len);
    return buf->data;
}

bool producer_send(producer *p, const char *topic, const char *key, size_t klen, const char *value,
                   size_t vlen, uint32_t key_sr, uint32_t value_sr)
{
    const void *k = key, *v = value;
    size_t kl = klen, vl = value ? vlen : 0;
    if (key_sr && key) {
        k = frame(&p->kframe, key_sr, key, klen);
        kl += SRWIRE_HEADER_LEN;
    }
    if (value_sr && value) { /* a tombstone stays null, unframed */
        v = frame(&p->vframe, value_sr, value, vlen);
        vl += SRWIRE_HEADER_LEN;
    }
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY((void *)k, kl), RD_KAFKA_V_VALUE((void *)v, vl),
                              RD_KAFKA_V_OPAQUE(NULL), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(p->rk, 20);
    }
    if (e) {
        atomic_fetch_add(&p->failed, 1);
        log_error("produce_failed", "topic=%s error=%s", lq(topic), lq(rd_kafka_err2str(e)));
        return false;
    }
    atomic_fetch_add(&p->sent, 1);
    return true;
}

void producer_poll(producer *p, int timeout_ms)
{
    rd_kafka_poll(p->rk, timeout_ms);
}

bool producer_flush(producer *p, int timeout_ms)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
    if (e) {
        log_warn("flush_incomplete", "outstanding=%d error=%s", rd_kafka_outq_len(p->rk),
                 lq(rd_kafka_err2str(e)));
        return false;
    }
    return true;
}

void producer_finish(producer *p, int timeout_ms)
{
    if (rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    int left = rd_kafka_outq_len(p->rk);
    log_warn("flush_incomplete", "outstanding=%d action=purge", left);
    /* purged messages get a delivery report with an error: counted as failed */
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(p->rk, 1000);
    rd_kafka_poll(p->rk, 0);
}

void producer_counts(producer *p, long long *sent, long long *delivered, long long *failed)
{
    *sent = atomic_load(&p->sent);
    *delivered = atomic_load(&p->delivered);
    *failed = atomic_load(&p->failed);
}

void producer_free(producer *p)
{
    if (!p)
        return;
    rd_kafka_destroy(p->rk);
    free(p->kframe.data);
    free(p->vframe.data);
    free(p);
}
