/*
** Weekly availability rules through the API: list, get, create,
** merge-patch, delete (contract in schedule.h). A rule is wall-clock time
** in its location's zone, which the row copies and the API shows read-only.
*/
#include <string.h>

#include "schedule_common.h"

static const char *const rule_fields[] = {
  "location", "staff", "day_of_week", "start", "end", "effective_from",
  "effective_until", NULL};

static const struct sc_sched_kind RULES = {
  .noun = "rule",
  .table = "availability_rules",
  .select =
    "SELECT json_build_object('id', t.id, 'location', l.slug, 'staff', s.slug,"
    " 'day_of_week', t.day_of_week, 'start', to_char(t.start_time, 'HH24:MI'),"
    " 'end', to_char(t.end_time, 'HH24:MI'), 'timezone', t.timezone,"
    " 'effective_from', t.effective_from, 'effective_until', t.effective_until,"
    " 'source', t.source, 'created_at', sc_utc(t.created_at),"
    " 'updated_at', sc_utc(t.updated_at))::text,"
    " t.day_of_week * 86400 + extract(epoch FROM t.start_time)::bigint, t.id"
    " FROM availability_rules t"
    " JOIN locations l ON l.organization_id = t.organization_id AND l.id = t.location_id"
    " LEFT JOIN staff s ON s.organization_id = t.organization_id AND s.id = t.staff_id"
    " WHERE true",
  .sort_key = "(t.day_of_week * 86400 + extract(epoch FROM t.start_time)::bigint)",
  .fields = rule_fields,
};

struct rule_in {
  const char *location, *staff, *from, *until;
  long day;
  char start[6], end[6];
};

static int read_rule(json_object *in, struct rule_in *r, struct sc_error *err) {
  enum sc_json_has has;
  int start, end;
  memset(r, 0, sizeof *r);
  int rc = sc_json_only_keys(in, rule_fields, err);
  if (!rc) rc = sc_sched_string(in, "location", &r->location, 64, err);
  if (!rc && !r->location)
    rc = sc_error_set(err, SC_EINVAL, "location", "location: required (a location slug)");
  if (!rc) rc = sc_sched_string(in, "staff", &r->staff, 64, err);
  if (!rc) rc = sc_json_int(in, "day_of_week", &has, &r->day, 0, 6, err);
  if (!rc && has != SC_JSON_VALUE)
    rc = sc_error_set(err, SC_EINVAL, "day_of_week",
                      "day_of_week: required (0 = Sunday .. 6 = Saturday)");
  if (!rc) rc = sc_sched_hhmm(in, "start", "start", 0, &start, err);
  if (!rc) rc = sc_sched_hhmm(in, "end", "end", 1, &end, err);
  if (rc) return rc;
  sc_sched_format_hhmm(start, r->start);
  sc_sched_format_hhmm(end, r->end);
  if (end <= start)
    return sc_error_set(err, SC_EINVAL, "end", "end: %s is not after start %s", r->end, r->start);
  rc = sc_sched_date(in, "effective_from", 0, &r->from, err);
  if (!rc) rc = sc_sched_date(in, "effective_until", 0, &r->until, err);
  if (!rc && r->from && r->until && strcmp(r->until, r->from) < 0)
    rc = sc_error_set(err, SC_EINVAL, "effective_until",
                      "effective_until: %s is before effective_from %s", r->until, r->from);
  return rc;
}

static void bind_values(struct sc_sqlbuf *b, const struct rule_in *r,
                        const struct sc_sched_owner *o) {
  char day[4];
  snprintf(day, sizeof day, "%ld", r->day);
  sc_sqlbuf_bind(b, "%s::uuid", o->location_id);
  sc_sqlbuf_bind(b, ", %s::uuid", *o->staff_id ? o->staff_id : NULL);
  sc_sqlbuf_bind(b, ", %s::smallint", day);
  sc_sqlbuf_bind(b, ", %s::time", r->start);
  sc_sqlbuf_bind(b, ", %s::time", r->end);
  sc_sqlbuf_bind(b, ", %s", o->timezone);
  sc_sqlbuf_bind(b, ", %s::date", r->from);
  sc_sqlbuf_bind(b, ", %s::date", r->until);
}

