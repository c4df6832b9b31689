/*
** Provider changes into the database (see sync_apply.h): external busy for
** staff calendars, appointments for systems of record, with echo
** suppression and the conflict rule.
*/
#include "sync_apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appointment_status.h"
#include "db.h"
#include "log.h"
#include "sync_enqueue.h"
#include "uuid.h"

int sc_sync_target_load(PGconn *conn, const char *name, struct sc_sync_target *t,
                        struct sc_error *err) {
  const char *p[1] = {name};
  PGresult *r;
  int rc = sc_db_exec_prep(conn,
      "SELECT ci.organization_id, ci.id, ci.name, coalesce(ci.location_id::text, ''),"
      " coalesce(ci.staff_id::text, ''), coalesce(l.timezone, 'UTC')"
      " FROM connector_instances ci LEFT JOIN locations l"
      "  ON l.organization_id = ci.organization_id AND l.id = ci.location_id"
      " WHERE ci.name = $1 AND ci.active", 1, p, &r, err);
  if (rc) return rc;
  if (PQntuples(r) != 1) {
    PQclear(r);
    return sc_error_set(err, SC_ENOTFOUND, NULL, "no active connector instance %s", name);
  }
  memset(t, 0, sizeof *t);
  snprintf(t->org, sizeof t->org, "%s", PQgetvalue(r, 0, 0));
  snprintf(t->instance_id, sizeof t->instance_id, "%s", PQgetvalue(r, 0, 1));
  snprintf(t->name, sizeof t->name, "%s", PQgetvalue(r, 0, 2));
  snprintf(t->location_id, sizeof t->location_id, "%s", PQgetvalue(r, 0, 3));
  snprintf(t->staff_id, sizeof t->staff_id, "%s", PQgetvalue(r, 0, 4));
  snprintf(t->timezone, sizeof t->timezone, "%s", PQgetvalue(r, 0, 5));
  PQclear(r);
  return SC_OK;
}

/* ---- shared ------------------------------------------------------------ */

/* The appointment id of a "sidecal:<uuid>" marker, or NULL. */
static const char *our_marker(const struct sidecal_event *ev) {
  if (!SIDECAL_EVENT_HAS(ev, marker) || !ev->marker) return NULL;
  if (strncmp(ev->marker, "sidecal:", 8) || !sc_uuid_valid(ev->marker + 8)) return NULL;
  return ev->marker + 8;
}

/* The provider's finer status (ABI 1.2) when it names one of ours, else
** the three-valued event status. */
static const char *status_of(const struct sidecal_event *ev) {
  enum sc_appt_status st;
  if (SIDECAL_EVENT_HAS(ev, appointment_status) && ev->appointment_status &&
      sc_appt_status_parse(ev->appointment_status, "appointment_status", &st, NULL) == SC_OK)
    return sc_appt_status_name(st);
  return ev->status == SIDECAL_EVENT_CANCELLED   ? "CANCELLED"
         : ev->status == SIDECAL_EVENT_TENTATIVE ? "SCHEDULED"
                                                 : "CONFIRMED";
}

struct ours {
  int found;
  char id[37];
  char etag[256];
  int64_t updated, start, end;
  int cancelled;
  char status[16];
  char title[512];
};

