/* Availability and booking through the real daemon: public pages, race-free
** booking under 64 concurrent clients, freed time, Idempotency-Key, the
** cache (zero queries when warm, invalidated by writes here, by a second
** daemon, and by rows written straight into the database). */
#include <curl/curl.h>
#include <glib.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testfixture.h"

static struct sc_world W;
static char day[16];   /* a Monday well inside the booking horizon */
static char day2[16];  /* the Tuesday after */

static void pick_days(void) {
  GDateTime *now = g_date_time_new_now_utc();
  GDateTime *d = g_date_time_add_days(now, 7);
  while (g_date_time_get_day_of_week(d) != 1) {
    GDateTime *n = g_date_time_add_days(d, 1);
    g_date_time_unref(d);
    d = n;
  }
  GDateTime *t = g_date_time_add_days(d, 1);
  char *s = g_date_time_format(d, "%Y-%m-%d"), *s2 = g_date_time_format(t, "%Y-%m-%d");
  g_strlcpy(day, s, sizeof day);
  g_strlcpy(day2, s2, sizeof day2);
  g_free(s);
  g_free(s2);
  g_date_time_unref(t);
  g_date_time_unref(d);
  g_date_time_unref(now);
}

/* Slots of a public availability answer: "start|staff,staff;..." */
static char *public_slots(struct sc_test_daemon *d, const char *loc, const char *extra) {
  char *path = g_strdup_printf("/v1/public/acme/%s/availability?event_type=consult&from=%s&to=%s%s",
                               loc, day, day, extra ? extra : "");
  struct sc_test_resp r;
  sc_test_http(d, "GET", path, NULL, NULL, NULL, &r);
  if (r.status != 200) g_error("%s: %ld %s", path, r.status, r.body);
  json_object *o = json_tokener_parse(r.body), *slots;
  GString *g = g_string_new(NULL);
  json_object_object_get_ex(o, "slots", &slots);
  for (size_t i = 0; i < json_object_array_length(slots); i++) {
    json_object *sl = json_object_array_get_idx(slots, i), *st, *staff;
    json_object_object_get_ex(sl, "start", &st);
    json_object_object_get_ex(sl, "staff", &staff);
    g_string_append_printf(g, "%s%s|", i ? ";" : "", json_object_get_string(st));
    for (size_t k = 0; k < json_object_array_length(staff); k++)
      g_string_append_printf(g, "%s%s", k ? "," : "", json_object_get_string(json_object_array_get_idx(staff, k)));
  }
  json_object_put(o);
  sc_test_resp_free(&r);
  g_free(path);
  return g_string_free(g, FALSE);
}

static char *first_start(const char *slots) {
  return g_strndup(slots, strcspn(slots, "|"));
}

static long book(struct sc_test_daemon *d, const char *start, const char *staff, const char *idem,
                 char **body_out) {
  char *body = g_strdup_printf("{\"event_type\":\"consult\",\"start\":\"%s\"%s%s%s,"
                               "\"client_name\":\"Ana\",\"client_email\":\"ana@example.com\"}",
                               start, staff ? ",\"staff\":\"" : "", staff ? staff : "", staff ? "\"" : "");
  char *hdr = idem ? g_strdup_printf("Idempotency-Key: %s", idem) : NULL;
  struct sc_test_resp r;
  sc_test_http_hdr(d, "POST", "/v1/public/acme/miami/bookings", NULL, hdr, body, &r);
  long st = r.status;
  if (body_out) *body_out = g_strdup(r.body);
  sc_test_resp_free(&r);
  g_free(body);
  g_free(hdr);
  return st;
}

static char *db_value(const char *sql) {
  PGconn *c = sc_test_db_connect(&W.d.db);
  char *v = sc_test_db_value(c, sql);
  PQfinish(c);
  return v;
}

