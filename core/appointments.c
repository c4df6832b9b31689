/*
** Reading appointments: list with filters and keyset pagination, get one.
*/
#include "appointments.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "appointment_json.h"
#include "appointment_status.h"
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

/* Cursor: base64 of "<starts_at microseconds since epoch>/<id>", the last
** row of the page; the next page starts strictly after it. */
static char *make_cursor(PGresult *r, int row) {
  char *plain = g_strdup_printf("%s/%s", PQgetvalue(r, row, 1), PQgetvalue(r, row, 2));
  char *enc = g_base64_encode((const guchar *)plain, strlen(plain));
  g_free(plain);
  return enc;
}

static int bind_cursor(struct sc_sqlbuf *b, const char *cursor, struct sc_error *err) {
  gsize n = 0;
  guchar *raw = g_base64_decode(cursor, &n);
  char *plain = raw ? g_strndup((const char *)raw, n) : NULL;
  g_free(raw);
  char *slash = plain ? strrchr(plain, '/') : NULL;
  int ok = slash && sc_uuid_valid(slash + 1);
  if (ok) {
    *slash = '\0';
    int64_t secs;
    ok = sc_time_parse_rfc3339(plain, "cursor", &secs, NULL, NULL) == SC_OK;
  }
  if (!ok) {
    g_free(plain);
    return sc_error_set(err, SC_EINVAL, "cursor", "cursor: not a cursor from this API");
  }
  sc_sqlbuf_bind(b, " AND (a.starts_at, a.id) > (%s::timestamptz", plain);
  sc_sqlbuf_bind(b, ", %s::uuid)", slash + 1);
  g_free(plain);
  return SC_OK;
}

static int add_filters(struct sc_sqlbuf *b, const struct sc_appt_filter *f,
                       int *limit, struct sc_error *err) {
  int64_t t;
  enum sc_appt_status st;
  if (f->from && sc_time_parse_rfc3339(f->from, "from", &t, NULL, err)) return SC_EINVAL;
  if (f->to && sc_time_parse_rfc3339(f->to, "to", &t, NULL, err)) return SC_EINVAL;
  if (f->status && sc_appt_status_parse(f->status, "status", &st, err)) return SC_EINVAL;
  *limit = 50;
  if (f->limit) {
    char *end;
    long v = strtol(f->limit, &end, 10);
    if (*end || end == f->limit || v < 1 || v > 500)
      return sc_error_set(err, SC_EINVAL, "limit", "limit: expected a whole number from 1 to 500");
    *limit = (int)v;
  }
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
  int n = PQntuples(r);
  json_object *data = json_object_new_array();
  for (int i = 0; i < n && i < limit; i++) json_object_array_add(data, parse_row(r, i));
  json_object *res = json_object_new_object();
  json_object_object_add(res, "data", data);
  if (n > limit) {
    char *cur = make_cursor(r, limit - 1);
    json_object_object_add(res, "next_cursor", json_object_new_string(cur));
    g_free(cur);
  } else {
    json_object_object_add(res, "next_cursor", NULL);
  }
  PQclear(r);
  *out = res;
  return SC_OK;
}
