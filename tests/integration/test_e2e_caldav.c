/*
** Issue 8 end to end: the real sidecald with the built caldav connector on
** a staff member's calendar in a real Radicale (tests/common/radicale.c).
** Events are put on the server as a phone would (plain HTTP PUT of an
** .ics); what the daemon writes is read back from the server; free time is
** read from GET /v1/availability. Expected UTC instants come from GLib's
** GTimeZone, not from libical, which the connector uses.
**
** World: acme, location miami (America/New_York, weekdays 09:00-17:00),
** staff alice (caldav on /alice/calendar/, right password) and bob (caldav
** with a wrong password), event type consult (30 min). The sync engine
** runs with a 1 s interval, so every wait below is bounded and short.
*/
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "plugin_test.h"
#include "radicale.h"
#include "testdaemon.h"

#define PW_ALICE "alice-secret"
#define PW_BOB "bob-secret"
#define ZONE "America/New_York"
#define ALICE_INST "acme.staff.alice.caldav"
#define BOB_INST "acme.staff.bob.caldav"
#define WAIT_S 30

#define NY_VTIMEZONE                                                        \
  "BEGIN:VTIMEZONE\nTZID:America/New_York\n"                                \
  "BEGIN:DAYLIGHT\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\n"                  \
  "DTSTART:20070311T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\n"        \
  "TZNAME:EDT\nEND:DAYLIGHT\n"                                              \
  "BEGIN:STANDARD\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\n"                  \
  "DTSTART:20071104T020000\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\n"       \
  "TZNAME:EST\nEND:STANDARD\nEND:VTIMEZONE\n"

static struct rad_server rad;
static int have_server;
static struct sc_test_daemon D;
static struct pt_dirs P;
static char *state_dir;
static char *owner_key;
static PGconn *db;
static GDate monday;   /* a Monday 7-13 days ahead: the phone event */

/* ---- time (GLib) ------------------------------------------------------- */

static GDateTime *local_at(const GDate *d, int h, int m) {
  GTimeZone *tz = g_time_zone_new_identifier(ZONE);
  g_assert_nonnull(tz);
  GDateTime *t = g_date_time_new(tz, g_date_get_year(d), g_date_get_month(d),
                                 g_date_get_day(d), h, m, 0);
  g_time_zone_unref(tz);
  return t;
}

/* "YYYY-MM-DDTHH:MM:SSZ" of a local wall-clock time (g_free). */
static char *utc_of(const GDate *d, int h, int m) {
  GDateTime *t = local_at(d, h, m);
  GDateTime *u = g_date_time_to_utc(t);
  char *s = g_date_time_format(u, "%Y-%m-%dT%H:%M:%SZ");
  g_date_time_unref(u);
  g_date_time_unref(t);
  return s;
}

static char *ymd(const GDate *d, const char *fmt) {
  char buf[32];
  g_date_strftime(buf, sizeof buf, fmt, d);
  return g_strdup(buf);
}

static GDate day_plus(const GDate *d, int n) {
  GDate r = *d;
  if (n >= 0) g_date_add_days(&r, (guint)n);
  else g_date_subtract_days(&r, (guint)-n);
  return r;
}

static GDate today_plus(int n) {
  GDate d;
  g_date_set_time_t(&d, time(NULL));
  g_date_add_days(&d, (guint)n);
  return d;
}

static int utc_offset(const GDate *d) {
  GDateTime *t = local_at(d, 12, 0);
  int off = (int)(g_date_time_get_utc_offset(t) / G_TIME_SPAN_SECOND);
  g_date_time_unref(t);
  return off;
}

/* ---- the daemon -------------------------------------------------------- */

static json_object *get_json(const char *path, long want) {
  struct sc_test_resp r;
  sc_test_http(&D, "GET", path, owner_key, NULL, NULL, &r);
  if (r.status != want) g_error("GET %s: %ld (wanted %ld) %s", path, r.status, want, r.body);
  json_object *o = json_tokener_parse(r.body);
  g_assert_nonnull(o);
  sc_test_resp_free(&r);
  return o;
}

