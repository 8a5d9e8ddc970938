/*
 * The flinkpg-generator program's own parts (gen.h is the library under
 * them: scenario, expected table, producer, poll sources):
 *
 *   main.c          options, metrics, --validate, start-up
 *   run_scenario.c  scenario mode: events, pacing, the expected table
 *   run_poll.c      poll mode: a PostgreSQL table or an HTTP API as a CDC source
 *   schemas.c       the Schema Registry subjects both modes register
 */
#ifndef FLINKPG_GENERATOR_APP_H
#define FLINKPG_GENERATOR_APP_H

#include "gen.h"

#include "../common/config.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    cfg_spec cfg;
    producer *prod;
    const char *topics[2];
    uint32_t key_sr[2], value_sr[2];
    char *number_fields[2]; /* registry: ",f1,f2," the value schema types as numbers */
    long long polls, changes, poll_failures;
    int source_up;
} app;

extern app g_app;
extern volatile int g_stop;

/* main.c */
int usage_error(const char *msg);                                           /* prints, returns 2 */
long long int_opt(const char *name, long long lo, long long hi, bool *bad); /* range-checked */
const char *opt(const char *name);                                          /* NULL when empty */
const char *expected_table_name(char *buf, size_t len); /* --expected-table or expected_<target> */

/* schemas.c: adopt (or else register) each topic's key and value schema;
 * false (logged) on failure */
bool register_schemas(app *a, int ntopics);
/* The value as its topic's schema wants it (ISO times as epoch ms where the
 * schema says number), malloc'd; NULL when it is fine as it is. */
char *conform_value(const app *a, int topic, const char *value);

int run_scenario(app *a, rd_kafka_conf_t *kc);
int run_poll(app *a, rd_kafka_conf_t *kc, bool http);

#endif
