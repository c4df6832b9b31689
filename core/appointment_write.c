/*
** Writing appointments through the API: create, merge-patch update, cancel.
** Each runs in the caller's transaction; the exclusion constraint on
** appointments is the last word on double booking, the explicit checks here
** give the caller a precise message first.
*/
#include "appointments.h"

#include <ctype.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appointment_status.h"
#include "json_input.h"
#include "sqlbuf.h"
#include "sync_enqueue.h"
#include "timeutil.h"
#include "uuid.h"

/* Text fields the API passes straight through: JSON name, column. */
static const char *const text_fields[][2] = {
  {"client_id", "client_id"},     {"client_name", "client_name"},
  {"client_email", "client_email"}, {"client_phone", "client_phone"},
  {"type", "type"},               {"title", "title"},
  {"description", "description"}, {"place", "location"},
  {"notes", "notes"},
};
#define N_TEXT (sizeof text_fields / sizeof text_fields[0])

static const char *const create_keys[] = {
  "location", "staff", "event_type", "starts_at", "ends_at", "timezone",
  "all_day", "status", "price", "metadata", "client_id", "client_name",
  "client_email", "client_phone", "type", "title", "description", "place",
  "notes", NULL};

static const char *const patch_keys[] = {
  "staff", "starts_at", "ends_at", "timezone", "all_day", "status", "price",
  "metadata", "client_id", "client_name", "client_email", "client_phone",
  "type", "title", "description", "place", "notes", NULL};

/* ---- field checks ------------------------------------------------------ */

static int check_price(json_object *body, char *out, size_t n, enum sc_json_has *has,
                       struct sc_error *err) {
  json_object *v = NULL;
  *has = SC_JSON_ABSENT;
  if (!json_object_object_get_ex(body, "price", &v)) return SC_OK;
  *has = v ? SC_JSON_VALUE : SC_JSON_NULL;
  if (!v) return SC_OK;
  const char *s;
  char buf[32];
  if (json_object_is_type(v, json_type_string)) {
    s = json_object_get_string(v);
  } else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
    snprintf(buf, sizeof buf, "%.31s", json_object_to_json_string(v));
    s = buf;
  } else {
    return sc_error_set(err, SC_EINVAL, "price", "price: expected a decimal like \"120.00\"");
  }
  /* numeric(10,2): up to 8 digits before the point, 2 after. */
  size_t i = 0, digits = 0, frac = 0;
  while (isdigit((unsigned char)s[i])) i++, digits++;
  if (s[i] == '.') {
    i++;
    while (isdigit((unsigned char)s[i])) i++, frac++;
    if (frac == 0) digits = 0;
  }
  if (s[i] || digits == 0 || digits > 8 || frac > 2)
    return sc_error_set(err, SC_EINVAL, "price",
                        "price: expected a non-negative amount with at most 8 digits "
                        "before the point and 2 after, e.g. \"120.00\"");
  snprintf(out, n, "%.31s", s);
  return SC_OK;
}

static int check_texts(json_object *body, const char *vals[N_TEXT],
                       enum sc_json_has has[N_TEXT], struct sc_error *err) {
  for (size_t i = 0; i < N_TEXT; i++) {
    int rc = sc_json_string(body, text_fields[i][0], &has[i], &vals[i], 0, err);
    if (rc) return rc;
  }
  for (size_t i = 0; i < N_TEXT; i++)
    if (!strcmp(text_fields[i][0], "client_email") && vals[i] && !strchr(vals[i], '@'))
      return sc_error_set(err, SC_EINVAL, "client_email",
                          "client_email: expected an email address");
  return SC_OK;
}

static int check_times(const char *starts, const char *ends, int64_t *s, int64_t *e,
                       struct sc_error *err) {
  if (sc_time_parse_rfc3339(starts, "starts_at", s, NULL, err)) return SC_EINVAL;
  if (sc_time_parse_rfc3339(ends, "ends_at", e, NULL, err)) return SC_EINVAL;
  if (*e <= *s)
    return sc_error_set(err, SC_EINVAL, "ends_at", "ends_at: must be after starts_at");
  if (*e - *s > 31LL * 86400)
    return sc_error_set(err, SC_EINVAL, "ends_at", "ends_at: an appointment may last at most 31 days");
  return SC_OK;
}

