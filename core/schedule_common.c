/*
** Shared machinery of the schedule API (rules, overrides, blocks): scope,
** pagination, get/lock/delete, owner resolution and field checkers.
*/
#include "schedule_common.h"

#include "page.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_values.h"
#include "json_input.h"
#include "uuid.h"

/* ---- scope -------------------------------------------------------------- */

void sc_sched_scope_where(struct sc_sqlbuf *b, const struct sc_caller *c) {
  /* RLS already binds the organization; naming it again keeps a platform
  ** admin's ?org= view to that organization whatever flags the
  ** transaction carries. */
  if (*c->org_id) sc_sqlbuf_bind(b, " AND t.organization_id = %s::uuid", c->org_id);
  switch (c->role) {
  case SC_ROLE_PLATFORM_ADMIN:
  case SC_ROLE_AGENCY_OWNER:
    break;
  case SC_ROLE_LOCATION_STAFF:
    sc_sqlbuf_bind(b, " AND (t.location_id = %s::uuid", c->location_id);
    sc_sqlbuf_bind(b, " OR t.staff_id = NULLIF(%s, '')::uuid)", c->staff_id);
    break;
  case SC_ROLE_STAFF:
    sc_sqlbuf_bind(b, " AND t.staff_id = %s::uuid", c->staff_id);
    break;
  }
}

void sc_sched_query(struct sc_sqlbuf *b, const struct sc_sched_kind *k,
                    const struct sc_caller *c) {
  sc_sqlbuf_init(b, k->select);
  sc_sched_scope_where(b, c);
}

/* ---- lists -------------------------------------------------------------- */

/* The sort key is a bigint expression of the kind (day and time, date...). */
static int bind_cursor(struct sc_sqlbuf *b, const struct sc_sched_kind *k,
                       const char *cursor, struct sc_error *err) {
  char *plain, id[37];
  int rc = sc_page_cursor_decode(cursor, &plain, id, err);
  if (rc) return rc;
  char *end;
  errno = 0;
  (void)strtoll(plain, &end, 10);
  if (*end != '\0' || errno != 0) {
    g_free(plain);
    return sc_error_set(err, SC_EINVAL, "cursor", "cursor: not a cursor from this API");
  }
  sc_sqlbuf_add(b, " AND (");
  sc_sqlbuf_add(b, k->sort_key);
  sc_sqlbuf_bind(b, ", t.id) > (%s::bigint", plain);
  sc_sqlbuf_bind(b, ", %s::uuid)", id);
  g_free(plain);
  return SC_OK;
}

int sc_sched_common_filters(struct sc_sqlbuf *b, const struct sc_sched_filter *f,
                            struct sc_error *err) {
  int limit;
  int rc = sc_page_limit(f->limit, &limit, err);
  if (rc) return rc;
  if (f->source && strcmp(f->source, "config") && strcmp(f->source, "api"))
    return sc_error_set(err, SC_EINVAL, "source", "source: expected \"config\" or \"api\"");
  if (f->location) sc_sqlbuf_bind(b, " AND l.slug = %s", f->location);
  if (f->staff) sc_sqlbuf_bind(b, " AND s.slug = %s", f->staff);
  if (f->source) sc_sqlbuf_bind(b, " AND t.source = %s::row_source", f->source);
  return SC_OK;
}

int sc_sched_page(PGconn *conn, struct sc_sqlbuf *b, const struct sc_sched_kind *k,
                  const struct sc_sched_filter *f, json_object **out,
                  struct sc_error *err) {
  int limit, rc = sc_page_limit(f->limit, &limit, err);
  if (!rc && f->cursor) rc = bind_cursor(b, k, f->cursor, err);
  if (rc) {
    sc_sqlbuf_free(b);
    return rc;
  }
  char lim[16];
  snprintf(lim, sizeof lim, "%d", limit + 1);  /* one more: is there a next page? */
  sc_sqlbuf_add(b, " ORDER BY ");
  sc_sqlbuf_add(b, k->sort_key);
  sc_sqlbuf_bind(b, ", t.id LIMIT %s::int", lim);
  PGresult *r;
  rc = sc_sqlbuf_exec(conn, b, &r, err);
  sc_sqlbuf_free(b);
  if (rc) return rc;
  json_object *res = sc_page_build(r, limit);
  PQclear(r);
  *out = res;
  return SC_OK;
}

