/*
** Race-free booking (see booking.h).
*/
#include "booking.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avail_service.h"
#include "db.h"
#include "sync_enqueue.h"
#include "timeutil.h"

#define SC_BOOKING_MAX_STAFF 256

struct candidate {
  const struct sc_cat_staff *staff;
  long booked;
};

static int cmp_candidate(const void *a, const void *b) {
  const struct candidate *x = a, *y = b;
  if (x->booked != y->booked) return x->booked < y->booked ? -1 : 1;
  return strcmp(x->staff->slug, y->staff->slug);
}

static sc_date local_date(const char *zone, int64_t instant) {
  GTimeZone *tz = sc_tz_get(zone);
  int64_t local = instant + sc_tz_offset(tz, instant);
  return (sc_date)(local >= 0 ? local / 86400 : (local - 86399) / 86400);
}

/* Appointments per candidate on the local day of the requested start, in
** one round trip whatever the number of candidates. The day is asked as
** [local midnight, next local midnight) so each count is a lookup in the
** staff member's busy index (core/sql/008), not a scan of their calendar. */
static int count_booked(PGconn *conn, const struct sc_booking *b, struct candidate *c,
                        size_t n, struct sc_error *err) {
  char start[32];
  sc_time_format_utc(b->start, start, sizeof start);
  GString *ids = g_string_new("{");
  for (size_t i = 0; i < n; i++) g_string_append_printf(ids, "%s%s", i ? "," : "", c[i].staff->id);
  g_string_append_c(ids, '}');
  const char *p[4] = {b->org->id, ids->str, b->loc->timezone, start};
  PGresult *r;
  int rc = sc_db_exec_prep(conn,
      "SELECT u.id::text, (SELECT count(*) FROM appointments a WHERE a.organization_id = $1::uuid"
      "  AND a.staff_id = u.id AND a.status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS')"
      "  AND a.starts_at >= d.lo AND a.starts_at < d.hi)"
      " FROM unnest($2::uuid[]) u(id),"
      " (SELECT day::timestamp AT TIME ZONE $3 AS lo, (day + 1)::timestamp AT TIME ZONE $3 AS hi"
      "  FROM (SELECT ($4::timestamptz AT TIME ZONE $3)::date AS day) x) d",
      4, p, &r, err);
  g_string_free(ids, TRUE);
  if (rc) return rc;
  for (int row = 0; row < PQntuples(r); row++)
    for (size_t i = 0; i < n; i++)
      if (!strcmp(c[i].staff->id, PQgetvalue(r, row, 0))) c[i].booked = atol(PQgetvalue(r, row, 1));
  PQclear(r);
  qsort(c, n, sizeof *c, cmp_candidate);
  return SC_OK;
}

/* Per candidate, sent in the same round trip as the availability loads:
** the member's lock, and the note that this transaction sends its
** availability notice itself after COMMIT (sc_booking_commit). */
static const char SQL_LOCK[] =
    "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0)),"
    " set_config('sidecal.avail_notice', 'after_commit', true)";

/* Locks the member, then recomputes their day from the database. */
static int offered(struct sc_db_pool *pool, PGconn *conn, struct sc_avail_cache *cache,
                   const struct sc_booking *b, const struct sc_cat_staff *st, int *ok,
                   struct sc_error *err) {
  const char *p[2] = {b->org->id, st->id};
  struct sc_db_stmt lock = {SQL_LOCK, 2, p, NULL};
  sc_date d = local_date(b->loc->timezone, b->start);
  /* A slot starts on its rule day's local date (rules end by 24:00). */
  struct sc_avail_request rq = {.org = b->org, .loc = b->loc, .et = b->et, .from = d,
                                .to = d, .now = b->now, .bypass_cache = 1,
                                .probe = b->start, .lead = &lock};
  struct sc_staff_slots ss;
  int rc = sc_avail_staff_slots(pool, conn, cache, &rq, st, &ss, err);
  if (rc) return rc;
  *ok = 0;
  for (size_t i = 0; i < ss.n && !*ok; i++) *ok = ss.starts[i] == b->start;
  sc_staff_slots_free(&ss);
  return SC_OK;
}

static const char SQL_INSERT[] =
    "INSERT INTO appointments (id, organization_id, location_id, staff_id, event_type_id,"
    " starts_at, ends_at, timezone, client_name, client_email, client_phone, notes, title,"
    " type, price, metadata)"
    " SELECT $14::uuid, $1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::timestamptz, $6::timestamptz,"
    " $7, $8, $9, $10, $11, $12, $12, e.price, $13::jsonb FROM event_types e WHERE e.id = $4::uuid";

