/*
** Calendar blocks through the API: time taken out of availability (PTO,
** lunch, recurring with RRULE) for a location, a staff member at a location,
** or a staff member everywhere (no location). Times are local date-times in
** the block's zone so a recurring lunch stays at 12:00 across DST; the RRULE
** is validated with libical here and expanded by the engine.
** Contract in schedule.h.
*/
#include <stdio.h>
#include <string.h>

#include "config_values.h"
#include "json_input.h"
#include "schedule_common.h"

static const char *const block_fields[] = {
  "location", "staff", "start", "end", "timezone", "rrule", "exdates", "reason", NULL};

#define LOCAL_TEXT(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SS')"

static const struct sc_sched_kind BLOCKS = {
  .noun = "block",
  .table = "calendar_blocks",
  .select =
    "SELECT json_build_object('id', t.id, 'location', l.slug, 'staff', s.slug,"
    " 'start', " LOCAL_TEXT("t.starts_local") ", 'end', " LOCAL_TEXT("t.ends_local") ","
    " 'timezone', t.timezone, 'rrule', t.rrule,"
    " 'exdates', (SELECT coalesce(json_agg(" LOCAL_TEXT("x.d") " ORDER BY x.n), '[]')"
    "   FROM unnest(t.exdates) WITH ORDINALITY x(d, n)),"
    " 'reason', t.reason, 'source', t.source,"
    " 'created_at', sc_utc(t.created_at), 'updated_at', sc_utc(t.updated_at))::text,"
    " extract(epoch FROM t.starts_local)::bigint, t.id"
    " FROM calendar_blocks t"
    " LEFT JOIN locations l ON l.organization_id = t.organization_id AND l.id = t.location_id"
    " LEFT JOIN staff s ON s.organization_id = t.organization_id AND s.id = t.staff_id"
    " WHERE true",
  .sort_key = "extract(epoch FROM t.starts_local)::bigint",
  .fields = block_fields,
};

struct block_in {
  const char *location, *staff, *timezone, *rrule, *reason;
  char start[20], end[20];
  json_object *exdates;  /* normalised copy, owned */
};

static int read_times(json_object *in, struct block_in *b, struct sc_error *err) {
  json_object *v = NULL;
  json_object_object_get_ex(in, "start", &v);
  int rc = sc_sched_local_datetime(v, "start", b->start, err);
  v = NULL;
  json_object_object_get_ex(in, "end", &v);
  if (!rc) rc = sc_sched_local_datetime(v, "end", b->end, err);
  if (!rc && strcmp(b->end, b->start) <= 0)
    rc = sc_error_set(err, SC_EINVAL, "end", "end: %s is not after start %s", b->end, b->start);
  return rc;
}

static int read_rrule(json_object *in, struct block_in *b, struct sc_error *err) {
  int rc = sc_sched_string(in, "rrule", &b->rrule, 1000, err);
  if (rc || !b->rrule) return rc;
  const char *why = strpbrk(b->rrule, "\r\n") ? "line breaks are not allowed"
                                              : sc_conf_rrule_problem(b->rrule, b->start);
  if (why)
    return sc_error_set(err, SC_EINVAL, "rrule", "rrule: invalid RRULE \"%s\": %s", b->rrule, why);
  return SC_OK;
}

static int read_exdates(json_object *in, struct block_in *b, struct sc_error *err) {
  json_object *v = NULL;
  b->exdates = json_object_new_array();
  if (!json_object_object_get_ex(in, "exdates", &v) || !v) return SC_OK;
  if (!json_object_is_type(v, json_type_array))
    return sc_error_set(err, SC_EINVAL, "exdates",
                        "exdates: expected a list of local date-times YYYY-MM-DDTHH:MM[:SS]");
  size_t n = json_object_array_length(v);
  if (n > 0 && !b->rrule)
    return sc_error_set(err, SC_EINVAL, "exdates", "exdates: only allowed together with rrule");
  for (size_t i = 0; i < n; i++) {
    char path[32], norm[20];
    snprintf(path, sizeof path, "exdates[%zu]", i);
    int rc = sc_sched_local_datetime(json_object_array_get_idx(v, i), path, norm, err);
    if (rc) return rc;
    json_object_array_add(b->exdates, json_object_new_string(norm));
  }
  return SC_OK;
}

static int read_block(json_object *in, struct block_in *b, struct sc_error *err) {
  memset(b, 0, sizeof *b);
  int rc = sc_json_only_keys(in, block_fields, err);
  if (!rc) rc = sc_sched_string(in, "location", &b->location, 64, err);
  if (!rc) rc = sc_sched_string(in, "staff", &b->staff, 64, err);
  if (!rc && !b->location && !b->staff)
    rc = sc_error_set(err, SC_EINVAL, "location",
                      "location: a block needs a location, a staff member or both");
  if (!rc) rc = read_times(in, b, err);
  if (!rc) rc = sc_sched_string(in, "timezone", &b->timezone, 64, err);
  if (!rc && b->timezone && !sc_conf_timezone_ok(b->timezone))
    rc = sc_error_set(err, SC_EINVAL, "timezone", "timezone: unknown time zone \"%s\"", b->timezone);
  if (!rc && !b->timezone && !b->location)
    rc = sc_error_set(err, SC_EINVAL, "timezone",
                      "timezone: required for a block without a location (a staff-wide block)");
  if (!rc) rc = read_rrule(in, b, err);
  if (!rc) rc = read_exdates(in, b, err);
  if (!rc) rc = sc_sched_string(in, "reason", &b->reason, 500, err);
  return rc;
}

