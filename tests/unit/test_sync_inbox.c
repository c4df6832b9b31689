/*
** Tests for webhook intake and inbox processing (core/sync_inbox.c) and the
** rules that apply provider changes (core/sync_apply.c), against a real
** database and the scriptable connector: signature failures store nothing,
** unknown endpoints and routing keys, duplicates acknowledged and applied
** once, imports flagged when they overlap, echo suppression (etag, and a
** marker without a link), each conflict rule, deletes, a status change the
** API forbids applied anyway, staff calendars becoming external busy time
** that blocks booking, poison deliveries, and four workers applying 200
** deliveries exactly once.
*/
#include <glib.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "appointments.h"
#include "plugin_fixtures.h"
#include "sync_fixture.h"
#include "sync_conflicts.h"
#include "sync_inbox.h"
#include "sync_ingest.h"

static struct sc_webhook_out deliver(struct fx *f, const char *instance, const char *sig,
                                     const char *body) {
  struct sidecal_http_header h[2] = {{"x-test-signature", sig}, {"content-type", "application/json"}};
  struct sc_webhook_in in = {.plugin = "scripted", .instance = instance, .headers = h,
                             .n_headers = sig ? 2 : 0, .body = body, .body_len = strlen(body)};
  if (!sig) in.headers = h + 1, in.n_headers = 1;
  struct sc_webhook_out out;
  sc_inbox_receive(f->pool, f->reg, NULL, &in, &out);
  return out;
}

static enum sc_inbox_outcome process(struct fx *f, struct sc_sync_counts *n) {
  enum sc_inbox_outcome o;
  struct sc_error err;
  struct sc_sync_counts dummy;
  if (sc_inbox_run_once(f->pool, f->reg, &o, n ? n : &dummy, &err))
    g_error("inbox: %s", err.message);
  return o;
}

static const char *LOC = "acme.miami.scripted";
static const char *ANN = "acme.staff.ann.scripted";

/* One upsert change as a delivery body. */
static char *upsert(const char *id, const char *start, const char *end, const char *title,
                    long long modified, const char *etag, const char *extra) {
  GDateTime *s = g_date_time_new_from_iso8601(start, NULL), *e = g_date_time_new_from_iso8601(end, NULL);
  char *b = g_strdup_printf(
      "{\"route\": \"loc-miami\", \"changes\": [{\"op\": \"upsert\", \"id\": \"%s\","
      " \"start\": %lld, \"end\": %lld, \"title\": \"%s\", \"status\": 1, \"modified\": %lld,"
      " \"etag\": \"%s\"%s}]}", id, (long long)g_date_time_to_unix(s),
      (long long)g_date_time_to_unix(e), title, modified, etag, extra ? extra : "");
  g_date_time_unref(s);
  g_date_time_unref(e);
  return b;
}

/* ---- intake ----------------------------------------------------------- */

static void test_bad_signature_stores_nothing(void) {
  struct fx f;
  fx_init(&f);
  char *b = upsert("g1", "2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z", "Visit", 0, "e1", NULL);
  struct sc_webhook_out o = deliver(&f, LOC, "wrong", b);
  g_assert_cmpint(o.status, ==, 401);
  g_assert_cmpstr(o.message, ==, "acme.miami.scripted: signature verification failed: bad x-test-signature");
  o = deliver(&f, LOC, NULL, b);
  g_assert_cmpint(o.status, ==, 401);
  assert_q(&f, "SELECT count(*) FROM sync_inbox", "0");
  g_free(b);
  fx_free(&f);
}