/* The row and its outbox jobs in one round trip: the id is made here so
** the enqueue needs nothing back from the INSERT. */
static int insert(PGconn *conn, const struct sc_booking *b, const struct sc_cat_staff *st,
                  char id[37], struct sc_error *err) {
  char start[32], end[32];
  sc_time_format_utc(b->start, start, sizeof start);
  sc_time_format_utc(b->start + (int64_t)b->et->duration * 60, end, sizeof end);
  char *uuid = g_uuid_string_random();
  snprintf(id, 37, "%s", uuid);
  g_free(uuid);
  const char *meta = b->metadata ? json_object_to_json_string(b->metadata) : "{}";
  const char *p[14] = {b->org->id, b->loc->id, st->id, b->et->id, start, end,
                       b->timezone ? b->timezone : b->loc->timezone, b->client_name,
                       b->client_email, b->client_phone, b->notes, b->et->title, meta, id};
  const char *jp[4];
  struct sc_db_stmt q[2] = {{SQL_INSERT, 14, p, NULL},
                            sc_outbox_enqueue_stmt(b->org->id, id, SC_JOB_CREATE, jp)};
  int rc = sc_db_exec_prep_many(conn, q, 2, err);
  if (!rc && atoi(PQcmdTuples(q[0].res)) != 1)
    rc = sc_error_set(err, SC_EINTERNAL, NULL, "event type %s vanished while booking", b->et->slug);
  PQclear(q[0].res);
  PQclear(q[1].res);
  return rc;
}

/* One candidate under its lock; *done when booked. With other candidates
** left, a savepoint lets a constraint conflict fall through to the next
** one; for the last (or only) one a conflict is simply the answer. */
static int try_staff(struct sc_db_pool *pool, PGconn *conn, struct sc_avail_cache *cache,
                     const struct sc_booking *b, const struct sc_cat_staff *st, int last,
                     char id[37], int *done, struct sc_error *err) {
  *done = 0;
  int rc = last ? SC_OK : sc_db_run(conn, "SAVEPOINT booking_try", err);
  int ok = 0;
  if (!rc) rc = offered(pool, conn, cache, b, st, &ok, err);
  if (!rc && ok) {
    rc = insert(conn, b, st, id, err);
    if (rc == SC_ECONFLICT && !last) {
      sc_db_run(conn, "ROLLBACK TO SAVEPOINT booking_try", NULL);
      return SC_OK;
    }
    if (rc == SC_ECONFLICT) return SC_OK;  /* reported as slot_taken */
    *done = !rc;
  }
  if (!rc && !last) rc = sc_db_run(conn, "RELEASE SAVEPOINT booking_try", err);
  return rc;
}

int sc_booking_make(struct sc_db_pool *pool, PGconn *conn, struct sc_avail_cache *cache,
                    const struct sc_booking *b, char id[37],
                    const struct sc_cat_staff **chosen, struct sc_error *err) {
  struct candidate c[SC_BOOKING_MAX_STAFF];
  const struct sc_cat_staff *list[SC_BOOKING_MAX_STAFF];
  size_t n = sc_avail_candidates(b->org, b->loc, b->et, list, SC_BOOKING_MAX_STAFF), k = 0;
  for (size_t i = 0; i < n; i++)
    if (!b->staff || list[i] == b->staff) c[k++] = (struct candidate){list[i], 0};
  /* Fewest bookings first only matters when there is a choice. */
  int rc = k > 1 ? count_booked(conn, b, c, k, err) : SC_OK;
  for (size_t i = 0; !rc && i < k; i++) {
    int done = 0;
    rc = try_staff(pool, conn, cache, b, c[i].staff, i + 1 == k, id, &done, err);
    if (!rc && done) {
      *chosen = c[i].staff;
      return SC_OK;
    }
  }
  if (rc) return rc;
  sc_error_set(err, SC_ECONFLICT, "start", "start: that time is no longer available");
  return sc_error_kind(err, "slot_taken");
}

int sc_booking_commit(PGconn *conn, const struct sc_booking *b, const struct sc_cat_staff *chosen,
                      struct sc_error *err) {
  /* The payload the appointments trigger would have sent (core/sql/003). */
  char payload[128];
  snprintf(payload, sizeof payload, "%s %s %s", b->org->id, chosen->id, b->loc->id);
  return sc_db_commit_notify(conn, "sidecal_avail", payload, err);
}
