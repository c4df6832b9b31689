/*
** In-process cache of computed free slots, one entry per
** (organization, location, staff member, event type, local date).
**
** Entries are never updated in place: each carries the generation numbers
** of its organization, location and staff member as they were *before* its
** inputs were read, and a lookup only hits when all three still match. A
** write bumps the generations it touches (sc_avail_cache_bump), here at
** once and in other daemons through NOTIFY, so an entry computed from data
** that changed meanwhile can never be served. Thread-safe.
*/
#ifndef SC_AVAIL_CACHE_H
#define SC_AVAIL_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct sc_avail_cache;

struct sc_avail_gens {
  uint64_t all, org, loc, staff;
};

struct sc_avail_cache *sc_avail_cache_new(size_t max_entries);
void sc_avail_cache_free(struct sc_avail_cache *c);

/* Current generations for a key's parts: take them before reading inputs. */
void sc_avail_cache_gens(struct sc_avail_cache *c, const char *org, const char *loc,
                         const char *staff, struct sc_avail_gens *out);
/* 1 on a hit: *starts (malloc'd copy, free it) and *n; 0 on a miss. */
int sc_avail_cache_get(struct sc_avail_cache *c, const char *key,
                       const struct sc_avail_gens *gens, int64_t **starts, size_t *n);
void sc_avail_cache_put(struct sc_avail_cache *c, const char *key,
                        const struct sc_avail_gens *gens, const int64_t *starts, size_t n);
/* Invalidates: any of org/staff/loc may be NULL or "-" (skipped). */
void sc_avail_cache_bump(struct sc_avail_cache *c, const char *org, const char *staff,
                         const char *loc);
void sc_avail_cache_bump_all(struct sc_avail_cache *c);
void sc_avail_cache_stats(struct sc_avail_cache *c, uint64_t *hits, uint64_t *misses,
                          size_t *entries);

#endif
