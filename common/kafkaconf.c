/* kafkaconf — see kafkaconf.h. */
#define _POSIX_C_SOURCE 200809L
#include "kafkaconf.h"

#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

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
    if (fac && !strcmp(fac, "FAIL"))
        l = LOG_DEBUG;
    log_event(l, "kafka_log", "facility=%s message=%s", lq(fac), lq(buf));
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    /* Transient errors (broker down, all brokers down) are retried by
     * librdkafka itself; we report them so outages are visible. */
    log_warn("kafka_error", "code=%s reason=%s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
             lq(reason));
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
        if (!kafka_conf_set(conf, "sasl.mechanisms", cfg_str(spec, "sasl-mechanism"), err,
                            errlen) ||
            !kafka_conf_set(conf, "sasl.username", key, err, errlen) ||
            !kafka_conf_set(conf, "sasl.password", secret, err, errlen))
            goto fail;
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
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}