static const char *jstr(json_object *o, const char *k) {
  json_object *v;
  return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

/* The half-hour starts from 09:00 to 16:30 local on d that alice does NOT
** have free, as "HH:MM HH:MM ..." ("" when the whole day is free). */
static char *taken(const GDate *d) {
  char *date = ymd(d, "%Y-%m-%d");
  char *path = g_strdup_printf("/v1/availability?location=miami&event_type=consult&staff=alice"
                               "&from=%s&to=%s", date, date);
  json_object *o = get_json(path, 200), *slots;
  g_assert_true(json_object_object_get_ex(o, "slots", &slots));
  GHashTable *free_set = g_hash_table_new(g_str_hash, g_str_equal);
  for (size_t i = 0; i < json_object_array_length(slots); i++)
    g_hash_table_add(free_set, (gpointer)jstr(json_object_array_get_idx(slots, i), "start"));
  GString *out = g_string_new("");
  for (int m = 9 * 60; m < 17 * 60; m += 30) {
    char *u = utc_of(d, m / 60, m % 60);
    if (!g_hash_table_contains(free_set, u))
      g_string_append_printf(out, "%s%02d:%02d", out->len ? " " : "", m / 60, m % 60);
    g_free(u);
  }
  g_hash_table_destroy(free_set);
  json_object_put(o);
  g_free(path);
  g_free(date);
  return g_string_free(out, FALSE);
}

static void assert_taken(const GDate *d, const char *want) {
  char *got = taken(d);
  g_assert_cmpstr(got, ==, want);
  g_free(got);
}

/* Waits (bounded) until taken(d) is want; fails with the last answer. */
static void wait_taken(const GDate *d, const char *want) {
  char *got = NULL;
  for (int i = 0; i < WAIT_S * 10; i++) {
    g_free(got);
    got = taken(d);
    if (!strcmp(got, want)) break;
    g_usleep(100 * 1000);
  }
  char *date = ymd(d, "%Y-%m-%d");
  if (strcmp(got, want)) g_error("%s: taken \"%s\", wanted \"%s\" within %d s", date, got, want, WAIT_S);
  g_free(date);
  g_free(got);
}

static char *sql(const char *q) { return sc_test_db_value(db, q); }

/* Waits (bounded) until the query answers a non-NULL first value. */
static char *wait_sql(const char *q, const char *what) {
  for (int i = 0; i < WAIT_S * 10; i++) {
    char *v = sql(q);
    if (v) return v;
    g_usleep(100 * 1000);
  }
  char *log = sc_test_daemon_log(&D);
  g_printerr("daemon log:\n%s\n", log);
  g_free(log);
  g_error("no %s within %d s (daemon log on stderr)", what, WAIT_S);
  return NULL;
}

static int count_in_log(const char *needle) {
  char *log = sc_test_daemon_log(&D);
  int n = 0;
  for (const char *p = strstr(log, needle); p; p = strstr(p + 1, needle)) n++;
  g_free(log);
  return n;
}

/* ---- the server, as a phone would use it ------------------------------- */

static long phone_put(const char *path, const char *vevents) {
  char *body = g_strdup_printf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//phone//EN\n%s%s"
                               "END:VCALENDAR\n", NY_VTIMEZONE, vevents);
  struct rad_req r = {.method = "PUT", .path = path, .user = "alice", .password = PW_ALICE,
                      .content_type = "text/calendar; charset=utf-8", .body = body};
  long st = rad_http(&rad, &r, NULL);
  g_free(body);
  return st;
}

static long phone_put_raw(const char *path, const char *ics) {
  struct rad_req r = {.method = "PUT", .path = path, .user = "alice", .password = PW_ALICE,
                      .content_type = "text/calendar; charset=utf-8", .body = ics};
  return rad_http(&rad, &r, NULL);
}

static long phone_delete(const char *path) {
  struct rad_req r = {.method = "DELETE", .path = path, .user = "alice", .password = PW_ALICE};
  return rad_http(&rad, &r, NULL);
}

static long server_get(const char *path, char **body) {
  struct rad_req r = {.method = "GET", .path = path, .user = "alice", .password = PW_ALICE};
  struct sc_http_response resp;
  long st = rad_http(&rad, &r, &resp);
  *body = g_strdup(resp.body ? resp.body : "");
  sc_http_response_free(&resp);
  return st;
}

/* A VEVENT at local times on d (h:m to h2:m2) with extra lines. */
static char *vevent(const char *uid, const GDate *d, int h, int m, int h2, int m2,
                    const char *extra) {
  char *day = ymd(d, "%Y%m%d");
  char *s = g_strdup_printf("BEGIN:VEVENT\nUID:%s\nDTSTAMP:20260101T000000Z\n"
                            "DTSTART;TZID=America/New_York:%sT%02d%02d00\n"
                            "DTEND;TZID=America/New_York:%sT%02d%02d00\nSUMMARY:Private\n%s"
                            "END:VEVENT\n", uid, day, h, m, day, h2, m2, extra ? extra : "");
  g_free(day);
  return s;
}

#define NEED_SERVER()                                                  \
  do {                                                                 \
    if (!have_server) {                                                \
      g_test_skip("radicale is not installed (scripts/install-deps)"); \
      return;                                                          \
    }                                                                  \
  } while (0)

