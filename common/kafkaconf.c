/* kafkaconf — see kafkaconf.h. */
#define _POSIX_C_SOURCE 200809L
#include "kafkaconf.h"

#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* What the fatal-error line says about the settings: where the CA and the
 * credentials came from (set once by kafka_conf_from_cfg, before any client
 * thread runs), and the verify code of the last certificate rejected (set on
 * a broker thread, read on the application's). */
static char g_ca_setting[160] = "the system CA store";
static char g_sasl_setting[320] = "-";
static atomic_int g_x509_error;

/* OpenSSL's X509_V_ERR_* values (stable ABI) and its own words for them */
static const struct {
    int code;
    const char *text;
} x509_texts[] = {
    {9, "certificate is not yet valid"},
    {10, "certificate has expired"},
    {18, "self-signed certificate"},
    {19, "self-signed certificate in certificate chain"},
    {20, "unable to get local issuer certificate"},
    {21, "unable to verify the first certificate"},
    {62, "hostname mismatch"},
    {64, "IP address mismatch"},
};

const char *kafka_x509_text(int x509_error)
{
    for (size_t i = 0; i < sizeof x509_texts / sizeof x509_texts[0]; i++)
        if (x509_texts[i].code == x509_error)
            return x509_texts[i].text;
    return NULL;
}

bool kafka_error_fatal(int err, const char *reason, int x509_error, char *cause, size_t causelen)
{
    if (!reason)
        reason = "";
    /* librdkafka says _SSL when the handshake fails, and sometimes _TRANSPORT
     * when OpenSSL's verdict comes with the first read instead */
    if ((err == RD_KAFKA_RESP_ERR__SSL || err == RD_KAFKA_RESP_ERR__TRANSPORT) &&
        strstr(reason, "certificate verify failed")) {
        const char *t = kafka_x509_text(x509_error);
        if (t)
            snprintf(cause, causelen, "broker certificate rejected: %s", t);
        else if (x509_error)
            snprintf(cause, causelen, "broker certificate rejected: verify error %d", x509_error);
        else
            snprintf(cause, causelen, "broker certificate rejected");
        return true;
    }
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
        snprintf(cause, causelen, "SASL authentication failed");
        return true;
    }
    return false;
}

void kafka_reason_broker(const char *reason, char *out, size_t outlen)
{
    snprintf(out, outlen, "-");
    const char *p = reason ? strstr(reason, "://") : NULL;
    if (!p)
        return;
    p += 3;
    size_t n = strcspn(p, "/: ");
    /* host:port -- the port's colon is followed by digits, the message's by a space */
    while (p[n] == ':' && p[n + 1] >= '0' && p[n + 1] <= '9')
        n += 1 + strcspn(p + n + 1, "/: ");
    if (n > 0)
        snprintf(out, outlen, "%.*s", (int)n, p);
}

