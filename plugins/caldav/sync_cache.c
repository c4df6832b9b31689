/*
** Per-instance memory of reported occurrences, keyed by cursor id.
*/
#include "sync_cache.h"

#include <string.h>

static void entry_free(gpointer p) {
  struct cd_entry *e = p;
  if (!e) return;
  g_free(e->etag);
  g_ptr_array_unref(e->ids);
  g_free(e);
}

GHashTable *cd_map_new(void) {
  return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
}

struct cd_entry *cd_entry_new(const char *etag) {
  struct cd_entry *e = g_new0(struct cd_entry, 1);
  e->etag = g_strdup(etag);
  e->ids = g_ptr_array_new_with_free_func(g_free);
  return e;
}

void cd_cache_init(struct cd_cache *c) {
  memset(c, 0, sizeof *c);
  g_mutex_init(&c->lock);
}

void cd_cache_clear(struct cd_cache *c) {
  for (int i = 0; i < CD_CACHE_SLOTS; i++)
    if (c->slot[i].map) g_hash_table_unref(c->slot[i].map);
  g_mutex_clear(&c->lock);
}

/* Caller holds the lock. */
static void put_locked(struct cd_cache *c, uint64_t id, GHashTable *map) {
  int victim = 0;
  for (int i = 0; i < CD_CACHE_SLOTS; i++) {
    if (!c->slot[i].map) { victim = i; break; }
    if (c->slot[i].used < c->slot[victim].used) victim = i;
  }
  if (c->slot[victim].map) g_hash_table_unref(c->slot[victim].map);
  c->slot[victim].id = id;
  c->slot[victim].map = map;
  c->slot[victim].used = ++c->clock;
}

uint64_t cd_cache_store(struct cd_cache *c, GHashTable *map) {
  uint64_t id = ((uint64_t)g_random_int() << 32) | g_random_int();
  if (!id) id = 1;
  g_mutex_lock(&c->lock);
  put_locked(c, id, map);
  g_mutex_unlock(&c->lock);
  return id;
}

GHashTable *cd_cache_take(struct cd_cache *c, uint64_t id) {
  GHashTable *map = NULL;
  g_mutex_lock(&c->lock);
  for (int i = 0; i < CD_CACHE_SLOTS; i++) {
    if (c->slot[i].map && c->slot[i].id == id) {
      map = c->slot[i].map;
      c->slot[i].map = NULL;
      c->slot[i].used = 0;
      break;
    }
  }
  g_mutex_unlock(&c->lock);
  return map;
}

void cd_cache_put(struct cd_cache *c, uint64_t id, GHashTable *map) {
  g_mutex_lock(&c->lock);
  put_locked(c, id, map);
  g_mutex_unlock(&c->lock);
}
