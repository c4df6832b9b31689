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

struct answer {
  int64_t valid_until;
  size_t n_gens;
  uint64_t *gens;
  char *json;
};

static void answer_free(gpointer p) {
  struct answer *a = p;
  free(a->gens);
  free(a->json);
  free(a);
}

struct sc_avail_cache {
  pthread_rwlock_t lock;
  GHashTable *entries;  /* key → struct entry * */
  GHashTable *answers;  /* key → struct answer * */
  atomic_uint_fast64_t answer_hits, answer_misses;
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
  c->answers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, answer_free);
  c->max_entries = max_entries ? max_entries : 200000;
  c->all = 1;
  return c;
}

void sc_avail_cache_free(struct sc_avail_cache *c) {
  if (!c) return;
  g_hash_table_destroy(c->entries);
  g_hash_table_destroy(c->gens);
  g_hash_table_destroy(c->answers);
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
  g_hash_table_remove_all(c->answers);
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

void sc_avail_cache_gen_vector(struct sc_avail_cache *c, const char *const *ids,
                               size_t n_ids, uint64_t *out) {
  pthread_rwlock_rdlock(&c->lock);
  out[0] = c->all;
  for (size_t i = 0; i < n_ids; i++) out[i + 1] = gen_of(c, ids[i]);
  pthread_rwlock_unlock(&c->lock);
}

int sc_avail_cache_answer_get(struct sc_avail_cache *c, const char *key,
                              const char *const *ids, size_t n_ids, int64_t now,
                              char **json) {
  int hit = 0;
  pthread_rwlock_rdlock(&c->lock);
  struct answer *a = g_hash_table_lookup(c->answers, key);
  if (a && a->n_gens == n_ids + 1 && now < a->valid_until && a->gens[0] == c->all) {
    hit = 1;
    for (size_t i = 0; i < n_ids && hit; i++) hit = a->gens[i + 1] == gen_of(c, ids[i]);
    if (hit) *json = strdup(a->json);
  }
  pthread_rwlock_unlock(&c->lock);
  atomic_fetch_add(hit ? &c->answer_hits : &c->answer_misses, 1);
  return hit;
}

void sc_avail_cache_answer_put(struct sc_avail_cache *c, const char *key,
                               const uint64_t *gens, size_t n_gens,
                               int64_t valid_until, const char *json) {
  struct answer *a = malloc(sizeof *a);
  a->valid_until = valid_until;
  a->n_gens = n_gens;
  a->gens = malloc(n_gens * sizeof *a->gens);
  memcpy(a->gens, gens, n_gens * sizeof *a->gens);
  a->json = strdup(json);
  pthread_rwlock_wrlock(&c->lock);
  if (g_hash_table_size(c->answers) >= c->max_entries / 8) g_hash_table_remove_all(c->answers);
  g_hash_table_replace(c->answers, g_strdup(key), a);
  pthread_rwlock_unlock(&c->lock);
}

void sc_avail_cache_metrics(FILE *out, void *cache) {
  struct sc_avail_cache *c = cache;
  size_t days, answers;
  pthread_rwlock_rdlock(&c->lock);
  days = g_hash_table_size(c->entries);
  answers = g_hash_table_size(c->answers);
  pthread_rwlock_unlock(&c->lock);
  fprintf(out,
      "# HELP sidecal_availability_cache_hits_total Availability lookups served from cache.\n"
      "# TYPE sidecal_availability_cache_hits_total counter\n"
      "sidecal_availability_cache_hits_total{level=\"answer\"} %llu\n"
      "sidecal_availability_cache_hits_total{level=\"day\"} %llu\n"
      "# HELP sidecal_availability_cache_misses_total Availability lookups that had to compute.\n"
      "# TYPE sidecal_availability_cache_misses_total counter\n"
      "sidecal_availability_cache_misses_total{level=\"answer\"} %llu\n"
      "sidecal_availability_cache_misses_total{level=\"day\"} %llu\n"
      "# HELP sidecal_availability_cache_entries Cached availability entries.\n"
      "# TYPE sidecal_availability_cache_entries gauge\n"
      "sidecal_availability_cache_entries{level=\"answer\"} %zu\n"
      "sidecal_availability_cache_entries{level=\"day\"} %zu\n",
      (unsigned long long)atomic_load(&c->answer_hits), (unsigned long long)atomic_load(&c->hits),
      (unsigned long long)atomic_load(&c->answer_misses), (unsigned long long)atomic_load(&c->misses),
      answers, days);
}