static void test_public_availability_shape(void) {
  char *slots = public_slots(&W.d, "miami", NULL);
  /* Weekdays 09:00-17:00 New York, 30-minute slots: 16 a day, ann and bob. */
  gchar **parts = g_strsplit(slots, ";", -1);
  g_assert_cmpuint(g_strv_length(parts), ==, 16);
  g_assert_true(g_str_has_suffix(parts[0], "|ann,bob"));
  g_assert_true(g_str_has_prefix(parts[0], day));
  g_strfreev(parts);
  g_free(slots);
  /* Unpublished event types are not public; the window is bounded. */
  struct sc_test_resp r;
  char *p = g_strdup_printf("/v1/public/acme/miami/availability?event_type=internal&from=%s&to=%s", day, day);
  sc_test_http(&W.d, "GET", p, NULL, NULL, NULL, &r);
  g_assert_cmpint(r.status, ==, 422);
  g_assert_nonnull(strstr(r.body, "no bookable event type"));
  sc_test_resp_free(&r);
  g_free(p);
  sc_test_http(&W.d, "GET", "/v1/public/acme/miami/availability?event_type=consult&from=2027-01-01&to=2027-03-05",
               NULL, NULL, NULL, &r);
  g_assert_cmpint(r.status, ==, 422);
  g_assert_nonnull(strstr(r.body, "to: the window may span at most 62 days"));
  sc_test_resp_free(&r);
  sc_test_http(&W.d, "GET", "/v1/public/nope/miami/availability?event_type=consult&from=2027-01-01&to=2027-01-02",
               NULL, NULL, NULL, &r);
  g_assert_cmpint(r.status, ==, 404);
  sc_test_resp_free(&r);
}

struct racer {
  int port;
  const char *start;
  long status;
};

static void *race(void *arg) {
  struct racer *r = arg;
  CURL *c = curl_easy_init();
  char *url = g_strdup_printf("http://127.0.0.1:%d/v1/public/acme/miami/bookings", r->port);
  char *body = g_strdup_printf("{\"event_type\":\"consult\",\"start\":\"%s\",\"staff\":\"ann\","
                               "\"client_name\":\"Racer\",\"client_email\":\"r@example.com\"}", r->start);
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  FILE *sink = fopen("/dev/null", "w");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  fclose(sink);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  g_free(url);
  g_free(body);
  return NULL;
}

static void test_64_clients_one_slot(void) {
  char *slots = public_slots(&W.d, "miami", "&staff=ann");
  gchar **parts = g_strsplit(slots, ";", -1);
  char *start = first_start(parts[3]);
  enum { N = 64 };
  struct racer r[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    r[i] = (struct racer){W.d.port, start, 0};
    pthread_create(&t[i], NULL, race, &r[i]);
  }
  int created = 0, taken = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    created += r[i].status == 201;
    taken += r[i].status == 409;
  }
  g_assert_cmpint(created, ==, 1);
  g_assert_cmpint(taken, ==, N - 1);
  char *sql = g_strdup_printf("SELECT count(*) FROM appointments WHERE starts_at = '%s' AND client_name = 'Racer'", start);
  char *n = db_value(sql);
  g_assert_cmpstr(n, ==, "1");
  g_free(n);
  g_free(sql);
  /* And the slot is gone for ann (cache invalidated by the booking). */
  char *after = public_slots(&W.d, "miami", "&staff=ann");
  char *needle = g_strdup_printf("%s|", start);
  g_assert_null(strstr(after, needle));
  g_free(needle);
  g_free(after);
  g_free(start);
  g_strfreev(parts);
  g_free(slots);
}