static void test_unknown_endpoints(void) {
  struct fx f;
  fx_init(&f);
  char *b = upsert("g1", "2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z", "Visit", 0, "e1", NULL);
  struct sc_webhook_out o = deliver(&f, "acme.nowhere.scripted", "s3cret", b);
  g_assert_cmpint(o.status, ==, 404);
  g_assert_cmpstr(o.message, ==, "no webhook endpoint for scripted/acme.nowhere.scripted");
  struct sidecal_http_header h = {"x-test-signature", "s3cret"};
  struct sc_webhook_in in = {.plugin = "ghl", .instance = LOC, .headers = &h, .n_headers = 1,
                             .body = b, .body_len = strlen(b)};
  sc_inbox_receive(f.pool, f.reg, NULL, &in, &o);
  g_assert_cmpint(o.status, ==, 404);
  g_assert_cmpstr(o.message, ==, "no webhook endpoint for ghl/acme.miami.scripted");
  in.instance = NULL;
  sc_inbox_receive(f.pool, f.reg, NULL, &in, &o);
  g_assert_cmpint(o.status, ==, 404);
  g_assert_cmpstr(o.message, ==, "no webhook endpoint for plugin ghl");
  /* One URL per app: an unknown routing key is acknowledged and dropped. */
  const char *nokey = "{\"route\": \"nope\", \"changes\": []}";
  o = deliver(&f, NULL, "s3cret", nokey);
  g_assert_cmpint(o.status, ==, 200);
  g_assert_cmpstr(o.message, ==, "scripted: no instance has routing key \"nope\"; acknowledged and dropped");
  assert_q(&f, "SELECT count(*) FROM sync_inbox", "0");
  g_free(b);
  fx_free(&f);
}

static void test_routed_duplicate_applied_once(void) {
  struct fx f;
  fx_init(&f);
  char *b = upsert("g1", "2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z", "Visit", 0, "e1", NULL);
  struct sc_webhook_out o = deliver(&f, NULL, "s3cret", b);  /* routed by key loc-miami */
  g_assert_cmpint(o.status, ==, 200);
  g_assert_cmpstr(o.message, ==, "acme.miami.scripted: delivery accepted");
  g_assert_cmpint(o.stored, ==, 1);
  o = deliver(&f, LOC, "s3cret", b);
  g_assert_cmpint(o.status, ==, 200);
  g_assert_cmpint(o.duplicate, ==, 1);
  g_assert_cmpstr(o.message, ==, "acme.miami.scripted: duplicate delivery acknowledged");
  assert_q(&f, "SELECT count(*) FROM sync_inbox", "1");
  struct sc_sync_counts n = {0};
  g_assert_cmpint(process(&f, &n), ==, SC_INBOX_APPLIED);
  g_assert_cmpint(n.imported, ==, 1);
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_IDLE);
  assert_q(&f, "SELECT origin || ' ' || overlap || ' ' || status || ' ' || title || ' ' ||"
               " sc_utc(starts_at) || ' ' || (staff_id IS NULL) FROM appointments",
           "import false CONFIRMED Visit 2026-12-01T15:00:00Z true");
  assert_q(&f, "SELECT external_id || ' ' || etag FROM appointment_links", "g1 e1");
  assert_q(&f, "SELECT (processed_at IS NOT NULL) || ' ' || attempts FROM sync_inbox", "true 1");
  /* The same delivery after processing is still a duplicate. */
  o = deliver(&f, LOC, "s3cret", b);
  g_assert_cmpint(o.duplicate, ==, 1);
  assert_q(&f, "SELECT count(*) FROM appointments", "1");
  g_free(b);
  fx_free(&f);
}

static void test_import_overlap_flagged(void) {
  struct fx f;
  fx_init(&f);
  char *mine = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  char *b1 = upsert("g1", "2026-12-01T15:15:00Z", "2026-12-01T16:00:00Z", "Clash", 0, "e1", NULL);
  char *b2 = upsert("g2", "2026-12-01T17:00:00Z", "2026-12-01T18:00:00Z", "Clear", 0, "e1", NULL);
  /* Ends where Clear starts: touching is not overlapping (half-open). */
  char *b3 = upsert("g3", "2026-12-01T16:30:00Z", "2026-12-01T17:00:00Z", "Touch", 0, "e1", NULL);
  g_assert_cmpint(deliver(&f, LOC, "s3cret", b1).status, ==, 200);
  g_assert_cmpint(deliver(&f, LOC, "s3cret", b2).status, ==, 200);
  g_assert_cmpint(deliver(&f, LOC, "s3cret", b3).status, ==, 200);
  for (int i = 0; i < 3; i++) g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_APPLIED);
  assert_q(&f, "SELECT string_agg(title || ':' || origin || ':' || overlap, ',' ORDER BY starts_at)"
               " FROM appointments",
           "Checkup:sidecal:false,Clash:import:true,Touch:import:false,Clear:import:false");
  g_free(b1), g_free(b2), g_free(b3), g_free(mine);
  fx_free(&f);
}