/* ---- one row ------------------------------------------------------------ */

static int not_found(const struct sc_sched_kind *k, const char *id, struct sc_error *err) {
  return sc_error_set(err, SC_ENOTFOUND, "id", "no %s %s", k->noun, id);
}

/* The row's JSON and source, or SC_ENOTFOUND. */
static int fetch(PGconn *conn, const struct sc_caller *caller, const struct sc_sched_kind *k,
                 const char *id, int lock, json_object **out, int *from_config,
                 struct sc_error *err) {
  if (!sc_uuid_valid(id)) return not_found(k, id, err);
  struct sc_sqlbuf b;
  sc_sched_query(&b, k, caller);
  sc_sqlbuf_bind(&b, " AND t.id = %s::uuid", id);
  if (lock) sc_sqlbuf_add(&b, " FOR UPDATE OF t");
  PGresult *r;
  int rc = sc_sqlbuf_exec(conn, &b, &r, err);
  sc_sqlbuf_free(&b);
  if (rc) return rc;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return not_found(k, id, err);
  }
  json_object *row = json_tokener_parse(PQgetvalue(r, 0, 0));
  PQclear(r);
  json_object *src;
  if (from_config)
    *from_config = json_object_object_get_ex(row, "source", &src) &&
                   !strcmp(json_object_get_string(src), "config");
  if (out) *out = row;
  else json_object_put(row);
  return SC_OK;
}

int sc_sched_get(PGconn *conn, const struct sc_caller *caller,
                 const struct sc_sched_kind *k, const char *id,
                 json_object **out, struct sc_error *err) {
  return fetch(conn, caller, k, id, 0, out, NULL, err);
}

int sc_sched_lock_writable(PGconn *conn, const struct sc_caller *caller,
                           const struct sc_sched_kind *k, const char *id,
                           json_object **row, struct sc_error *err) {
  int from_config = 0;
  json_object *tmp = NULL;
  int rc = fetch(conn, caller, k, id, 1, &tmp, &from_config, err);
  if (rc) return rc;
  if (from_config) {
    json_object_put(tmp);
    sc_error_set(err, SC_ECONFLICT, "source",
                 "%s %s comes from conf.d/ and is read-only through the API; "
                 "change it in the organization's conf.d/ file and reload the "
                 "configuration (SIGHUP)", k->noun, id);
    return sc_error_kind(err, "read_only");
  }
  if (row) *row = tmp;
  else json_object_put(tmp);
  return SC_OK;
}

int sc_sched_delete(PGconn *conn, const struct sc_caller *caller,
                    const struct sc_sched_kind *k, const char *id,
                    struct sc_error *err) {
  int rc = sc_sched_lock_writable(conn, caller, k, id, NULL, err);
  if (rc) return rc;
  char sql[128];
  snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = $1::uuid", k->table);
  const char *p[1] = {id};
  return sc_db_exec(conn, sql, 1, p, NULL, err);
}

int sc_sched_merged(const struct sc_sched_kind *k, json_object *row,
                    json_object *patch, json_object **out, struct sc_error *err) {
  int rc = sc_json_only_keys(patch, k->fields, err);
  if (rc) return rc;
  json_object *m = json_object_new_object();
  for (const char *const *f = k->fields; *f; f++) {
    json_object *v;
    if (json_object_object_get_ex(row, *f, &v) && v)
      json_object_object_add(m, *f, json_object_get(v));
  }
  sc_json_merge_patch(m, patch);
  *out = m;
  return SC_OK;
}

/* ---- owner -------------------------------------------------------------- */

static int slug_of(PGconn *conn, const char *table, const char *id, char out[64],
                   struct sc_error *err) {
  struct sc_sqlbuf b;
  char sql[64];
  int found;
  snprintf(sql, sizeof sql, "SELECT slug FROM %s WHERE true", table);
  sc_sqlbuf_init(&b, sql);
  sc_sqlbuf_bind(&b, " AND id = NULLIF(%s, '')::uuid", id);
  return sc_sqlbuf_one(conn, &b, out, 64, &found, err);
}

