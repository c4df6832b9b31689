/*
** Reading appointments: list with filters and keyset pagination, get one.
*/
#include "appointments.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "appointment_json.h"
#include "appointment_status.h"
#include "page.h"
#include "sqlbuf.h"
#include "timeutil.h"
#include "uuid.h"

void sc_appt_scope_where(struct sc_sqlbuf *b, const struct sc_caller *c) {
  switch (c->role) {
  case SC_ROLE_PLATFORM_ADMIN:
  case SC_ROLE_AGENCY_OWNER:
    sc_sqlbuf_add(b, " AND true");  /* the organization: RLS */
    break;
  case SC_ROLE_LOCATION_STAFF:
    sc_sqlbuf_bind(b, " AND (a.location_id = %s::uuid", c->location_id);
    sc_sqlbuf_bind(b, " OR a.staff_id = NULLIF(%s, '')::uuid)", c->staff_id);
    break;
  case SC_ROLE_STAFF:
    sc_sqlbuf_bind(b, " AND a.staff_id = %s::uuid", c->staff_id);
    break;
  }
}

static json_object *parse_row(PGresult *r, int i) {
  return json_tokener_parse(PQgetvalue(r, i, 0));
}

int sc_appt_get(PGconn *conn, const struct sc_caller *caller, const char *id,
                json_object **out, struct sc_error *err) {
  if (!sc_uuid_valid(id))
    return sc_error_set(err, SC_ENOTFOUND, "id", "no appointment %s", id);
  struct sc_sqlbuf b;
  sc_sqlbuf_init(&b, SC_APPT_JSON_SELECT " WHERE true");
  sc_sqlbuf_bind(&b, " AND a.id = %s::uuid", id);
  sc_appt_scope_where(&b, caller);
  PGresult *r;
  int rc = sc_sqlbuf_exec(conn, &b, &r, err);
  sc_sqlbuf_free(&b);
  if (rc) return rc;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return sc_error_set(err, SC_ENOTFOUND, "id", "no appointment %s", id);
  }
  *out = parse_row(r, 0);
  PQclear(r);
  return SC_OK;
}

/* The sort key is the start as an RFC 3339 instant with microseconds. */
static int bind_cursor(struct sc_sqlbuf *b, const char *cursor, struct sc_error *err) {
  char *key, id[37];
  int64_t secs;
  int rc = sc_page_cursor_decode(cursor, &key, id, err);
  if (rc) return rc;
  if (sc_time_parse_rfc3339(key, "cursor", &secs, NULL, NULL)) {
    g_free(key);
    return sc_error_set(err, SC_EINVAL, "cursor", "cursor: not a cursor from this API");
  }
  sc_sqlbuf_bind(b, " AND (a.starts_at, a.id) > (%s::timestamptz", key);
  sc_sqlbuf_bind(b, ", %s::uuid)", id);
  g_free(key);
  return SC_OK;
}

static int add_filters(struct sc_sqlbuf *b, const struct sc_appt_filter *f,
                       int *limit, struct sc_error *err) {
  int64_t t;
  enum sc_appt_status st;
  if (f->from && sc_time_parse_rfc3339(f->from, "from", &t, NULL, err)) return SC_EINVAL;
  if (f->to && sc_time_parse_rfc3339(f->to, "to", &t, NULL, err)) return SC_EINVAL;
  if (f->status && sc_appt_status_parse(f->status, "status", &st, err)) return SC_EINVAL;
  if (sc_page_limit(f->limit, limit, err)) return SC_EINVAL;
  if (f->from) sc_sqlbuf_bind(b, " AND a.ends_at > %s::timestamptz", f->from);
  if (f->to) sc_sqlbuf_bind(b, " AND a.starts_at < %s::timestamptz", f->to);
  if (f->location) sc_sqlbuf_bind(b, " AND l.slug = %s", f->location);
  if (f->staff) sc_sqlbuf_bind(b, " AND s.slug = %s", f->staff);
  if (f->status) sc_sqlbuf_bind(b, " AND a.status = %s::appointment_status", f->status);
  if (f->cursor) return bind_cursor(b, f->cursor, err);
  return SC_OK;
}

int sc_appt_list(PGconn *conn, const struct sc_caller *caller,
                 const struct sc_appt_filter *f, json_object **out,
                 struct sc_error *err) {
  struct sc_sqlbuf b;
  int limit;
  sc_sqlbuf_init(&b, SC_APPT_JSON_SELECT " WHERE true");
  sc_appt_scope_where(&b, caller);
  int rc = add_filters(&b, f, &limit, err);
  if (rc) {
    sc_sqlbuf_free(&b);
    return rc;
  }
  char lim[16];
  snprintf(lim, sizeof lim, "%d", limit + 1);  /* one more: is there a next page? */
  sc_sqlbuf_bind(&b, " ORDER BY a.starts_at, a.id LIMIT %s::int", lim);
  PGresult *r;
  rc = sc_sqlbuf_exec(conn, &b, &r, err);
  sc_sqlbuf_free(&b);
  if (rc) return rc;
  json_object *res = sc_page_build(r, limit);
  PQclear(r);
  *out = res;
  return SC_OK;
}