/* ---- lookups by slug, inside the caller's scope ------------------------ */

static int resolve_location(PGconn *conn, const struct sc_caller *c, const char *slug,
                            char id[37], char tz[64], struct sc_error *err) {
  struct sc_sqlbuf b;
  char row[128];
  int found;
  sc_sqlbuf_init(&b, "SELECT id || ' ' || timezone FROM locations WHERE active");
  sc_sqlbuf_bind(&b, " AND slug = %s", slug);
  if (c->role == SC_ROLE_LOCATION_STAFF) sc_sqlbuf_bind(&b, " AND id = %s::uuid", c->location_id);
  int rc = sc_sqlbuf_one(conn, &b, row, sizeof row, &found, err);
  if (rc) return rc;
  if (!found)
    return sc_error_set(err, SC_EINVAL, "location", "location: no active location \"%s\"", slug);
  snprintf(id, 37, "%.36s", row);
  snprintf(tz, 64, "%.63s", row + 37);
  return SC_OK;
}

static int resolve_staff(PGconn *conn, const struct sc_caller *c, const char *slug,
                         const char *location_id, char id[37], struct sc_error *err) {
  struct sc_sqlbuf b;
  int found;
  sc_sqlbuf_init(&b, "SELECT s.id FROM staff s JOIN staff_locations sl"
                     " ON sl.organization_id = s.organization_id AND sl.staff_id = s.id"
                     " WHERE s.active");
  sc_sqlbuf_bind(&b, " AND s.slug = %s", slug);
  sc_sqlbuf_bind(&b, " AND sl.location_id = %s::uuid", location_id);
  if (c->role == SC_ROLE_STAFF) sc_sqlbuf_bind(&b, " AND s.id = %s::uuid", c->staff_id);
  int rc = sc_sqlbuf_one(conn, &b, id, 37, &found, err);
  if (rc) return rc;
  if (!found)
    return sc_error_set(err, SC_EINVAL, "staff",
                        "staff: no active staff member \"%s\" at this location", slug);
  return SC_OK;
}

static int resolve_event_type(PGconn *conn, const char *slug, char id[37], long *duration,
                              struct sc_error *err) {
  struct sc_sqlbuf b;
  char row[64];
  int found;
  sc_sqlbuf_init(&b, "SELECT id || ' ' || duration_min FROM event_types WHERE active");
  sc_sqlbuf_bind(&b, " AND slug = %s", slug);
  int rc = sc_sqlbuf_one(conn, &b, row, sizeof row, &found, err);
  if (rc) return rc;
  if (!found)
    return sc_error_set(err, SC_EINVAL, "event_type", "event_type: no active event type \"%s\"", slug);
  snprintf(id, 37, "%.36s", row);
  *duration = atol(row + 37);
  return SC_OK;
}

/* The staff member's own calendar says busy (imported external busy). */
static int check_external_busy(PGconn *conn, const char *staff_id, const char *starts,
                               const char *ends, const char *ignore_appt,
                               struct sc_error *err) {
  (void)ignore_appt;
  struct sc_sqlbuf b;
  int found;
  char dummy[8];
  sc_sqlbuf_init(&b, "SELECT 1 FROM external_busy x JOIN connector_instances ci"
                     " ON ci.organization_id = x.organization_id AND ci.id = x.instance_id"
                     " WHERE ci.active");
  sc_sqlbuf_bind(&b, " AND ci.staff_id = %s::uuid", staff_id);
  sc_sqlbuf_bind(&b, " AND x.starts_at < %s::timestamptz", ends);
  sc_sqlbuf_bind(&b, " AND x.ends_at > %s::timestamptz LIMIT 1", starts);
  int rc = sc_sqlbuf_one(conn, &b, dummy, sizeof dummy, &found, err);
  if (rc) return rc;
  if (found) {
    sc_error_set(err, SC_ECONFLICT, "starts_at",
                 "the staff member's calendar is busy between %s and %s", starts, ends);
    return sc_error_kind(err, "slot_taken");
  }
  return SC_OK;
}

