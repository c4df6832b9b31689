/*
** Tests for initial and periodic sync (core/sync_scheduler.c) against a real
** database and the scriptable connector: the initial window (30 days back,
** 90 ahead) imported idempotently, the incremental cursor, 410 → full sync,
** leases (held: skipped; lapsed: taken over), 401 → refresh, refresh
** failure → NEEDS_REAUTH, provider errors counted with the next try at
** interval / 5, health recorded, a full sync of a staff calendar removing
** busy times the provider no longer reports, and the full sync of a
** location instance cancelling linked appointments it no longer reports,
** but not those whose link or push is newer than its listing or whose
** latest push was dead-lettered, nor busy
** times written after the listing began; a listing holds no transaction,
** and the engine's scheduler threads sync two instances at once; a long
** listing renews its lease while it reports, and one that lost it is not
** applied.
*/
#include <glib.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_fixtures.h"
#include "sync_fixture.h"
#include "sync_apply.h"
#include "sync_engine.h"
#include "sync_scheduler.h"

static const struct sc_sched_options sched = {.holder = "me", .interval_ms = 300000};

static struct sc_sched_report sync_once(struct fx *f) {
  struct sc_sched_report rep;
  struct sc_error err;
  if (sc_sched_run_once(f->pool, f->reg, &sched, &rep, &err)) g_error("sched: %s", err.message);
  return rep;
}

/* Writes a provider state with events {id, day offset from now, title}. */
static void seed(const char *state, const char *const *ids, const int *days, size_t n) {
  json_object *st = json_object_new_object(), *events = json_object_new_object();
  long long now = g_get_real_time() / 1000000;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_new_object();
    long long start = now + (long long)days[i] * 86400;
    json_object_object_add(e, "id", json_object_new_string(ids[i]));
    json_object_object_add(e, "start", json_object_new_int64(start));
    json_object_object_add(e, "end", json_object_new_int64(start + 1800));
    json_object_object_add(e, "title", json_object_new_string(ids[i]));
    json_object_object_add(e, "status", json_object_new_int(1));
    json_object_object_add(e, "etag", json_object_new_string("e1"));
    json_object_object_add(e, "seq", json_object_new_int64((int64_t)i + 1));
    json_object_object_add(events, ids[i], e);
  }
  json_object_object_add(st, "events", events);
  json_object_object_add(st, "seq", json_object_new_int64((int64_t)n));
  g_assert_cmpint(json_object_to_file(state, st), ==, 0);
  json_object_put(st);
}

static void make_sync_due(struct fx *f) {
  g_free(q(f, "UPDATE sync_leases SET next_sync_at = now()"));
}

static void test_initial_then_incremental(void) {
  struct fx f;
  fx_init(&f);
  const char *ids[] = {"past40", "past20", "soon", "d80", "d100"};
  const int days[] = {-40, -20, 2, 80, 100};
  seed(f.state, ids, days, 5);
  struct sc_sched_report r = sync_once(&f);
  g_assert_cmpint(r.outcome, ==, SC_SCHED_SYNCED);
  g_assert_cmpstr(r.instance, ==, "acme.miami.scripted");
  g_assert_cmpint(r.full, ==, 1);
  /* 30 days back, 90 ahead. */
  assert_q(&f, "SELECT string_agg(title, ',' ORDER BY starts_at) FROM appointments", "past20,soon,d80");
  assert_q(&f, "SELECT cursor || ' ' || (initial_sync_at IS NOT NULL) || ' ' || (holder IS NULL)"
               " || ' ' || (next_sync_at - now() BETWEEN interval '4 min' AND interval '5 min')"
               " FROM sync_leases", "seq:5 true true true");
  assert_q(&f, "SELECT status || ' ' || (last_sync_at IS NOT NULL) || ' ' ||"
               " (last_duration_ms >= 0) FROM sync_status", "HEALTHY true true");
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_IDLE);  /* not due */

  /* Incremental: only what changed since the cursor; a re-sync is idempotent. */
  json_object *st = provider_of(f.state), *events = json_object_object_get(st, "events");
  json_object *e = json_object_object_get(events, "soon");
  json_object_object_add(e, "title", json_object_new_string("soon moved"));
  json_object_object_add(e, "modified", json_object_new_int64(g_get_real_time() / 1000000 + 100));
  json_object_object_add(e, "etag", json_object_new_string("e2"));
  json_object_object_add(e, "seq", json_object_new_int64(6));
  json_object_object_add(st, "seq", json_object_new_int64(6));
  json_object_to_file(f.state, st);
  json_object_put(st);
  make_sync_due(&f);
  r = sync_once(&f);
  g_assert_cmpint(r.outcome, ==, SC_SCHED_SYNCED);
  g_assert_cmpint(r.full, ==, 0);
  g_assert_cmpint(r.events, ==, 1);
  assert_q(&f, "SELECT string_agg(title, ',' ORDER BY starts_at) FROM appointments",
           "past20,soon moved,d80");
  assert_q(&f, "SELECT cursor FROM sync_leases", "seq:6");
  /* 410: the cursor is dropped and the periodic window (1 back, 62 ahead) synced in full. */
  control(&f, "{\"list\": [\"410\"]}");
  make_sync_due(&f);
  r = sync_once(&f);
  g_assert_cmpint(r.outcome, ==, SC_SCHED_SYNCED);
  g_assert_cmpint(r.cursor_expired, ==, 1);
  g_assert_cmpint(r.full, ==, 1);
  g_assert_cmpint(r.events, ==, 1);  /* "soon moved" only: d80 is beyond 62 days */
  g_assert_cmpint(calls(&f, "list"), ==, 4);
  assert_q(&f, "SELECT count(*) FROM appointments", "3");
  fx_free(&f);
}