static int load_link(PGconn *conn, const struct sc_sync_target *t, const char *ext_id,
                     struct ours *o, struct sc_error *err) {
  const char *p[3] = {t->org, t->instance_id, ext_id};
  PGresult *r;
  int rc = sc_db_exec_prep(conn,
      "SELECT a.id, coalesce(l.etag, ''), floor(extract(epoch FROM a.updated_at))::bigint,"
      " extract(epoch FROM a.starts_at)::bigint, extract(epoch FROM a.ends_at)::bigint,"
      " a.status, coalesce(a.title, '')"
      " FROM appointment_links l JOIN appointments a"
      "  ON a.organization_id = l.organization_id AND a.id = l.appointment_id"
      " WHERE l.organization_id = $1::uuid AND l.instance_id = $2::uuid AND l.external_id = $3"
      " FOR UPDATE OF a", 3, p, &r, err);
  if (rc) return rc;
  memset(o, 0, sizeof *o);
  o->found = PQntuples(r) == 1;
  if (o->found) {
    snprintf(o->id, sizeof o->id, "%s", PQgetvalue(r, 0, 0));
    snprintf(o->etag, sizeof o->etag, "%s", PQgetvalue(r, 0, 1));
    o->updated = atoll(PQgetvalue(r, 0, 2));
    o->start = atoll(PQgetvalue(r, 0, 3));
    o->end = atoll(PQgetvalue(r, 0, 4));
    snprintf(o->status, sizeof o->status, "%s", PQgetvalue(r, 0, 5));
    o->cancelled = !strcmp(o->status, "CANCELLED");
    snprintf(o->title, sizeof o->title, "%s", PQgetvalue(r, 0, 6));
  }
  PQclear(r);
  return SC_OK;
}

/* Links an event that carries our marker to that appointment, when the
** appointment exists in this organization and has no link here yet. */
static int adopt(PGconn *conn, const struct sc_sync_target *t, const struct sidecal_event *ev,
                 const char *appt, struct sc_error *err) {
  const char *p[5] = {t->org, t->instance_id, ev->external_id, appt, ev->etag};
  return sc_db_exec(conn,
      "INSERT INTO appointment_links (organization_id, instance_id, external_id, appointment_id, etag)"
      " SELECT $1::uuid, $2::uuid, $3, a.id, $5 FROM appointments a"
      " WHERE a.organization_id = $1::uuid AND a.id = $4::uuid"
      " ON CONFLICT DO NOTHING", 5, p, NULL, err);
}

static void epoch(char *buf, size_t n, int64_t v) { snprintf(buf, n, "%lld", (long long)v); }

/* ---- staff calendars: external busy -------------------------------------- */

static int is_linked(PGconn *conn, const struct sc_sync_target *t, const char *ext_id,
                     int *linked, struct sc_error *err) {
  const char *p[3] = {t->org, t->instance_id, ext_id};
  PGresult *r;
  int rc = sc_db_exec(conn, "SELECT 1 FROM appointment_links WHERE organization_id = $1::uuid"
                            " AND instance_id = $2::uuid AND external_id = $3", 3, p, &r, err);
  if (rc) return rc;
  *linked = PQntuples(r) > 0;
  PQclear(r);
  return SC_OK;
}

static int remove_busy(PGconn *conn, const struct sc_sync_target *t, const char *ext_id,
                       struct sc_sync_counts *n, struct sc_error *err) {
  const char *p[3] = {t->org, t->instance_id, ext_id};
  PGresult *r;
  int rc = sc_db_exec(conn, "DELETE FROM external_busy WHERE organization_id = $1::uuid"
                            " AND instance_id = $2::uuid AND external_id = $3", 3, p, &r, err);
  if (rc) return rc;
  n->busy_removed += atoi(PQcmdTuples(r));
  PQclear(r);
  return SC_OK;
}

static int apply_busy(PGconn *conn, const struct sc_sync_target *t,
                      const struct sidecal_event *ev, struct sc_sync_counts *n,
                      struct sc_error *err) {
  int linked = 0;
  int rc = is_linked(conn, t, ev->external_id, &linked, err);
  if (rc) return rc;
  if (linked || our_marker(ev)) {
    n->echoes++;
    return SC_OK;
  }
  if (ev->status == SIDECAL_EVENT_CANCELLED) return remove_busy(conn, t, ev->external_id, n, err);
  char s[24], e[24];
  epoch(s, sizeof s, ev->start_utc);
  epoch(e, sizeof e, ev->end_utc);
  const char *p[5] = {t->org, t->instance_id, ev->external_id, s, e};
  PGresult *r;
  /* Unchanged rows are not rewritten: no trigger, no cache invalidation. */
  rc = sc_db_exec(conn,
      "INSERT INTO external_busy AS x (organization_id, instance_id, external_id, starts_at, ends_at)"
      " VALUES ($1::uuid, $2::uuid, $3, to_timestamp($4::bigint), to_timestamp($5::bigint))"
      " ON CONFLICT (organization_id, instance_id, external_id) DO UPDATE"
      " SET starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, written_at = clock_timestamp()"
      " WHERE (x.starts_at, x.ends_at) IS DISTINCT FROM (EXCLUDED.starts_at, EXCLUDED.ends_at)",
      5, p, &r, err);
  if (rc) return rc;
  if (atoi(PQcmdTuples(r))) n->busy++;
  else n->unchanged++;
  PQclear(r);
  return SC_OK;
}