/* ---- echo suppression and conflicts ------------------------------------ */

/* Our appointment pushed to the location instance; returns its id and
** fills ext/etag with the provider's. */
static char *pushed(struct fx *f, char **ext, char **etag) {
  char *id = make_appt(f, "2026-12-01T15:00:00Z", 1);
  const struct sc_outbox_options o = {.holder = "t"};
  g_assert_cmpint(run(f, &o), ==, SC_OUTBOX_DONE);
  while (run(f, &o) == SC_OUTBOX_DONE) continue;
  *ext = q(f, "SELECT external_id FROM appointment_links l JOIN connector_instances ci"
              " ON ci.id = l.instance_id WHERE ci.name = 'acme.miami.scripted'");
  *etag = q(f, "SELECT etag FROM appointment_links l JOIN connector_instances ci"
               " ON ci.id = l.instance_id WHERE ci.name = 'acme.miami.scripted'");
  return id;
}

static long long updated_epoch(struct fx *f) {
  char *v = q(f, "SELECT floor(extract(epoch FROM updated_at))::bigint FROM appointments");
  long long e = atoll(v);
  g_free(v);
  return e;
}

static void test_echo_suppressed(void) {
  struct fx f;
  fx_init(&f);
  char *ext, *etag;
  char *id = pushed(&f, &ext, &etag);
  char *before = q(&f, "SELECT version || ' ' || updated_at FROM appointments");
  /* The provider tells us about our own write (same etag). */
  char *b = upsert(ext, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z", "Checkup",
                   updated_epoch(&f) + 50, etag, NULL);
  deliver(&f, LOC, "s3cret", b);
  struct sc_sync_counts n = {0};
  g_assert_cmpint(process(&f, &n), ==, SC_INBOX_APPLIED);
  g_assert_cmpint(n.echoes, ==, 1);
  char *after = q(&f, "SELECT version || ' ' || updated_at FROM appointments");
  g_assert_cmpstr(after, ==, before);
  assert_q(&f, "SELECT count(*) FROM sync_jobs WHERE state <> 'done'", "0");
  /* Same content under a new etag: nothing bumped, etag remembered. */
  char *b2 = upsert(ext, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z", "Checkup",
                    updated_epoch(&f) + 60, "v-new", NULL);
  deliver(&f, LOC, "s3cret", b2);
  memset(&n, 0, sizeof n);
  g_assert_cmpint(process(&f, &n), ==, SC_INBOX_APPLIED);
  g_assert_cmpint(n.unchanged, ==, 1);
  g_free(after);
  after = q(&f, "SELECT version || ' ' || updated_at FROM appointments");
  g_assert_cmpstr(after, ==, before);
  assert_q(&f, "SELECT etag FROM appointment_links", "v-new");
  /* A link lost in a crash: the marker adopts the event instead of importing it. */
  g_free(q(&f, "DELETE FROM appointment_links"));
  g_assert_nonnull(etag);
  char *extra = g_strdup_printf(", \"marker\": \"sidecal:%s\"", id);
  char *b3 = upsert(ext, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z", "Checkup",
                    updated_epoch(&f) + 70, "v-3", extra);
  deliver(&f, LOC, "s3cret", b3);
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_APPLIED);
  assert_q(&f, "SELECT count(*) FROM appointments", "1");
  char *link = q(&f, "SELECT appointment_id || ' ' || external_id FROM appointment_links");
  char *want = g_strdup_printf("%s %s", id, ext);
  g_assert_cmpstr(link, ==, want);
  g_free(link), g_free(want), g_free(extra), g_free(b3), g_free(b2), g_free(after);
  g_free(before), g_free(b), g_free(id), g_free(ext), g_free(etag);
  fx_free(&f);
}

