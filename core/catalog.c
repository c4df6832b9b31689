/*
** The in-memory catalog (see catalog.h): one load is four queries in one
** platform-admin transaction, so the snapshot is consistent.
*/
#include "catalog.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sc_catalog_holder {
  struct sc_db_pool *pool;
  pthread_mutex_t mu;
  struct sc_catalog *cur;
};

static char *dup_or_null(PGresult *r, int i, int col) {
  return PQgetisnull(r, i, col) ? NULL : strdup(PQgetvalue(r, i, col));
}

static void copy_id(char dst[37], PGresult *r, int i, int col) {
  snprintf(dst, 37, "%s", PQgetvalue(r, i, col));
}

static struct sc_cat_org *find_org(struct sc_catalog *c, const char *id) {
  for (size_t i = 0; i < c->n_orgs; i++)
    if (!strcmp(c->orgs[i].id, id)) return &c->orgs[i];
  return NULL;
}

/* Rows come ordered by organization, so each org's array is filled in one
** run; counts first (array_length in SQL) keeps this to one pass. */
static int load_orgs(PGconn *conn, struct sc_catalog *c, struct sc_error *err) {
  PGresult *r;
  int rc = sc_db_exec(conn, "SELECT organization_id, slug, name, active FROM organizations ORDER BY slug",
                      0, NULL, &r, err);
  if (rc) return rc;
  c->n_orgs = (size_t)PQntuples(r);
  c->orgs = calloc(c->n_orgs ? c->n_orgs : 1, sizeof *c->orgs);
  for (int i = 0; i < PQntuples(r); i++) {
    struct sc_cat_org *o = &c->orgs[i];
    copy_id(o->id, r, i, 0);
    o->slug = strdup(PQgetvalue(r, i, 1));
    o->name = strdup(PQgetvalue(r, i, 2));
    o->active = PQgetvalue(r, i, 3)[0] == 't';
  }
  PQclear(r);
  return SC_OK;
}

static int load_locations(PGconn *conn, struct sc_catalog *c, struct sc_error *err) {
  PGresult *r;
  int rc = sc_db_exec(conn,
      "SELECT organization_id, id, slug, name, timezone, branding::text, active,"
      " count(*) OVER (PARTITION BY organization_id) FROM locations ORDER BY organization_id, slug",
      0, NULL, &r, err);
  if (rc) return rc;
  for (int i = 0; i < PQntuples(r); i++) {
    struct sc_cat_org *o = find_org(c, PQgetvalue(r, i, 0));
    if (!o) continue;
    if (!o->locations) o->locations = calloc((size_t)atoi(PQgetvalue(r, i, 7)), sizeof *o->locations);
    struct sc_cat_location *l = &o->locations[o->n_locations++];
    copy_id(l->id, r, i, 1);
    l->slug = strdup(PQgetvalue(r, i, 2));
    l->name = strdup(PQgetvalue(r, i, 3));
    l->timezone = strdup(PQgetvalue(r, i, 4));
    l->branding_json = strdup(PQgetvalue(r, i, 5));
    l->active = PQgetvalue(r, i, 6)[0] == 't';
  }
  PQclear(r);
  return SC_OK;
}

/* "{uuid,uuid}" → array of ids. */
static size_t parse_ids(const char *arr, char (**out)[37]) {
  size_t n = 0;
  for (const char *p = arr; *p; p++) n += *p == ',';
  n = strlen(arr) > 2 ? n + 1 : 0;
  *out = calloc(n ? n : 1, sizeof **out);
  const char *p = arr + 1;
  for (size_t i = 0; i < n; i++, p += 37) snprintf((*out)[i], 37, "%.36s", p);
  return n;
}