static void test_leases(void) {
  struct fx f;
  fx_init(&f);
  seed(f.state, NULL, NULL, 0);
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_SYNCED);
  g_free(q(&f, "UPDATE sync_leases SET holder = 'other', expires_at = now() + interval '1 hour',"
               " next_sync_at = now()"));
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_IDLE);
  g_assert_cmpint(calls(&f, "list"), ==, 1);
  /* The other daemon died: its lease lapses and we take over. */
  g_free(q(&f, "UPDATE sync_leases SET expires_at = now() - interval '1 second'"));
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_SYNCED);
  assert_q(&f, "SELECT coalesce(holder, '-') FROM sync_leases", "-");
  g_assert_cmpint(calls(&f, "list"), ==, 2);
  fx_free(&f);
}

/* What `sidecalctl sync-status` prints for the fixture's database (g_free). */
static char *sync_status_out(struct fx *f) {
  char *bin = sc_test_build_path("core/sidecalctl");
  const char *argv[] = {bin, "sync-status", NULL};
  char **envp = g_environ_setenv(g_get_environ(), "SIDECAL_DATABASE_URL", f->db.url, TRUE);
  char *out = NULL;
  int st = -1;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, envp, 0, NULL, NULL, &out, NULL, &st, NULL));
  g_assert_cmpint(st, ==, 0);
  g_strfreev(envp), g_free(bin);
  return out;
}

static void test_failures_and_reauth(void) {
  struct fx f;
  fx_init(&f);
  seed(f.state, NULL, NULL, 0);
  control(&f, "{\"list\": [\"500\"]}");
  struct sc_sched_report r = sync_once(&f);
  g_assert_cmpint(r.outcome, ==, SC_SCHED_FAILED);
  g_assert_cmpstr(r.error, ==, "HTTP 500 from provider");
  assert_q(&f, "SELECT status || ' ' || error_count || ' ' || last_error || ' ' ||"
               " (last_sync_at IS NULL) FROM sync_status", "DEGRADED 1 HTTP 500 from provider true");
  assert_q(&f, "SELECT (next_sync_at - now() BETWEEN interval '50 s' AND interval '60 s')"
               " || ' ' || (initial_sync_at IS NULL) || ' ' || (holder IS NULL) FROM sync_leases",
           "true true true");
  /* 401, refresh works: synced. */
  control(&f, "{\"list\": [\"401\"]}");
  make_sync_due(&f);
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_SYNCED);
  g_assert_cmpint(calls(&f, "refresh"), ==, 1);
  assert_q(&f, "SELECT status || ' ' || error_count FROM sync_status", "HEALTHY 0");
  /* 401, refresh fails: NEEDS_REAUTH, never silently healthy. */
  control(&f, "{\"list\": [\"401\"], \"refresh\": [\"error\"]}");
  make_sync_due(&f);
  r = sync_once(&f);
  g_assert_cmpint(r.outcome, ==, SC_SCHED_FAILED);
  g_assert_cmpstr(r.error, ==, "credentials rejected and refresh failed: scripted error (error)");
  assert_q(&f, "SELECT status || ' ' || last_error FROM sync_status",
           "NEEDS_REAUTH credentials rejected and refresh failed: scripted error (error)");
  /* Other failures do not hide it. */
  control(&f, "{\"list\": [\"500\"]}");
  make_sync_due(&f);
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_FAILED);
  assert_q(&f, "SELECT status FROM sync_status", "NEEDS_REAUTH");
  /* sidecalctl shows it, and when the next try is due; nobody syncs it now. */
  char *out = sync_status_out(&f);
  g_assert_nonnull(strstr(out, "INSTANCE  STATUS  LAST_SYNC  ERRORS  QUEUED  DEAD  NEXT_SYNC  SYNCING  LAST_ERROR\n"
                               "acme.miami.scripted  NEEDS_REAUTH  "));
  char *next = q(&f, "SELECT sc_utc(next_sync_at) FROM sync_leases");
  char *tail = g_strdup_printf("  0  0  %s  -  HTTP 500 from provider\n", next);
  g_assert_nonnull(strstr(out, tail));
  g_free(out), g_free(next), g_free(tail);
  fx_free(&f);
}