/* ---- systems of record: appointments -------------------------------------- */

static const char *attendee(const struct sidecal_event *ev, int which) {
  if (!ev->n_attendees || !ev->attendees) return NULL;
  return which == 0 ? ev->attendees[0].name : which == 1 ? ev->attendees[0].email
                                                         : ev->attendees[0].phone;
}

static int import(PGconn *conn, const struct sc_sync_target *t, const struct sidecal_event *ev,
                  struct sc_sync_counts *n, struct sc_error *err) {
  if (ev->status == SIDECAL_EVENT_CANCELLED) {
    n->ignored++;
    return SC_OK;
  }
  char s[24], e[24];
  epoch(s, sizeof s, ev->start_utc);
  epoch(e, sizeof e, ev->end_utc);
  /* ABI 1.3: the provider's assigned user, mapped by the connector to our
  ** staff slug; only a member who works at the location is taken. */
  const char *staff = SIDECAL_EVENT_HAS(ev, staff) ? ev->staff : NULL;
  const char *p[17] = {t->org, t->location_id, s, e, ev->timezone ? ev->timezone : t->timezone,
                       ev->all_day ? "true" : "false", ev->title, ev->description, ev->location,
                       attendee(ev, 0), attendee(ev, 1), attendee(ev, 2), status_of(ev),
                       t->instance_id, ev->external_id, ev->etag, staff};
  PGresult *r;
  int rc = sc_db_exec_prep(conn,
      "WITH who AS (SELECT (SELECT s.id FROM staff s JOIN staff_locations sl"
      "   ON sl.organization_id = s.organization_id AND sl.staff_id = s.id"
      "   WHERE s.organization_id = $1::uuid AND s.slug = $17 AND s.active"
      "   AND sl.location_id = $2::uuid) AS staff_id),"
      " ins AS (INSERT INTO appointments (organization_id, location_id, staff_id, starts_at,"
      "  ends_at, timezone, all_day, title, description, location, client_name, client_email,"
      "  client_phone, status, origin, overlap)"
      " SELECT $1::uuid, $2::uuid, who.staff_id, to_timestamp($3::bigint), to_timestamp($4::bigint),"
      "  $5, $6::boolean, $7, $8, $9, $10, $11, $12, $13::appointment_status, 'import',"
      /* Overlap: with the staff member's time when known, else the location's;
      ** two lookups so each has its GiST index (core/sql/008), never a scan
      ** of the whole calendar. */
      "  CASE WHEN who.staff_id IS NULL THEN EXISTS (SELECT 1 FROM appointments o"
      "    WHERE o.organization_id = $1::uuid AND o.location_id = $2::uuid"
      "    AND o.status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS')"
      "    AND o.starts_at < to_timestamp($4::bigint) AND o.ends_at > to_timestamp($3::bigint))"
      "  ELSE EXISTS (SELECT 1 FROM appointments o"
      "    WHERE o.organization_id = $1::uuid AND o.staff_id = who.staff_id"
      "    AND o.status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS')"
      "    AND o.starts_at < to_timestamp($4::bigint) AND o.ends_at > to_timestamp($3::bigint)) END"
      "  FROM who RETURNING id)"
      " INSERT INTO appointment_links (organization_id, instance_id, external_id, appointment_id, etag)"
      " SELECT $1::uuid, $14::uuid, $15, id, $16 FROM ins RETURNING appointment_id",
      17, p, &r, err);
  if (rc) return rc;
  char id[37];
  snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  n->imported++;
  return sc_outbox_enqueue_except(conn, t->org, id, SC_JOB_CREATE, t->instance_id, NULL, err);
}