/* The key's own location and staff slugs bound the rows it may write. */
static int check_write_scope(PGconn *conn, const struct sc_caller *c,
                             const char *location, const char *staff,
                             struct sc_error *err) {
  char own_loc[64] = "", own_staff[64] = "";
  int rc = SC_OK;
  if (c->role == SC_ROLE_LOCATION_STAFF) rc = slug_of(conn, "locations", c->location_id, own_loc, err);
  if (!rc && (c->role == SC_ROLE_LOCATION_STAFF || c->role == SC_ROLE_STAFF))
    rc = slug_of(conn, "staff", c->staff_id, own_staff, err);
  if (rc) return rc;
  int own_row = *own_staff && staff && !strcmp(staff, own_staff);
  if (c->role == SC_ROLE_LOCATION_STAFF && !own_row &&
      !(location && !strcmp(location, own_loc)))
    return sc_error_set(err, SC_EINVAL, "location",
                        "location: a location_staff key may only write rows of its own "
                        "location \"%s\"", own_loc);
  if (c->role == SC_ROLE_STAFF && !staff)
    return sc_error_set(err, SC_EINVAL, "staff", "staff: required (your own staff slug)");
  if (c->role == SC_ROLE_STAFF && !own_row)
    return sc_error_set(err, SC_EINVAL, "staff",
                        "staff: a staff key may only write its own rows (staff \"%s\")",
                        own_staff);
  return SC_OK;
}

static int resolve_location(PGconn *conn, const struct sc_caller *c, const char *slug,
                            struct sc_sched_owner *o, struct sc_error *err) {
  struct sc_sqlbuf b;
  char row[128];
  int found;
  sc_sqlbuf_init(&b, "SELECT id || ' ' || timezone FROM locations WHERE active");
  sc_sqlbuf_bind(&b, " AND organization_id = %s::uuid", c->org_id);
  sc_sqlbuf_bind(&b, " AND slug = %s", slug);
  int rc = sc_sqlbuf_one(conn, &b, row, sizeof row, &found, err);
  if (rc) return rc;
  if (!found)
    return sc_error_set(err, SC_EINVAL, "location", "location: no active location \"%s\"", slug);
  snprintf(o->location_id, sizeof o->location_id, "%.36s", row);
  snprintf(o->timezone, sizeof o->timezone, "%.63s", row + 37);
  return SC_OK;
}

static int resolve_staff(PGconn *conn, const struct sc_caller *c, const char *slug,
                         const char *location, struct sc_sched_owner *o,
                         struct sc_error *err) {
  struct sc_sqlbuf b;
  char row[64];
  int found;
  sc_sqlbuf_init(&b, "SELECT s.id || ' ' || (EXISTS (SELECT 1 FROM staff_locations sl"
                     " WHERE sl.organization_id = s.organization_id AND sl.staff_id = s.id");
  sc_sqlbuf_bind(&b, " AND sl.location_id = NULLIF(%s, '')::uuid))::text FROM staff s WHERE s.active",
                 o->location_id);
  sc_sqlbuf_bind(&b, " AND s.organization_id = %s::uuid", c->org_id);
  sc_sqlbuf_bind(&b, " AND s.slug = %s", slug);
  int rc = sc_sqlbuf_one(conn, &b, row, sizeof row, &found, err);
  if (rc) return rc;
  if (!found)
    return sc_error_set(err, SC_EINVAL, "staff", "staff: no active staff member \"%s\"", slug);
  if (location && strcmp(row + 37, "true"))
    return sc_error_set(err, SC_EINVAL, "staff",
                        "staff: staff \"%s\" does not work at location \"%s\"", slug, location);
  snprintf(o->staff_id, sizeof o->staff_id, "%.36s", row);
  return SC_OK;
}