static void test_failing_after_repeated_errors(void) {
  struct fx f;
  fx_init(&f);
  seed(f.state, NULL, NULL, 0);
  control(&f, "{\"list\": [\"500\", \"500\", \"500\", \"500\", \"500\"]}");
  const char *want[] = {"DEGRADED 1", "DEGRADED 2", "DEGRADED 3", "DEGRADED 4", "FAILING 5"};
  for (int i = 0; i < 5; i++) {
    make_sync_due(&f);
    g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_FAILED);
    assert_q(&f, "SELECT status || ' ' || error_count FROM sync_status", want[i]);
  }
  make_sync_due(&f);
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_SYNCED);
  assert_q(&f, "SELECT status || ' ' || error_count FROM sync_status", "HEALTHY 0");
  fx_free(&f);
}

static void make_ann_full_sync_due(struct fx *f) {
  g_free(q(f, "UPDATE sync_leases SET cursor = NULL, next_sync_at = now() WHERE instance_id ="
              " (SELECT id FROM connector_instances WHERE name = 'acme.staff.ann.scripted')"));
}

/* ann's calendar synced (b1, b2 tomorrow and the day after), then due for
** a full sync. */
static void ann_synced_and_due(struct fx *f) {
  const char *ids[] = {"b1", "b2"};
  const int days[] = {1, 2};
  seed(f->ann_state, ids, days, 2);
  seed(f->state, NULL, NULL, 0);
  g_assert_cmpint(sync_once(f).outcome, ==, SC_SCHED_SYNCED);
  g_assert_cmpint(sync_once(f).outcome, ==, SC_SCHED_SYNCED);
  assert_q(f, "SELECT string_agg(external_id, ',' ORDER BY starts_at) FROM external_busy", "b1,b2");
  make_ann_full_sync_due(f);
}

static void test_staff_full_sync_sweeps_busy(void) {
  struct fx f;
  fx_init_with(&f, SF_STAFF_CALENDAR);
  ann_synced_and_due(&f);
  /* b2 vanished while nobody listened; a full sync notices. */
  const char *ids[] = {"b1"};
  const int days[] = {1};
  seed(f.ann_state, ids, days, 1);
  struct sc_sched_report r = sync_once(&f);
  g_assert_cmpstr(r.instance, ==, "acme.staff.ann.scripted");
  g_assert_cmpint(r.busy_swept, ==, 1);
  assert_q(&f, "SELECT string_agg(external_id, ',') FROM external_busy", "b1");
  fx_free(&f);
}

/* An ISO-8601 UTC time `days` from now, on the hour (g_free). */
static char *days_from_now(int days) {
  GDateTime *now = g_date_time_new_now_utc();
  GDateTime *t = g_date_time_add_days(now, days);
  char *s = g_date_time_format(t, "%Y-%m-%dT%H:00:00Z");
  g_date_time_unref(t);
  g_date_time_unref(now);
  return s;
}

