/*
 * kafkaconf — the Kafka connection options every program shares, and the
 * librdkafka configuration built from them.
 *
 * Confluent Cloud needs SASL_SSL with PLAIN and an API key/secret; a local
 * broker needs nothing.  Any librdkafka property can be passed through with
 * -X name=value (repeatable) or KAFKA_PROPERTIES="a=b,c=d".  The API secret is
 * marked secret in the option table, so it is never printed.
 *
 * A broker error that can never go away by retrying -- the broker's
 * certificate rejected (wrong CA, expired, wrong host name) or the SASL
 * credentials refused -- ends the program at once: one logfmt line
 * (event=kafka_fatal broker= cause= setting= code= reason=) and exit status 2,
 * as for any other setting that can never work.  Everything else (a broker
 * down, a timeout) is reported and left to librdkafka's retries.
 */
#ifndef FLINKPG_KAFKACONF_H
#define FLINKPG_KAFKACONF_H

#include "config.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#define KAFKA_CFG_OPTIONS                                                                          \
    {.name = "bootstrap-servers",                                                                  \
     .env = "KAFKA_BOOTSTRAP_SERVERS",                                                             \
     .kind = OPT_STR,                                                                              \
     .def = "127.0.0.1:9092",                                                                      \
     .group = "Kafka",                                                                             \
     .help = "Kafka bootstrap servers",                                                            \
     .short_name = 'b'},                                                                           \
        {.name = "security-protocol",                                                              \
         .env = "KAFKA_SECURITY_PROTOCOL",                                                         \
         .kind = OPT_STR,                                                                          \
         .def = NULL,                                                                              \
         .group = "Kafka",                                                                         \
         .help = "plaintext, ssl, sasl_plaintext or sasl_ssl (sasl_ssl when an API key is "        \
                 "set)"},                                                                          \
        {.name = "sasl-mechanism",                                                                 \
         .env = "KAFKA_SASL_MECHANISM",                                                            \
         .kind = OPT_STR,                                                                          \
         .def = "PLAIN",                                                                           \
         .group = "Kafka",                                                                         \
         .help = "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},                         \
        {.name = "ssl-ca-location",                                                                \
         .env = "KAFKA_SSL_CA_LOCATION",                                                           \
         .kind = OPT_STR,                                                                          \
         .group = "Kafka",                                                                         \
         .help = "PEM file of the CA that signed the brokers' certificates (ssl, sasl_ssl; "       \
                 "default: the system's CA store)"},                                               \
        {.name = "api-key",                                                                        \
         .env = "KAFKA_API_KEY",                                                                   \
         .kind = OPT_STR,                                                                          \
         .group = "Kafka",                                                                         \
         .help = "Kafka API key (SASL username), e.g. a Confluent Cloud cluster key"},             \
        {.name = "api-secret",                                                                     \
         .env = "KAFKA_API_SECRET",                                                                \
         .kind = OPT_STR,                                                                          \
         .group = "Kafka",                                                                         \
         .help = "Kafka API secret (SASL password); never logged",                                 \
         .secret = true},                                                                          \
    {                                                                                              \
        .name = "kafka-property", .env = "KAFKA_PROPERTIES", .kind = OPT_LIST, .group = "Kafka",   \
        .help = "librdkafka property name=value, repeatable (env: comma-separated)",               \
        .short_name = 'X'                                                                          \
    }

/* Builds a configuration from the options above plus log/error callbacks that
 * write through log.h.  Returns NULL with err naming the property on failure. */
rd_kafka_conf_t *kafka_conf_from_cfg(cfg_spec *spec, char *err, size_t errlen);
/* Whether -X / KAFKA_PROPERTY set this librdkafka property (so a program's
 * own default for it must not override the user's). */
bool kafka_prop_given(cfg_spec *spec, const char *name);
/* Set one property, with the property's name in the error. */
bool kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errlen);

/* Whether a librdkafka error (error callback: code, reason) can never
 * succeed on retry; then cause gets what to tell a person.  x509_error: the
 * OpenSSL verify code of the last certificate rejected (0: none seen). */
bool kafka_error_fatal(int err, const char *reason, int x509_error, char *cause, size_t causelen);
/* OpenSSL's words for the verify codes a broker certificate fails with
 * ("certificate has expired", ...); NULL for other codes. */
const char *kafka_x509_text(int x509_error);
/* "127.0.0.1:9093" out of librdkafka's "sasl_ssl://127.0.0.1:9093/bootstrap: ..."
 * ("-" when the reason names no broker). */
void kafka_reason_broker(const char *reason, char *out, size_t outlen);

#endif
