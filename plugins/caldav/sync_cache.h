/*
** What the connector reported last, per CalDAV resource: its ETag and the
** ids of the occurrences it reported. Incremental sync needs it because a
** changed or deleted resource (one href) may stand for many occurrence ids,
** and ids that vanished must be reported as deletions.
**
** Contract: a full sync stores a fresh map under a new random id that goes
** into the cursor; an incremental sync takes the map by that id (it is
** then absent for anyone else), updates it and puts it back. The cache is
** memory only and keeps the CD_CACHE_SLOTS most recently used maps, so
** after a restart (or eviction) the id is unknown and the caller answers
** "cursor expired" when there are changes to apply. Thread-safe.
*/
#ifndef CALDAV_SYNC_CACHE_H
#define CALDAV_SYNC_CACHE_H

#include <glib.h>
#include <stdint.h>

#define CD_CACHE_SLOTS 4

struct cd_entry {
  char *etag;
  GPtrArray *ids;   /* char*, owned */
};

struct cd_cache {
  GMutex lock;
  struct {
    uint64_t id;
    GHashTable *map;  /* href -> struct cd_entry* */
    uint64_t used;
  } slot[CD_CACHE_SLOTS];
  uint64_t clock;
};

void cd_cache_init(struct cd_cache *c);
void cd_cache_clear(struct cd_cache *c);

/* A new empty map: href -> entry, freeing both. */
GHashTable *cd_map_new(void);
struct cd_entry *cd_entry_new(const char *etag);

/* Stores map under a new id (evicting the least recently used slot). */
uint64_t cd_cache_store(struct cd_cache *c, GHashTable *map);
/* Removes and returns the map stored under id, or NULL. */
GHashTable *cd_cache_take(struct cd_cache *c, uint64_t id);
/* Puts back a map taken under id. */
void cd_cache_put(struct cd_cache *c, uint64_t id, GHashTable *map);

#endif