/* ---- appointments ------------------------------------------------------ */

static char *book(const GDate *d, int h, int m) {
  char *s = utc_of(d, h, m);
  char *body = g_strdup_printf("{\"location\":\"miami\",\"staff\":\"alice\",\"event_type\":\"consult\","
                               "\"starts_at\":\"%s\",\"client_name\":\"Ana\","
                               "\"client_email\":\"ana@example.com\"}", s);
  struct sc_test_resp r;
  sc_test_http(&D, "POST", "/v1/appointments", owner_key, NULL, body, &r);
  if (r.status != 201) g_error("POST /v1/appointments: %ld %s", r.status, r.body);
  json_object *o = json_tokener_parse(r.body);
  char *id = g_strdup(jstr(o, "id"));
  json_object_put(o);
  sc_test_resp_free(&r);
  g_free(body);
  g_free(s);
  return id;
}

static void reschedule(const char *id, const GDate *d, int h, int m) {
  char *s = utc_of(d, h, m), *e = utc_of(d, h, m + 30);
  char *body = g_strdup_printf("{\"starts_at\":\"%s\",\"ends_at\":\"%s\"}", s, e);
  char *path = g_strdup_printf("/v1/appointments/%s", id);
  struct sc_test_resp r;
  sc_test_http(&D, "PATCH", path, owner_key, "application/merge-patch+json", body, &r);
  if (r.status != 200) g_error("PATCH %s: %ld %s", path, r.status, r.body);
  sc_test_resp_free(&r);
  g_free(path);
  g_free(body);
  g_free(e);
  g_free(s);
}

/* The server resource of an appointment's link, once it carries etag-ish
** state other than `not_etag` (g_free). */
static char *link_of(const char *id, const char *not_etag) {
  char *q = g_strdup_printf("SELECT l.external_id FROM appointment_links l"
                            " JOIN connector_instances ci ON ci.id = l.instance_id"
                            " WHERE ci.name = '" ALICE_INST "' AND l.appointment_id = '%s'"
                            " AND l.etag IS NOT NULL AND l.etag IS DISTINCT FROM %s%s%s",
                            id, not_etag ? "'" : "", not_etag ? not_etag : "NULL",
                            not_etag ? "'" : "");
  char *v = wait_sql(q, "appointment link");
  g_free(q);
  return v;
}

static char *etag_of(const char *id) {
  char *q = g_strdup_printf("SELECT l.etag FROM appointment_links l WHERE l.appointment_id = '%s'", id);
  char *v = sql(q);
  g_free(q);
  return v;
}

/* Waits until the server body of path contains needle. */
static char *wait_body_has(const char *path, const char *needle) {
  char *body = NULL;
  for (int i = 0; i < WAIT_S * 10; i++) {
    g_free(body);
    if (server_get(path, &body) == 200 && strstr(body, needle)) return body;
    g_usleep(100 * 1000);
  }
  g_error("%s never contained %s; last:\n%s", path, needle, body);
  return NULL;
}

/* ---- tests ------------------------------------------------------------- */

/* A phone puts an event; the next sync blocks exactly its slots. A delete
** on the server frees them again. */
static void test_phone_event_blocks_then_delete_frees(void) {
  NEED_SERVER();
  assert_taken(&monday, "");
  char *ev = vevent("phone-1@example.com", &monday, 10, 0, 11, 0, NULL);
  g_assert_cmpint(phone_put("/alice/calendar/phone-1.ics", ev), ==, 201);
  wait_taken(&monday, "10:00 10:30");
  /* External busy keeps no details: the row names the resource only. */
  char *n = sql("SELECT count(*) FROM external_busy WHERE external_id = '/alice/calendar/phone-1.ics'");
  g_assert_cmpstr(n, ==, "1");
  g_assert_cmpint(phone_delete("/alice/calendar/phone-1.ics"), ==, 200);
  wait_taken(&monday, "");
  g_free(n);
  n = sql("SELECT count(*) FROM external_busy");
  g_assert_cmpstr(n, ==, "0");
  g_free(n);
  g_free(ev);
}

