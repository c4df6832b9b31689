/*
** The catalog: organizations, locations, staff and event types, as applied
** from conf.d/, held in memory so hot paths (availability, public booking)
** resolve slugs without a database round trip.
**
** A catalog is immutable once loaded. The holder swaps in a fresh one after
** every config apply (here, or in another daemon: NOTIFY) and frees the old
** one when its last reader releases it, so readers never lock for long.
** Inactive (deactivated) rows are kept with active = 0: old appointments
** still name them.
*/
#ifndef SC_CATALOG_H
#define SC_CATALOG_H

#include <stddef.h>

#include "db.h"
#include "error.h"

struct sc_cat_location {
  char id[37];
  char *slug, *name, *timezone, *branding_json;
  int active;
};

struct sc_cat_staff {
  char id[37];
  char *slug, *name;
  int active;
  char (*location_ids)[37];
  size_t n_locations;
};

struct sc_cat_event_type {
  char id[37];
  char *slug, *title, *price;  /* price may be NULL */
  int duration, interval, buffer_before, buffer_after, min_notice;
  int horizon_days, daily_cap, published, active;
  char (*staff_ids)[37];
  size_t n_staff;
};

struct sc_cat_org {
  char id[37];
  char *slug, *name;
  int active;
  struct sc_cat_location *locations;
  size_t n_locations;
  struct sc_cat_staff *staff;
  size_t n_staff;
  struct sc_cat_event_type *event_types;
  size_t n_event_types;
};

struct sc_catalog {
  struct sc_cat_org *orgs;
  size_t n_orgs;
  int refs;  /* guarded by the holder */
};

struct sc_catalog_holder;

int sc_catalog_holder_open(struct sc_db_pool *pool, struct sc_catalog_holder **out,
                           struct sc_error *err);
void sc_catalog_holder_close(struct sc_catalog_holder *h);
/* Reloads from the database and swaps; on error the old catalog stays. */
int sc_catalog_reload(struct sc_catalog_holder *h, struct sc_error *err);
/* A reference to the current catalog; release it when done. */
const struct sc_catalog *sc_catalog_acquire(struct sc_catalog_holder *h);
void sc_catalog_release(struct sc_catalog_holder *h, const struct sc_catalog *c);

/* Lookups; NULL when absent. */
const struct sc_cat_org *sc_cat_org_by_slug(const struct sc_catalog *c, const char *slug);
const struct sc_cat_org *sc_cat_org_by_id(const struct sc_catalog *c, const char *id);
const struct sc_cat_location *sc_cat_location(const struct sc_cat_org *o, const char *slug);
const struct sc_cat_location *sc_cat_location_by_id(const struct sc_cat_org *o, const char *id);
const struct sc_cat_staff *sc_cat_staff(const struct sc_cat_org *o, const char *slug);
const struct sc_cat_staff *sc_cat_staff_by_id(const struct sc_cat_org *o, const char *id);
const struct sc_cat_event_type *sc_cat_event_type(const struct sc_cat_org *o, const char *slug);
int sc_cat_staff_at(const struct sc_cat_staff *s, const char *location_id);

#endif