static void test_conflict_rules(void) {
  struct fx f;
  fx_init_with(&f, SF_STAFF_CALENDAR);
  char *ext, *etag;
  char *id = pushed(&f, &ext, &etag);
  g_free(q(&f, "UPDATE sync_jobs SET state = 'done'")); /* ann's calendar push: not under test */
  long long ours = updated_epoch(&f);

  /* Ours newer: nothing applied, our version is pushed back to the source. */
  char *older = upsert(ext, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z", "Old title",
                       ours - 100, "x1", NULL);
  deliver(&f, LOC, "s3cret", older);
  struct sc_sync_counts n = {0};
  g_assert_cmpint(process(&f, &n), ==, SC_INBOX_APPLIED);
  g_assert_cmpint(n.pushed_back, ==, 1);
  assert_q(&f, "SELECT title || ' ' || version FROM appointments", "Checkup 1");
  assert_q(&f, "SELECT string_agg(ci.name || ':' || j.kind, ',') FROM sync_jobs j JOIN"
               " connector_instances ci ON ci.id = j.instance_id WHERE j.state = 'pending'",
           "acme.miami.scripted:update");
  g_free(q(&f, "UPDATE sync_jobs SET state = 'done'"));

  /* Equal times, different content: a conflict row, nothing applied. */
  char *equal = upsert(ext, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z", "Their title",
                       ours, "x2", NULL);
  deliver(&f, LOC, "s3cret", equal);
  memset(&n, 0, sizeof n);
  g_assert_cmpint(process(&f, &n), ==, SC_INBOX_APPLIED);
  g_assert_cmpint(n.conflicts, ==, 1);
  assert_q(&f, "SELECT title || ' ' || version FROM appointments", "Checkup 1");
  assert_q(&f, "SELECT resolution || ' ' || entity || ' ' || diff::text FROM sync_conflicts",
           "MANUAL_REVIEW_REQUIRED appointment {\"title\": {\"ours\": \"Checkup\", \"theirs\": \"Their title\"}}");
  char *sql = g_strdup_printf("SELECT (entity_id = '%s') || ' ' || (our_data ->> 'title') || ' ' ||"
                              " (external_data ->> 'title') || ' ' || (external_data ->> 'external_id')"
                              " FROM sync_conflicts", id);
  char *want = g_strdup_printf("true Checkup Their title %s", ext);
  assert_q(&f, sql, want);
  /* The same version again (another delivery) adds no second row. */
  char *equal2 = upsert(ext, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z", "Their title",
                        ours, "x2b", NULL);
  deliver(&f, LOC, "s3cret", equal2);
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_APPLIED);
  assert_q(&f, "SELECT count(*) FROM sync_conflicts", "1");

  /* Theirs newer: applied, version bumped, pushed to the other instance. */
  char *newer = upsert(ext, "2026-12-01T16:00:00Z", "2026-12-01T16:30:00Z", "Moved",
                       ours + 100, "x3", NULL);
  deliver(&f, LOC, "s3cret", newer);
  memset(&n, 0, sizeof n);
  g_assert_cmpint(process(&f, &n), ==, SC_INBOX_APPLIED);
  g_assert_cmpint(n.updated, ==, 1);
  assert_q(&f, "SELECT title || ' ' || sc_utc(starts_at) || ' ' || version || ' ' || status"
               " FROM appointments", "Moved 2026-12-01T16:00:00Z 2 SCHEDULED");
  assert_q(&f, "SELECT etag FROM appointment_links WHERE external_id <> ''"
               " AND instance_id = (SELECT id FROM connector_instances WHERE name = 'acme.miami.scripted')",
           "x3");
  assert_q(&f, "SELECT string_agg(ci.name || ':' || j.kind, ',') FROM sync_jobs j JOIN"
               " connector_instances ci ON ci.id = j.instance_id WHERE j.state = 'pending'",
           "acme.staff.ann.scripted:update");

  /* Deleted at the provider: cancelled and unlinked there. */
  char *del = g_strdup_printf("{\"changes\": [{\"op\": \"delete\", \"id\": \"%s\"}]}", ext);
  deliver(&f, LOC, "s3cret", del);
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_APPLIED);
  char *reason = g_strdup_printf("CANCELLED deleted at %s", LOC);
  assert_q(&f, "SELECT status || ' ' || cancel_reason FROM appointments", reason);
  assert_q(&f, "SELECT count(*) FROM appointment_links WHERE instance_id ="
               " (SELECT id FROM connector_instances WHERE name = 'acme.miami.scripted')", "0");
  g_free(reason), g_free(del), g_free(newer), g_free(equal2), g_free(want), g_free(sql);
  g_free(equal), g_free(older), g_free(id), g_free(ext), g_free(etag);
  fx_free(&f);
}