/* A booking through the API lands on the server in the location's zone;
** reschedule and cancel follow; our own event is never busy time. */
static void test_booking_reschedule_cancel_propagate(void) {
  NEED_SERVER();
  GDate tue = day_plus(&monday, 1);
  char *id = book(&tue, 14, 0);
  char *path = link_of(id, NULL);
  char *want_path = g_strdup_printf("/alice/calendar/sidecal-%s.ics", id);
  g_assert_cmpstr(path, ==, want_path);
  char *d = ymd(&tue, "%Y%m%d");
  char *dtstart = g_strdup_printf("DTSTART;TZID=America/New_York:%sT140000", d);
  char *dtend = g_strdup_printf("DTEND;TZID=America/New_York:%sT143000", d);
  char *marker = g_strdup_printf("X-SIDECAL-MARKER:sidecal:%s", id);
  char *body = wait_body_has(path, dtstart);
  g_assert_nonnull(strstr(body, dtend));
  g_assert_nonnull(strstr(body, "TZID:America/New_York"));
  g_assert_nonnull(strstr(body, "BEGIN:VTIMEZONE"));
  g_assert_nonnull(strstr(body, marker));
  g_assert_null(strstr(body, "ATTENDEE"));
  assert_taken(&tue, "14:00");

  /* Reschedule: the same resource moves. */
  char *etag1 = etag_of(id);
  reschedule(id, &tue, 15, 0);
  char *dtstart2 = g_strdup_printf("DTSTART;TZID=America/New_York:%sT150000", d);
  g_free(body);
  body = wait_body_has(path, dtstart2);
  g_assert_null(strstr(body, dtstart));
  g_free(link_of(id, etag1));
  assert_taken(&tue, "15:00");
  /* Polls see our own event: an echo, never external busy time. */
  int syncs = count_in_log("event=synced instance=" ALICE_INST);
  for (int i = 0; i < WAIT_S * 10 && count_in_log("event=synced instance=" ALICE_INST) < syncs + 2; i++)
    g_usleep(100 * 1000);
  g_assert_cmpint(count_in_log("event=synced instance=" ALICE_INST), >=, syncs + 2);
  char *n = sql("SELECT count(*) FROM external_busy");
  g_assert_cmpstr(n, ==, "0");
  g_free(n);

  /* Cancel: the resource goes away and the slot is free. */
  char *cpath = g_strdup_printf("/v1/appointments/%s/cancel", id);
  struct sc_test_resp r;
  sc_test_http(&D, "POST", cpath, owner_key, NULL, "{}", &r);
  g_assert_cmpint(r.status, ==, 200);
  sc_test_resp_free(&r);
  long st = 0;
  for (int i = 0; i < WAIT_S * 10 && st != 404; i++) {
    char *b;
    st = server_get(path, &b);
    g_free(b);
    if (st != 404) g_usleep(100 * 1000);
  }
  g_assert_cmpint(st, ==, 404);
  assert_taken(&tue, "");
  char *q = g_strdup_printf("SELECT 1 FROM appointment_links WHERE appointment_id = '%s'", id);
  for (int i = 0; i < WAIT_S * 10; i++) {
    char *v = sql(q);
    if (!v) break;
    g_free(v);
    g_usleep(100 * 1000);
  }
  char *left = sql(q);
  g_assert_null(left);
  g_free(q);
  g_free(cpath);
  g_free(dtstart2);
  g_free(etag1);
  g_free(body);
  g_free(marker);
  g_free(dtend);
  g_free(dtstart);
  g_free(d);
  g_free(want_path);
  g_free(path);
  g_free(id);
}

