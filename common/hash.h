/*
 * hash — FNV-1a, 64 bits: keys of the controller's hash tables and the
 * change-detecting hashes it writes into annotations.  Not for secrets'
 * sake: it is fast and stable across builds, not cryptographic.
 */
#ifndef FLINKPG_HASH_H
#define FLINKPG_HASH_H

#include <stdint.h>

uint64_t fnv1a64(const char *s);

#endif