static int conflict_message(int rc, struct sc_error *err) {
  if (rc != SC_ECONFLICT) return rc;
  sc_error_set(err, SC_ECONFLICT, "starts_at",
               "the staff member already has an appointment at that time");
  return sc_error_kind(err, "slot_taken");
}

/* ---- create ------------------------------------------------------------ */

struct create_in {
  const char *location, *staff, *event_type, *starts, *ends, *tz, *status;
  const char *texts[N_TEXT];
  enum sc_json_has has_texts[N_TEXT];
  int all_day;
  char price[32];
  json_object *metadata;
};

static int read_create(json_object *body, struct create_in *in, struct sc_error *err) {
  enum sc_json_has h;
  memset(in, 0, sizeof *in);
  int rc = sc_json_only_keys(body, create_keys, err);
  if (!rc) rc = sc_json_string(body, "location", &h, &in->location, 64, err);
  if (!rc && !in->location)
    rc = sc_error_set(err, SC_EINVAL, "location", "location: required (a location slug)");
  if (!rc) rc = sc_json_string(body, "staff", &h, &in->staff, 64, err);
  if (!rc) rc = sc_json_string(body, "event_type", &h, &in->event_type, 64, err);
  if (!rc) rc = sc_json_string(body, "starts_at", &h, &in->starts, 64, err);
  if (!rc && !in->starts)
    rc = sc_error_set(err, SC_EINVAL, "starts_at", "starts_at: required");
  if (!rc) rc = sc_json_string(body, "ends_at", &h, &in->ends, 64, err);
  if (!rc && !in->ends && !in->event_type)
    rc = sc_error_set(err, SC_EINVAL, "ends_at", "ends_at: required unless event_type gives the duration");
  if (!rc) rc = sc_json_string(body, "timezone", &h, &in->tz, 64, err);
  if (!rc && in->tz && !sc_tz_valid(in->tz))
    rc = sc_error_set(err, SC_EINVAL, "timezone", "timezone: unknown time zone \"%s\"", in->tz);
  if (!rc) rc = sc_json_string(body, "status", &h, &in->status, 32, err);
  if (!rc && in->status && strcmp(in->status, "SCHEDULED") && strcmp(in->status, "CONFIRMED"))
    rc = sc_error_set(err, SC_EINVAL, "status", "status: a new appointment is SCHEDULED or CONFIRMED");
  if (!rc) rc = sc_json_bool(body, "all_day", &h, &in->all_day, err);
  if (!rc) rc = check_price(body, in->price, sizeof in->price, &h, err);
  if (!rc) rc = sc_json_object(body, "metadata", &h, &in->metadata, err);
  if (!rc) rc = check_texts(body, in->texts, in->has_texts, err);
  return rc;
}

