/* schemas — the JSON Schemas of the demo topics, registered when --format registry; see app.h. */
#define _POSIX_C_SOURCE 200809L
#include "app.h"

#include "../common/backoff.h"
#include "../common/config.h"
#include "../common/kafkaconf.h"
#include "../common/log.h"
#include "../common/pgutil.h"
#include "../common/schemareg.h"
#include "../common/validate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *schema_for(gen_topic t, bool key)
{
    if (t == TOPIC_ORDERS)
        return key ? "{\"type\":\"object\",\"title\":\"orders_key\",\"properties\":"
                     "{\"order_id\":{\"type\":\"integer\"}},\"required\":[\"order_id\"]}"
                   : "{\"type\":\"object\",\"title\":\"orders_value\",\"properties\":{"
                     "\"order_id\":{\"type\":\"integer\"},\"customer\":{\"type\":\"string\"},"
                     "\"product\":{\"type\":\"string\"},\"quantity\":{\"type\":\"integer\"},"
                     "\"amount\":{\"type\":\"number\"},\"status\":{\"type\":\"string\"},"
                     "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
                     "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}},"
                     "\"required\":[\"order_id\"]}";
    return key ? "{\"type\":\"object\",\"title\":\"shipments_key\",\"properties\":"
                 "{\"shipment_id\":{\"type\":\"integer\"}},\"required\":[\"shipment_id\"]}"
               : "{\"type\":\"object\",\"title\":\"shipments_value\",\"properties\":{"
                 "\"shipment_id\":{\"type\":\"integer\"},\"order_id\":{\"type\":\"integer\"},"
                 "\"carrier\":{\"type\":\"string\"},\"status\":{\"type\":\"string\"},"
                 "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
                 "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}},"
                 "\"required\":[\"shipment_id\",\"order_id\"]}";
}

bool register_schemas(app *a, int ntopics)
{
    schemareg sr = {.url = opt("schema-registry-url"),
                    .user = opt("schema-registry-key"),
                    .password = opt("schema-registry-secret")};
    for (int t = 0; t < ntopics; t++)
        for (int k = 1; k >= 0; k--) {
            char subject[512], err[1024];
            snprintf(subject, sizeof subject, "%s-%s", a->topics[t], k ? "key" : "value");
            uint32_t *id = k ? &a->key_sr[t] : &a->value_sr[t];
            if (!schemareg_register(&sr, subject, schema_for((gen_topic)t, k), id, err,
                                    sizeof err)) {
                log_error("schema_registration_failed", "subject=%s error=%s", lq(subject),
                          lq(err));
                fprintf(stderr, "flinkpg-generator: %s\n", err);
                return false;
            }
            log_info("schema_registered", "subject=%s schema_id=%u", lq(subject), *id);
        }
    return true;
}