static void test_provider_reactivation_applied(void) {
  struct fx f;
  fx_init(&f);
  char *ext, *etag;
  char *id = pushed(&f, &ext, &etag);
  cancel_appt(&f, id);  /* the API forbids leaving CANCELLED */
  g_free(q(&f, "UPDATE sync_jobs SET state = 'done'"));
  char *b = upsert(ext, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z", "Checkup",
                   updated_epoch(&f) + 100, "y1", NULL);
  deliver(&f, LOC, "s3cret", b);
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_APPLIED);
  assert_q(&f, "SELECT status || ' ' || (cancelled_at IS NULL) FROM appointments", "CONFIRMED true");
  g_free(b), g_free(id), g_free(ext), g_free(etag);
  fx_free(&f);
}

/* ---- staff calendars --------------------------------------------------- */

static void test_staff_calendar_is_external_busy(void) {
  struct fx f;
  fx_init_with(&f, SF_STAFF_CALENDAR);
  char *b = upsert("p1", "2026-12-02T15:00:00Z", "2026-12-02T16:00:00Z", "Dentist", 0, "e1", NULL);
  g_assert_cmpint(deliver(&f, ANN, "s3cret", b).status, ==, 200);
  struct sc_sync_counts n = {0};
  g_assert_cmpint(process(&f, &n), ==, SC_INBOX_APPLIED);
  g_assert_cmpint(n.busy, ==, 1);
  assert_q(&f, "SELECT external_id || ' ' || sc_utc(starts_at) || ' ' || sc_utc(ends_at)"
               " FROM external_busy", "p1 2026-12-02T15:00:00Z 2026-12-02T16:00:00Z");
  assert_q(&f, "SELECT count(*) FROM appointments", "0");
  /* It blocks booking ann then. */
  PGconn *c = sc_db_acquire(f.pool);
  struct sc_tenant t = {0};
  snprintf(t.org_id, sizeof t.org_id, "%s", f.boss.org_id);
  struct sc_error err;
  g_assert_cmpint(sc_db_begin(c, &t, &err), ==, SC_OK);
  json_object *in = json_tokener_parse("{\"location\": \"miami\", \"staff\": \"ann\","
      " \"starts_at\": \"2026-12-02T15:30:00Z\", \"ends_at\": \"2026-12-02T16:30:00Z\"}"), *out = NULL;
  g_assert_cmpint(sc_appt_create(c, &f.boss, in, &out, &err), ==, SC_ECONFLICT);
  g_assert_cmpstr(err.message, ==, "the staff member's calendar is busy between "
                                   "2026-12-02T15:30:00Z and 2026-12-02T16:30:00Z");
  sc_db_rollback(c);
  sc_db_release(f.pool, c);
  json_object_put(in);
  /* Our own pushed event on her calendar is an echo, never busy time. */
  char *mine = make_appt(&f, "2026-12-03T15:00:00Z", 1);
  char *extra = g_strdup_printf(", \"marker\": \"sidecal:%s\"", mine);
  char *b2 = upsert("p2", "2026-12-03T15:00:00Z", "2026-12-03T15:30:00Z", "Checkup", 0, "e1", extra);
  deliver(&f, ANN, "s3cret", b2);
  memset(&n, 0, sizeof n);
  g_assert_cmpint(process(&f, &n), ==, SC_INBOX_APPLIED);
  g_assert_cmpint(n.echoes, ==, 1);
  assert_q(&f, "SELECT count(*) FROM external_busy", "1");
  /* Deleted at her calendar: the busy time goes. */
  deliver(&f, ANN, "s3cret", "{\"changes\": [{\"op\": \"delete\", \"id\": \"p1\"}]}");
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_APPLIED);
  assert_q(&f, "SELECT count(*) FROM external_busy", "0");
  g_free(b2), g_free(extra), g_free(mine), g_free(b);
  fx_free(&f);
}

