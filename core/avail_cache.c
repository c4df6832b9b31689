/*
** The availability cache (see avail_cache.h): a GHashTable of entries and a
** GHashTable of generation counters, under one rwlock. Lookups hold the
** read lock only for a hash probe and a copy.
*/
#include "avail_cache.h"

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct entry {
  struct sc_avail_gens gens;
  size_t n;
  int64_t starts[];
};

struct sc_avail_cache {
  pthread_rwlock_t lock;
  GHashTable *entries;  /* key → struct entry * */
  GHashTable *gens;     /* id → uint64_t * */
  uint64_t all;
  size_t max_entries;
  atomic_uint_fast64_t hits, misses;
};

struct sc_avail_cache *sc_avail_cache_new(size_t max_entries) {
  struct sc_avail_cache *c = calloc(1, sizeof *c);
  pthread_rwlock_init(&c->lock, NULL);
  c->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free);
  c->gens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  c->max_entries = max_entries ? max_entries : 200000;
  c->all = 1;
  return c;
}

void sc_avail_cache_free(struct sc_avail_cache *c) {
  if (!c) return;
  g_hash_table_destroy(c->entries);
  g_hash_table_destroy(c->gens);
  pthread_rwlock_destroy(&c->lock);
  free(c);
}

static uint64_t gen_of(struct sc_avail_cache *c, const char *id) {
  if (!id || !*id || !strcmp(id, "-")) return 0;
  uint64_t *g = g_hash_table_lookup(c->gens, id);
  return g ? *g : 0;
}

void sc_avail_cache_gens(struct sc_avail_cache *c, const char *org, const char *loc,
                         const char *staff, struct sc_avail_gens *out) {
  pthread_rwlock_rdlock(&c->lock);
  out->all = c->all;
  out->org = gen_of(c, org);
  out->loc = gen_of(c, loc);
  out->staff = gen_of(c, staff);
  pthread_rwlock_unlock(&c->lock);
}

int sc_avail_cache_get(struct sc_avail_cache *c, const char *key,
                       const struct sc_avail_gens *gens, int64_t **starts, size_t *n) {
  int hit = 0;
  pthread_rwlock_rdlock(&c->lock);
  struct entry *e = g_hash_table_lookup(c->entries, key);
  if (e && !memcmp(&e->gens, gens, sizeof *gens)) {
    *n = e->n;
    *starts = malloc((e->n ? e->n : 1) * sizeof **starts);
    memcpy(*starts, e->starts, e->n * sizeof **starts);
    hit = 1;
  }
  pthread_rwlock_unlock(&c->lock);
  atomic_fetch_add(hit ? &c->hits : &c->misses, 1);
  return hit;
}

void sc_avail_cache_put(struct sc_avail_cache *c, const char *key,
                        const struct sc_avail_gens *gens, const int64_t *starts, size_t n) {
  struct entry *e = malloc(sizeof *e + n * sizeof e->starts[0]);
  e->gens = *gens;
  e->n = n;
  if (n) memcpy(e->starts, starts, n * sizeof e->starts[0]);
  pthread_rwlock_wrlock(&c->lock);
  /* A full cache starts over: simpler than LRU and bounded. */
  if (g_hash_table_size(c->entries) >= c->max_entries) g_hash_table_remove_all(c->entries);
  g_hash_table_replace(c->entries, g_strdup(key), e);
  pthread_rwlock_unlock(&c->lock);
}

static void bump_one(struct sc_avail_cache *c, const char *id) {
  if (!id || !*id || !strcmp(id, "-")) return;
  uint64_t *g = g_hash_table_lookup(c->gens, id);
  if (!g) {
    g = g_new0(uint64_t, 1);
    g_hash_table_insert(c->gens, g_strdup(id), g);
  }
  (*g)++;
}

void sc_avail_cache_bump(struct sc_avail_cache *c, const char *org, const char *staff,
                         const char *loc) {
  pthread_rwlock_wrlock(&c->lock);
  bump_one(c, org);
  bump_one(c, staff);
  bump_one(c, loc);
  pthread_rwlock_unlock(&c->lock);
}

void sc_avail_cache_bump_all(struct sc_avail_cache *c) {
  pthread_rwlock_wrlock(&c->lock);
  c->all++;
  g_hash_table_remove_all(c->entries);
  pthread_rwlock_unlock(&c->lock);
}

void sc_avail_cache_stats(struct sc_avail_cache *c, uint64_t *hits, uint64_t *misses,
                          size_t *entries) {
  if (hits) *hits = atomic_load(&c->hits);
  if (misses) *misses = atomic_load(&c->misses);
  if (entries) {
    pthread_rwlock_rdlock(&c->lock);
    *entries = g_hash_table_size(c->entries);
    pthread_rwlock_unlock(&c->lock);
  }
}