/* The same appointment edited on the phone and here within one second:
** our update meets 412 and the conflict rule (equal whole-second times)
** records a sync_conflicts row with both versions; nothing is applied. */
static void test_edited_on_both_sides_reaches_conflict_rule(void) {
  NEED_SERVER();
  GDate wed = day_plus(&monday, 2);
  char *id = book(&wed, 10, 0);
  char *path = link_of(id, NULL);
  char *body = NULL;
  g_assert_cmpint(server_get(path, &body), ==, 200);
  /* The phone moves it to 11:00 with LAST-MODIFIED two seconds ahead; we
  ** then move it to 12:00 within that same second. */
  gint64 t = g_get_real_time() / G_USEC_PER_SEC + 2;
  GDateTime *lm = g_date_time_new_from_unix_utc(t);
  char *lm_s = g_date_time_format(lm, "LAST-MODIFIED:%Y%m%dT%H%M%SZ");
  char *d = ymd(&wed, "%Y%m%d");
  GString *edited = g_string_new("");
  char **lines = g_strsplit(body, "\n", -1);
  for (char **l = lines; *l; l++) {
    char *line = g_strchomp(g_strdup(*l));
    if (g_str_has_prefix(line, "LAST-MODIFIED:")) {
      g_string_append_printf(edited, "%s\r\n", lm_s);
    } else if (g_str_has_prefix(line, "DTSTART;TZID=")) {
      g_string_append_printf(edited, "DTSTART;TZID=America/New_York:%sT110000\r\n", d);
    } else if (g_str_has_prefix(line, "DTEND;TZID=")) {
      g_string_append_printf(edited, "DTEND;TZID=America/New_York:%sT113000\r\n", d);
    } else if (*line) {
      g_string_append_printf(edited, "%s\r\n", line);
    }
    g_free(line);
  }
  g_strfreev(lines);
  g_assert_cmpint(phone_put_raw(path, edited->str), ==, 201);
  while (g_get_real_time() < t * G_USEC_PER_SEC + 100000) g_usleep(20000);
  reschedule(id, &wed, 12, 0);
  char *uq = g_strdup_printf("SELECT floor(extract(epoch FROM updated_at))::bigint"
                             " FROM appointments WHERE id = '%s'", id);
  char *ours_s = sql(uq);
  g_free(uq);
  if (g_ascii_strtoll(ours_s, NULL, 10) != t) {
    /* A slow PATCH landed in a later second: ours is newer, and the rule
    ** pushes ours over the phone's version (its etag taken from the re-read). */
    char *want = g_strdup_printf("DTSTART;TZID=America/New_York:%sT120000", d);
    g_test_message("PATCH landed at %s, not %lld: expecting ours pushed", ours_s, (long long)t);
    g_free(wait_body_has(path, want));
    g_free(want);
    g_free(ours_s);
    g_string_free(edited, TRUE);
    g_free(d);
    g_free(lm_s);
    g_date_time_unref(lm);
    g_free(body);
    g_free(path);
    g_free(id);
    return;
  }
  g_free(ours_s);
  char *q = g_strdup_printf("SELECT c.diff::text FROM sync_conflicts c WHERE c.entity_id = '%s'"
                            " AND c.resolved_at IS NULL", id);
  char *diff = wait_sql(q, "sync_conflicts row");
  json_object *o = json_tokener_parse(diff), *starts, *v;
  g_assert_nonnull(o);
  g_assert_true(json_object_object_get_ex(o, "starts_at", &starts));
  char *ours = utc_of(&wed, 12, 0), *theirs = utc_of(&wed, 11, 0);
  g_assert_true(json_object_object_get_ex(starts, "ours", &v));
  g_assert_cmpstr(json_object_get_string(v), ==, ours);
  g_assert_true(json_object_object_get_ex(starts, "theirs", &v));
  g_assert_cmpstr(json_object_get_string(v), ==, theirs);
  /* Listed by the API, and nothing applied on either side. */
  json_object *list = get_json("/v1/sync/conflicts?status=open", 200), *data;
  g_assert_true(json_object_object_get_ex(list, "data", &data));
  g_assert_cmpuint(json_object_array_length(data), ==, 1);
  char *appt_path = g_strdup_printf("/v1/appointments/%s", id);
  json_object *appt = get_json(appt_path, 200);
  g_assert_cmpstr(jstr(appt, "starts_at"), ==, ours);
  char *now_body = NULL;
  g_assert_cmpint(server_get(path, &now_body), ==, 200);
  char *theirs_line = g_strdup_printf("DTSTART;TZID=America/New_York:%sT110000", d);
  g_assert_nonnull(strstr(now_body, theirs_line));
  /* The job that met the 412 is settled, not retried forever. */
  char *jq = g_strdup_printf("SELECT count(*) FROM sync_jobs WHERE appointment_id = '%s'"
                             " AND state IN ('pending', 'running', 'dead')", id);
  char *open_jobs = sql(jq);
  g_assert_cmpstr(open_jobs, ==, "0");
  g_free(open_jobs);
  g_free(jq);
  g_free(theirs_line);
  g_free(now_body);
  json_object_put(appt);
  g_free(appt_path);
  json_object_put(list);
  json_object_put(o);
  g_free(ours);
  g_free(theirs);
  g_free(diff);
  g_free(q);
  g_string_free(edited, TRUE);
  g_free(d);
  g_free(lm_s);
  g_date_time_unref(lm);
  g_free(body);
  g_free(path);
  g_free(id);
}

/* The first New York DST change at least 35 days ahead (its Sunday). */
static GDate next_dst_change(void) {
  GDate d = today_plus(35);
  for (int i = 0; i < 400; i++) {
    GDate n = day_plus(&d, 1);
    if (utc_offset(&n) != utc_offset(&d)) return n;
    d = n;
  }
  g_error("no DST change in New York within 400 days");
  return d;
}

static char *bogus_cursor_snapshot(void);

/* A weekly series on Mondays at 10:00 local across a DST change: two weeks
** before it, the first Monday after it cancelled by EXDATE, the next moved
** to 14:00 by a RECURRENCE-ID override, one normal week after; COUNT ends
** it. Each Monday blocks exactly its own local times. */
static GDate dst_mondays[6];