static int set_etag(PGconn *conn, const struct sc_sync_target *t, const char *ext_id,
                    const char *etag, struct sc_error *err) {
  const char *p[4] = {t->org, t->instance_id, ext_id, etag};
  return sc_db_exec(conn,
      "UPDATE appointment_links SET etag = $4, updated_at = now() WHERE organization_id = $1::uuid"
      " AND instance_id = $2::uuid AND external_id = $3 AND etag IS DISTINCT FROM $4",
      4, p, NULL, err);
}

static int same_content(const struct ours *o, const struct sidecal_event *ev) {
  return o->start == ev->start_utc && o->end == ev->end_utc &&
         o->cancelled == (ev->status == SIDECAL_EVENT_CANCELLED) &&
         !strcmp(o->title, ev->title ? ev->title : "");
}

/* The provider's newer version replaces ours. A time that collides with
** another sidecal booking is still applied: the row becomes an import
** flagged overlap (the exclusion constraint binds sidecal-made rows only). */
static int apply_theirs(PGconn *conn, const struct sc_sync_target *t, const struct ours *o,
                        const struct sidecal_event *ev, struct sc_sync_counts *n,
                        struct sc_error *err) {
  const char *to = ev->status == SIDECAL_EVENT_CANCELLED ? "CANCELLED"
                   : o->cancelled                        ? status_of(ev)
                                                         : o->status;
  enum sc_appt_status from_s, to_s;
  if (!sc_appt_status_parse(o->status, "status", &from_s, NULL) &&
      !sc_appt_status_parse(to, "status", &to_s, NULL) &&
      sc_appt_status_check(from_s, to_s, NULL) != SC_OK)
    sc_log_warn("event=sync_status_override instance=%s appointment=%s from=%s to=%s",
                t->name, o->id, o->status, to);
  char s[24], e[24];
  epoch(s, sizeof s, ev->start_utc);
  epoch(e, sizeof e, ev->end_utc);
  const char *p[6] = {t->org, o->id, s, e, ev->title, to};
  static const char *const sql_head =
      "UPDATE appointments SET starts_at = to_timestamp($3::bigint),"
      " ends_at = to_timestamp($4::bigint), title = $5, status = $6::appointment_status,"
      " cancelled_at = CASE WHEN $6 = 'CANCELLED' THEN coalesce(cancelled_at, now()) END,"
      " version = version + 1, updated_at = now()";
  char sql[1024];
  snprintf(sql, sizeof sql, "%s WHERE organization_id = $1::uuid AND id = $2::uuid", sql_head);
  int rc = sc_db_run(conn, "SAVEPOINT sync_apply", err);
  if (!rc) rc = sc_db_exec(conn, sql, 6, p, NULL, err);
  if (rc == SC_ECONFLICT) {
    sc_db_run(conn, "ROLLBACK TO SAVEPOINT sync_apply", NULL);
    sc_log_warn("event=sync_overlap instance=%s appointment=%s", t->name, o->id);
    snprintf(sql, sizeof sql, "%s, origin = 'import', overlap = true"
             " WHERE organization_id = $1::uuid AND id = $2::uuid", sql_head);
    rc = sc_db_exec(conn, sql, 6, p, NULL, err);
  }
  if (!rc) rc = sc_db_run(conn, "RELEASE SAVEPOINT sync_apply", err);
  if (!rc) rc = set_etag(conn, t, ev->external_id, ev->etag, err);
  if (rc) return rc;
  n->updated++;
  return sc_outbox_enqueue_except(conn, t->org, o->id,
                                  !strcmp(to, "CANCELLED") ? SC_JOB_CANCEL : SC_JOB_UPDATE,
                                  t->instance_id, NULL, err);
}

