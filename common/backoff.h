/*
 * backoff — exponential retry delays with full jitter, for every reconnect
 * loop (PostgreSQL, Kafka admin calls, HTTP peers).
 *
 *   backoff b; backoff_init(&b, 100, 30000);
 *   while (!try()) sleep_ms(backoff_next(&b));   // 100ms, 200ms, ... capped at 30s
 */
#ifndef FLINKPG_BACKOFF_H
#define FLINKPG_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t base_ms, cap_ms;
    uint32_t attempt;
    uint64_t rng;
} backoff;

void backoff_init(backoff *b, uint32_t base_ms, uint32_t cap_ms);
/* Delay before the next attempt; grows exponentially, jittered into [d/2, d]. */
uint32_t backoff_next(backoff *b);
void backoff_reset(backoff *b);

/* Sleep up to ms milliseconds in small steps, returning early (false) as soon
 * as *stop becomes non-zero.  stop may be NULL. */
bool sleep_ms_unless(uint32_t ms, volatile int *stop);
/* Monotonic clock in milliseconds. */
int64_t now_ms(void);

#endif