static void test_weekly_series_across_dst(void) {
  NEED_SERVER();
  GDate change = next_dst_change();   /* a Sunday */
  for (int i = 0; i < 6; i++) dst_mondays[i] = day_plus(&change, -13 + 7 * i);
  g_assert_cmpint(g_date_get_weekday(&dst_mondays[0]), ==, G_DATE_MONDAY);
  g_assert_cmpint(utc_offset(&dst_mondays[1]), !=, utc_offset(&dst_mondays[2]));
  char *d0 = ymd(&dst_mondays[0], "%Y%m%d"), *d2 = ymd(&dst_mondays[2], "%Y%m%d"),
       *d3 = ymd(&dst_mondays[3], "%Y%m%d");
  char *ics = g_strdup_printf(
      "BEGIN:VEVENT\nUID:weekly@example.com\nDTSTAMP:20260101T000000Z\n"
      "DTSTART;TZID=America/New_York:%sT100000\nDTEND;TZID=America/New_York:%sT110000\n"
      "RRULE:FREQ=WEEKLY;COUNT=5\nEXDATE;TZID=America/New_York:%sT100000\n"
      "SUMMARY:Standup\nEND:VEVENT\n"
      "BEGIN:VEVENT\nUID:weekly@example.com\nDTSTAMP:20260101T000000Z\n"
      "RECURRENCE-ID;TZID=America/New_York:%sT100000\n"
      "DTSTART;TZID=America/New_York:%sT140000\nDTEND;TZID=America/New_York:%sT150000\n"
      "SUMMARY:Standup (moved)\nEND:VEVENT\n", d0, d0, d2, d3, d3, d3);
  for (int i = 0; i < 6; i++) assert_taken(&dst_mondays[i], "");
  g_assert_cmpint(phone_put("/alice/calendar/weekly.ics", ics), ==, 201);
  static const char *const want[6] = {"10:00 10:30", "10:00 10:30", "", "14:00 14:30",
                                      "10:00 10:30", ""};
  wait_taken(&dst_mondays[4], want[4]);
  for (int i = 0; i < 6; i++) {
    char *got = taken(&dst_mondays[i]);
    char *date = ymd(&dst_mondays[i], "%Y-%m-%d");
    if (strcmp(got, want[i])) g_error("%s (week %d): taken \"%s\", wanted \"%s\"", date, i, got, want[i]);
    g_free(date);
    g_free(got);
  }
  /* Four busy rows, one per remaining occurrence, at the GLib instants. */
  char *n = sql("SELECT count(*) FROM external_busy WHERE external_id LIKE '/alice/calendar/weekly.ics#%'");
  g_assert_cmpstr(n, ==, "4");
  g_free(n);
  char *u = utc_of(&dst_mondays[3], 14, 0);
  char *q = g_strdup_printf("SELECT count(*) FROM external_busy WHERE starts_at = '%s'"
                            " AND ends_at = starts_at + interval '1 hour'", u);
  n = sql(q);
  g_assert_cmpstr(n, ==, "1");
  g_free(n);
  g_free(q);
  g_free(u);
  g_free(ics);
  g_free(d0);
  g_free(d2);
  g_free(d3);
}

/* Busy rows and the DST weeks' free time, as one comparable string. */
static char *bogus_cursor_snapshot(void) {
  GString *s = g_string_new("");
  char *rows = sql("SELECT string_agg(external_id || '=' || sc_utc(starts_at) || '/' ||"
                   " sc_utc(ends_at), ',' ORDER BY external_id) FROM external_busy");
  g_string_append(s, rows ? rows : "(none)");
  g_free(rows);
  for (int i = 0; i < 6; i++) {
    char *t = taken(&dst_mondays[i]);
    g_string_append_printf(s, "|%s", t);
    g_free(t);
  }
  return g_string_free(s, FALSE);
}