static void test_poison_delivery_marked_failed(void) {
  struct fx f;
  fx_init(&f);
  g_assert_cmpint(deliver(&f, LOC, "s3cret", "{\"route\": \"loc-miami\"}").status, ==, 200);
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_FAILED);
  assert_q(&f, "SELECT (processed_at IS NOT NULL) || ' ' || error FROM sync_inbox",
           "true delivery has no \"changes\" array");
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_IDLE);
  fx_free(&f);
}

struct worker_arg {
  struct fx *f;
  int applied;
};

static void *inbox_worker(void *p) {
  struct worker_arg *a = p;
  for (;;) {
    enum sc_inbox_outcome o;
    struct sc_error err;
    struct sc_sync_counts n;
    if (sc_inbox_run_once(a->f->pool, a->f->reg, &o, &n, &err)) g_error("inbox: %s", err.message);
    if (o == SC_INBOX_IDLE) break;
    if (o == SC_INBOX_APPLIED) a->applied++;
  }
  return NULL;
}

static void test_workers_apply_each_delivery_once(void) {
  struct fx f;
  fx_init(&f);
  enum { N = 200, W = 4 };
  for (int i = 0; i < N; i++) {
    char id[16], start[32], end[32];
    snprintf(id, sizeof id, "g%d", i);
    snprintf(start, sizeof start, "2026-12-%02dT%02d:00:00Z", 1 + i / 10, 8 + i % 10);
    snprintf(end, sizeof end, "2026-12-%02dT%02d:30:00Z", 1 + i / 10, 8 + i % 10);
    char *b = upsert(id, start, end, "Bulk", 0, "e1", NULL);
    g_assert_cmpint(deliver(&f, LOC, "s3cret", b).status, ==, 200);
    if (i % 7 == 0) g_assert_cmpint(deliver(&f, LOC, "s3cret", b).duplicate, ==, 1);
    g_free(b);
  }
  pthread_t t[W];
  struct worker_arg a[W];
  for (int i = 0; i < W; i++) {
    a[i] = (struct worker_arg){&f, 0};
    pthread_create(&t[i], NULL, inbox_worker, &a[i]);
  }
  int total = 0;
  for (int i = 0; i < W; i++) {
    pthread_join(t[i], NULL);
    total += a[i].applied;
  }
  g_assert_cmpint(total, ==, N);
  assert_q(&f, "SELECT count(*) FROM appointments WHERE origin = 'import'", "200");
  assert_q(&f, "SELECT count(*) FROM appointment_links", "200");
  assert_q(&f, "SELECT count(*) FROM sync_inbox WHERE processed_at IS NULL OR attempts <> 1", "0");
  fx_free(&f);
}