static void make_full_sync_due(struct fx *f) {
  g_free(q(f, "UPDATE sync_leases SET cursor = NULL, next_sync_at = now()"));
}

static char *status_of(struct fx *f, const char *id) {
  char *sql = g_strdup_printf("SELECT status FROM appointments WHERE id = '%s'", id);
  char *v = q(f, sql);
  g_free(sql);
  return v;
}

/* A linked appointment the provider no longer lists is cancelled by a full
** sync; one whose move into the window is still waiting to be pushed is
** not (the provider has it where it was). */
static void test_location_sweep(void) {
  struct fx f;
  fx_init(&f);
  seed(f.state, NULL, NULL, 0);
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_SYNCED);
  char *s1 = days_from_now(3), *s2 = days_from_now(80), *s3 = days_from_now(5);
  char *gone = make_appt(&f, s1, 1), *moved = make_appt(&f, s2, 1);
  while (run(&f, NULL) == SC_OUTBOX_DONE) {}
  g_assert_cmpint(live_events(&f), ==, 2);
  /* Moved from day 80 (beyond the 62-day horizon) into day 5; not pushed yet. */
  char *patch = g_strdup_printf("{\"starts_at\": \"%s\", \"ends_at\": \"%.14s30:00Z\"}", s3, s3);
  patch_appt(&f, moved, patch);
  /* "gone" was deleted at the provider and its webhook lost. */
  json_object *st = provider_of(f.state), *events = json_object_object_get(st, "events");
  json_object_object_foreach(events, id, e) {
    (void)id;
    if (!g_strcmp0(json_object_get_string(json_object_object_get(e, "marker")) + 8, gone))
      json_object_object_add(e, "deleted", json_object_new_boolean(1));
  }
  json_object_to_file(f.state, st);
  json_object_put(st);
  make_full_sync_due(&f);
  struct sc_sched_report r = sync_once(&f);
  g_assert_cmpint(r.full, ==, 1);
  g_assert_cmpint(r.deleted, ==, 1);
  char *v1 = status_of(&f, gone), *v2 = status_of(&f, moved);
  g_assert_cmpstr(v1, ==, "CANCELLED");
  g_assert_cmpstr(v2, !=, "CANCELLED");
  g_free(v1), g_free(v2), g_free(s1), g_free(s2), g_free(s3), g_free(patch);
  g_free(gone), g_free(moved);
  fx_free(&f);
}

/* A move into the window whose push was dead-lettered: the provider still
** has the event where it was (beyond the listing), so the full sync must
** not read its absence as a deletion. Once the job is retried and done,
** the listing sees it again. */
static void test_sweep_spares_appointment_whose_push_died(void) {
  struct fx f;
  fx_init(&f);
  seed(f.state, NULL, NULL, 0);
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_SYNCED);
  char *far = days_from_now(80), *near = days_from_now(5);
  char *id = make_appt(&f, far, 1);
  while (run(&f, NULL) == SC_OUTBOX_DONE) {}
  g_assert_cmpint(live_events(&f), ==, 1);
  char *patch = g_strdup_printf("{\"starts_at\": \"%s\", \"ends_at\": \"%.14s30:00Z\"}", near, near);
  patch_appt(&f, id, patch);
  control(&f, "{\"update\": [\"error\"]}");
  g_assert_cmpint(run(&f, NULL), ==, SC_OUTBOX_DEAD);
  assert_q(&f, "SELECT string_agg(kind || ' ' || state, ',' ORDER BY id) FROM sync_jobs",
           "create done,update dead");
  make_full_sync_due(&f);
  struct sc_sched_report r = sync_once(&f);
  g_assert_cmpint(r.full, ==, 1);
  g_assert_cmpint(r.deleted, ==, 0);
  char *v = status_of(&f, id);
  g_assert_cmpstr(v, ==, "RESCHEDULED");  /* moved, not cancelled */
  g_free(v);
  /* Retried: the provider gets the move; the next full sync lists it. */
  char *dead = q(&f, "SELECT id FROM sync_jobs WHERE state = 'dead'");
  struct sc_error err;
  g_assert_cmpint(sc_outbox_retry(f.owner, g_ascii_strtoll(dead, NULL, 10), &err), ==, SC_OK);
  g_assert_cmpint(run(&f, NULL), ==, SC_OUTBOX_DONE);
  make_full_sync_due(&f);
  r = sync_once(&f);
  g_assert_cmpint(r.deleted, ==, 0);
  g_assert_cmpint(r.events, ==, 1);
  v = status_of(&f, id);
  g_assert_cmpstr(v, ==, "RESCHEDULED");  /* moved, not cancelled */
  g_free(v), g_free(far), g_free(near), g_free(patch), g_free(id), g_free(dead);
  fx_free(&f);
}