static int insert_row(PGconn *conn, const struct sc_caller *c, const struct create_in *in,
                      const char *loc_id, const char *staff_id, const char *et_id,
                      const char *tz, const char *ends, char id[37], struct sc_error *err) {
  struct sc_sqlbuf b;
  sc_sqlbuf_init(&b, "INSERT INTO appointments (organization_id, location_id, staff_id,"
                     " event_type_id, starts_at, ends_at, timezone, all_day, status, price, metadata");
  for (size_t i = 0; i < N_TEXT; i++) {
    sc_sqlbuf_add(&b, ", ");
    sc_sqlbuf_add(&b, text_fields[i][1]);
  }
  sc_sqlbuf_bind(&b, ") VALUES (%s::uuid", c->org_id);
  sc_sqlbuf_bind(&b, ", %s::uuid", loc_id);
  sc_sqlbuf_bind(&b, ", %s::uuid", staff_id);
  sc_sqlbuf_bind(&b, ", %s::uuid", et_id);
  sc_sqlbuf_bind(&b, ", %s::timestamptz", in->starts);
  sc_sqlbuf_bind(&b, ", %s::timestamptz", ends);
  sc_sqlbuf_bind(&b, ", %s", tz);
  sc_sqlbuf_bind(&b, ", %s::boolean", in->all_day ? "true" : "false");
  sc_sqlbuf_bind(&b, ", %s::appointment_status", in->status ? in->status : "SCHEDULED");
  sc_sqlbuf_bind(&b, ", %s::numeric", *in->price ? in->price : NULL);
  sc_sqlbuf_bind(&b, ", %s::jsonb", in->metadata ? json_object_to_json_string(in->metadata) : "{}");
  for (size_t i = 0; i < N_TEXT; i++) sc_sqlbuf_bind(&b, ", %s", in->texts[i]);
  sc_sqlbuf_add(&b, ") RETURNING id");
  int found;
  int rc = sc_sqlbuf_one(conn, &b, id, 37, &found, err);
  return conflict_message(rc, err);
}

static int add_minutes(const char *starts, long minutes, char *out, size_t n,
                       struct sc_error *err) {
  int64_t s;
  if (sc_time_parse_rfc3339(starts, "starts_at", &s, NULL, err)) return SC_EINVAL;
  sc_time_format_utc(s + minutes * 60, out, n);
  return SC_OK;
}

int sc_appt_create(PGconn *conn, const struct sc_caller *caller,
                   json_object *body, json_object **out, struct sc_error *err) {
  struct create_in in;
  int rc = read_create(body, &in, err);
  if (rc) return rc;
  if (!*caller->org_id)
    return sc_error_set(err, SC_EINVAL, "org", "org: a platform admin names the organization with ?org=SLUG");
  char loc_id[37], tz[64], staff_id[37] = "", et_id[37] = "", ends[40];
  long duration = 0;
  const char *staff = in.staff;
  rc = resolve_location(conn, caller, in.location, loc_id, tz, err);
  if (!rc && !staff && caller->role == SC_ROLE_STAFF) {
    /* A staff key books for its own staff member. */
    rc = sc_error_set(err, SC_EINVAL, "staff", "staff: required (your own staff slug)");
  }
  if (!rc && staff) rc = resolve_staff(conn, caller, staff, loc_id, staff_id, err);
  if (!rc && in.event_type) rc = resolve_event_type(conn, in.event_type, et_id, &duration, err);
  if (rc) return rc;
  if (in.ends) snprintf(ends, sizeof ends, "%s", in.ends);
  else if ((rc = add_minutes(in.starts, duration, ends, sizeof ends, err))) return rc;
  int64_t s, e;
  if ((rc = check_times(in.starts, ends, &s, &e, err))) return rc;
  if (*staff_id && (rc = check_external_busy(conn, staff_id, in.starts, ends, NULL, err))) return rc;
  char id[37];
  rc = insert_row(conn, caller, &in, loc_id, *staff_id ? staff_id : NULL,
                  *et_id ? et_id : NULL, in.tz ? in.tz : tz, ends, id, err);
  if (!rc) rc = sc_outbox_enqueue(conn, caller->org_id, id, SC_JOB_CREATE, err);
  if (rc) return rc;
  return sc_appt_get(conn, caller, id, out, err);
}

/* ---- update ------------------------------------------------------------ */

struct current {
  char location_id[37];
  char staff_id[37];
  char starts[40], ends[40];
  enum sc_appt_status status;
  int version;
};