static int resolve(struct fx *f, const struct sc_caller *who, const char *id, const char *body,
                   json_object **out, struct sc_error *err) {
  PGconn *c = sc_db_acquire(f->pool);
  struct sc_tenant t = {0};
  snprintf(t.org_id, sizeof t.org_id, "%s", f->boss.org_id);
  g_assert_cmpint(sc_db_begin(c, &t, err), ==, SC_OK);
  json_object *in = json_tokener_parse(body);
  int rc = sc_conflict_resolve(c, who, id, in, out, err);
  if (rc) sc_db_rollback(c);
  else g_assert_cmpint(sc_db_commit(c, err), ==, SC_OK);
  sc_db_release(f->pool, c);
  json_object_put(in);
  return rc;
}

static int list_conflicts(struct fx *f, const struct sc_caller *who, const char *status,
                          struct sc_error *err) {
  PGconn *c = sc_db_acquire(f->pool);
  struct sc_tenant t = {0};
  snprintf(t.org_id, sizeof t.org_id, "%s", f->boss.org_id);
  g_assert_cmpint(sc_db_begin(c, &t, err), ==, SC_OK);
  json_object *out = NULL;
  int rc = sc_conflicts_list(c, who, status, &out, err);
  sc_db_rollback(c);
  sc_db_release(f->pool, c);
  int n = rc ? -1 : (int)json_object_array_length(json_object_object_get(out, "data"));
  json_object_put(out);
  return n;
}

static void test_conflict_resolution(void) {
  struct fx f;
  fx_init(&f);
  char *ext, *etag;
  char *id = pushed(&f, &ext, &etag);
  long long ours = updated_epoch(&f);
  char *equal = upsert(ext, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z", "Their title",
                       ours, "x2", NULL);
  deliver(&f, LOC, "s3cret", equal);
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_APPLIED);
  char *cid = q(&f, "SELECT id FROM sync_conflicts");
  struct sc_error err;
  g_assert_cmpint(list_conflicts(&f, &f.boss, NULL, &err), ==, 1);
  g_assert_cmpint(list_conflicts(&f, &f.boss, "resolved", &err), ==, 0);
  g_assert_cmpint(list_conflicts(&f, &f.boss, "bogus", &err), ==, -1);
  g_assert_cmpstr(err.message, ==, "status: expected open, resolved or all");
  /* Bob (staff) does not see ann's appointment, nor its conflict. */
  struct sc_caller bob = {.role = SC_ROLE_STAFF};
  snprintf(bob.org_id, sizeof bob.org_id, "%s", f.boss.org_id);
  char *bob_id = q(&f, "SELECT id FROM staff WHERE slug = 'bob'");
  snprintf(bob.staff_id, sizeof bob.staff_id, "%s", bob_id);
  g_assert_cmpint(list_conflicts(&f, &bob, "all", &err), ==, 0);
  json_object *out = NULL;
  g_assert_cmpint(resolve(&f, &bob, cid, "{\"keep\": \"theirs\"}", &out, &err), ==, SC_ENOTFOUND);
  char *msg = g_strdup_printf("no conflict %s", cid);
  g_assert_cmpstr(err.message, ==, msg);
  g_assert_cmpint(resolve(&f, &f.boss, cid, "{\"keep\": \"both\"}", &out, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "keep: expected \"ours\" or \"theirs\"");
  assert_q(&f, "SELECT resolution || ' ' || title FROM sync_conflicts, appointments",
           "MANUAL_REVIEW_REQUIRED Checkup");
  /* Keep theirs: applied locally. */
  g_assert_cmpint(resolve(&f, &f.boss, cid, "{\"keep\": \"theirs\"}", &out, &err), ==, SC_OK);
  g_assert_cmpstr(json_object_get_string(json_object_object_get(out, "resolution")), ==,
                  "RESOLVED_KEEP_THEIRS");
  json_object_put(out);
  assert_q(&f, "SELECT title || ' ' || version FROM appointments", "Their title 2");
  g_assert_cmpint(resolve(&f, &f.boss, cid, "{\"keep\": \"ours\"}", &out, &err), ==, SC_ECONFLICT);
  g_free(msg);
  msg = g_strdup_printf("conflict %s is already resolved", cid);
  g_assert_cmpstr(err.message, ==, msg);
  /* Keep ours: pushed back to the instance that disagreed. */
  g_free(q(&f, "UPDATE sync_jobs SET state = 'done'"));
  ours = updated_epoch(&f);
  char *equal2 = upsert(ext, "2026-12-01T15:00:00Z", "2026-12-01T15:30:00Z", "Third",
                        ours, "x3", NULL);
  deliver(&f, LOC, "s3cret", equal2);
  g_assert_cmpint(process(&f, NULL), ==, SC_INBOX_APPLIED);
  char *cid2 = q(&f, "SELECT id FROM sync_conflicts WHERE resolved_at IS NULL");
  g_assert_cmpint(resolve(&f, &f.boss, cid2, "{\"keep\": \"ours\"}", &out, &err), ==, SC_OK);
  json_object_put(out);
  assert_q(&f, "SELECT string_agg(ci.name || ':' || j.kind, ',') FROM sync_jobs j JOIN"
               " connector_instances ci ON ci.id = j.instance_id WHERE j.state = 'pending'",
           "acme.miami.scripted:update");
  assert_q(&f, "SELECT title FROM appointments", "Their title");
  g_free(cid2), g_free(equal2), g_free(msg), g_free(bob_id), g_free(cid), g_free(equal);
  g_free(id), g_free(ext), g_free(etag);
  fx_free(&f);
}

