/*
** The GoHighLevel + Cal.com end-to-end flows of issue 7, through the real
** sidecald (connectors loaded from a plugin directory, sync engine on, short
** poll and sync intervals from the environment) and real PostgreSQL, against
** the contract fakes tests/fakes/ghl and tests/fakes/calcom, with the
** scriptable test connector as Ann's own calendar:
**   1 onboarding imports 30 days back / 90 ahead, twice → same rows;
**   2 a GHL AppointmentCreate webhook → our appointment → Cal.com, staff calendar;
**   3 Cal.com BOOKING_CREATED → ours + GHL (contact upserted); reschedule and
**     cancel on Cal.com follow to GHL, no second appointment;
**   4 an API booking reaches GHL and Cal.com exactly once through 500s;
**   5 the background sync catches GHL changes whose webhook was lost;
**   6 conflicts: theirs newer, ours newer, same second;
**   7 bad deliveries: 4xx or 200-and-log, a log line, nothing changed;
**   8 a redelivery with the same webhookId is one delivery;
**   9 an appointment only polled from GHL carries its contact as the client
**     and is booked on Cal.com with that attendee.
** Every wait is a bounded poll of the database or a fake.
*/
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../fakes/ghl/ghl_fake.h"
#include "http_client.h"
#include "plugin_test.h"
#include "testdaemon.h"

#define GHL_LOC "loc-e2e"
#define GHL_CAL "cal-e2e"
#define CAL_KEY "cal_test_key"
#define CAL_SECRET "whsec-e2e"
#define DAY 86400

static struct sc_test_daemon D;
static struct pt_dirs P;
static struct ghl_fake *G;
static PGconn *db;
static char *owner_key, *ann_state, *state_dir;
static int64_t T0;  /* now at start-up, whole hours */

static struct {
  GPid pid;
  int in_fd;
  char base[64];
} C;

/* ---- small helpers ----------------------------------------------------- */

static char *iso(int64_t t) {
  GDateTime *d = g_date_time_new_from_unix_utc(t);
  char *s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%S.000Z");
  g_date_time_unref(d);
  return s;
}

static int64_t unix_of(const char *text) {
  GDateTime *d = g_date_time_new_from_iso8601(text, NULL);
  g_assert_nonnull(d);
  int64_t t = g_date_time_to_unix(d);
  g_date_time_unref(d);
  return t;
}

