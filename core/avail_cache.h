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
#include <stdio.h>

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

/* Whole answers: a rendered availability response, valid while the
** generations of everything it was computed from are unchanged and the
** clock is before valid_until (minimum notice moves the first slot). ids
** lists the organization, location and every staff member involved. */
int sc_avail_cache_answer_get(struct sc_avail_cache *c, const char *key,
                              const char *const *ids, size_t n_ids, int64_t now,
                              char **json);
void sc_avail_cache_answer_put(struct sc_avail_cache *c, const char *key,
                               const uint64_t *gens, size_t n_gens,
                               int64_t valid_until, const char *json);
/* The generations of ids (plus the global one first): n_ids + 1 values. */
void sc_avail_cache_gen_vector(struct sc_avail_cache *c, const char *const *ids,
                               size_t n_ids, uint64_t *out);
/* Prometheus lines for /metrics (sc_metrics_collector). */
void sc_avail_cache_metrics(FILE *out, void *cache);

#endif