static int load_for_update(PGconn *conn, const struct sc_caller *c, const char *id,
                           struct current *cur, struct sc_error *err) {
  if (!sc_uuid_valid(id)) return sc_error_set(err, SC_ENOTFOUND, "id", "no appointment %s", id);
  struct sc_sqlbuf b;
  sc_sqlbuf_init(&b, "SELECT a.location_id, coalesce(a.staff_id::text, ''), sc_utc(a.starts_at),"
                     " sc_utc(a.ends_at), a.status, a.version FROM appointments a WHERE true");
  sc_sqlbuf_bind(&b, " AND a.id = %s::uuid", id);
  sc_appt_scope_where(&b, c);
  sc_sqlbuf_add(&b, " FOR UPDATE OF a");
  PGresult *r;
  int rc = sc_sqlbuf_exec(conn, &b, &r, err);
  sc_sqlbuf_free(&b);
  if (rc) return rc;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return sc_error_set(err, SC_ENOTFOUND, "id", "no appointment %s", id);
  }
  snprintf(cur->location_id, sizeof cur->location_id, "%s", PQgetvalue(r, 0, 0));
  snprintf(cur->staff_id, sizeof cur->staff_id, "%s", PQgetvalue(r, 0, 1));
  snprintf(cur->starts, sizeof cur->starts, "%s", PQgetvalue(r, 0, 2));
  snprintf(cur->ends, sizeof cur->ends, "%s", PQgetvalue(r, 0, 3));
  sc_appt_status_parse(PQgetvalue(r, 0, 4), "status", &cur->status, NULL);
  cur->version = atoi(PQgetvalue(r, 0, 5));
  PQclear(r);
  return SC_OK;
}

/* If-Match carries the version as an entity tag: "3" or W/"3". */
static int check_if_match(const char *if_match, int version, struct sc_error *err) {
  if (!if_match) return SC_OK;
  const char *p = if_match;
  if (!strncmp(p, "W/", 2)) p += 2;
  char want[32];
  snprintf(want, sizeof want, "\"%d\"", version);
  if (strcmp(p, want) == 0 || strcmp(if_match, "*") == 0) return SC_OK;
  return sc_error_set(err, SC_EPRECONDITION, "If-Match",
                      "If-Match %s does not match the current version \"%d\"; "
                      "fetch the appointment again", if_match, version);
}

struct patch_in {
  const char *staff, *starts, *ends, *tz, *status;
  enum sc_json_has has_staff, has_starts, has_ends, has_tz, has_status, has_all_day,
      has_price, has_meta;
  int all_day;
  char price[32];
  json_object *meta;
  const char *texts[N_TEXT];
  enum sc_json_has has_texts[N_TEXT];
};

static int required_not_null(enum sc_json_has h, const char *field, struct sc_error *err) {
  if (h == SC_JSON_NULL) return sc_error_set(err, SC_EINVAL, field, "%s: cannot be null", field);
  return SC_OK;
}

static int read_patch(json_object *p, struct patch_in *in, struct sc_error *err) {
  memset(in, 0, sizeof *in);
  int rc = sc_json_only_keys(p, patch_keys, err);
  if (!rc) rc = sc_json_string(p, "staff", &in->has_staff, &in->staff, 64, err);
  if (!rc) rc = sc_json_string(p, "starts_at", &in->has_starts, &in->starts, 64, err);
  if (!rc) rc = required_not_null(in->has_starts, "starts_at", err);
  if (!rc) rc = sc_json_string(p, "ends_at", &in->has_ends, &in->ends, 64, err);
  if (!rc) rc = required_not_null(in->has_ends, "ends_at", err);
  if (!rc) rc = sc_json_string(p, "timezone", &in->has_tz, &in->tz, 64, err);
  if (!rc) rc = required_not_null(in->has_tz, "timezone", err);
  if (!rc && in->tz && !sc_tz_valid(in->tz))
    rc = sc_error_set(err, SC_EINVAL, "timezone", "timezone: unknown time zone \"%s\"", in->tz);
  if (!rc) rc = sc_json_string(p, "status", &in->has_status, &in->status, 32, err);
  if (!rc) rc = required_not_null(in->has_status, "status", err);
  if (!rc) rc = sc_json_bool(p, "all_day", &in->has_all_day, &in->all_day, err);
  if (!rc) rc = required_not_null(in->has_all_day, "all_day", err);
  if (!rc) rc = check_price(p, in->price, sizeof in->price, &in->has_price, err);
  if (!rc) rc = sc_json_object(p, "metadata", &in->has_meta, &in->meta, err);
  if (!rc) rc = check_texts(p, in->texts, in->has_texts, err);
  return rc;
}