bool kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errlen)
{
    char kerr[512];
    if (rd_kafka_conf_set(conf, name, value, kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property %s: %s", name, kerr);
        return false;
    }
    return true;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    log_level l = level <= 3   ? LOG_ERROR
                  : level <= 4 ? LOG_WARN
                  : level <= 6 ? LOG_INFO
                               : LOG_DEBUG;
    /* librdkafka logs a broker failure (facility FAIL) and also hands it to
     * the error callback, which reports it: say it once */
    if (fac && (!strcmp(fac, "FAIL") || !strcmp(fac, "SSLCERTVRFY")))
        l = LOG_DEBUG;
    log_event(l, "kafka_log", "facility=%s message=%s", lq(fac), lq(buf));
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    char cause[160], broker[160];
    if (kafka_error_fatal(err, reason, atomic_load(&g_x509_error), cause, sizeof cause)) {
        kafka_reason_broker(reason, broker, sizeof broker);
        log_error("kafka_fatal", "broker=%s cause=%s setting=%s code=%s reason=%s", lq(broker),
                  lq(cause),
                  lq(err == RD_KAFKA_RESP_ERR__AUTHENTICATION ? g_sasl_setting : g_ca_setting),
                  rd_kafka_err2name((rd_kafka_resp_err_t)err), lq(reason));
        /* at once: no retries, no shutdown that would wait on the same broker */
        _exit(2);
    }
    /* Transient errors (broker down, all brokers down) are retried by
     * librdkafka itself; we report them so outages are visible. */
    log_warn("kafka_error", "code=%s reason=%s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
             lq(reason));
}

/* Watches OpenSSL's verdict on each certificate of the broker's chain, only
 * to remember why one was rejected; the verdict itself is kept. */
static int on_cert_verify(rd_kafka_t *rk, const char *broker_name, int32_t broker_id,
                          int *x509_error, int depth, const char *buf, size_t size, char *errstr,
                          size_t errstr_size, void *opaque)
{
    (void)rk;
    (void)broker_name;
    (void)broker_id;
    (void)depth;
    (void)buf;
    (void)size;
    (void)opaque;
    if (*x509_error == 0)
        return 1;
    atomic_store(&g_x509_error, *x509_error);
    const char *t = kafka_x509_text(*x509_error);
    snprintf(errstr, errstr_size, "%s", t ? t : "certificate verify failed");
    return 0;
}

bool kafka_prop_given(cfg_spec *spec, const char *name)
{
    cfg_opt *props = cfg_find(spec, "kafka-property");
    size_t n = strlen(name);
    for (size_t i = 0; props && i < props->nlist; i++)
        if (!strncmp(props->list[i], name, n) && props->list[i][n] == '=')
            return true;
    return false;
}

rd_kafka_conf_t *kafka_conf_from_cfg(cfg_spec *spec, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *bootstrap = cfg_str(spec, "bootstrap-servers");
    const char *key = cfg_str(spec, "api-key");
    const char *secret = cfg_str(spec, "api-secret");
    const char *proto = cfg_str(spec, "security-protocol");
    if (!proto && key && *key)
        proto = "sasl_ssl";
    if (!kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, errlen))
        goto fail;
    if (proto && !kafka_conf_set(conf, "security.protocol", proto, err, errlen))
        goto fail;
    if (proto && strncasecmp(proto, "sasl", 4) == 0) {
        if (!key || !*key || !secret || !*secret) {
            snprintf(err, errlen,
                     "security protocol %s needs --api-key and --api-secret (KAFKA_API_KEY, "
                     "KAFKA_API_SECRET)",
                     proto);
            goto fail;
        }
        static const char *const mechanisms[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
        const char *mech = cfg_str(spec, "sasl-mechanism");
        size_t m = 0;
        while (m < 3 && strcasecmp(mech, mechanisms[m]))
            m++;
        if (m == 3) {
            cfg_invalid(spec, "sasl-mechanism", "is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
                        err, errlen);
            goto fail;
        }
        snprintf(g_sasl_setting, sizeof g_sasl_setting, "%s: %s, %s, %s",
                 cfg_origin(spec, "sasl-mechanism"), mechanisms[m], cfg_origin(spec, "api-key"),
                 cfg_origin(spec, "api-secret"));
        if (!kafka_conf_set(conf, "sasl.mechanisms", mechanisms[m], err, errlen) ||
            !kafka_conf_set(conf, "sasl.username", key, err, errlen) ||
            !kafka_conf_set(conf, "sasl.password", secret, err, errlen))
            goto fail;
    }
    const char *ca = cfg_str(spec, "ssl-ca-location");
    if (ca && *ca) {
        /* librdkafka would only say so when the client is made, without
         * naming where the path came from */
        if (access(ca, R_OK) != 0) {
            char why[160];
            snprintf(why, sizeof why, "cannot be read: %s", strerror(errno));
            cfg_invalid(spec, "ssl-ca-location", why, err, errlen);
            goto fail;
        }
        if (!kafka_conf_set(conf, "ssl.ca.location", ca, err, errlen))
            goto fail;
        snprintf(g_ca_setting, sizeof g_ca_setting, "%s", cfg_origin(spec, "ssl-ca-location"));
    }
    cfg_opt *props = cfg_find(spec, "kafka-property");
    for (size_t i = 0; props && i < props->nlist; i++) {
        char *eq = strchr(props->list[i], '=');
        if (!eq) {
            snprintf(err, errlen, "kafka property \"%s\": expected name=value", props->list[i]);
            goto fail;
        }
        *eq = '\0';
        bool ok = kafka_conf_set(conf, props->list[i], eq + 1, err, errlen);
        *eq = '=';
        if (!ok)
            goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
    /* fails only without TLS support in librdkafka, where there is nothing to verify */
    (void)rd_kafka_conf_set_ssl_cert_verify_cb(conf, on_cert_verify);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}