static gpointer sync_in_thread(gpointer f) {
  struct sc_sched_report *r = g_new(struct sc_sched_report, 1);
  *r = sync_once(f);
  return r;
}

/* Starts fn(arg) (a sync) in a thread with the next listing of the
** provider at `state` answering 1.5 s late, and returns once that listing
** has read the provider. */
static GThread *slow_listing_started(const char *control, const char *state, GThreadFunc fn,
                                     gpointer arg) {
  control_file(control, "{\"list\": [\"delay_after:1500\"]}");
  int lists = calls_in(state, "list");
  GThread *th = g_thread_new("sync", fn, arg);
  for (int i = 0; i < 400 && calls_in(state, "list") == lists; i++) g_usleep(10 * 1000);
  g_assert_cmpint(calls_in(state, "list"), ==, lists + 1);
  return th;
}

/* The race that cancelled fresh imports: a full listing reads the provider,
** an outbox worker then creates an event there and commits its link, and
** only then does the sweep look at the links. The new link is not the
** listing's to judge. */
static void test_sweep_spares_link_made_during_listing(void) {
  struct fx f;
  fx_init(&f);
  seed(f.state, NULL, NULL, 0);
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_SYNCED);
  char *s1 = days_from_now(4);
  char *id = make_appt(&f, s1, 1);
  make_full_sync_due(&f);
  GThread *th = slow_listing_started(f.control, f.state, sync_in_thread, &f);
  /* A slow listing pins no transaction (nor the vacuum horizon with it). */
  assert_q(&f, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
               " AND state LIKE 'idle in transaction%'", "0");
  g_assert_cmpint(run(&f, NULL), ==, SC_OUTBOX_DONE);  /* created there, linked here */
  struct sc_sched_report *r = g_thread_join(th);
  g_assert_cmpint(r->outcome, ==, SC_SCHED_SYNCED);
  g_assert_cmpint(r->full, ==, 1);
  g_assert_cmpint(r->deleted, ==, 0);
  char *v = status_of(&f, id);
  g_assert_cmpstr(v, ==, "SCHEDULED");
  assert_q(&f, "SELECT count(*) FROM appointment_links", "1");
  /* The next full sync sees the event and keeps it. */
  make_full_sync_due(&f);
  struct sc_sched_report r2 = sync_once(&f);
  g_assert_cmpint(r2.deleted, ==, 0);
  g_assert_cmpint(r2.events, ==, 1);
  g_free(v), g_free(r), g_free(s1), g_free(id);
  fx_free(&f);
}

/* Stores busy time b3 for ann as an inbox worker would: the provider
** created it and its webhook arrived (its own connection and transaction). */
/* Applies one change to an instance as an inbox worker would for a
** webhook (its own connection and transaction): an event starting at
** `start`, or with start 0 the deletion of ext_id. */
static struct sc_sync_counts apply_webhook(struct fx *f, const char *instance, const char *ext_id,
                                           int64_t start) {
  static const struct sc_tenant platform = {.org_id = "", .platform_admin = 1};
  PGconn *c = sc_db_acquire(f->pool);
  struct sc_error err;
  struct sc_sync_target t;
  struct sc_sync_counts n = {0};
  struct sidecal_event ev = {.struct_size = sizeof ev, .status = SIDECAL_EVENT_CONFIRMED,
                             .external_id = ext_id, .start_utc = start, .end_utc = start + 1800};
  if (sc_db_begin(c, &platform, &err) || sc_sync_target_load(c, instance, &t, &err) ||
      (start ? sc_sync_apply_event(c, &t, &ev, &n, &err) : sc_sync_apply_deleted(c, &t, ext_id, &n, &err)) ||
      sc_db_commit(c, &err))
    g_error("apply: %s", err.message);
  sc_db_release(f->pool, c);
  return n;
}

