/* backoff — see backoff.h. */
#define _POSIX_C_SOURCE 200809L
#include "backoff.h"

#include <time.h>

void backoff_init(backoff *b, uint32_t base_ms, uint32_t cap_ms)
{
    b->base_ms = base_ms ? base_ms : 1;
    b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
    b->attempt = 0;
    b->rng = (uint64_t)now_ms() * 6364136223846793005ULL + 1442695040888963407ULL;
}

void backoff_reset(backoff *b)
{
    b->attempt = 0;
}

uint32_t backoff_next(backoff *b)
{
    uint64_t d = b->base_ms;
    for (uint32_t i = 0; i < b->attempt && d < b->cap_ms; i++)
        d *= 2;
    if (d > b->cap_ms)
        d = b->cap_ms;
    b->attempt++;
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    uint64_t half = d / 2;
    return (uint32_t)(half + (half ? b->rng % (d - half + 1) : 0));
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool sleep_ms_unless(uint32_t ms, volatile int *stop)
{
    int64_t end = now_ms() + ms;
    while (!(stop && *stop)) {
        int64_t left = end - now_ms();
        if (left <= 0)
            return true;
        if (left > 50)
            left = 50;
        struct timespec ts = {0, (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}
