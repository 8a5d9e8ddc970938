/*
 * topics — delete a run's three Kafka topics (spec.kafka.topics: orders,
 * shipments, output) with librdkafka's Admin API, for the finalizer when
 * spec.deleteTopicsOnCleanup is set.  Bootstrap servers and the security
 * protocol come from spec.kafka; with SASL the mechanism is
 * spec.kafka.saslMechanism (PLAIN when unset) and the username/password are
 * the api-key/api-secret of spec.kafka.credentialsSecretRef (never logged);
 * with spec.kafka.tls the brokers are verified against its CA bundle.
 */
#ifndef FLINKPG_TOPICS_H
#define FLINKPG_TOPICS_H

#include "statements.h"

#include <stddef.h>

/* True when every topic is gone (deleted now, or already absent); false with
 * the reason in msg (Kafka unreachable, not authorized, ...).  One attempt,
 * bounded by timeout_ms. */
bool topics_delete(const stmt_ctx *x, int timeout_ms, char *msg, size_t msglen);

#endif
