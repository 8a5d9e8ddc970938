/*
 * hash — see hash.h.
 */
#include "hash.h"

#define FNV64_OFFSET 14695981039346656037ULL
#define FNV64_PRIME 1099511628211ULL

uint64_t fnv1a64(const char *s)
{
    uint64_t h = FNV64_OFFSET;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV64_PRIME;
    return h;
}