static int record_conflict(PGconn *conn, const struct sc_sync_target *t, const struct ours *o,
                           const struct sidecal_event *ev, struct sc_sync_counts *n,
                           struct sc_error *err) {
  char s[24], e[24];
  epoch(s, sizeof s, ev->start_utc);
  epoch(e, sizeof e, ev->end_utc);
  const char *p[8] = {t->org, o->id, s, e, ev->status == SIDECAL_EVENT_CANCELLED ? "t" : "f",
                      ev->title ? ev->title : "", t->instance_id, ev->external_id};
  PGresult *r;
  int rc = sc_db_exec(conn,
      "WITH ours AS (SELECT jsonb_build_object('starts_at', sc_utc(starts_at),"
      "   'ends_at', sc_utc(ends_at), 'cancelled', status = 'CANCELLED',"
      "   'title', coalesce(title, '')) AS o"
      "  FROM appointments WHERE organization_id = $1::uuid AND id = $2::uuid),"
      " theirs AS (SELECT jsonb_build_object('starts_at', sc_utc(to_timestamp($3::bigint)),"
      "   'ends_at', sc_utc(to_timestamp($4::bigint)), 'cancelled', $5::boolean,"
      "   'title', $6::text) AS t)"
      " INSERT INTO sync_conflicts (organization_id, entity, entity_id, instance_id, our_data,"
      "  external_data, diff)"
      " SELECT $1::uuid, 'appointment', $2::uuid, $7::uuid, o,"
      "  t || jsonb_build_object('external_id', $8::text), (SELECT jsonb_object_agg(k,"
      "   jsonb_build_object('ours', o -> k, 'theirs', t -> k)) FROM jsonb_object_keys(o) k"
      "   WHERE o -> k IS DISTINCT FROM t -> k)"
      " FROM ours, theirs WHERE NOT EXISTS (SELECT 1 FROM sync_conflicts c"
      "  WHERE c.organization_id = $1::uuid AND c.entity_id = $2::uuid AND c.resolved_at IS NULL"
      "   AND c.external_data = t || jsonb_build_object('external_id', $8::text))",
      8, p, &r, err);
  if (rc) return rc;
  n->conflicts += atoi(PQcmdTuples(r));
  PQclear(r);
  sc_log_warn("event=sync_conflict instance=%s appointment=%s external_id=%s", t->name, o->id,
              ev->external_id);
  return SC_OK;
}

/* Ours wins: the push must overwrite the version just seen, so the link
** takes its etag (with the old one an If-Match write would only 412). */
static int push_ours(PGconn *conn, const struct sc_sync_target *t, const struct ours *o,
                     const struct sidecal_event *ev, struct sc_sync_counts *n,
                     struct sc_error *err) {
  const char *p[3] = {t->org, t->instance_id, o->id};
  n->pushed_back++;
  int rc = ev->etag && *ev->etag ? set_etag(conn, t, ev->external_id, ev->etag, err) : SC_OK;
  if (rc) return rc;
  return sc_db_exec(conn, "INSERT INTO sync_jobs (organization_id, instance_id, appointment_id, kind)"
                          " VALUES ($1::uuid, $2::uuid, $3::uuid, 'update')", 3, p, NULL, err);
}

/* ABI 1.2: the provider gave the event a new id (a Cal.com reschedule), so
** the link of the old id moves to the new one; the appointment then follows
** the event like any change, instead of a second one being imported. */
static int follow_replacement(PGconn *conn, const struct sc_sync_target *t,
                              const struct sidecal_event *ev, struct sc_error *err) {
  if (!SIDECAL_EVENT_HAS(ev, replaces_external_id) || !ev->replaces_external_id ||
      !*ev->replaces_external_id || !strcmp(ev->replaces_external_id, ev->external_id))
    return SC_OK;
  const char *p[4] = {t->org, t->instance_id, ev->replaces_external_id, ev->external_id};
  return sc_db_exec(conn,
      "UPDATE appointment_links SET external_id = $4, etag = NULL, updated_at = now()"
      " WHERE organization_id = $1::uuid AND instance_id = $2::uuid AND external_id = $3"
      " AND NOT EXISTS (SELECT 1 FROM appointment_links n WHERE n.organization_id = $1::uuid"
      "  AND n.instance_id = $2::uuid AND n.external_id = $4)", 4, p, NULL, err);
}