static void test_auto_assign_and_freed_time(void) {
  char *slots = public_slots(&W.d, "miami", NULL);
  gchar **parts = g_strsplit(slots, ";", -1);
  char *start = first_start(parts[10]);
  char *body = NULL;
  /* ann already has a booking that day (the race), bob has none: bob gets it. */
  g_assert_cmpint(book(&W.d, start, NULL, NULL, &body), ==, 201);
  g_assert_nonnull(strstr(body, "\"staff\":\"bob\""));
  char *id = sc_json_field(body, "id");
  g_free(body);
  /* The next one at the same time goes to ann, then nobody is left. */
  g_assert_cmpint(book(&W.d, start, NULL, NULL, &body), ==, 201);
  g_assert_nonnull(strstr(body, "\"staff\":\"ann\""));
  char *id2 = sc_json_field(body, "id");
  g_free(body);
  g_assert_cmpint(book(&W.d, start, NULL, NULL, &body), ==, 409);
  g_assert_cmpstr(body, ==, "{\"error\":{\"code\":\"slot_taken\",\"message\":\"start: that time is no longer available\",\"field\":\"start\"}}");
  g_free(body);
  char *needle = g_strdup_printf("%s|", start);
  char *now = public_slots(&W.d, "miami", NULL);
  g_assert_null(strstr(now, needle));
  g_free(now);
  /* Cancelling frees bob; marking ann's a no-show frees her too. */
  g_assert_cmpint(sc_world_req(&W, K_OWNER, "POST", NULL, NULL, "/v1/appointments/%s/cancel", id), ==, 200);
  now = public_slots(&W.d, "miami", NULL);
  char *bob_back = g_strdup_printf("%s|bob", start);
  g_assert_nonnull(strstr(now, bob_back));
  g_free(now);
  g_assert_cmpint(sc_world_req(&W, K_OWNER, "PATCH", "{\"status\":\"NO_SHOW\"}", NULL, "/v1/appointments/%s", id2), ==, 200);
  now = public_slots(&W.d, "miami", NULL);
  char *both = g_strdup_printf("%s|ann,bob", start);
  g_assert_nonnull(strstr(now, both));
  g_free(now);
  g_free(both);
  g_free(bob_back);
  g_free(needle);
  g_free(id);
  g_free(id2);
  g_free(start);
  g_strfreev(parts);
  g_free(slots);
}

static void test_idempotency(void) {
  char *slots = public_slots(&W.d, "miami", "&staff=bob");
  gchar **parts = g_strsplit(slots, ";", -1);
  char *start = first_start(parts[12]), *other = first_start(parts[13]);
  char *b1 = NULL, *b2 = NULL, *b3 = NULL;
  g_assert_cmpint(book(&W.d, start, "bob", "idem-1", &b1), ==, 201);
  g_assert_cmpint(book(&W.d, start, "bob", "idem-1", &b2), ==, 201);
  g_assert_cmpstr(b1, ==, b2);  /* the first response, replayed */
  char *sql = g_strdup_printf("SELECT count(*) FROM appointments WHERE starts_at = '%s'", start);
  char *n = db_value(sql);
  g_assert_cmpstr(n, ==, "1");
  g_free(n);
  g_assert_cmpint(book(&W.d, other, "bob", "idem-1", &b3), ==, 422);
  g_assert_cmpstr(b3, ==, "{\"error\":{\"code\":\"idempotency_key_reused\",\"message\":\"Idempotency-Key \\\"idem-1\\\" was already used for a different request\",\"field\":\"Idempotency-Key\"}}");
  g_free(sql);
  sql = g_strdup_printf("SELECT count(*) FROM appointments WHERE starts_at = '%s'", other);
  n = db_value(sql);
  g_assert_cmpstr(n, ==, "0");
  g_free(n);
  g_free(sql);
  /* The staff API honours it too. */
  char *body = g_strdup_printf("{\"location\":\"miami\",\"staff\":\"ann\",\"starts_at\":\"%sT20:00:00Z\",\"ends_at\":\"%sT20:30:00Z\"}", day2, day2);
  struct sc_test_resp r1, r2;
  sc_test_http_hdr(&W.d, "POST", "/v1/appointments", W.keys[K_OWNER], "Idempotency-Key: staff-1", body, &r1);
  sc_test_http_hdr(&W.d, "POST", "/v1/appointments", W.keys[K_OWNER], "Idempotency-Key: staff-1", body, &r2);
  g_assert_cmpint(r1.status, ==, 201);
  g_assert_cmpint(r2.status, ==, 201);
  g_assert_cmpstr(r1.body, ==, r2.body);
  sc_test_resp_free(&r1);
  sc_test_resp_free(&r2);
  g_free(body);
  g_free(b1);
  g_free(b2);
  g_free(b3);
  g_free(start);
  g_free(other);
  g_strfreev(parts);
  g_free(slots);
}

static long route_queries(struct sc_test_daemon *d, const char *route) {
  struct sc_test_resp r;
  sc_test_http(d, "GET", "/metrics", W.keys[K_ADMIN], NULL, NULL, &r);
  char *needle = g_strdup_printf("sidecal_db_queries_total{route=\"%s\"} ", route);
  char *p = strstr(r.body, needle);
  long n = p ? atol(p + strlen(needle)) : 0;
  g_free(needle);
  sc_test_resp_free(&r);
  return n;
}