/* A long full listing of the location reads the provider (ev-1 there);
** then ev-1 is deleted at the provider and its webhook applied (the
** appointment cancelled, the link gone) while the listing is still
** running. What the listing read must not come back afterwards as a new
** import: changes are applied as they are read, not replayed later. */
static void test_webhook_delete_during_listing_stays_deleted(void) {
  struct fx f;
  fx_init(&f);
  const char *ids[] = {"ev-1"};
  const int days[] = {2};
  seed(f.state, ids, days, 1);
  g_assert_cmpint(sync_once(&f).outcome, ==, SC_SCHED_SYNCED);
  assert_q(&f, "SELECT count(*) FROM appointments WHERE status <> 'CANCELLED'", "1");
  make_full_sync_due(&f);
  GThread *th = slow_listing_started(f.control, f.state, sync_in_thread, &f);
  seed(f.state, NULL, NULL, 0);                       /* deleted there */
  g_assert_cmpint(apply_webhook(&f, "acme.miami.scripted", "ev-1", 0).cancelled, ==, 1);
  struct sc_sched_report *r = g_thread_join(th);
  g_assert_cmpint(r->outcome, ==, SC_SCHED_SYNCED);
  assert_q(&f, "SELECT string_agg(status::text, ',') FROM appointments", "CANCELLED");
  assert_q(&f, "SELECT count(*) FROM appointment_links", "0");
  g_free(r);
  fx_free(&f);
}

/* The busy-time twin of the race above: a full listing of ann's calendar
** reads the provider; then she adds an event there, its webhook is
** applied, and only then does the sweep run. The listing could not see
** it, so it is not the sweep's to delete; the next full sync lists it. */
static void test_busy_sweep_spares_time_written_during_listing(void) {
  struct fx f;
  fx_init_with(&f, SF_STAFF_CALENDAR);
  const char *ids[] = {"b1"}, *later[] = {"b1", "b3"};
  const int days[] = {1}, later_days[] = {1, 3};
  ann_synced_and_due(&f);
  /* b2 was deleted there meanwhile: the sweep must still remove it. */
  seed(f.ann_state, ids, days, 1);
  GThread *th = slow_listing_started(f.ann_control, f.ann_state, sync_in_thread, &f);
  seed(f.ann_state, later, later_days, 2);                         /* b3 created there */
  g_assert_cmpint(apply_webhook(&f, "acme.staff.ann.scripted", "b3", g_get_real_time() / 1000000 + 3 * 86400).busy,
                  ==, 1);
  struct sc_sched_report *r = g_thread_join(th);
  g_assert_cmpint(r->outcome, ==, SC_SCHED_SYNCED);
  g_assert_cmpstr(r->instance, ==, "acme.staff.ann.scripted");
  g_assert_cmpint(r->full, ==, 1);
  g_assert_cmpint(r->busy_swept, ==, 1);
  assert_q(&f, "SELECT string_agg(external_id, ',' ORDER BY starts_at) FROM external_busy", "b1,b3");
  /* The next full sync sees b3 and keeps it. */
  make_ann_full_sync_due(&f);
  struct sc_sched_report r2 = sync_once(&f);
  g_assert_cmpstr(r2.instance, ==, "acme.staff.ann.scripted");
  g_assert_cmpint(r2.busy_swept, ==, 0);
  assert_q(&f, "SELECT string_agg(external_id, ',' ORDER BY starts_at) FROM external_busy", "b1,b3");
  g_free(r);
  fx_free(&f);
}

static struct sc_sched_report sync_as(struct fx *f, const struct sc_sched_options *o) {
  struct sc_sched_report rep;
  struct sc_error err;
  if (sc_sched_run_once(f->pool, f->reg, o, &rep, &err)) g_error("sched: %s", err.message);
  return rep;
}

static const struct sc_sched_options short_other = {.holder = "other", .interval_ms = 300000, .lease_ms = 300};

struct sync_job {
  struct fx *f;
  struct sc_sched_options o;
};

static gpointer sync_as_in_thread(gpointer arg) {
  struct sync_job *j = arg;
  struct sc_sched_report *r = g_new(struct sc_sched_report, 1);
  *r = sync_as(j->f, &j->o);
  return r;
}