/* A linked event whose version differs from the one we hold. */
static int conflict_rule(PGconn *conn, const struct sc_sync_target *t, const struct ours *o,
                         const struct sidecal_event *ev, struct sc_sync_counts *n,
                         struct sc_error *err) {
  if (same_content(o, ev)) {
    n->unchanged++;
    return ev->etag ? set_etag(conn, t, ev->external_id, ev->etag, err) : SC_OK;
  }
  if (ev->last_modified_utc == 0 || ev->last_modified_utc > o->updated)
    return apply_theirs(conn, t, o, ev, n, err);
  if (ev->last_modified_utc < o->updated) return push_ours(conn, t, o, ev, n, err);
  /* The link takes the etag of the version now on record, so a keep-ours
  ** resolution can overwrite it instead of meeting 412 again. */
  int rc = record_conflict(conn, t, o, ev, n, err);
  if (!rc && ev->etag && *ev->etag) rc = set_etag(conn, t, ev->external_id, ev->etag, err);
  return rc;
}

static int apply_appointment(PGconn *conn, const struct sc_sync_target *t,
                             const struct sidecal_event *ev, struct sc_sync_counts *n,
                             struct sc_error *err) {
  struct ours o;
  int rc = follow_replacement(conn, t, ev, err);
  if (!rc) rc = load_link(conn, t, ev->external_id, &o, err);
  const char *mine = our_marker(ev);
  if (!rc && !o.found && mine) {
    rc = adopt(conn, t, ev, mine, err);
    if (!rc) rc = load_link(conn, t, ev->external_id, &o, err);
  }
  if (rc) return rc;
  if (!o.found) return import(conn, t, ev, n, err);
  if (ev->etag && *ev->etag && *o.etag && !strcmp(ev->etag, o.etag)) {
    n->echoes++;
    return SC_OK;
  }
  return conflict_rule(conn, t, &o, ev, n, err);
}

int sc_sync_apply_refetched(PGconn *conn, const struct sc_sync_target *t,
                            const struct sidecal_event *ev, struct sc_sync_counts *n,
                            struct sc_error *err) {
  struct ours o;
  int rc = load_link(conn, t, ev->external_id, &o, err);
  if (rc || !o.found) return rc;
  return conflict_rule(conn, t, &o, ev, n, err);
}

int sc_sync_apply_event(PGconn *conn, const struct sc_sync_target *t,
                        const struct sidecal_event *ev, struct sc_sync_counts *n,
                        struct sc_error *err) {
  if (!ev->external_id || !*ev->external_id || ev->end_utc <= ev->start_utc) {
    n->ignored++;
    return SC_OK;
  }
  if (*t->staff_id) return apply_busy(conn, t, ev, n, err);
  return apply_appointment(conn, t, ev, n, err);
}

int sc_sync_apply_deleted(PGconn *conn, const struct sc_sync_target *t,
                          const char *external_id, struct sc_sync_counts *n,
                          struct sc_error *err) {
  if (*t->staff_id) return remove_busy(conn, t, external_id, n, err);
  struct ours o;
  int rc = load_link(conn, t, external_id, &o, err);
  if (rc || !o.found) return rc;
  char reason[300];
  snprintf(reason, sizeof reason, "deleted at %s", t->name);
  const char *p[3] = {t->org, o.id, reason};
  if (!o.cancelled) {
    rc = sc_db_exec(conn,
        "UPDATE appointments SET status = 'CANCELLED', cancelled_at = now(), cancel_reason = $3,"
        " version = version + 1, updated_at = now()"
        " WHERE organization_id = $1::uuid AND id = $2::uuid", 3, p, NULL, err);
    if (!rc) n->cancelled++;
  }
  const char *q[3] = {t->org, o.id, t->instance_id};
  if (!rc)
    rc = sc_db_exec(conn, "DELETE FROM appointment_links WHERE organization_id = $1::uuid"
                          " AND appointment_id = $2::uuid AND instance_id = $3::uuid",
                    3, q, NULL, err);
  if (!rc && !o.cancelled)
    rc = sc_outbox_enqueue_except(conn, t->org, o.id, SC_JOB_CANCEL, t->instance_id, NULL, err);
  return rc;
}
