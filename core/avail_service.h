/*
** Availability of real staff members: loads the engine's inputs from
** PostgreSQL, runs core/availability.c one local day at a time, and caches
** each day (core/avail_cache.h). A repeated request is answered from the
** cache with zero database queries.
**
** Which inputs (docs/api.md "Availability"):
** - rules: the staff member's own rules at the location when they have any,
**   else the location's;
** - overrides: the staff member's for a date, else the location's;
** - blocks: the staff member's (at this location or staff-wide) and the
**   location-wide ones;
** - busy: the staff member's appointments in SCHEDULED, CONFIRMED,
**   RESCHEDULED or IN_PROGRESS at any location, and external busy times
**   from their connected calendars;
** - the event type's duration, interval, buffers and daily cap (a day with
**   cap or more active appointments of this type has no slots).
** Minimum notice and the booking horizon depend on the clock, so they are
** applied when reading, not cached.
*/
#ifndef SC_AVAIL_SERVICE_H
#define SC_AVAIL_SERVICE_H

#include <stdint.h>

#include "avail_cache.h"
#include "catalog.h"
#include "db.h"
#include "tz.h"

struct sc_staff_slots {
  const struct sc_cat_staff *staff;
  int64_t *starts;  /* sorted; end = start + duration */
  size_t n;
};

struct sc_avail_request {
  const struct sc_cat_org *org;
  const struct sc_cat_location *loc;
  const struct sc_cat_event_type *et;
  sc_date from, to;          /* inclusive, in window_tz */
  const char *window_tz;     /* NULL: the location's zone */
  int64_t now;               /* UTC epoch seconds */
  int bypass_cache;          /* booking re-checks read fresh inside their transaction */
  int64_t probe;             /* with bypass_cache: the one slot start being checked */
  /* With bypass_cache: a statement sent first in the loads' round trip (a
  ** booking's lock), always run, its result discarded. */
  const struct sc_db_stmt *lead;
};

/* Free slot starts of one staff member within the request window.
** conn may be NULL: a connection is borrowed from pool only on a cache miss
** (and the caller's transaction is used when conn is given). */
int sc_avail_staff_slots(struct sc_db_pool *pool, PGconn *conn, struct sc_avail_cache *cache,
                         const struct sc_avail_request *rq, const struct sc_cat_staff *staff,
                         struct sc_staff_slots *out, struct sc_error *err);
void sc_staff_slots_free(struct sc_staff_slots *s);

/* Staff of the event type who work at the location (active), in slug order. */
size_t sc_avail_candidates(const struct sc_cat_org *org, const struct sc_cat_location *loc,
                           const struct sc_cat_event_type *et,
                           const struct sc_cat_staff **out, size_t cap);

#endif
