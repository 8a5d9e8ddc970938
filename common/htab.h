/*
 * htab — an intrusive chained hash table: the caller's struct begins with an
 * htab_node, hashes its key (hash.h) and compares keys itself.  Grows by
 * doubling when it holds twice as many entries as buckets.  Not
 * thread-safe: the owner holds its own lock.  Used by the controller's work
 * queue and informer caches.
 */
#ifndef FLINKPG_HTAB_H
#define FLINKPG_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct htab_node {
    struct htab_node *next;
    uint64_t hash;
} htab_node;

typedef struct {
    htab_node **bucket;
    size_t nbuckets, n;
} htab;

/* eq(node, key): is node the entry of key? */
typedef bool (*htab_eq_fn)(const htab_node *node, const void *key);

void htab_init(htab *t, size_t nbuckets); /* aborts when out of memory */
void htab_release(htab *t);               /* the buckets; the entries are the caller's */
htab_node *htab_find(const htab *t, uint64_t hash, htab_eq_fn eq, const void *key);
void htab_insert(htab *t, htab_node *node); /* node->hash set by the caller */
void htab_remove(htab *t, htab_node *node);

/* Every entry: for (size_t b = 0; b < t.nbuckets; b++) for (htab_node *n = t.bucket[b]; ...) */

#endif
