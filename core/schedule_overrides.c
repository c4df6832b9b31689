/*
** Date overrides through the API: one local date's hours replacing the
** weekly rules (intervals [] = day off); one per (location, staff, date).
** Contract in schedule.h.
*/
#include <stdio.h>
#include <string.h>

#include "schedule_common.h"

static const char *const override_fields[] = {"location", "staff", "date", "intervals", NULL};
static const char *const interval_fields[] = {"start", "end", NULL};

static const struct sc_sched_kind OVERRIDES = {
  .noun = "override",
  .table = "date_overrides",
  .select =
    "SELECT json_build_object('id', t.id, 'location', l.slug, 'staff', s.slug,"
    " 'date', t.date, 'intervals', (SELECT coalesce(json_agg(json_build_object("
    "   'start', i.v->>'start', 'end', i.v->>'end') ORDER BY i.n), '[]')"
    "   FROM jsonb_array_elements(t.intervals) WITH ORDINALITY i(v, n)),"
    " 'source', t.source,"
    " 'created_at', sc_utc(t.created_at), 'updated_at', sc_utc(t.updated_at))::text,"
    " (t.date - DATE '2000-01-01')::bigint, t.id"
    " FROM date_overrides t"
    " JOIN locations l ON l.organization_id = t.organization_id AND l.id = t.location_id"
    " LEFT JOIN staff s ON s.organization_id = t.organization_id AND s.id = t.staff_id"
    " WHERE true",
  .sort_key = "(t.date - DATE '2000-01-01')::bigint",
  .fields = override_fields,
};

struct override_in {
  const char *location, *staff, *date;
  json_object *intervals;  /* normalised copy, owned */
};

static int read_interval(json_object *item, size_t i, int prev_end, int *end,
                         json_object *norm, struct sc_error *err) {
  char path[48], key_path[64];
  snprintf(path, sizeof path, "intervals[%zu]", i);
  if (!json_object_is_type(item, json_type_object))
    return sc_error_set(err, SC_EINVAL, path,
                        "%s: expected an object {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}", path);
  json_object_object_foreach(item, key, val) {
    (void)val;
    if (strcmp(key, "start") && strcmp(key, "end")) {
      snprintf(key_path, sizeof key_path, "%s.%.15s", path, key);
      return sc_error_set(err, SC_EINVAL, key_path, "%s: unknown field; valid fields: start, end",
                          key_path);
    }
  }
  int start;
  char s_txt[6], e_txt[6];
  snprintf(key_path, sizeof key_path, "%s.start", path);
  int rc = sc_sched_hhmm(item, "start", key_path, 0, &start, err);
  snprintf(key_path, sizeof key_path, "%s.end", path);
  if (!rc) rc = sc_sched_hhmm(item, "end", key_path, 1, end, err);
  if (rc) return rc;
  sc_sched_format_hhmm(start, s_txt);
  sc_sched_format_hhmm(*end, e_txt);
  if (*end <= start)
    return sc_error_set(err, SC_EINVAL, key_path, "%s: %s is not after start %s", key_path,
                        e_txt, s_txt);
  if (i > 0 && start < prev_end)
    return sc_error_set(err, SC_EINVAL, path,
                        "%s: overlaps or precedes intervals[%zu]; list intervals in order "
                        "without overlap", path, i - 1);
  json_object *one = json_object_new_object();
  json_object_object_add(one, interval_fields[0], json_object_new_string(s_txt));
  json_object_object_add(one, interval_fields[1], json_object_new_string(e_txt));
  json_object_array_add(norm, one);
  return SC_OK;
}

static int read_intervals(json_object *in, json_object **out, struct sc_error *err) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(in, "intervals", &v) || !v)
    return sc_error_set(err, SC_EINVAL, "intervals",
                        "intervals: required (write [] for a day off)");
  if (!json_object_is_type(v, json_type_array))
    return sc_error_set(err, SC_EINVAL, "intervals",
                        "intervals: expected a list of {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}");
  json_object *norm = json_object_new_array();
  int prev_end = 0, end = 0;
  size_t n = json_object_array_length(v);
  for (size_t i = 0; i < n; i++, prev_end = end) {
    int rc = read_interval(json_object_array_get_idx(v, i), i, prev_end, &end, norm, err);
    if (rc) {
      json_object_put(norm);
      return rc;
    }
  }
  *out = norm;
  return SC_OK;
}

static int read_override(json_object *in, struct override_in *o, struct sc_error *err) {
  memset(o, 0, sizeof *o);
  int rc = sc_json_only_keys(in, override_fields, err);
  if (!rc) rc = sc_sched_string(in, "location", &o->location, 64, err);
  if (!rc && !o->location)
    rc = sc_error_set(err, SC_EINVAL, "location", "location: required (a location slug)");
  if (!rc) rc = sc_sched_string(in, "staff", &o->staff, 64, err);
  if (!rc) rc = sc_sched_date(in, "date", 1, &o->date, err);
  if (!rc) rc = read_intervals(in, &o->intervals, err);
  return rc;
}