static int load_staff(PGconn *conn, struct sc_catalog *c, struct sc_error *err) {
  PGresult *r;
  int rc = sc_db_exec(conn,
      "SELECT s.organization_id, s.id, s.slug, s.name, s.active,"
      " coalesce((SELECT array_agg(location_id ORDER BY location_id) FROM staff_locations sl"
      "   WHERE sl.organization_id = s.organization_id AND sl.staff_id = s.id), '{}')::text,"
      " count(*) OVER (PARTITION BY s.organization_id) FROM staff s ORDER BY s.organization_id, s.slug",
      0, NULL, &r, err);
  if (rc) return rc;
  for (int i = 0; i < PQntuples(r); i++) {
    struct sc_cat_org *o = find_org(c, PQgetvalue(r, i, 0));
    if (!o) continue;
    if (!o->staff) o->staff = calloc((size_t)atoi(PQgetvalue(r, i, 6)), sizeof *o->staff);
    struct sc_cat_staff *s = &o->staff[o->n_staff++];
    copy_id(s->id, r, i, 1);
    s->slug = strdup(PQgetvalue(r, i, 2));
    s->name = strdup(PQgetvalue(r, i, 3));
    s->active = PQgetvalue(r, i, 4)[0] == 't';
    s->n_locations = parse_ids(PQgetvalue(r, i, 5), &s->location_ids);
  }
  PQclear(r);
  return SC_OK;
}

static int load_event_types(PGconn *conn, struct sc_catalog *c, struct sc_error *err) {
  PGresult *r;
  int rc = sc_db_exec(conn,
      "SELECT e.organization_id, e.id, e.slug, e.title, e.price::text, e.duration_min,"
      " e.interval_min, e.buffer_before_min, e.buffer_after_min, e.min_notice_min,"
      " e.horizon_days, e.daily_cap, e.published, e.active,"
      " coalesce((SELECT array_agg(staff_id ORDER BY staff_id) FROM event_type_staff x"
      "   WHERE x.organization_id = e.organization_id AND x.event_type_id = e.id), '{}')::text,"
      " count(*) OVER (PARTITION BY e.organization_id) FROM event_types e ORDER BY e.organization_id, e.slug",
      0, NULL, &r, err);
  if (rc) return rc;
  for (int i = 0; i < PQntuples(r); i++) {
    struct sc_cat_org *o = find_org(c, PQgetvalue(r, i, 0));
    if (!o) continue;
    if (!o->event_types) o->event_types = calloc((size_t)atoi(PQgetvalue(r, i, 15)), sizeof *o->event_types);
    struct sc_cat_event_type *e = &o->event_types[o->n_event_types++];
    copy_id(e->id, r, i, 1);
    e->slug = strdup(PQgetvalue(r, i, 2));
    e->title = strdup(PQgetvalue(r, i, 3));
    e->price = dup_or_null(r, i, 4);
    int *ints[] = {&e->duration, &e->interval, &e->buffer_before, &e->buffer_after,
                   &e->min_notice, &e->horizon_days, &e->daily_cap};
    for (int k = 0; k < 7; k++) *ints[k] = atoi(PQgetvalue(r, i, 5 + k));
    e->published = PQgetvalue(r, i, 12)[0] == 't';
    e->active = PQgetvalue(r, i, 13)[0] == 't';
    e->n_staff = parse_ids(PQgetvalue(r, i, 14), &e->staff_ids);
  }
  PQclear(r);
  return SC_OK;
}

static void catalog_free(struct sc_catalog *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n_orgs; i++) {
    struct sc_cat_org *o = &c->orgs[i];
    for (size_t j = 0; j < o->n_locations; j++) {
      free(o->locations[j].slug);
      free(o->locations[j].name);
      free(o->locations[j].timezone);
      free(o->locations[j].branding_json);
    }
    for (size_t j = 0; j < o->n_staff; j++) {
      free(o->staff[j].slug);
      free(o->staff[j].name);
      free(o->staff[j].location_ids);
    }
    for (size_t j = 0; j < o->n_event_types; j++) {
      free(o->event_types[j].slug);
      free(o->event_types[j].title);
      free(o->event_types[j].price);
      free(o->event_types[j].staff_ids);
    }
    free(o->locations);
    free(o->staff);
    free(o->event_types);
    free(o->slug);
    free(o->name);
  }
  free(c->orgs);
  free(c);
}