/* A listing that outlives its lease: the provider changed (b2 deleted, b3
** added) and a second holder took the lapsed lease and synced that. The
** first holder must not finish the sync (sweep, cursor, health) when its
** listing ends: it reports the loss instead. */
static void test_listing_that_lost_its_lease_is_not_applied(void) {
  struct fx f;
  fx_init_with(&f, SF_STAFF_CALENDAR);
  ann_synced_and_due(&f);
  struct sync_job me = {&f, {.holder = "me", .interval_ms = 300000, .lease_ms = 300}};
  GThread *th = slow_listing_started(f.ann_control, f.ann_state, sync_as_in_thread, &me);
  const char *ids[] = {"b1", "b3"};
  const int days[] = {1, 3};
  seed(f.ann_state, ids, days, 2);
  g_usleep(500 * 1000);                            /* the 300 ms lease lapses */
  struct sc_sched_report r2 = sync_as(&f, &short_other);
  g_assert_cmpint(r2.outcome, ==, SC_SCHED_SYNCED);
  g_assert_cmpstr(r2.instance, ==, "acme.staff.ann.scripted");
  assert_q(&f, "SELECT string_agg(external_id, ',' ORDER BY starts_at) FROM external_busy", "b1,b3");
  struct sc_sched_report *r = g_thread_join(th);
  g_assert_cmpint(r->outcome, ==, SC_SCHED_LOST);
  assert_q(&f, "SELECT string_agg(external_id, ',' ORDER BY starts_at) FROM external_busy", "b1,b3");
  assert_q(&f, "SELECT coalesce(holder, '-') FROM sync_leases l JOIN connector_instances ci"
               " ON ci.id = l.instance_id WHERE ci.name = 'acme.staff.ann.scripted'", "-");
  g_free(r);
  fx_free(&f);
}

/* A long listing that keeps reporting keeps its lease: 8 events, 150 ms
** apart, under a 900 ms lease (renewed every 300 ms or so). Nobody else can
** claim the instance meanwhile, and the listing is applied. */
static void test_long_listing_renews_its_lease(void) {
  struct fx f;
  fx_init_with(&f, SF_STAFF_CALENDAR);
  const char *ids[] = {"b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8"};
  const int days[] = {1, 2, 3, 4, 5, 6, 7, 8};
  ann_synced_and_due(&f);
  seed(f.ann_state, ids, days, 8);
  control_file(f.ann_control, "{\"list\": [\"pace:150\"]}");
  int lists = calls_in(f.ann_state, "list");
  struct sync_job me = {&f, {.holder = "me", .interval_ms = 300000, .lease_ms = 900}};
  GThread *th = g_thread_new("sync", sync_as_in_thread, &me);
  /* (The scripted provider counts a paced call when it ends: wait for the
  ** claim instead.) */
  char *holder = NULL;
  for (int i = 0; i < 400; i++, g_usleep(5 * 1000)) {
    g_free(holder);
    holder = q(&f, "SELECT coalesce(holder, '-') FROM sync_leases l JOIN connector_instances ci"
                   " ON ci.id = l.instance_id WHERE ci.name = 'acme.staff.ann.scripted'");
    if (!strcmp(holder, "me")) break;
  }
  g_assert_cmpstr(holder, ==, "me");
  g_free(holder);
  /* An operator sees who is syncing ann's calendar right now. */
  char *out = sync_status_out(&f);
  char *line = strstr(out, "acme.staff.ann.scripted  ");
  g_assert_nonnull(line);
  line[strcspn(line, "\n")] = '\0';
  g_assert_nonnull(strstr(line, "  me  "));
  g_free(out);
  int tries = 0;
  for (; tries < 11; tries++) {                      /* 11 x 100 ms: past the lease */
    g_usleep(100 * 1000);
    g_assert_cmpint(sync_as(&f, &short_other).outcome, ==, SC_SCHED_IDLE);
  }
  struct sc_sched_report *r = g_thread_join(th);
  g_assert_cmpint(r->outcome, ==, SC_SCHED_SYNCED);
  g_assert_cmpint(r->events, ==, 8);
  g_assert_cmpint(calls_in(f.ann_state, "list"), ==, lists + 1);
  assert_q(&f, "SELECT string_agg(external_id, ',' ORDER BY starts_at) FROM external_busy",
           "b1,b2,b3,b4,b5,b6,b7,b8");
  g_free(r);
  fx_free(&f);
}

