/*
** Booking a slot that availability offered, race-free.
**
** In the caller's transaction (tenant = the organization), for each
** candidate staff member in turn — the one named, or every staff member of
** the event type at the location ordered by fewest appointments that local
** day, then slug — it takes a transaction-scoped advisory lock on
** (organization, staff member), recomputes that member's free slots from
** the database (not the cache), and inserts the appointment if the
** requested start is among them. The exclusion constraint on appointments
** stays the last word. With nobody free: SC_ECONFLICT, kind "slot_taken".
**
** The booking's availability notice (channel sidecal_avail, which drops
** cached days in every daemon) is not sent by the appointments trigger but
** by sc_booking_commit, after the commit: see core/sql/007. Commit a
** transaction that booked with sc_booking_commit, never plain COMMIT.
*/
#ifndef SC_BOOKING_H
#define SC_BOOKING_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "avail_cache.h"
#include "catalog.h"
#include "error.h"

struct sc_booking {
  const struct sc_cat_org *org;
  const struct sc_cat_location *loc;
  const struct sc_cat_event_type *et;
  const struct sc_cat_staff *staff;  /* NULL: assign */
  int64_t start;                     /* UTC epoch seconds */
  int64_t now;
  const char *client_name, *client_email, *client_phone, *notes, *timezone;
  json_object *metadata;             /* may be NULL */
};

int sc_booking_make(struct sc_db_pool *pool, PGconn *conn, struct sc_avail_cache *cache,
                    const struct sc_booking *b, char id[37],
                    const struct sc_cat_staff **chosen, struct sc_error *err);
/* COMMIT and the availability notice for the chosen staff member. */
int sc_booking_commit(PGconn *conn, const struct sc_booking *b, const struct sc_cat_staff *chosen,
                      struct sc_error *err);

#endif