/* Decides the new status: an explicit one must be an allowed transition;
** a time change of an active appointment makes it RESCHEDULED. */
static int next_status(const struct current *cur, const struct patch_in *in, int moved,
                       enum sc_appt_status *to, struct sc_error *err) {
  *to = cur->status;
  if (in->status) {
    if (sc_appt_status_parse(in->status, "status", to, err)) return SC_EINVAL;
  } else if (moved && sc_appt_status_blocks_time(cur->status) && cur->status != SC_APPT_IN_PROGRESS) {
    *to = SC_APPT_RESCHEDULED;
  }
  return sc_appt_status_check(cur->status, *to, err);
}

static void bind_status_columns(struct sc_sqlbuf *b, enum sc_appt_status from,
                                enum sc_appt_status to) {
  if (from == to) return;
  sc_sqlbuf_bind(b, ", status = %s::appointment_status", sc_appt_status_name(to));
  if (to == SC_APPT_CANCELLED) sc_sqlbuf_add(b, ", cancelled_at = now()");
  if (to == SC_APPT_COMPLETED) sc_sqlbuf_add(b, ", completed_at = now()");
}

static void bind_patch_columns(struct sc_sqlbuf *b, const struct patch_in *in) {
  for (size_t i = 0; i < N_TEXT; i++) {
    if (in->has_texts[i] == SC_JSON_ABSENT) continue;
    char frag[64];
    snprintf(frag, sizeof frag, ", %s = %%s", text_fields[i][1]);
    sc_sqlbuf_bind(b, frag, in->texts[i]);
  }
  if (in->has_tz == SC_JSON_VALUE) sc_sqlbuf_bind(b, ", timezone = %s", in->tz);
  if (in->has_all_day == SC_JSON_VALUE)
    sc_sqlbuf_bind(b, ", all_day = %s::boolean", in->all_day ? "true" : "false");
  if (in->has_price != SC_JSON_ABSENT)
    sc_sqlbuf_bind(b, ", price = %s::numeric", in->has_price == SC_JSON_VALUE ? in->price : NULL);
  if (in->has_meta == SC_JSON_NULL) sc_sqlbuf_add(b, ", metadata = '{}'");
}

/* metadata follows merge-patch rules key by key, done in C on the stored
** object so nested nulls delete nested keys. */
static int merged_metadata(PGconn *conn, const char *id, json_object *patch, char **out,
                           struct sc_error *err) {
  const char *p[1] = {id};
  PGresult *r;
  int rc = sc_db_exec(conn, "SELECT metadata::text FROM appointments WHERE id = $1::uuid",
                      1, p, &r, err);
  if (rc) return rc;
  json_object *cur = json_tokener_parse(PQgetvalue(r, 0, 0));
  PQclear(r);
  if (!cur) cur = json_object_new_object();
  sc_json_merge_patch(cur, patch);
  *out = g_strdup(json_object_to_json_string(cur));
  json_object_put(cur);
  return SC_OK;
}

static int apply_update(PGconn *conn, const struct sc_caller *caller, const char *id,
                        const struct current *cur, const struct patch_in *in,
                        const char *staff_id, const char *starts, const char *ends,
                        enum sc_appt_status to, struct sc_error *err) {
  struct sc_sqlbuf b;
  sc_sqlbuf_init(&b, "UPDATE appointments SET version = version + 1, updated_at = now()");
  if (strcmp(starts, cur->starts) || strcmp(ends, cur->ends)) {
    sc_sqlbuf_bind(&b, ", starts_at = %s::timestamptz", starts);
    sc_sqlbuf_bind(&b, ", ends_at = %s::timestamptz", ends);
  }
  if (in->has_staff != SC_JSON_ABSENT)
    sc_sqlbuf_bind(&b, ", staff_id = %s::uuid", *staff_id ? staff_id : NULL);
  bind_status_columns(&b, cur->status, to);
  bind_patch_columns(&b, in);
  char *meta = NULL;
  int rc = SC_OK;
  if (in->has_meta == SC_JSON_VALUE) {
    rc = merged_metadata(conn, id, in->meta, &meta, err);
    sc_sqlbuf_bind(&b, ", metadata = %s::jsonb", meta);
  }
  sc_sqlbuf_bind(&b, " WHERE id = %s::uuid", id);
  if (!rc) rc = sc_sqlbuf_exec(conn, &b, NULL, err);
  sc_sqlbuf_free(&b);
  g_free(meta);
  (void)caller;
  return conflict_message(rc, err);
}