static char *initial_sync_of(struct fx *f, const char *instance) {
  char *sql = g_strdup_printf("SELECT l.initial_sync_at IS NOT NULL FROM sync_leases l JOIN connector_instances ci"
                              " ON ci.id = l.instance_id WHERE ci.name = '%s'", instance);
  char *v = q(f, sql);
  g_free(sql);
  return v;
}

/* The daemon's engine syncs two instances at once: while ann's provider
** takes 4 s to list (claimed first: it is the more overdue), the location
** instance is synced by the other scheduler thread. With one thread it
** would wait for ann's listing to finish. */
static void test_engine_slow_provider_does_not_hold_up_others(void) {
  struct fx f;
  fx_init_with(&f, SF_STAFF_CALENDAR);
  const char *ids[] = {"b1"};
  const int days[] = {1};
  seed(f.ann_state, ids, days, 1);
  seed(f.state, NULL, NULL, 0);
  g_free(q(&f, "INSERT INTO sync_leases (organization_id, instance_id, next_sync_at)"
               " SELECT organization_id, id, now() - CASE WHEN name = 'acme.staff.ann.scripted'"
               " THEN interval '2 hours' ELSE interval '1 hour' END FROM connector_instances"));
  control_file(f.ann_control, "{\"list\": [\"delay_after:4000\"]}");
  struct sc_sync_engine_options o = {.sched = sched, .poll_ms = 50};
  struct sc_sync_engine *e = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_sync_engine_start(f.pool, f.reg, &o, &e, &err), ==, SC_OK);
  char *miami = NULL, *ann = NULL;
  for (int i = 0; i < 200; i++) {
    g_free(miami);
    miami = initial_sync_of(&f, "acme.miami.scripted");
    if (!strcmp(miami, "t")) break;
    g_usleep(20 * 1000);
  }
  ann = initial_sync_of(&f, "acme.staff.ann.scripted");
  g_assert_cmpint(calls_in(f.ann_state, "list"), ==, 1);  /* ann's listing had started */
  g_assert_cmpstr(miami, ==, "t");
  g_assert_cmpstr(ann, ==, "f");                            /* and was still running */
  for (int i = 0; i < 400 && !strcmp(ann, "f"); i++) {
    g_usleep(20 * 1000);
    g_free(ann);
    ann = initial_sync_of(&f, "acme.staff.ann.scripted");
  }
  g_assert_cmpstr(ann, ==, "t");
  sc_sync_engine_stop(e);
  assert_q(&f, "SELECT string_agg(external_id, ',') FROM external_busy", "b1");
  g_free(miami), g_free(ann);
  fx_free(&f);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sync_scheduler/initial_then_incremental", test_initial_then_incremental);
  g_test_add_func("/sync_scheduler/leases", test_leases);
  g_test_add_func("/sync_scheduler/failures_and_reauth", test_failures_and_reauth);
  g_test_add_func("/sync_scheduler/staff_full_sync_sweeps_busy", test_staff_full_sync_sweeps_busy);
  g_test_add_func("/sync_scheduler/failing_after_repeated_errors", test_failing_after_repeated_errors);
  g_test_add_func("/sync_scheduler/location_sweep", test_location_sweep);
  g_test_add_func("/sync_scheduler/sweep_spares_link_made_during_listing",
                  test_sweep_spares_link_made_during_listing);
  g_test_add_func("/sync_scheduler/sweep_spares_appointment_whose_push_died",
                  test_sweep_spares_appointment_whose_push_died);
  g_test_add_func("/sync_scheduler/webhook_delete_during_listing_stays_deleted",
                  test_webhook_delete_during_listing_stays_deleted);
  g_test_add_func("/sync_scheduler/busy_sweep_spares_time_written_during_listing",
                  test_busy_sweep_spares_time_written_during_listing);
  g_test_add_func("/sync_scheduler/listing_that_lost_its_lease_is_not_applied",
                  test_listing_that_lost_its_lease_is_not_applied);
  g_test_add_func("/sync_scheduler/long_listing_renews_its_lease", test_long_listing_renews_its_lease);
  g_test_add_func("/sync_scheduler/engine_slow_provider_does_not_hold_up_others",
                  test_engine_slow_provider_does_not_hold_up_others);
  return g_test_run();
}