static void test_warm_cache_makes_no_queries(void) {
  const char *route = "/v1/availability";
  char *q = g_strdup_printf("/v1/availability?location=austin&event_type=consult&from=%s&to=%s", day, day2);
  g_assert_cmpint(sc_world_req(&W, K_OWNER, "GET", NULL, NULL, "%s", q), ==, 200);
  long before = route_queries(&W.d, route);
  for (int i = 0; i < 20; i++) g_assert_cmpint(sc_world_req(&W, K_OWNER, "GET", NULL, NULL, "%s", q), ==, 200);
  g_assert_cmpint(route_queries(&W.d, route), ==, before);
  g_free(q);
}

static void test_external_busy_and_second_daemon(void) {
  /* A second daemon on the same database warms its cache. */
  struct sc_test_daemon d2;
  sc_test_daemon_share(&W.d, &d2);
  sc_test_daemon_start(&d2, NULL);
  char *slots2 = public_slots(&d2, "austin", "&staff=cat");
  gchar **parts = g_strsplit(slots2, ";", -1);
  char *start = first_start(parts[2]);
  char *needle = g_strdup_printf("%s|", start);
  /* Book cat on daemon 1 through the staff API... */
  char *end = NULL;
  {
    GDateTime *s = g_date_time_new_from_iso8601(start, NULL);
    GDateTime *e = g_date_time_add_minutes(s, 30);
    end = g_date_time_format(e, "%Y-%m-%dT%H:%M:%SZ");
    g_date_time_unref(s);
    g_date_time_unref(e);
  }
  char *id = sc_world_appt(&W, "acme", "austin", "cat", start, end);
  /* ...and it disappears from daemon 2's cached availability (NOTIFY). */
  int gone = 0;
  for (int i = 0; i < 100 && !gone; i++) {
    char *s = public_slots(&d2, "austin", "&staff=cat");
    gone = strstr(s, needle) == NULL;
    g_free(s);
    if (!gone) g_usleep(20 * 1000);
  }
  g_assert_true(gone);
  /* Busy time written straight into the database (as a sync job would)
  ** blocks the next slot on both daemons. */
  char *next = first_start(parts[5]);
  char *sql = g_strdup_printf(
      "INSERT INTO connector_instances (organization_id, name, plugin, staff_id)"
      " SELECT organization_id, 'acme.staff.cat.test', 'test', id FROM staff WHERE slug = 'cat';"
      "INSERT INTO external_busy (organization_id, instance_id, external_id, starts_at, ends_at)"
      " SELECT organization_id, id, 'ev1', '%s', '%s'::timestamptz + interval '10 minutes'"
      " FROM connector_instances WHERE name = 'acme.staff.cat.test'", next, next);
  g_free(db_value(sql));
  char *needle2 = g_strdup_printf("%s|", next);
  gone = 0;
  for (int i = 0; i < 100 && !gone; i++) {
    char *s1 = public_slots(&W.d, "austin", "&staff=cat"), *s2 = public_slots(&d2, "austin", "&staff=cat");
    gone = !strstr(s1, needle2) && !strstr(s2, needle2);
    g_free(s1);
    g_free(s2);
    if (!gone) g_usleep(20 * 1000);
  }
  g_assert_true(gone);
  g_assert_cmpint(sc_test_daemon_signal_wait(&d2, SIGTERM), ==, 0);
  sc_test_daemon_cleanup(&d2);
  g_free(sql);
  g_free(needle2);
  g_free(next);
  g_free(id);
  g_free(end);
  g_free(needle);
  g_free(start);
  g_strfreev(parts);
  g_free(slots2);
}