int sc_appt_update(PGconn *conn, const struct sc_caller *caller, const char *id,
                   json_object *patch, const char *if_match, json_object **out,
                   struct sc_error *err) {
  struct current cur;
  struct patch_in in;
  int rc = load_for_update(conn, caller, id, &cur, err);
  if (!rc) rc = check_if_match(if_match, cur.version, err);
  if (!rc) rc = read_patch(patch, &in, err);
  if (rc) return rc;
  char staff_id[37];
  snprintf(staff_id, sizeof staff_id, "%s", cur.staff_id);
  if (in.has_staff == SC_JSON_NULL && caller->role == SC_ROLE_STAFF)
    return sc_error_set(err, SC_EINVAL, "staff", "staff: a staff key cannot unassign itself");
  if (in.has_staff == SC_JSON_NULL) staff_id[0] = '\0';
  if (in.staff && (rc = resolve_staff(conn, caller, in.staff, cur.location_id, staff_id, err)))
    return rc;
  const char *starts = in.starts ? in.starts : cur.starts;
  const char *ends = in.ends ? in.ends : cur.ends;
  int64_t s, e, s0, e0;
  if ((rc = check_times(starts, ends, &s, &e, err))) return rc;
  sc_time_parse_rfc3339(cur.starts, "starts_at", &s0, NULL, NULL);
  sc_time_parse_rfc3339(cur.ends, "ends_at", &e0, NULL, NULL);
  int moved = s != s0 || e != e0;
  enum sc_appt_status to;
  if ((rc = next_status(&cur, &in, moved, &to, err))) return rc;
  char s_txt[40], e_txt[40];
  sc_time_format_utc(s, s_txt, sizeof s_txt);
  sc_time_format_utc(e, e_txt, sizeof e_txt);
  int reassigned = strcmp(staff_id, cur.staff_id) != 0;
  if (*staff_id && sc_appt_status_blocks_time(to) && (moved || reassigned) &&
      (rc = check_external_busy(conn, staff_id, s_txt, e_txt, id, err)))
    return rc;
  rc = apply_update(conn, caller, id, &cur, &in, staff_id, s_txt, e_txt, to, err);
  if (!rc) rc = sc_outbox_enqueue(conn, caller->org_id, id,
                                  to == SC_APPT_CANCELLED ? SC_JOB_CANCEL : SC_JOB_UPDATE, err);
  if (rc) return rc;
  return sc_appt_get(conn, caller, id, out, err);
}

int sc_appt_cancel(PGconn *conn, const struct sc_caller *caller, const char *id,
                   const char *reason, json_object **out, struct sc_error *err) {
  struct current cur;
  int rc = load_for_update(conn, caller, id, &cur, err);
  if (rc) return rc;
  if ((rc = sc_appt_status_check(cur.status, SC_APPT_CANCELLED, err))) return rc;
  if (cur.status != SC_APPT_CANCELLED) {
    const char *p[2] = {id, reason};
    rc = sc_db_exec(conn,
        "UPDATE appointments SET status = 'CANCELLED', cancelled_at = now(),"
        " cancel_reason = $2, version = version + 1, updated_at = now() WHERE id = $1::uuid",
        2, p, NULL, err);
    if (!rc) rc = sc_outbox_enqueue(conn, caller->org_id, id, SC_JOB_CANCEL, err);
    if (rc) return rc;
  }
  return sc_appt_get(conn, caller, id, out, err);
}