int sc_sched_row_caller(PGconn *conn, const struct sc_caller *caller,
                        const struct sc_sched_kind *k, const char *id,
                        struct sc_caller *out, struct sc_error *err) {
  *out = *caller;
  if (*caller->org_id || caller->role != SC_ROLE_PLATFORM_ADMIN) return SC_OK;
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT organization_id FROM %s WHERE id = $1::uuid", k->table);
  const char *p[1] = {id};
  PGresult *r;
  int rc = sc_db_exec(conn, sql, 1, p, &r, err);
  if (rc) return rc;
  if (PQntuples(r)) snprintf(out->org_id, sizeof out->org_id, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  return SC_OK;
}

int sc_sched_resolve_owner(PGconn *conn, const struct sc_caller *caller,
                           const char *location, const char *staff,
                           struct sc_sched_owner *o, struct sc_error *err) {
  memset(o, 0, sizeof *o);
  if (!*caller->org_id)
    return sc_error_set(err, SC_EINVAL, "org",
                        "org: a platform admin names the organization with ?org=SLUG");
  int rc = check_write_scope(conn, caller, location, staff, err);
  if (!rc && location) rc = resolve_location(conn, caller, location, o, err);
  if (!rc && staff) rc = resolve_staff(conn, caller, staff, location, o, err);
  return rc;
}

/* ---- field checkers ----------------------------------------------------- */

int sc_sched_string(json_object *obj, const char *key, const char **out,
                    size_t max_len, struct sc_error *err) {
  enum sc_json_has has;
  return sc_json_string(obj, key, &has, out, max_len, err);
}

/* The offending value as JSON text, shortened, for "got ..." messages. */
static const char *got(json_object *v, char buf[48]) {
  snprintf(buf, 48, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
  if (strlen(buf) == 47) memcpy(buf + 43, "...", 4);
  return buf;
}

int sc_sched_hhmm(json_object *obj, const char *key, const char *path,
                  int allow_24, int *minutes, struct sc_error *err) {
  json_object *v = NULL;
  char g[48];
  if (!json_object_object_get_ex(obj, key, &v) || !v)
    return sc_error_set(err, SC_EINVAL, path, "%s: required", path);
  if (!json_object_is_type(v, json_type_string) ||
      !sc_conf_hhmm(json_object_get_string(v), allow_24, minutes))
    return sc_error_set(err, SC_EINVAL, path, "%s: expected a time HH:MM from 00:00 to %s, got %s",
                        path, allow_24 ? "24:00" : "23:59", got(v, g));
  return SC_OK;
}

int sc_sched_date(json_object *obj, const char *key, int required,
                  const char **out, struct sc_error *err) {
  json_object *v = NULL;
  char g[48];
  *out = NULL;
  if (!json_object_object_get_ex(obj, key, &v) || !v) {
    if (required) return sc_error_set(err, SC_EINVAL, key, "%s: required", key);
    return SC_OK;
  }
  if (!json_object_is_type(v, json_type_string) || !sc_conf_date_ok(json_object_get_string(v)))
    return sc_error_set(err, SC_EINVAL, key, "%s: expected a date YYYY-MM-DD, got %s", key,
                        got(v, g));
  *out = json_object_get_string(v);
  return SC_OK;
}

int sc_sched_local_datetime(json_object *v, const char *path, char out[20],
                            struct sc_error *err) {
  char g[48];
  if (!v) return sc_error_set(err, SC_EINVAL, path, "%s: required", path);
  if (!json_object_is_type(v, json_type_string) ||
      !sc_conf_datetime(json_object_get_string(v), out))
    return sc_error_set(err, SC_EINVAL, path,
                        "%s: expected a local date-time YYYY-MM-DDTHH:MM[:SS] without "
                        "offset (the zone is timezone), got %s", path, got(v, g));
  return SC_OK;
}

void sc_sched_format_hhmm(int minutes, char buf[6]) {
  int h = (minutes / 60) % 100, m = minutes % 60;
  buf[0] = (char)('0' + h / 10);
  buf[1] = (char)('0' + h % 10);
  buf[2] = ':';
  buf[3] = (char)('0' + m / 10);
  buf[4] = (char)('0' + m % 10);
  buf[5] = '\0';
}