/* A sync token the server does not know: the connector answers
** CURSOR_EXPIRED and the host's full sync gives the same result. Busy rows
** deleted in the same transaction come back, which only a full sync does. */
static void test_bogus_sync_token_full_sync(void) {
  NEED_SERVER();
  char *before = bogus_cursor_snapshot();
  g_assert_nonnull(strstr(before, "weekly.ics#"));
  int fulls = count_in_log("event=synced instance=" ALICE_INST " full=1");
  char *bogus = NULL;
  for (int i = 0; i < WAIT_S * 10 && !bogus; i++) {
    /* Only while no sync holds the lease, or its save would overwrite it. */
    bogus = sql("WITH u AS (UPDATE sync_leases l SET cursor = substring(l.cursor from"
                "  '^cd1:[0-9a-f]+:') || 'http://radicale.org/ns/sync/bogus',"
                "  next_sync_at = now()"
                " FROM connector_instances ci WHERE ci.id = l.instance_id"
                "  AND ci.name = '" ALICE_INST "' AND l.holder IS NULL AND l.cursor LIKE 'cd1:%'"
                " RETURNING l.cursor), d AS (DELETE FROM external_busy WHERE EXISTS (SELECT 1 FROM u))"
                " SELECT cursor FROM u");
    if (!bogus) g_usleep(50 * 1000);
  }
  g_assert_nonnull(bogus);
  g_assert_true(g_str_has_suffix(bogus, ":http://radicale.org/ns/sync/bogus"));
  char *q = g_strdup_printf("SELECT l.cursor FROM sync_leases l JOIN connector_instances ci"
                            " ON ci.id = l.instance_id WHERE ci.name = '" ALICE_INST "'"
                            " AND l.cursor IS DISTINCT FROM '%s' AND l.holder IS NULL", bogus);
  char *fresh = wait_sql(q, "a new cursor after the bogus one");
  g_assert_true(g_str_has_prefix(fresh, "cd1:"));
  /* The log line follows the commit. */
  for (int i = 0; i < WAIT_S * 10 && count_in_log("event=synced instance=" ALICE_INST " full=1") <= fulls; i++)
    g_usleep(100 * 1000);
  g_assert_cmpint(count_in_log("event=synced instance=" ALICE_INST " full=1"), ==, fulls + 1);
  /* Availability follows the restored rows through cache invalidation. */
  char *after = bogus_cursor_snapshot();
  for (int i = 0; i < WAIT_S * 10 && strcmp(after, before); i++) {
    g_usleep(100 * 1000);
    g_free(after);
    after = bogus_cursor_snapshot();
  }
  g_assert_cmpstr(after, ==, before);
  g_free(after);
  g_free(fresh);
  g_free(q);
  g_free(bogus);
  g_free(before);
}

/* A rejected password: NEEDS_REAUTH in /health/calendar and in
** `sidecalctl plugins`; the daemon keeps serving. */
static void test_wrong_password_needs_reauth(void) {
  NEED_SERVER();
  char *st = wait_sql("SELECT ss.status::text FROM sync_status ss JOIN connector_instances ci"
                      " ON ci.id = ss.instance_id WHERE ci.name = '" BOB_INST "'"
                      " AND ss.status = 'NEEDS_REAUTH'", "NEEDS_REAUTH for bob");
  g_free(st);
  json_object *h = get_json("/health/calendar", 200), *insts;
  g_assert_true(json_object_object_get_ex(h, "instances", &insts));
  int seen = 0;
  for (size_t i = 0; i < json_object_array_length(insts); i++) {
    json_object *e = json_object_array_get_idx(insts, i);
    if (!g_strcmp0(jstr(e, "instance"), BOB_INST)) {
      seen = 1;
      g_assert_cmpstr(jstr(e, "status"), ==, "NEEDS_REAUTH");
      /* The host's words; the connector's "HTTP 401: ... rejected the
      ** username or password" is not carried into last_error. */
      g_assert_cmpstr(jstr(e, "last_error"), ==, "credentials rejected and refresh failed: "
                      "credentials rejected and the connector cannot refresh them");
    } else if (!g_strcmp0(jstr(e, "instance"), ALICE_INST)) {
      g_assert_cmpstr(jstr(e, "status"), ==, "HEALTHY");
    }
  }
  g_assert_true(seen);
  json_object_put(h);
  const char *ls[] = {"plugins", NULL};
  char *out = NULL;
  g_assert_cmpint(sc_test_ctl(&D, ls, &out), ==, 0);
  if (!strstr(out, "    " BOB_INST " (caldav)  running  health NEEDS_REAUTH"))
    g_error("sidecalctl plugins:\n%s", out);
  g_assert_nonnull(strstr(out, "    " ALICE_INST " (caldav)  running  health HEALTHY"));
  g_free(out);
  /* Still alive and serving. */
  int status;
  g_assert_cmpint(waitpid(D.pid, &status, WNOHANG), ==, 0);
  json_object_put(get_json("/health", 200));
}

/* ---- set-up ------------------------------------------------------------ */