#define RULE_COLS "location_id, staff_id, day_of_week, start_time, end_time," \
                  " timezone, effective_from, effective_until"

/* id == NULL inserts (new id into new_id), else updates that row. */
static int write_rule(PGconn *conn, const struct sc_caller *caller, const char *id,
                      json_object *in, char new_id[37], struct sc_error *err) {
  struct rule_in r;
  struct sc_sched_owner o;
  int rc = read_rule(in, &r, err);
  if (!rc) rc = sc_sched_resolve_owner(conn, caller, r.location, r.staff, &o, err);
  if (rc) return rc;
  struct sc_sqlbuf b;
  if (id) {
    sc_sqlbuf_init(&b, "UPDATE availability_rules SET (" RULE_COLS ", updated_at) = (");
    bind_values(&b, &r, &o);
    sc_sqlbuf_bind(&b, ", now()) WHERE id = %s::uuid RETURNING id", id);
  } else {
    sc_sqlbuf_init(&b, "INSERT INTO availability_rules (organization_id, " RULE_COLS
                       ", source) VALUES (");
    sc_sqlbuf_bind(&b, "%s::uuid, ", caller->org_id);
    bind_values(&b, &r, &o);
    sc_sqlbuf_add(&b, ", 'api') RETURNING id");
  }
  PGresult *res;
  rc = sc_sqlbuf_exec(conn, &b, &res, err);
  sc_sqlbuf_free(&b);
  if (rc) return rc;
  snprintf(new_id, 37, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
  PQclear(res);
  return SC_OK;
}

int sc_rules_list(PGconn *conn, const struct sc_caller *caller,
                  const struct sc_sched_filter *f, json_object **out,
                  struct sc_error *err) {
  struct sc_sqlbuf b;
  sc_sched_query(&b, &RULES, caller);
  int rc = sc_sched_common_filters(&b, f, err);
  if (!rc && f->day_of_week) {
    const char *d = f->day_of_week;
    if (strlen(d) != 1 || d[0] < '0' || d[0] > '6')
      rc = sc_error_set(err, SC_EINVAL, "day_of_week",
                        "day_of_week: expected a whole number from 0 (Sunday) to 6 (Saturday)");
    else
      sc_sqlbuf_bind(&b, " AND t.day_of_week = %s::smallint", d);
  }
  if (rc) {
    sc_sqlbuf_free(&b);
    return rc;
  }
  return sc_sched_page(conn, &b, &RULES, f, out, err);
}

int sc_rule_get(PGconn *conn, const struct sc_caller *caller, const char *id,
                json_object **out, struct sc_error *err) {
  return sc_sched_get(conn, caller, &RULES, id, out, err);
}

int sc_rule_create(PGconn *conn, const struct sc_caller *caller,
                   json_object *body, json_object **out, struct sc_error *err) {
  char id[37];
  int rc = write_rule(conn, caller, NULL, body, id, err);
  if (rc) return rc;
  return sc_sched_get(conn, caller, &RULES, id, out, err);
}

int sc_rule_update(PGconn *conn, const struct sc_caller *caller, const char *id,
                   json_object *patch, json_object **out, struct sc_error *err) {
  json_object *row = NULL, *merged = NULL;
  char done[37];
  int rc = sc_sched_lock_writable(conn, caller, &RULES, id, &row, err);
  if (!rc) rc = sc_sched_merged(&RULES, row, patch, &merged, err);
  struct sc_caller as;
  if (!rc) rc = sc_sched_row_caller(conn, caller, &RULES, id, &as, err);
  if (!rc) rc = write_rule(conn, &as, id, merged, done, err);
  json_object_put(row);
  json_object_put(merged);
  if (rc) return rc;
  return sc_sched_get(conn, caller, &RULES, id, out, err);
}

int sc_rule_delete(PGconn *conn, const struct sc_caller *caller, const char *id,
                   struct sc_error *err) {
  return sc_sched_delete(conn, caller, &RULES, id, err);
}
