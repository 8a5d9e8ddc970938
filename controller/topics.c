/* topics — see topics.h. */
#define _POSIX_C_SOURCE 200809L
#include "topics.h"

#include "../common/log.h"
#include "../common/strbuf.h"
#include "cafile.h"
#include "render.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

static bool conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *msg, size_t msglen)
{
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof e) == RD_KAFKA_CONF_OK)
        return true;
    snprintf(msg, msglen, "Kafka property %s: %s", k, e);
    return false;
}

/* librdkafka's own lines become debug log lines; the result (or the timeout)
 * is what the finalizer reports. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    log_debug("topics_kafka", "level=%d facility=%s message=%s", level, fac, lq(buf));
}
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    log_debug("topics_kafka", "error=%s message=%s", rd_kafka_err2name(err), lq(reason));
}

/* SASL: the mechanism of spec.kafka.saslMechanism, the username and
 * password from the run's credentials Secret (never logged). */
static bool conf_sasl(rd_kafka_conf_t *conf, const stmt_ctx *x, const char *proto, char *msg,
                      size_t msglen)
{
    const char *sec = spec_str(x->run, "kafka.credentialsSecretRef.name", NULL);
    if (!sec) {
        snprintf(msg, msglen, "spec.kafka.credentialsSecretRef is required with %s", proto);
        return false;
    }
    char user[512], pass[512] = "";
    bool ok = stmt_secret_key(x, sec, "api-key", user, sizeof user, NULL, msg, msglen) &&
              stmt_secret_key(x, sec, "api-secret", pass, sizeof pass, NULL, msg, msglen) &&
              conf_set(conf, "sasl.mechanism", run_kafka_sasl_mechanism(x->run), msg, msglen) &&
              conf_set(conf, "sasl.username", user, msg, msglen) &&
              conf_set(conf, "sasl.password", pass, msg, msglen);
    memset(pass, 0, sizeof pass);
    return ok;
}

/* A Kafka client for the run's cluster (its credentials from the run's
 * Secret, the brokers' CA from spec.kafka.tls.caSecret), or NULL with msg
 * set.  The CA bundle is a private copy (cafile.h), removed once
 * rd_kafka_new has loaded it into the client's TLS context. */
static rd_kafka_t *admin_client(const stmt_ctx *x, int timeout_ms, char *msg, size_t msglen)
{
    const char *proto = spec_str(x->run, "kafka.securityProtocol", "PLAINTEXT");
    const char *ca_secret = spec_str(x->run, "kafka.tls.caSecret.name", NULL);
    char tmo[32], ca[600] = "";
    snprintf(tmo, sizeof tmo, "%d", timeout_ms);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
    bool ok = conf_set(conf, "bootstrap.servers", spec_str(x->run, "kafka.bootstrapServers", ""),
                       msg, msglen) &&
              conf_set(conf, "security.protocol", proto, msg, msglen) &&
              conf_set(conf, "socket.timeout.ms", tmo, msg, msglen);
    if (ok && !strncmp(proto, "SASL", 4))
        ok = conf_sasl(conf, x, proto, msg, msglen);
    if (ok && ca_secret)
        ok = ca_file_write(x->kc, run_namespace(x->run), ca_secret,
                           run_ca_key(x->run, "kafka.tls.caSecret"), ca, sizeof ca, msg, msglen) &&
             conf_set(conf, "ssl.ca.location", ca, msg, msglen);
    if (!ok) {
        ca_file_remove(ca);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    ca_file_remove(ca);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(msg, msglen, "Kafka client: %s", e);
    }
    return rk;
}

bool topics_delete(const stmt_ctx *x, int timeout_ms, char *msg, size_t msglen)
{
    const char *names[3] = {spec_str(x->run, "kafka.topics.orders", "orders"),
                            spec_str(x->run, "kafka.topics.shipments", "shipments"),
                            spec_str(x->run, "kafka.topics.output", "orders_enriched")};
    rd_kafka_t *rk = admin_client(x, timeout_ms, msg, msglen);
    if (!rk)
        return false;
    char e[512];
    rd_kafka_DeleteTopic_t *dt[3];
    for (int i = 0; i < 3; i++)
        dt[i] = rd_kafka_DeleteTopic_new(names[i]);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opt, timeout_ms, e, sizeof e);
    rd_kafka_AdminOptions_set_operation_timeout(opt, timeout_ms, e, sizeof e);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, dt, 3, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
    strbuf why;
    sb_init(&why);
    if (!ev) {
        sb_printf(&why, "no answer from Kafka (%s) within %d ms",
                  spec_str(x->run, "kafka.bootstrapServers", ""), timeout_ms + 2000);
    } else if (rd_kafka_event_error(ev)) {
        sb_printf(&why, "deleting topics on %s: %s", spec_str(x->run, "kafka.bootstrapServers", ""),
                  rd_kafka_event_error_string(ev));
    } else {
        const rd_kafka_DeleteTopics_result_t *res = rd_kafka_event_DeleteTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr = rd_kafka_DeleteTopics_result_topics(res, &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[i]);
            if (te == RD_KAFKA_RESP_ERR_NO_ERROR || te == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                continue;
            const char *es = rd_kafka_topic_result_error_string(tr[i]);
            sb_printf(&why, "%stopic %s: %s", why.len ? "; " : "",
                      rd_kafka_topic_result_name(tr[i]), es ? es : rd_kafka_err2str(te));
        }
    }
    bool ok = why.len == 0;
    if (ok)
        snprintf(msg, msglen, "topics %s, %s, %s deleted (or already absent)", names[0], names[1],
                 names[2]);
    else
        snprintf(msg, msglen, "%s", sb_str(&why));
    sb_free(&why);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_DeleteTopic_destroy_array(dt, 3);
    rd_kafka_destroy(rk);
    return ok;
}