static int duplicate(const struct override_in *o, struct sc_error *err) {
  if (o->staff)
    return sc_error_set(err, SC_ECONFLICT, "date",
                        "date: staff \"%s\" already has an override on %s at location \"%s\"; "
                        "change that one instead", o->staff, o->date, o->location);
  return sc_error_set(err, SC_ECONFLICT, "date",
                      "date: location \"%s\" already has a location-wide override on %s; "
                      "change that one instead", o->location, o->date);
}

static void bind_values(struct sc_sqlbuf *b, const struct override_in *in,
                        const struct sc_sched_owner *o) {
  sc_sqlbuf_bind(b, "%s::uuid", o->location_id);
  sc_sqlbuf_bind(b, ", %s::uuid", *o->staff_id ? o->staff_id : NULL);
  sc_sqlbuf_bind(b, ", %s::date", in->date);
  sc_sqlbuf_bind(b, ", %s::jsonb",
                 json_object_to_json_string_ext(in->intervals, JSON_C_TO_STRING_PLAIN));
}

/* id == NULL inserts (new id into new_id), else updates that row. */
static int write_override(PGconn *conn, const struct sc_caller *caller, const char *id,
                          json_object *in, char new_id[37], struct sc_error *err) {
  struct override_in o;
  struct sc_sched_owner own;
  int rc = read_override(in, &o, err);
  if (!rc) rc = sc_sched_resolve_owner(conn, caller, o.location, o.staff, &own, err);
  struct sc_sqlbuf b = {0};
  if (!rc && id) {
    sc_sqlbuf_init(&b, "UPDATE date_overrides SET (location_id, staff_id, date, intervals,"
                       " updated_at) = (");
    bind_values(&b, &o, &own);
    sc_sqlbuf_bind(&b, ", now()) WHERE id = %s::uuid RETURNING id", id);
  } else if (!rc) {
    sc_sqlbuf_init(&b, "INSERT INTO date_overrides (organization_id, location_id, staff_id,"
                       " date, intervals, source) VALUES (");
    sc_sqlbuf_bind(&b, "%s::uuid, ", caller->org_id);
    bind_values(&b, &o, &own);
    sc_sqlbuf_add(&b, ", 'api') RETURNING id");
  }
  PGresult *res = NULL;
  if (!rc) rc = sc_sqlbuf_exec(conn, &b, &res, err);
  sc_sqlbuf_free(&b);
  if (rc == SC_ECONFLICT) rc = duplicate(&o, err);
  json_object_put(o.intervals);
  if (rc) return rc;
  snprintf(new_id, 37, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
  PQclear(res);
  return SC_OK;
}

int sc_overrides_list(PGconn *conn, const struct sc_caller *caller,
                      const struct sc_sched_filter *f, json_object **out,
                      struct sc_error *err) {
  struct sc_sqlbuf b;
  sc_sched_query(&b, &OVERRIDES, caller);
  json_object *q = json_object_new_object();
  if (f->from) json_object_object_add(q, "from", json_object_new_string(f->from));
  if (f->to) json_object_object_add(q, "to", json_object_new_string(f->to));
  const char *from, *to;
  int rc = sc_sched_common_filters(&b, f, err);
  if (!rc) rc = sc_sched_date(q, "from", 0, &from, err);
  if (!rc) rc = sc_sched_date(q, "to", 0, &to, err);
  if (!rc && from) sc_sqlbuf_bind(&b, " AND t.date >= %s::date", from);
  if (!rc && to) sc_sqlbuf_bind(&b, " AND t.date <= %s::date", to);
  json_object_put(q);
  if (rc) {
    sc_sqlbuf_free(&b);
    return rc;
  }
  return sc_sched_page(conn, &b, &OVERRIDES, f, out, err);
}

int sc_override_get(PGconn *conn, const struct sc_caller *caller, const char *id,
                    json_object **out, struct sc_error *err) {
  return sc_sched_get(conn, caller, &OVERRIDES, id, out, err);
}

int sc_override_create(PGconn *conn, const struct sc_caller *caller,
                       json_object *body, json_object **out, struct sc_error *err) {
  char id[37];
  int rc = write_override(conn, caller, NULL, body, id, err);
  if (rc) return rc;
  return sc_sched_get(conn, caller, &OVERRIDES, id, out, err);
}

int sc_override_update(PGconn *conn, const struct sc_caller *caller, const char *id,
                       json_object *patch, json_object **out, struct sc_error *err) {
  json_object *row = NULL, *merged = NULL;
  char done[37];
  int rc = sc_sched_lock_writable(conn, caller, &OVERRIDES, id, &row, err);
  if (!rc) rc = sc_sched_merged(&OVERRIDES, row, patch, &merged, err);
  struct sc_caller as;
  if (!rc) rc = sc_sched_row_caller(conn, caller, &OVERRIDES, id, &as, err);
  if (!rc) rc = write_override(conn, &as, id, merged, done, err);
  json_object_put(row);
  json_object_put(merged);
  if (rc) return rc;
  return sc_sched_get(conn, caller, &OVERRIDES, id, out, err);
}

int sc_override_delete(PGconn *conn, const struct sc_caller *caller, const char *id,
                       struct sc_error *err) {
  return sc_sched_delete(conn, caller, &OVERRIDES, id, err);
}