/* The inbox workers give way while deliveries keep coming: the writer
** says whether one was submitted within the last ms milliseconds. */
static void test_ingest_recent(void) {
  struct fx f;
  fx_init(&f);
  struct sc_ingest *ig;
  struct sc_error err;
  g_assert_cmpint(sc_ingest_start(f.pool, &ig, &err), ==, SC_OK);
  g_assert_false(sc_ingest_recent(ig, 50));
  struct sc_ingest_item item = {"acme.miami.scripted", "k1", "{}", "e30=", NULL};
  int stored = 0, duplicate = 0;
  g_assert_cmpint(sc_ingest_submit(ig, &item, &stored, &duplicate, &err), ==, SC_OK);
  g_assert_true(stored);
  g_assert_true(sc_ingest_recent(ig, 1000));
  g_usleep(120 * 1000);
  g_assert_false(sc_ingest_recent(ig, 50));
  g_assert_true(sc_ingest_recent(ig, 60000));
  g_assert_false(sc_ingest_recent(NULL, 60000));
  sc_ingest_stop(ig);
  assert_q(&f, "SELECT count(*) FROM sync_inbox", "1");
  fx_free(&f);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sync_inbox/bad_signature_stores_nothing", test_bad_signature_stores_nothing);
  g_test_add_func("/sync_inbox/unknown_endpoints", test_unknown_endpoints);
  g_test_add_func("/sync_inbox/routed_duplicate_applied_once", test_routed_duplicate_applied_once);
  g_test_add_func("/sync_inbox/import_overlap_flagged", test_import_overlap_flagged);
  g_test_add_func("/sync_inbox/echo_suppressed", test_echo_suppressed);
  g_test_add_func("/sync_inbox/conflict_rules", test_conflict_rules);
  g_test_add_func("/sync_inbox/provider_reactivation_applied", test_provider_reactivation_applied);
  g_test_add_func("/sync_inbox/staff_calendar_is_external_busy", test_staff_calendar_is_external_busy);
  g_test_add_func("/sync_inbox/poison_delivery_marked_failed", test_poison_delivery_marked_failed);
  g_test_add_func("/sync_inbox/workers_apply_each_delivery_once", test_workers_apply_each_delivery_once);
  g_test_add_func("/sync_inbox/conflict_resolution", test_conflict_resolution);
  g_test_add_func("/sync_inbox/ingest_recent", test_ingest_recent);
  return g_test_run();
}
