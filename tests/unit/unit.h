/*
 * unit.h — the smallest harness that fits: each CHECK prints one PASS or FAIL
 * line (counted by tests/run), and main() returns non-zero if any failed.
 */
#ifndef FLINKPG_UNIT_H
#define FLINKPG_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed, unit_passed;

#define CHECK(name, cond)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            unit_passed++;                                                                         \
            printf("PASS %s\n", name);                                                             \
        } else {                                                                                   \
            unit_failed++;                                                                         \
            printf("FAIL %s (%s:%d: %s)\n", name, __FILE__, __LINE__, #cond);                      \
        }                                                                                          \
    } while (0)

#define CHECK_STR(name, want, got)                                                                 \
    do {                                                                                           \
        const char *w_ = (want), *g_ = (got);                                                      \
        if (w_ && g_ && strcmp(w_, g_) == 0) {                                                     \
            unit_passed++;                                                                         \
            printf("PASS %s\n", name);                                                             \
        } else {                                                                                   \
            unit_failed++;                                                                         \
            printf("FAIL %s\n  want: %s\n  got:  %s\n", name, w_ ? w_ : "(null)",                  \
                   g_ ? g_ : "(null)");                                                            \
        }                                                                                          \
    } while (0)

#define UNIT_DONE() (unit_failed ? 1 : 0)

#endif