static char *acme_yaml(void) {
  return g_strdup_printf(
      "organization: {slug: acme, name: Acme}\n"
      "locations:\n"
      "  - slug: miami\n"
      "    name: Miami\n"
      "    timezone: " ZONE "\n"
      "    rules:\n"
      "      - {day_of_week: [1, 2, 3, 4, 5], start: \"09:00\", end: \"17:00\"}\n"
      "staff:\n"
      "  - slug: alice\n"
      "    name: Alice\n"
      "    locations: [miami]\n"
      "    connectors:\n"
      "      - plugin: caldav\n"
      "        settings:\n"
      "          calendar_url: \"%salice/calendar/\"\n"
      "          username: alice\n"
      "          password: env:E2E_CALDAV_PW_ALICE\n"
      "  - slug: bob\n"
      "    name: Bob\n"
      "    locations: [miami]\n"
      "    connectors:\n"
      "      - plugin: caldav\n"
      "        settings:\n"
      "          base_url: \"%s\"\n"
      "          username: bob\n"
      "          password: env:E2E_CALDAV_PW_BOB\n"
      "event_types:\n"
      "  - {slug: consult, title: Consultation, duration: 30, interval: 30,"
      " horizon_days: 300, published: true, staff: [alice, bob]}\n",
      rad.base_url, rad.base_url);
}

static void start_world(void) {
  const char *users[] = {"alice:" PW_ALICE, "bob:" PW_BOB};
  char why[4096];
  int rc = rad_start(&rad, users, 2, why, sizeof why);
  if (rc == 1) return;
  if (rc) g_error("radicale: %s", why);
  have_server = 1;
  g_assert_cmpint(rad_mkcalendar(&rad, "alice", PW_ALICE, "/alice/calendar/", "Work"), ==, 201);
  g_assert_cmpint(rad_mkcalendar(&rad, "bob", PW_BOB, "/bob/calendar/", "Work"), ==, 201);
  /* Inherited by the daemon. */
  g_setenv("E2E_CALDAV_PW_ALICE", PW_ALICE, TRUE);
  g_setenv("E2E_CALDAV_PW_BOB", "wrong-password", TRUE);
  g_setenv("SIDECAL_SYNC_INTERVAL_S", "1", TRUE);
  g_setenv("SIDECAL_SYNC_POLL_MS", "100", TRUE);
  g_setenv("SIDECAL_SYNC_HORIZON_DAYS", "300", TRUE);
  pt_dirs_init(&P);
  state_dir = g_build_filename(P.root, "state", NULL);
  pt_stage(&P, "plugins/caldav/caldav.so", "caldav", 0644);
  char *y = acme_yaml();
  const char *files[] = {"acme.yaml", y, NULL};
  sc_test_daemon_init(&D, files);
  g_free(y);
  const char *extra[] = {"--plugin-dir", P.plugins, "--state-dir", state_dir, NULL};
  sc_test_daemon_start(&D, extra);
  const char *own[] = {"key", "create", "--org", "acme", "--role", "agency_owner", NULL};
  char *out = NULL;
  if (sc_test_ctl(&D, own, &out)) g_error("key create: %s", out);
  *strchr(out, '\n') = '\0';
  owner_key = out;
  db = sc_test_db_connect(&D.db);
  /* A Monday 7-13 days ahead, clear of the DST weeks (>= 35 days ahead). */
  monday = today_plus(7);
  while (g_date_get_weekday(&monday) != G_DATE_MONDAY) g_date_add_days(&monday, 1);
  g_free(wait_sql("SELECT 1 FROM sync_leases l JOIN connector_instances ci ON ci.id = l.instance_id"
                  " WHERE ci.name = '" ALICE_INST "' AND l.initial_sync_at IS NOT NULL",
                  "initial sync of alice's calendar"));
}

static void stop_world(void) {
  if (!have_server) return;
  if (db) PQfinish(db);
  if (D.pid) {
    int st = sc_test_daemon_signal_wait(&D, SIGTERM);
    if (st) {
      char *log = sc_test_daemon_log(&D);
      g_printerr("%s", log);
      g_free(log);
    }
    g_assert_cmpint(st, ==, 0);
  }
  sc_test_daemon_cleanup(&D);
  pt_dirs_free(&P);
  g_free(state_dir);
  g_free(owner_key);
  rad_stop(&rad);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  start_world();
  g_test_add_func("/e2e_caldav/phone_event_blocks_then_delete_frees",
                  test_phone_event_blocks_then_delete_frees);
  g_test_add_func("/e2e_caldav/booking_reschedule_cancel_propagate",
                  test_booking_reschedule_cancel_propagate);
  g_test_add_func("/e2e_caldav/edited_on_both_sides_reaches_conflict_rule",
                  test_edited_on_both_sides_reaches_conflict_rule);
  g_test_add_func("/e2e_caldav/weekly_series_across_dst", test_weekly_series_across_dst);
  g_test_add_func("/e2e_caldav/bogus_sync_token_full_sync", test_bogus_sync_token_full_sync);
  g_test_add_func("/e2e_caldav/wrong_password_needs_reauth", test_wrong_password_needs_reauth);
  int rc = g_test_run();
  stop_world();
  return rc;
}