static void bind_values(struct sc_sqlbuf *sb, const struct block_in *b,
                        const struct sc_sched_owner *o) {
  sc_sqlbuf_bind(sb, "%s::uuid", *o->location_id ? o->location_id : NULL);
  sc_sqlbuf_bind(sb, ", %s::uuid", *o->staff_id ? o->staff_id : NULL);
  sc_sqlbuf_bind(sb, ", %s::timestamp", b->start);
  sc_sqlbuf_bind(sb, ", %s::timestamp", b->end);
  sc_sqlbuf_bind(sb, ", %s", b->timezone ? b->timezone : o->timezone);
  sc_sqlbuf_bind(sb, ", %s", b->rrule);
  sc_sqlbuf_bind(sb, ", ARRAY(SELECT jsonb_array_elements_text(%s::jsonb))::timestamp[]",
                 json_object_to_json_string_ext(b->exdates, JSON_C_TO_STRING_PLAIN));
  sc_sqlbuf_bind(sb, ", %s", b->reason);
}

#define BLOCK_COLS "location_id, staff_id, starts_local, ends_local, timezone, rrule," \
                   " exdates, reason"

/* Who made an API block, for the audit trail (the column predates keys). */
static void bind_created_by(struct sc_sqlbuf *sb, const struct sc_caller *c) {
  char who[48];
  snprintf(who, sizeof who, "api:%s", *c->key_id ? c->key_id : "-");
  sc_sqlbuf_bind(sb, ", %s", who);
}

/* id == NULL inserts (new id into new_id), else updates that row. */
static int write_block(PGconn *conn, const struct sc_caller *caller, const char *id,
                       json_object *in, char new_id[37], struct sc_error *err) {
  struct block_in b;
  struct sc_sched_owner o;
  int rc = read_block(in, &b, err);
  if (!rc) rc = sc_sched_resolve_owner(conn, caller, b.location, b.staff, &o, err);
  struct sc_sqlbuf sb = {0};
  if (!rc && id) {
    sc_sqlbuf_init(&sb, "UPDATE calendar_blocks SET (" BLOCK_COLS ", updated_at) = (");
    bind_values(&sb, &b, &o);
    sc_sqlbuf_bind(&sb, ", now()) WHERE id = %s::uuid RETURNING id", id);
  } else if (!rc) {
    sc_sqlbuf_init(&sb, "INSERT INTO calendar_blocks (organization_id, " BLOCK_COLS
                        ", created_by, source) VALUES (");
    sc_sqlbuf_bind(&sb, "%s::uuid, ", caller->org_id);
    bind_values(&sb, &b, &o);
    bind_created_by(&sb, caller);
    sc_sqlbuf_add(&sb, ", 'api') RETURNING id");
  }
  PGresult *res = NULL;
  if (!rc) rc = sc_sqlbuf_exec(conn, &sb, &res, err);
  sc_sqlbuf_free(&sb);
  json_object_put(b.exdates);
  if (rc) return rc;
  snprintf(new_id, 37, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
  PQclear(res);
  return SC_OK;
}

int sc_blocks_list(PGconn *conn, const struct sc_caller *caller,
                   const struct sc_sched_filter *f, json_object **out,
                   struct sc_error *err) {
  struct sc_sqlbuf b;
  sc_sched_query(&b, &BLOCKS, caller);
  int rc = sc_sched_common_filters(&b, f, err);
  if (rc) {
    sc_sqlbuf_free(&b);
    return rc;
  }
  return sc_sched_page(conn, &b, &BLOCKS, f, out, err);
}

int sc_block_get(PGconn *conn, const struct sc_caller *caller, const char *id,
                 json_object **out, struct sc_error *err) {
  return sc_sched_get(conn, caller, &BLOCKS, id, out, err);
}

int sc_block_create(PGconn *conn, const struct sc_caller *caller,
                    json_object *body, json_object **out, struct sc_error *err) {
  char id[37];
  int rc = write_block(conn, caller, NULL, body, id, err);
  if (rc) return rc;
  return sc_sched_get(conn, caller, &BLOCKS, id, out, err);
}

int sc_block_update(PGconn *conn, const struct sc_caller *caller, const char *id,
                    json_object *patch, json_object **out, struct sc_error *err) {
  json_object *row = NULL, *merged = NULL;
  char done[37];
  int rc = sc_sched_lock_writable(conn, caller, &BLOCKS, id, &row, err);
  if (!rc) rc = sc_sched_merged(&BLOCKS, row, patch, &merged, err);
  struct sc_caller as;
  if (!rc) rc = sc_sched_row_caller(conn, caller, &BLOCKS, id, &as, err);
  if (!rc) rc = write_block(conn, &as, id, merged, done, err);
  json_object_put(row);
  json_object_put(merged);
  if (rc) return rc;
  return sc_sched_get(conn, caller, &BLOCKS, id, out, err);
}

int sc_block_delete(PGconn *conn, const struct sc_caller *caller, const char *id,
                    struct sc_error *err) {
  return sc_sched_delete(conn, caller, &BLOCKS, id, err);
}