/* First column of the first row (g_free), "" when no row. */
static char *sql(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static char *sql(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *q = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *v = sc_test_db_value(db, q);
  g_free(q);
  return v ? v : g_strdup("");
}

static int sql_int(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int sql_int(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *q = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *v = sc_test_db_value(db, q);
  int n = v ? atoi(v) : 0;
  g_free(q);
  g_free(v);
  return n;
}

/* Polls the query until it answers want (bounded: 40 s). */
static void wait_sql(const char *want, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void wait_sql(const char *want, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *q = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *v = NULL;
  for (int i = 0; i < 800; i++) {
    g_free(v);
    v = sc_test_db_value(db, q);
    if (!g_strcmp0(v ? v : "", want)) break;
    g_usleep(50 * 1000);
  }
  if (g_strcmp0(v ? v : "", want)) {
    char *log = sc_test_daemon_log(&D);
    g_error("waited for %s = \"%s\", still \"%s\"\n--- daemon log ---\n%s", q, want, v, log);
  }
  g_free(v);
  g_free(q);
}

static char *inst_id(const char *name) {
  return sql("SELECT id FROM connector_instances WHERE name = '%s'", name);
}

static gboolean log_has(const char *needle) {
  char *log = sc_test_daemon_log(&D);
  gboolean yes = strstr(log, needle) != NULL;
  g_free(log);
  return yes;
}

static void wait_log(const char *needle) {
  for (int i = 0; i < 400 && !log_has(needle); i++) g_usleep(50 * 1000);
  if (!log_has(needle)) {
    char *log = sc_test_daemon_log(&D);
    g_error("no log line with %s\n--- daemon log ---\n%s", needle, log);
  }
}

static const char *jstr(json_object *o, const char *k) {
  json_object *v;
  return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

/* ---- the Cal.com fake -------------------------------------------------- */

static void cal_start(void) {
  char *script = sc_test_source_path("tests/fakes/calcom/fake_calcom.py");
  gchar *argv[] = {"python3", script, "--api-key", CAL_KEY, NULL};
  int out_fd = -1;
  GError *ge = NULL;
  g_assert_true(g_spawn_async_with_pipes(NULL, argv, NULL,
                                         G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                         NULL, &C.pid, &C.in_fd, &out_fd, NULL, &ge));
  g_assert_no_error(ge);
  char line[64] = {0};
  size_t n = 0;
  while (n + 1 < sizeof line && read(out_fd, line + n, 1) == 1 && line[n] != '\n') n++;
  close(out_fd);
  int port = 0;
  g_assert_cmpint(sscanf(line, "PORT %d", &port), ==, 1);
  snprintf(C.base, sizeof C.base, "http://127.0.0.1:%d", port);
  g_free(script);
}

static void cal_stop(void) {
  close(C.in_fd);
  int status = 0;
  waitpid(C.pid, &status, 0);
  g_spawn_close_pid(C.pid);
}

/* A request to the Cal.com fake (control or API); the parsed answer. */
static json_object *cal(const char *method, const char *path, const char *body, long want) {
  struct sc_http_header h[3] = {{"Authorization", "Bearer " CAL_KEY},
                                {"cal-api-version", "2024-08-13"},
                                {"Content-Type", "application/json"}};
  char *url = g_strconcat(C.base, path, NULL);
  struct sc_http_request req = {.method = method, .url = url, .headers = h, .n_headers = 3,
                                .body = body, .body_len = body ? strlen(body) : 0,
                                .timeout_ms = 20000};
  struct sc_http_response resp;
  struct sc_error err;
  if (sc_http_request(&req, &resp, &err)) g_error("calcom fake %s: %s", path, err.message);
  if (resp.status != want) g_error("calcom fake %s %s: %ld %s", method, path, resp.status, resp.body);
  json_object *o = json_tokener_parse(resp.body);
  g_assert_nonnull(o);
  sc_http_response_free(&resp);
  g_free(url);
  return o;
}

/* The stored Cal.com bookings whose metadata marker is sidecal:<appt>. */
static int cal_bookings_marked(const char *appt) {
  json_object *all = cal("GET", "/_fake/bookings", NULL, 200);
  char *marker = g_strdup_printf("sidecal:%s", appt);
  int n = 0;
  for (size_t i = 0; i < json_object_array_length(all); i++) {
    json_object *b = json_object_array_get_idx(all, i), *md;
    if (json_object_object_get_ex(b, "metadata", &md) && !g_strcmp0(jstr(md, "sidecalMarker"), marker) &&
        g_strcmp0(jstr(b, "status"), "cancelled"))
      n++;
  }
  g_free(marker);
  json_object_put(all);
  return n;
}

/* Delivers a Cal.com webhook for a stored booking to our instance URL. */
static long cal_webhook(const char *trigger, const char *uid) {
  char *spec = g_strdup_printf("{\"trigger\":\"%s\",\"uid\":\"%s\",\"secret\":\"%s\","
                               "\"deliver_to\":\"http://127.0.0.1:%d/v1/webhooks/calcom/acme.miami.calcom\"}",
                               trigger, uid, CAL_SECRET, D.port);
  json_object *o = cal("POST", "/_fake/webhook", spec, 200), *st;
  g_assert_true(json_object_object_get_ex(o, "status", &st));
  long s = json_object_get_int(st);
  json_object_put(o);
  g_free(spec);
  return s;
}

/* ---- the GHL fake ------------------------------------------------------ */

/* Stores (or replaces) a GHL appointment as GHL holds it. */
static void ghl_seed_status(const char *id, int64_t start, const char *title, int64_t updated,
                            const char *status) {
  char *s = iso(start), *e = iso(start + 1800), *u = iso(updated ? updated : time(NULL));
  char *body = g_strdup_printf(
      "{\"appointments\":[{\"id\":\"%s\",\"locationId\":\"" GHL_LOC "\",\"calendarId\":\"" GHL_CAL "\","
      "\"contactId\":\"c-seed\",\"assignedUserId\":\"u-ann\",\"startTime\":\"%s\",\"endTime\":\"%s\","
      "\"title\":\"%s\",\"appointmentStatus\":\"%s\",\"dateAdded\":\"%s\",\"dateUpdated\":\"%s\"}]}",
      id, s, e, title, status, u, u);
  ghl_fake_do(G, "/_fake/seed", body);
  g_free(body), g_free(s), g_free(e), g_free(u);
}

static void ghl_seed(const char *id, int64_t start, const char *title, int64_t updated) {
  ghl_seed_status(id, start, title, updated, "confirmed");
}

/* GHL appointments (not cancelled) starting at t. */
static int ghl_count_at(int64_t t, char **id) {
  json_object *st = ghl_fake_control(G, "GET", "/_fake/state", NULL), *arr;
  g_assert_true(json_object_object_get_ex(st, "appointments", &arr));
  int n = 0;
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *a = json_object_array_get_idx(arr, i);
    if (unix_of(jstr(a, "startTime")) == t && g_strcmp0(jstr(a, "appointmentStatus"), "cancelled")) {
      n++;
      if (id) {
        g_free(*id);
        *id = g_strdup(jstr(a, "id"));
      }
    }
  }
  json_object_put(st);
  return n;
}

/* A field of the GHL appointment id (g_free), NULL when GHL has none. */
static char *ghl_field(const char *id, const char *field) {
  json_object *st = ghl_fake_control(G, "GET", "/_fake/state", NULL), *arr;
  g_assert_true(json_object_object_get_ex(st, "appointments", &arr));
  char *v = NULL;
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *a = json_object_array_get_idx(arr, i);
    if (!g_strcmp0(jstr(a, "id"), id)) v = g_strdup(jstr(a, field));
  }
  json_object_put(st);
  return v;
}

static void wait_ghl_field(const char *id, const char *field, const char *want) {
  char *v = NULL;
  for (int i = 0; i < 800; i++) {
    g_free(v);
    v = ghl_field(id, field);
    if (!g_strcmp0(v, want)) break;
    g_usleep(50 * 1000);
  }
  if (g_strcmp0(v, want)) g_error("GHL %s.%s: wanted %s, is %s", id, field, want, v);
  g_free(v);
}

/* base64 RSA-SHA256 PKCS#1 v1.5 over body with the fake's private key. */
static char *ghl_sign(const char *body) {
  char *path = g_build_filename(G->keydir, "ghl-test-private.pem", NULL);
  FILE *f = fopen(path, "r");
  g_assert_nonnull(f);
  EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  g_assert_nonnull(key);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t n = 0;
  g_assert_cmpint(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), ==, 1);
  g_assert_cmpint(EVP_DigestSign(md, NULL, &n, (const unsigned char *)body, strlen(body)), ==, 1);
  unsigned char *sig = g_malloc(n);
  g_assert_cmpint(EVP_DigestSign(md, sig, &n, (const unsigned char *)body, strlen(body)), ==, 1);
  char *b64 = g_base64_encode(sig, n);
  g_free(sig);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  g_free(path);
  return b64;
}

/* ---- the world --------------------------------------------------------- */

static char *conf_yaml(void) {
  return g_strdup_printf(
      "organization: {slug: acme, name: Acme}\n"
      "locations:\n"
      "  - slug: miami\n"
      "    name: Miami\n"
      "    timezone: America/New_York\n"
      "    rules:\n"
      "      - {day_of_week: [0, 1, 2, 3, 4, 5, 6], start: \"00:00\", end: \"24:00\"}\n"
      "    connectors:\n"
      "      - plugin: ghl\n"
      "        settings:\n"
      "          location_id: " GHL_LOC "\n"
      "          calendar_ids: [" GHL_CAL "]\n"
      "          staff_users: {ann: u-ann}\n"
      "          base_url: \"%s\"\n"
      "          access_token: env:E2E_GHL_TOKEN\n"
      "          webhook_public_key: \"file:%s\"\n"
      "      - plugin: calcom\n"
      "        settings:\n"
      "          base_url: \"%s/v2\"\n"
      "          api_key: env:E2E_CAL_KEY\n"
      "          webhook_secret: env:E2E_CAL_SECRET\n"
      "          default_event_type_id: 101\n"
      "          event_types: {consult: \"101\"}\n"
      "staff:\n"
      "  - slug: ann\n"
      "    name: Ann\n"
      "    locations: [miami]\n"
      "    connectors:\n"
      "      - plugin: scripted\n"
      "        settings: {state: \"%s\", token: env:E2E_SCRIPTED_TOKEN}\n"
      "event_types:\n"
      "  - {slug: consult, title: Consultation, duration: 30, published: true, staff: [ann]}\n",
      G->base_url, G->public_key_path, C.base, ann_state);
}

/* Flow 1's GHL appointments, in place before the daemon first syncs. */
static const struct {
  const char *id;
  int days;
  int imported;
} ONBOARD[] = {{"f1-back-31", -31, 0}, {"f1-back-29", -29, 1}, {"f1-ahead-10", 10, 1},
               {"f1-ahead-89", 89, 1}, {"f1-ahead-91", 91, 0}};

static void start_world(void) {
  T0 = time(NULL) / 3600 * 3600;
  G = ghl_fake_start();
  cal_start();
  ghl_fake_do(G, "/_fake/seed", "{\"contacts\":[{\"id\":\"c-seed\",\"locationId\":\"" GHL_LOC "\","
                                "\"name\":\"Gia Client\",\"email\":\"gia@example.com\",\"phone\":\"+13055550100\"}]}");
  for (size_t i = 0; i < G_N_ELEMENTS(ONBOARD); i++)
    ghl_seed(ONBOARD[i].id, T0 + (int64_t)ONBOARD[i].days * DAY + 3600, ONBOARD[i].id, 0);
  pt_dirs_init(&P);
  pt_stage(&P, "plugins/ghl/ghl.so", "ghl", 0644);
  pt_stage(&P, "plugins/calcom/calcom.so", "calcom", 0644);
  pt_stage(&P, "tests/plugins/scripted.so", "scripted", 0644);
  state_dir = g_build_filename(P.root, "state", NULL);
  ann_state = g_build_filename(P.root, "ann-calendar.json", NULL);
  g_assert_true(g_file_set_contents(ann_state, "{}", -1, NULL));
  char *tok = ghl_fake_token(G);
  g_setenv("E2E_GHL_TOKEN", tok, TRUE);  /* the daemon inherits these */
  g_free(tok);
  g_setenv("E2E_CAL_KEY", CAL_KEY, TRUE);
  g_setenv("E2E_CAL_SECRET", CAL_SECRET, TRUE);
  g_setenv("E2E_SCRIPTED_TOKEN", "tok", TRUE);
  g_setenv("SIDECAL_SYNC_INTERVAL_S", "1", TRUE);
  g_setenv("SIDECAL_SYNC_POLL_MS", "100", TRUE);
  g_setenv("SIDECAL_SYNC_WORKERS", "2", TRUE);
  char *y = conf_yaml();
  const char *files[] = {"acme.yaml", y, NULL};
  sc_test_daemon_init(&D, files);
  g_free(y);
  const char *extra[] = {"--plugin-dir", P.plugins, "--state-dir", state_dir, NULL};
  sc_test_daemon_start(&D, extra);
  db = sc_test_db_connect(&D.db);
  const char *own[] = {"key", "create", "--org", "acme", "--role", "agency_owner", NULL};
  char *out = NULL;
  g_assert_cmpint(sc_test_ctl(&D, own, &out), ==, 0);
  *strchr(out, '\n') = '\0';
  owner_key = out;
}

static void stop_world(void) {
  PQfinish(db);
  if (D.pid) g_assert_cmpint(sc_test_daemon_signal_wait(&D, SIGTERM), ==, 0);
  sc_test_daemon_cleanup(&D);
  ghl_fake_stop(G);
  cal_stop();
  pt_dirs_free(&P);
  g_free(owner_key), g_free(ann_state), g_free(state_dir);
}

/* The appointment linked to external id ext at instance name ("" if none). */
static char *appt_of(const char *name, const char *ext) {
  return sql("SELECT l.appointment_id FROM appointment_links l JOIN connector_instances ci"
             " ON ci.id = l.instance_id WHERE ci.name = '%s' AND l.external_id = '%s'", name, ext);
}

static char *wait_appt_of(const char *name, const char *ext) {
  wait_sql("1", "SELECT count(*) FROM appointment_links l JOIN connector_instances ci"
                " ON ci.id = l.instance_id WHERE ci.name = '%s' AND l.external_id = '%s'", name, ext);
  return appt_of(name, ext);
}

/* Waits until no job of the appointment is pending or running; returns the
** state of its last job at instance name ("" when it has none). */
static char *settle(const char *appt, const char *name) {
  wait_sql("0", "SELECT count(*) FROM sync_jobs WHERE appointment_id = '%s'"
                " AND state IN ('pending', 'running')", appt);
  return sql("SELECT j.state FROM sync_jobs j JOIN connector_instances ci ON ci.id = j.instance_id"
             " WHERE j.appointment_id = '%s' AND ci.name = '%s' ORDER BY j.id DESC LIMIT 1",
             appt, name);
}

/* The conflict rule compares whole seconds: a provider change made in the
** same second as our last write is a conflict, so a test that plays a
** person acting after sidecal first lets that second pass. */
static void next_second(const char *appt) {
  wait_sql("t", "SELECT floor(extract(epoch FROM clock_timestamp())) > floor(extract(epoch FROM"
                " updated_at)) FROM appointments WHERE id = '%s'", appt);
}

static void assert_done(const char *appt, const char *name) {
  char *state = settle(appt, name);
  g_assert_cmpstr(state, ==, "done");
  g_free(state);
}

/* ---- 1: onboarding ----------------------------------------------------- */

static char *onboard_snapshot(void) {
  return sql("SELECT string_agg(l.external_id || '=' || a.id || '/' || a.version || '/' ||"
             " a.updated_at || '/' || a.starts_at, ',' ORDER BY l.external_id)"
             " FROM appointment_links l JOIN appointments a ON a.id = l.appointment_id"
             " JOIN connector_instances ci ON ci.id = l.instance_id"
             " WHERE ci.name = 'acme.miami.ghl' AND l.external_id LIKE 'f1-%%'");
}

static void test_onboarding(void) {
  char *ghl = inst_id("acme.miami.ghl");
  wait_sql("t", "SELECT initial_sync_at IS NOT NULL FROM sync_leases WHERE instance_id = '%s'", ghl);
  ghl_fake_do(G, "/_fake/seed", "{\"contacts\":[{\"id\":\"c-seed\",\"locationId\":\"" GHL_LOC "\","
                                "\"name\":\"Gia Client\",\"email\":\"gia@example.com\",\"phone\":\"+13055550100\"}]}");
  for (size_t i = 0; i < G_N_ELEMENTS(ONBOARD); i++) {
    char *a = appt_of("acme.miami.ghl", ONBOARD[i].id);
    if (ONBOARD[i].imported) {
      g_assert_cmpstr(a, !=, "");
      char *row = sql("SELECT origin || ' ' || extract(epoch FROM starts_at)::bigint || ' ' || title"
                      " FROM appointments WHERE id = '%s'", a);
      char *want = g_strdup_printf("import %lld %s",
                                   (long long)(T0 + (int64_t)ONBOARD[i].days * DAY + 3600), ONBOARD[i].id);
      g_assert_cmpstr(row, ==, want);
      g_free(row), g_free(want);
      /* Polled, not delivered: the client still comes from the contact. */
      char *client = sql("SELECT client_name || ' ' || client_email FROM appointments WHERE id = '%s'", a);
      g_assert_cmpstr(client, ==, "Gia Client gia@example.com");
      g_free(client);
    } else {
      g_assert_cmpstr(a, ==, "");
    }
    g_free(a);
  }
  g_assert_cmpint(sql_int("SELECT count(*) FROM appointments WHERE title LIKE 'f1-%%'"), ==, 3);
  /* Onboarding again: the same rows, untouched. */
  char *before = onboard_snapshot();
  char *t1 = sql("SELECT initial_sync_at FROM sync_leases WHERE instance_id = '%s'", ghl);
  g_free(sql("UPDATE sync_leases SET initial_sync_at = NULL, cursor = NULL, next_sync_at = now()"
             " WHERE instance_id = '%s' RETURNING 1", ghl));
  wait_sql("t", "SELECT initial_sync_at IS NOT NULL AND initial_sync_at > '%s'"
                " FROM sync_leases WHERE instance_id = '%s'", t1, ghl);
  char *after = onboard_snapshot();
  g_assert_cmpstr(after, ==, before);
  g_assert_cmpint(sql_int("SELECT count(*) FROM appointments WHERE title LIKE 'f1-%%'"), ==, 3);
  g_free(before), g_free(after), g_free(t1), g_free(ghl);
}

/* ---- 2: GHL AppointmentCreate webhook ---------------------------------- */

static void test_ghl_webhook_create(void) {
  int64_t start = T0 + 3 * DAY + 2 * 3600;
  ghl_seed("f2-created", start, "Booked in GHL", 0);
  char *spec = g_strdup_printf("{\"type\":\"AppointmentCreate\",\"appointment_id\":\"f2-created\","
                               "\"deliver_to\":\"http://127.0.0.1:%d/v1/webhooks/ghl\"}", D.port);
  json_object *o = ghl_fake_control(G, "POST", "/_fake/webhook", spec), *st;
  g_assert_true(json_object_object_get_ex(o, "delivery_status", &st));
  g_assert_cmpint(json_object_get_int(st), ==, 200);
  json_object_put(o);
  g_free(spec);
  char *a = wait_appt_of("acme.miami.ghl", "f2-created");
  char *row = sql("SELECT extract(epoch FROM starts_at)::bigint || ' ' || title || ' ' || status"
                  " FROM appointments WHERE id = '%s'", a);
  char *want = g_strdup_printf("%lld Booked in GHL CONFIRMED", (long long)start);
  g_assert_cmpstr(row, ==, want);
  g_free(row), g_free(want);
  wait_sql("1", "SELECT count(*) FROM sync_inbox WHERE processed_at IS NOT NULL AND error IS NULL"
                " AND convert_from(body, 'UTF8') LIKE '%%f2-created%%'");
  /* The client comes from the GHL contact the appointment names. */
  char *client = sql("SELECT client_name || ' ' || client_email || ' ' || client_phone"
                     " FROM appointments WHERE id = '%s'", a);
  g_assert_cmpstr(client, ==, "Gia Client gia@example.com +13055550100");
  g_free(client);
  /* Pushed to Cal.com: the location maps an event type (default 101). */
  assert_done(a, "acme.miami.calcom");
  g_assert_cmpint(cal_bookings_marked(a), ==, 1);
  char *uid = sql("SELECT external_id FROM appointment_links l JOIN connector_instances ci"
                  " ON ci.id = l.instance_id WHERE ci.name = 'acme.miami.calcom'"
                  " AND l.appointment_id = '%s'", a);
  char *bp = g_strdup_printf("/v2/bookings/%s", uid);
  json_object *bk = cal("GET", bp, NULL, 200), *data, *atts;
  g_assert_true(json_object_object_get_ex(bk, "data", &data));
  g_assert_cmpint(unix_of(jstr(data, "start")), ==, start);
  g_assert_cmpint(json_object_get_int(json_object_object_get(data, "eventTypeId")), ==, 101);
  g_assert_true(json_object_object_get_ex(data, "attendees", &atts));
  g_assert_cmpstr(jstr(json_object_array_get_idx(atts, 0), "email"), ==, "gia@example.com");
  json_object_put(bk);
  g_free(bp), g_free(uid);
  /* GHL's assignedUserId maps to our staff member through staff_users
  ** (ABI 1.3), so the appointment is Ann's and reaches her own calendar
  ** without any edit. */
  char *staff = sql("SELECT s.slug FROM appointments a JOIN staff s ON s.id = a.staff_id"
                    " WHERE a.id = '%s'", a);
  g_assert_cmpstr(staff, ==, "ann");
  g_free(staff);
  char *body = NULL;
  char *s2 = settle(a, "acme.staff.ann.scripted");
  g_assert_cmpstr(s2, ==, "done");
  g_free(s2);
  g_assert_true(g_file_get_contents(ann_state, &body, NULL, NULL));
  char *marker = g_strdup_printf("\"marker\":\"sidecal:%s\"", a);
  g_assert_nonnull(strstr(body, marker));
  g_free(marker), g_free(body), g_free(a);
}

/* ---- 3: Cal.com booking created, rescheduled, cancelled ---------------- */

static void test_calcom_booking_flow(void) {
  int64_t start = T0 + 4 * DAY + 3 * 3600;
  char *s = iso(start);
  char *seed = g_strdup_printf(
      "{\"start\":\"%s\",\"eventTypeId\":101,\"attendee\":{\"name\":\"Cleo\",\"email\":\"cleo@example.com\","
      "\"timeZone\":\"America/New_York\"},\"metadata\":{\"organizationId\":\"acme\",\"locationId\":\"miami\"}}", s);
  json_object *b = cal("POST", "/_fake/bookings", seed, 201);
  char *uid = g_strdup(jstr(b, "uid"));
  json_object_put(b);
  g_free(seed), g_free(s);
  g_assert_cmpint(cal_webhook("BOOKING_CREATED", uid), ==, 200);
  char *a = wait_appt_of("acme.miami.calcom", uid);
  assert_done(a, "acme.miami.ghl");
  char *gid = NULL;
  g_assert_cmpint(ghl_count_at(start, &gid), ==, 1);
  char *linked = appt_of("acme.miami.ghl", gid);
  g_assert_cmpstr(linked, ==, a);
  g_free(linked);
  /* The contact was upserted by the client's e-mail. */
  char *contact = ghl_field(gid, "contactId");
  json_object *st = ghl_fake_control(G, "GET", "/_fake/state", NULL), *cs;
  g_assert_true(json_object_object_get_ex(st, "contacts", &cs));
  int found = 0;
  for (size_t i = 0; i < json_object_array_length(cs); i++) {
    json_object *c = json_object_array_get_idx(cs, i);
    if (!g_strcmp0(jstr(c, "id"), contact)) found = !g_strcmp0(jstr(c, "email"), "cleo@example.com");
  }
  g_assert_true(found);
  json_object_put(st);
  g_free(contact);

  /* Rescheduled on Cal.com: a new uid; the same appointment moves. */
  next_second(a);
  int64_t moved = start + 2 * 3600;
  char *m = iso(moved);
  char *path = g_strdup_printf("/v2/bookings/%s/reschedule", uid);
  char *rb = g_strdup_printf("{\"start\":\"%s\",\"reschedulingReason\":\"later\"}", m);
  b = cal("POST", path, rb, 201);
  json_object *data;
  g_assert_true(json_object_object_get_ex(b, "data", &data));
  char *uid2 = g_strdup(jstr(data, "uid"));
  json_object_put(b);
  g_free(path), g_free(rb), g_free(m);
  g_assert_cmpint(cal_webhook("BOOKING_RESCHEDULED", uid2), ==, 200);
  char *a2 = wait_appt_of("acme.miami.calcom", uid2);
  g_assert_cmpstr(a2, ==, a);
  g_free(a2);
  char *old = appt_of("acme.miami.calcom", uid);
  g_assert_cmpstr(old, ==, "");
  g_free(old);
  g_assert_cmpint(sql_int("SELECT count(*) FROM appointments WHERE client_email = 'cleo@example.com'"), ==, 1);
  wait_sql("1", "SELECT (extract(epoch FROM starts_at)::bigint = %lld)::int FROM appointments"
                " WHERE id = '%s'", (long long)moved, a);
  assert_done(a, "acme.miami.ghl");
  char *ghl_start = ghl_field(gid, "startTime");
  g_assert_cmpint(unix_of(ghl_start), ==, moved);
  g_free(ghl_start);
  g_assert_cmpint(ghl_count_at(start, NULL), ==, 0);

  /* Cancelled on Cal.com: cancelled here, gone from GHL. */
  next_second(a);
  path = g_strdup_printf("/v2/bookings/%s/cancel", uid2);
  json_object_put(cal("POST", path, "{\"cancellationReason\":\"ill\"}", 200));
  g_free(path);
  g_assert_cmpint(cal_webhook("BOOKING_CANCELLED", uid2), ==, 200);
  wait_sql("CANCELLED", "SELECT status FROM appointments WHERE id = '%s'", a);
  assert_done(a, "acme.miami.ghl");
  char *gone = ghl_field(gid, "id");
  g_assert_null(gone);
  g_free(uid), g_free(uid2), g_free(gid), g_free(a);
}

/* ---- 4: an API booking reaches GHL and Cal.com exactly once ------------ */

static char *api_book(int64_t start, const char *email) {
  char *s = iso(start);
  char *body = g_strdup_printf("{\"location\":\"miami\",\"staff\":\"ann\",\"event_type\":\"consult\","
                               "\"starts_at\":\"%s\",\"client_name\":\"Dee\",\"client_email\":\"%s\"}",
                               s, email);
  struct sc_test_resp r;
  sc_test_http(&D, "POST", "/v1/appointments", owner_key, NULL, body, &r);
  if (r.status != 201) g_error("POST /v1/appointments: %ld %s", r.status, r.body);
  json_object *o = json_tokener_parse(r.body);
  char *id = g_strdup(jstr(o, "id"));
  json_object_put(o);
  sc_test_resp_free(&r);
  g_free(body), g_free(s);
  return id;
}

static void check_once(const char *a, int64_t start) {
  assert_done(a, "acme.miami.ghl");
  assert_done(a, "acme.miami.calcom");
  assert_done(a, "acme.staff.ann.scripted");
  char *gid = NULL;
  g_assert_cmpint(ghl_count_at(start, &gid), ==, 1);
  char *linked = appt_of("acme.miami.ghl", gid);
  g_assert_cmpstr(linked, ==, a);
  g_assert_cmpint(cal_bookings_marked(a), ==, 1);
  g_free(linked), g_free(gid);
}

static void test_api_booking_exactly_once(void) {
  /* GHL answers 500 twice before the create goes through. */
  ghl_fake_do(G, "/_fake/faults",
              "[{\"match\":\"POST /calendars/events/appointments\",\"status\":500,\"count\":2}]");
  int before = ghl_fake_count(G, "POST /calendars/events/appointments");
  int64_t s1 = T0 + 6 * DAY + 4 * 3600;
  char *a = api_book(s1, "dee@example.com");
  check_once(a, s1);
  g_assert_cmpint(ghl_fake_count(G, "POST /calendars/events/appointments") - before, ==, 3);
  g_assert_cmpint(sql_int("SELECT attempts FROM sync_jobs j JOIN connector_instances ci"
                          " ON ci.id = j.instance_id WHERE appointment_id = '%s'"
                          " AND ci.name = 'acme.miami.ghl'", a), ==, 3);
  g_free(a);
  /* GHL answers 500 after the write took effect. */
  ghl_fake_do(G, "/_fake/faults",
              "[{\"match\":\"POST /calendars/events/appointments\",\"status\":500,"
              "\"after_write\":true,\"count\":1}]");
  int64_t s2 = s1 + 3600;
  a = api_book(s2, "eve@example.com");
  check_once(a, s2);
  g_free(a);
}

/* ---- 5: a lost webhook, caught by the background sync ------------------ */

static void test_background_sync(void) {
  int64_t ahead = T0 + 30 * DAY + 5 * 3600;
  ghl_seed("f5-lost-30d", ahead, "Lost webhook", 0);
  char *a = wait_appt_of("acme.miami.ghl", "f5-lost-30d");
  char *row = sql("SELECT extract(epoch FROM starts_at)::bigint || ' ' || title FROM appointments"
                  " WHERE id = '%s'", a);
  char *want = g_strdup_printf("%lld Lost webhook", (long long)ahead);
  g_assert_cmpstr(row, ==, want);
  g_free(row), g_free(want), g_free(a);
  /* A move of a known appointment, 10 days ahead, without a webhook. */
  char *b = appt_of("acme.miami.ghl", "f1-ahead-10");
  int64_t moved = T0 + 10 * DAY + 7200;
  ghl_seed("f1-ahead-10", moved, "f1-ahead-10 moved", time(NULL) + 2);
  wait_sql("1", "SELECT (extract(epoch FROM starts_at)::bigint = %lld AND title = 'f1-ahead-10 moved')::int"
                " FROM appointments WHERE id = '%s'", (long long)moved, b);
  g_free(b);
  /* Deleted in GHL and the webhook lost: the next full sync no longer sees
  ** it, so ours is cancelled (disappearances are deletions). */
  char *tok = ghl_fake_token(G);
  char *authz = g_strdup_printf("Bearer %s", tok);
  const char *hdrs[] = {"Authorization", authz, "Version", "2021-04-15", NULL};
  struct sc_http_response resp = {0};
  long st = ghl_fake_raw(G, "DELETE", "/calendars/events/f5-lost-30d", hdrs, NULL, &resp);
  g_assert_true(st == 200 || st == 201);  /* GHL answers its deletes with 201 */
  sc_http_response_free(&resp);
  char *gone = appt_of("acme.miami.ghl", "f5-lost-30d");
  wait_sql("CANCELLED", "SELECT status FROM appointments WHERE id = '%s'", gone);
  g_free(gone), g_free(authz), g_free(tok);
  /* GHL's finer statuses cross the ABI (appointment_status): a visit marked
  ** "showed" in GHL is COMPLETED here, "noshow" is NO_SHOW. */
  ghl_seed_status("f5-showed", T0 + 2 * DAY + 9 * 3600, "Showed up", 0, "showed");
  ghl_seed_status("f5-noshow", T0 + 2 * DAY + 10 * 3600, "Stayed away", 0, "noshow");
  char *shown = wait_appt_of("acme.miami.ghl", "f5-showed");
  char *absent = wait_appt_of("acme.miami.ghl", "f5-noshow");
  wait_sql("COMPLETED", "SELECT status FROM appointments WHERE id = '%s'", shown);
  wait_sql("NO_SHOW", "SELECT status FROM appointments WHERE id = '%s'", absent);
  g_free(shown), g_free(absent);
}

/* ---- 6: conflicts ------------------------------------------------------ */

static int64_t our_updated(const char *a) {
  return sql_int("SELECT floor(extract(epoch FROM updated_at))::bigint FROM appointments WHERE id = '%s'", a);
}

static void test_conflicts(void) {
  int64_t start = T0 + 5 * DAY + 3600;
  ghl_seed("f6", start, "Original", 0);
  char *a = wait_appt_of("acme.miami.ghl", "f6");
  g_free(settle(a, "acme.miami.calcom"));
  /* GHL newer: ours takes GHL's version. */
  ghl_seed("f6", start, "Theirs newer", our_updated(a) + 5);
  wait_sql("Theirs newer", "SELECT title FROM appointments WHERE id = '%s'", a);
  g_free(settle(a, "acme.miami.calcom"));
  /* Ours newer: GHL gets ours back, ours is untouched. */
  char *v = sql("SELECT version FROM appointments WHERE id = '%s'", a);
  ghl_seed("f6", start, "Stale theirs", our_updated(a) - 60);
  wait_ghl_field("f6", "title", "Theirs newer");
  char *v2 = sql("SELECT version || ' ' || title FROM appointments WHERE id = '%s'", a);
  char *want = g_strdup_printf("%s Theirs newer", v);
  g_assert_cmpstr(v2, ==, want);
  g_free(v2), g_free(want);
  /* The same second, other content: a conflict row, nothing applied. */
  ghl_seed("f6", start + 1800, "Same second", our_updated(a));
  wait_sql("1", "SELECT count(*) FROM sync_conflicts WHERE entity_id = '%s'", a);
  char *c = sql("SELECT resolution || ' ' || (diff ? 'title') || ' ' || (diff ? 'starts_at') || ' ' ||"
                " (external_data ->> 'title') FROM sync_conflicts WHERE entity_id = '%s'", a);
  g_assert_cmpstr(c, ==, "MANUAL_REVIEW_REQUIRED true true Same second");
  g_free(c);
  wait_log("event=sync_conflict instance=acme.miami.ghl");
  v2 = sql("SELECT version || ' ' || title || ' ' || extract(epoch FROM starts_at)::bigint"
           " FROM appointments WHERE id = '%s'", a);
  want = g_strdup_printf("%s Theirs newer %lld", v, (long long)start);
  g_assert_cmpstr(v2, ==, want);
  /* Later syncs do not add a second row for the same difference. */
  char *ghl = inst_id("acme.miami.ghl");
  char *last = sql("SELECT last_sync_at FROM sync_status WHERE instance_id = '%s'", ghl);
  wait_sql("t", "SELECT last_sync_at > '%s' FROM sync_status WHERE instance_id = '%s'", last, ghl);
  g_assert_cmpint(sql_int("SELECT count(*) FROM sync_conflicts WHERE entity_id = '%s'", a), ==, 1);
  g_free(v), g_free(v2), g_free(want), g_free(a), g_free(ghl), g_free(last);
}

/* ---- 7: bad deliveries ------------------------------------------------- */

static char *world_state(void) {
  return sql("SELECT count(*) || ':' || coalesce(string_agg(id || '/' || version, ',' ORDER BY id), '')"
             " FROM appointments");
}

static int inbox_rows(void) { return sql_int("SELECT count(*) FROM sync_inbox"); }

struct reply {
  long status;
  char *body;
};

static struct reply post(const char *path, const char *header, const char *body) {
  struct sc_test_resp r;
  sc_test_http_hdr(&D, "POST", path, NULL, header, body, &r);
  struct reply out = {r.status, g_strdup(r.body)};
  sc_test_resp_free(&r);
  return out;
}

static struct reply post_ghl(const char *body, const char *sig) {
  char *own = sig ? NULL : ghl_sign(body);
  char *h = g_strdup_printf("x-wh-signature: %s", sig ? sig : own);
  struct reply r = post("/v1/webhooks/ghl", h, body);
  g_free(h), g_free(own);
  return r;
}

static struct reply post_cal(const char *body, const char *sig) {
  char *own = sig ? NULL : g_compute_hmac_for_string(G_CHECKSUM_SHA256, (const guchar *)CAL_SECRET,
                                                      strlen(CAL_SECRET), body, -1);
  char *h = g_strdup_printf("X-Cal-Signature-256: %s", sig ? sig : own);
  struct reply r = post("/v1/webhooks/calcom/acme.miami.calcom", h, body);
  g_free(h), g_free(own);
  return r;
}

/* A 4xx that stores nothing: status, message in the answer and the log. */
static void refused(struct reply r, long status, const char *message) {
  json_object *o = json_tokener_parse(r.body), *e = NULL;
  const char *got = o && json_object_object_get_ex(o, "error", &e) ? jstr(e, "message") : NULL;
  if (r.status != status || !got || !strstr(got, message))
    g_error("wanted %ld with \"%s\", got %ld %s", status, message, r.status, r.body);
  json_object_put(o);
  wait_log(message);
  g_free(r.body);
}

static char *ghl_body(const char *type, const char *loc, int64_t start) {
  char *s = iso(start), *e = iso(start + 1800);
  char *b = g_strdup_printf("{\"type\":\"%s\",\"locationId\":\"%s\",\"webhookId\":\"%s\","
                            "\"appointment\":{\"id\":\"f7-%s\",\"locationId\":\"%s\",\"calendarId\":\"" GHL_CAL "\","
                            "\"contactId\":\"c-7\",\"startTime\":\"%s\",\"endTime\":\"%s\",\"title\":\"Bad\","
                            "\"appointmentStatus\":\"confirmed\",\"dateUpdated\":\"%s\"}}",
                            type, loc, type, type, loc, s, e, s);
  g_free(s), g_free(e);
  return b;
}

static void test_bad_deliveries(void) {
  char *before = world_state();
  int64_t start = T0 + 8 * DAY;
  /* GHL: a wrong signature. */
  int inbox = inbox_rows();
  char *good = ghl_body("AppointmentCreate", GHL_LOC, start);
  char *other_sig = ghl_sign("{}");
  refused(post_ghl(good, other_sig), 401, "acme.miami.ghl: signature verification failed");
  g_free(other_sig);
  /* GHL: truncated JSON (signed as sent). */
  char *cut = g_strndup(good, strlen(good) / 2);
  refused(post_ghl(cut, NULL), 400,
          "ghl: cannot route the delivery: GHL webhook body is not a complete JSON object");
  g_free(cut);
  /* GHL: an unknown location: 200, dropped and logged. */
  char *lost = ghl_body("AppointmentCreate", "loc-nobody", start);
  struct reply r = post_ghl(lost, NULL);
  g_assert_cmpint(r.status, ==, 200);
  g_assert_nonnull(strstr(r.body, "\"dropped\""));
  g_free(r.body);
  wait_log("ghl: no instance has routing key \"loc-nobody\"; acknowledged and dropped");
  g_free(lost);
  g_assert_cmpint(inbox_rows(), ==, inbox);
  /* GHL: an unknown event type (the app-wide URL gets every type the app
  ** subscribes to), correctly signed. */
  char *odd = ghl_body("AppointmentArchived", GHL_LOC, start);
  refused(post_ghl(odd, NULL), 400, "ghl: cannot route the delivery: GHL webhook type "
          "\"AppointmentArchived\" is not handled");
  g_free(odd);
  g_assert_cmpint(inbox_rows(), ==, inbox);
  /* GHL redelivers only on 429: when the inbox cannot commit, that is the
  ** answer (SIDECAL_CAP_WEBHOOK_RETRY_429), and nothing is stored. */
  g_free(sql("REVOKE INSERT ON sync_inbox FROM sidecal_app"));
  refused(post_ghl(good, NULL), 429, "acme.miami.ghl: the inbox cannot take the delivery now");
  g_free(sql("GRANT INSERT ON sync_inbox TO sidecal_app"));
  g_assert_cmpint(inbox_rows(), ==, inbox);

  /* Cal.com: a wrong signature, and the literal no-secret-provided. */
  char *s = iso(start + 3600);
  char *seed = g_strdup_printf(
      "{\"start\":\"%s\",\"eventTypeId\":101,\"attendee\":{\"name\":\"Gus\",\"email\":\"gus@example.com\","
      "\"timeZone\":\"UTC\"},\"metadata\":{\"organizationId\":\"globex\",\"locationId\":\"paris\"}}", s);
  json_object *b = cal("POST", "/_fake/bookings", seed, 201);
  char *spec = g_strdup_printf("{\"trigger\":\"BOOKING_CREATED\",\"uid\":\"%s\",\"secret\":\"%s\"}",
                               jstr(b, "uid"), CAL_SECRET);
  json_object *d = cal("POST", "/_fake/webhook", spec, 200);
  const char *foreign = jstr(d, "body");
  inbox = inbox_rows();
  refused(post_cal(foreign, "00ff"), 401, "acme.miami.calcom: signature verification failed");
  refused(post_cal(foreign, "no-secret-provided"), 401, "acme.miami.calcom: signature verification failed");
  g_assert_cmpint(inbox_rows(), ==, inbox);
  /* Cal.com: another tenant's booking, correctly signed: refused when
  ** parsed, logged, nothing applied. */
  r = post_cal(foreign, NULL);
  g_assert_cmpint(r.status, ==, 200);
  g_free(r.body);
  wait_sql("1", "SELECT count(*) FROM sync_inbox WHERE processed_at IS NOT NULL"
                " AND error LIKE '%%names organization \"globex\"%%'");
  wait_log("names organization \"globex\"");
  /* Cal.com: truncated JSON and an unknown trigger. */
  char *cut2 = g_strndup(foreign, strlen(foreign) / 2);
  r = post_cal(cut2, NULL);
  g_assert_cmpint(r.status, ==, 200);
  g_free(r.body);
  wait_sql("1", "SELECT count(*) FROM sync_inbox WHERE processed_at IS NOT NULL AND error IS NOT NULL"
                " AND body = convert_to('%s', 'UTF8')", cut2);
  char *unknown = g_strdup("{\"triggerEvent\":\"MEETING_ENDED\",\"createdAt\":\"2026-01-01T00:00:00Z\","
                           "\"payload\":{\"uid\":\"x\"}}");
  r = post_cal(unknown, NULL);
  g_assert_cmpint(r.status, ==, 200);
  g_free(r.body);
  wait_sql("1", "SELECT count(*) FROM sync_inbox WHERE processed_at IS NOT NULL"
                " AND convert_from(body, 'UTF8') LIKE '%%MEETING_ENDED%%'");
  /* Nothing anywhere changed. */
  char *after = world_state();
  g_assert_cmpstr(after, ==, before);
  g_free(before), g_free(after), g_free(good), g_free(s), g_free(seed), g_free(spec);
  g_free(cut2), g_free(unknown);
  json_object_put(b);
  json_object_put(d);
}

/* ---- 8: a redelivery is one delivery ----------------------------------- */

/* GHL's webhookId is the delivery's identity (ABI 1.3 webhook_dedupe_key):
** the same id again is acknowledged as a duplicate and applied once, even
** when the bytes differ. */
static void test_redelivery_same_webhook_id(void) {
  int inbox = inbox_rows();
  char *once = ghl_body("AppointmentUpdate", GHL_LOC, T0 + 9 * DAY);
  struct reply r1 = post_ghl(once, NULL);
  g_assert_cmpint(r1.status, ==, 200);
  g_assert_nonnull(strstr(r1.body, "\"accepted\""));
  char *spaced = g_strdup_printf(" %s ", once);
  struct reply r2 = post_ghl(spaced, NULL);
  g_assert_cmpint(r2.status, ==, 200);
  g_assert_nonnull(strstr(r2.body, "\"duplicate\""));
  g_assert_cmpint(inbox_rows(), ==, inbox + 1);
  char *key = sql("SELECT dedupe_key FROM sync_inbox ORDER BY id DESC LIMIT 1");
  g_assert_cmpstr(key, ==, "key:ghl:AppointmentUpdate");
  g_free(key), g_free(r1.body), g_free(r2.body), g_free(once), g_free(spaced);
}

/* ---- 9: a polled appointment has its client --------------------------- */

/* GHL lists only the contactId; the connector fetches the contact, so an
** appointment that no webhook announced is imported with its client and
** can be booked on Cal.com (which needs the attendee's e-mail). */
static void test_polled_import_reaches_calcom(void) {
  ghl_fake_do(G, "/_fake/seed", "{\"contacts\":[{\"id\":\"c-poll\",\"locationId\":\"" GHL_LOC "\","
                                "\"firstName\":\"Pat\",\"lastName\":\"Poller\",\"email\":\"pat@example.com\","
                                "\"phone\":\"+13055550199\"}]}");
  int64_t start = T0 + 12 * DAY + 3 * 3600;
  char *s = iso(start), *e = iso(start + 1800);
  char *body = g_strdup_printf(
      "{\"appointments\":[{\"id\":\"f9-polled\",\"locationId\":\"" GHL_LOC "\",\"calendarId\":\"" GHL_CAL "\","
      "\"contactId\":\"c-poll\",\"assignedUserId\":\"u-ann\",\"startTime\":\"%s\",\"endTime\":\"%s\","
      "\"title\":\"Polled only\",\"appointmentStatus\":\"confirmed\"}]}", s, e);
  ghl_fake_do(G, "/_fake/seed", body);
  g_free(body), g_free(s), g_free(e);
  char *a = wait_appt_of("acme.miami.ghl", "f9-polled");
  char *row = sql("SELECT origin || ' ' || client_name || ' ' || client_email || ' ' || client_phone"
                  " FROM appointments WHERE id = '%s'", a);
  g_assert_cmpstr(row, ==, "import Pat Poller pat@example.com +13055550199");
  g_free(row);
  g_assert_cmpint(sql_int("SELECT count(*) FROM sync_inbox WHERE convert_from(body, 'UTF8') LIKE '%%f9-polled%%'"),
                  ==, 0);
  assert_done(a, "acme.miami.calcom");
  g_assert_cmpint(cal_bookings_marked(a), ==, 1);
  char *uid = sql("SELECT external_id FROM appointment_links l JOIN connector_instances ci"
                  " ON ci.id = l.instance_id WHERE ci.name = 'acme.miami.calcom' AND l.appointment_id = '%s'", a);
  char *bp = g_strdup_printf("/v2/bookings/%s", uid);
  json_object *bk = cal("GET", bp, NULL, 200), *data, *atts;
  g_assert_true(json_object_object_get_ex(bk, "data", &data));
  g_assert_cmpint(unix_of(jstr(data, "start")), ==, start);
  g_assert_true(json_object_object_get_ex(data, "attendees", &atts));
  g_assert_cmpstr(jstr(json_object_array_get_idx(atts, 0), "name"), ==, "Pat Poller");
  g_assert_cmpstr(jstr(json_object_array_get_idx(atts, 0), "email"), ==, "pat@example.com");
  json_object_put(bk);
  /* Our own booking, listed back by Cal.com's poll, is an echo: no
  ** conflict, and our title stays ours. */
  char *cal_id = inst_id("acme.miami.calcom");
  char *last = sql("SELECT last_sync_at FROM sync_status WHERE instance_id = '%s'", cal_id);
  wait_sql("t", "SELECT last_sync_at > '%s' FROM sync_status WHERE instance_id = '%s'", last, cal_id);
  g_assert_cmpint(sql_int("SELECT count(*) FROM sync_conflicts WHERE entity_id = '%s'", a), ==, 0);
  char *title = sql("SELECT title FROM appointments WHERE id = '%s'", a);
  g_assert_cmpstr(title, ==, "Polled only");
  g_free(title), g_free(cal_id), g_free(last), g_free(bp), g_free(uid), g_free(a);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  start_world();
  g_test_add_func("/e2e/1_onboarding_window_and_rerun", test_onboarding);
  g_test_add_func("/e2e/2_ghl_webhook_to_calcom_and_staff", test_ghl_webhook_create);
  g_test_add_func("/e2e/3_calcom_created_rescheduled_cancelled", test_calcom_booking_flow);
  g_test_add_func("/e2e/4_api_booking_exactly_once", test_api_booking_exactly_once);
  g_test_add_func("/e2e/5_background_sync_catches_lost_webhook", test_background_sync);
  g_test_add_func("/e2e/6_conflicts", test_conflicts);
  g_test_add_func("/e2e/7_bad_deliveries", test_bad_deliveries);
  g_test_add_func("/e2e/8_redelivery_same_webhook_id", test_redelivery_same_webhook_id);
  g_test_add_func("/e2e/9_polled_import_has_client_on_calcom", test_polled_import_reaches_calcom);
  int rc = g_test_run();
  stop_world();
  return rc;
}