static int load(struct sc_db_pool *pool, struct sc_catalog **out, struct sc_error *err) {
  struct sc_catalog *c = calloc(1, sizeof *c);
  PGconn *conn = sc_db_acquire(pool);
  struct sc_tenant all = {.platform_admin = 1};
  int rc = sc_db_begin(conn, &all, err);
  if (!rc) rc = load_orgs(conn, c, err);
  if (!rc) rc = load_locations(conn, c, err);
  if (!rc) rc = load_staff(conn, c, err);
  if (!rc) rc = load_event_types(conn, c, err);
  if (!rc) rc = sc_db_commit(conn, err);
  if (rc) sc_db_rollback(conn);
  sc_db_release(pool, conn);
  if (rc) {
    catalog_free(c);
    return rc;
  }
  *out = c;
  return SC_OK;
}

int sc_catalog_holder_open(struct sc_db_pool *pool, struct sc_catalog_holder **out,
                           struct sc_error *err) {
  struct sc_catalog_holder *h = calloc(1, sizeof *h);
  h->pool = pool;
  pthread_mutex_init(&h->mu, NULL);
  int rc = load(pool, &h->cur, err);
  if (rc) {
    pthread_mutex_destroy(&h->mu);
    free(h);
    return rc;
  }
  h->cur->refs = 1;  /* the holder's own reference */
  *out = h;
  return SC_OK;
}

static void drop_ref(struct sc_catalog_holder *h, struct sc_catalog *c) {
  pthread_mutex_lock(&h->mu);
  int last = --c->refs == 0;
  pthread_mutex_unlock(&h->mu);
  if (last) catalog_free(c);
}

int sc_catalog_reload(struct sc_catalog_holder *h, struct sc_error *err) {
  struct sc_catalog *fresh;
  int rc = load(h->pool, &fresh, err);
  if (rc) return rc;
  fresh->refs = 1;
  pthread_mutex_lock(&h->mu);
  struct sc_catalog *old = h->cur;
  h->cur = fresh;
  pthread_mutex_unlock(&h->mu);
  drop_ref(h, old);
  return SC_OK;
}

const struct sc_catalog *sc_catalog_acquire(struct sc_catalog_holder *h) {
  pthread_mutex_lock(&h->mu);
  struct sc_catalog *c = h->cur;
  c->refs++;
  pthread_mutex_unlock(&h->mu);
  return c;
}

void sc_catalog_release(struct sc_catalog_holder *h, const struct sc_catalog *c) {
  if (c) drop_ref(h, (struct sc_catalog *)c);
}

void sc_catalog_holder_close(struct sc_catalog_holder *h) {
  if (!h) return;
  drop_ref(h, h->cur);
  pthread_mutex_destroy(&h->mu);
  free(h);
}

const struct sc_cat_org *sc_cat_org_by_slug(const struct sc_catalog *c, const char *slug) {
  for (size_t i = 0; slug && i < c->n_orgs; i++)
    if (!strcmp(c->orgs[i].slug, slug)) return &c->orgs[i];
  return NULL;
}

const struct sc_cat_org *sc_cat_org_by_id(const struct sc_catalog *c, const char *id) {
  for (size_t i = 0; id && i < c->n_orgs; i++)
    if (!strcmp(c->orgs[i].id, id)) return &c->orgs[i];
  return NULL;
}

#define FIND(arr, n, field, key)                          \
  for (size_t i = 0; (key) && i < (n); i++)               \
    if (!strcmp((arr)[i].field, (key))) return &(arr)[i]; \
  return NULL

const struct sc_cat_location *sc_cat_location(const struct sc_cat_org *o, const char *slug) {
  FIND(o->locations, o->n_locations, slug, slug);
}
const struct sc_cat_location *sc_cat_location_by_id(const struct sc_cat_org *o, const char *id) {
  FIND(o->locations, o->n_locations, id, id);
}
const struct sc_cat_staff *sc_cat_staff(const struct sc_cat_org *o, const char *slug) {
  FIND(o->staff, o->n_staff, slug, slug);
}
const struct sc_cat_staff *sc_cat_staff_by_id(const struct sc_cat_org *o, const char *id) {
  FIND(o->staff, o->n_staff, id, id);
}
const struct sc_cat_event_type *sc_cat_event_type(const struct sc_cat_org *o, const char *slug) {
  FIND(o->event_types, o->n_event_types, slug, slug);
}

int sc_cat_staff_at(const struct sc_cat_staff *s, const char *location_id) {
  for (size_t i = 0; i < s->n_locations; i++)
    if (!strcmp(s->location_ids[i], location_id)) return 1;
  return 0;
}
