/*
 * htab — see htab.h.
 */
#include "htab.h"

#include <stdlib.h>

void htab_init(htab *t, size_t nbuckets)
{
    t->nbuckets = nbuckets ? nbuckets : 64;
    t->n = 0;
    t->bucket = calloc(t->nbuckets, sizeof *t->bucket);
    if (!t->bucket)
        abort(); /* the tables hold the controller's state: it cannot go on */
}

void htab_release(htab *t)
{
    free(t->bucket);
    t->bucket = NULL;
    t->nbuckets = t->n = 0;
}

htab_node *htab_find(const htab *t, uint64_t hash, htab_eq_fn eq, const void *key)
{
    for (htab_node *n = t->bucket[hash % t->nbuckets]; n; n = n->next)
        if (n->hash == hash && eq(n, key))
            return n;
    return NULL;
}

static void grow(htab *t)
{
    size_t nb = t->nbuckets * 2;
    htab_node **b = calloc(nb, sizeof *b);
    if (!b)
        abort();
    for (size_t i = 0; i < t->nbuckets; i++)
        for (htab_node *n = t->bucket[i], *next; n; n = next) {
            next = n->next;
            n->next = b[n->hash % nb];
            b[n->hash % nb] = n;
        }
    free(t->bucket);
    t->bucket = b;
    t->nbuckets = nb;
}

void htab_insert(htab *t, htab_node *node)
{
    if (t->n >= t->nbuckets * 2)
        grow(t);
    node->next = t->bucket[node->hash % t->nbuckets];
    t->bucket[node->hash % t->nbuckets] = node;
    t->n++;
}

void htab_remove(htab *t, htab_node *node)
{
    for (htab_node **pp = &t->bucket[node->hash % t->nbuckets]; *pp; pp = &(*pp)->next)
        if (*pp == node) {
            *pp = node->next;
            node->next = NULL;
            t->n--;
            return;
        }
}