static void test_booking_errors(void) {
  char *body = NULL;
  struct sc_test_resp r;
  sc_test_http(&W.d, "POST", "/v1/public/acme/miami/bookings", NULL, NULL, "{\"event_type\":\"consult\"}", &r);
  g_assert_cmpint(r.status, ==, 422);
  g_assert_cmpstr(r.body, ==, "{\"error\":{\"code\":\"validation_failed\",\"message\":\"start: required\",\"field\":\"start\"}}");
  sc_test_resp_free(&r);
  /* A time that is not a slot (off the 30-minute grid) is refused. */
  char *off = g_strdup_printf("%sT15:10:00Z", day2);
  g_assert_cmpint(book(&W.d, off, NULL, NULL, &body), ==, 409);
  g_assert_nonnull(strstr(body, "slot_taken"));
  g_free(body);
  g_free(off);
  /* Outside working hours (03:00 New York). */
  off = g_strdup_printf("%sT08:00:00Z", day2);
  g_assert_cmpint(book(&W.d, off, NULL, NULL, &body), ==, 409);
  g_free(body);
  g_free(off);
  sc_test_http(&W.d, "POST", "/v1/public/acme/miami/bookings", NULL, NULL,
               "{\"event_type\":\"consult\",\"start\":\"2027-01-04T15:00:00Z\",\"client_name\":\"A\"}", &r);
  g_assert_cmpint(r.status, ==, 422);
  g_assert_nonnull(strstr(r.body, "client_email: required (an email address)"));
  sc_test_resp_free(&r);
}

/* Puts an appointment for a miami staff member at a New York wall-clock
** time, straight into the database (an import: no rules apply). */
static void appointment_at(const char *staff, const char *local) {
  char *sql = g_strdup_printf(
      "INSERT INTO appointments (organization_id, location_id, staff_id, starts_at, ends_at, timezone,"
      " origin) SELECT l.organization_id, l.id, s.id, t, t + interval '30 min', 'America/New_York', 'import'"
      " FROM locations l JOIN staff s USING (organization_id),"
      " (SELECT timestamp '%s' AT TIME ZONE 'America/New_York' AS t) x"
      " WHERE l.slug = 'miami' AND s.slug = '%s' RETURNING 1", local, staff);
  char *v = db_value(sql);
  g_assert_cmpstr(v, ==, "1");
  g_free(v);
  g_free(sql);
}

/* "Fewest bookings that day" counts the location's local day, not the UTC
** date. On the Wednesday after `day`: bob has one at 22:00 on Tuesday New
** York time (Wednesday in UTC), ann one at 22:00 on Wednesday (Thursday
** in UTC). By local day ann has one and bob none, so bob gets the booking;
** counting UTC dates (or not counting) would pick ann. */
static void test_auto_assign_counts_the_local_day(void) {
  GDateTime *mon = g_date_time_new_utc(atoi(day), atoi(day + 5), atoi(day + 8), 0, 0, 0);
  GDateTime *tue = g_date_time_add_days(mon, 1), *wed = g_date_time_add_days(mon, 2);
  char *tue_late = g_date_time_format(tue, "%Y-%m-%d 22:00"), *wed_late = g_date_time_format(wed, "%Y-%m-%d 22:00");
  char *wed_10 = g_date_time_format(wed, "%Y-%m-%d 10:00");
  appointment_at("bob", tue_late);
  appointment_at("ann", wed_late);
  char *sql = g_strdup_printf("SELECT to_char(timestamp '%s' AT TIME ZONE 'America/New_York' AT TIME ZONE 'UTC',"
                              " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')", wed_10);
  char *start = db_value(sql), *body = NULL;
  g_assert_cmpint(book(&W.d, start, NULL, NULL, &body), ==, 201);
  g_assert_nonnull(strstr(body, "\"staff\":\"bob\""));
  g_free(body), g_free(start), g_free(sql), g_free(wed_10), g_free(wed_late), g_free(tue_late);
  g_date_time_unref(wed), g_date_time_unref(tue), g_date_time_unref(mon);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pick_days();
  sc_world_start(&W);
  g_test_add_func("/booking/public_availability", test_public_availability_shape);
  g_test_add_func("/booking/64_clients_one_slot", test_64_clients_one_slot);
  g_test_add_func("/booking/auto_assign_and_freed_time", test_auto_assign_and_freed_time);
  g_test_add_func("/booking/auto_assign_counts_the_local_day", test_auto_assign_counts_the_local_day);
  g_test_add_func("/booking/idempotency", test_idempotency);
  g_test_add_func("/booking/warm_cache_no_queries", test_warm_cache_makes_no_queries);
  g_test_add_func("/booking/external_busy_and_second_daemon", test_external_busy_and_second_daemon);
  g_test_add_func("/booking/errors", test_booking_errors);
  int rc = g_test_run();
  sc_world_stop(&W);
  curl_global_cleanup();
  return rc;
}
