/*
** Tests for plugins/calcom, loaded through the plugin host like the daemon
** loads it, against the fake Cal.com (tests/fakes/calcom/fake_calcom.py)
** on a random localhost port: settings errors, listing with take/skip and
** the afterUpdatedAt cursor, create / reschedule / cancel with their
** cal-api-version headers, idempotent creates after a 500-after-write,
** 429 / 5xx / 401 mapping, OAuth refresh with rotation, webhook signatures
** and parsing (reschedule links, no-show, foreign tenants).
*/
#include <glib.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calcom_plugin.h"
#include "plugin_host.h"
#include "plugin_settings.h"
#include "plugin_test.h"

#define KEY "cal_test_key"
/* 2030-01-07T00:00:00Z */
#define DAY0 1893974400

/* ---- the fake ---------------------------------------------------------- */

struct cct_fake {
  GPid pid;
  int in_fd;
  char base[64];       /* http://127.0.0.1:PORT */
};

static void cct_fake_start(struct cct_fake *f) {
  const char *src = g_getenv("SIDECAL_SOURCE_ROOT");
  g_assert_nonnull(src);
  gchar *script = g_build_filename(src, "tests", "fakes", "calcom", "fake_calcom.py", NULL);
  gchar *argv[] = {"python3", script, "--api-key", KEY, NULL};
  int out_fd = -1;
  GError *ge = NULL;
  g_assert_true(g_spawn_async_with_pipes(NULL, argv, NULL,
                                         G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                         NULL, &f->pid, &f->in_fd, &out_fd, NULL, &ge));
  g_assert_no_error(ge);
  char line[64] = {0};
  size_t n = 0;
  while (n + 1 < sizeof line && read(out_fd, line + n, 1) == 1 && line[n] != '\n') n++;
  close(out_fd);
  int port = 0;
  g_assert_cmpint(sscanf(line, "PORT %d", &port), ==, 1);
  snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", port);
  g_free(script);
}

static void cct_fake_stop(struct cct_fake *f) {
  close(f->in_fd); /* the fake exits when its stdin closes */
  int status = 0;
  waitpid(f->pid, &status, 0);
  g_spawn_close_pid(f->pid);
}

/* ---- plugin and instances ------------------------------------------------ */

struct cct {
  struct pt_dirs dirs;
  struct sc_plugin *p;
  struct cct_fake fake;
  GHashTable *stored;            /* "instance/key" -> rotated value */
  struct sc_plugin_secrets store;
  struct sc_plugin_instance *inst;
};

static int cct_read(void *ud, const char *instance, const char *key, const char *ref,
                    char **value, struct sc_error *err) {
  (void)ud;
  if (strncmp(ref, "env:", 4)) return sc_error_set(err, SC_EINVAL, key, "%s: only env:", instance);
  const char *v = g_getenv(ref + 4);
  if (!v) return sc_error_set(err, SC_ENOTFOUND, key, "%s is not set", ref);
  *value = strdup(v);
  return SC_OK;
}

static int cct_store(void *ud, const char *instance, const char *key, const char *value,
                     struct sc_error *err) {
  (void)err;
  struct cct *t = ud;
  g_hash_table_insert(t->stored, g_strdup_printf("%s/%s", instance, key), g_strdup(value));
  return SC_OK;
}

static void cct_setup(struct cct *t, int with_fake) {
  memset(t, 0, sizeof *t);
  pt_dirs_init(&t->dirs);
  pt_stage(&t->dirs, "plugins/calcom/calcom.so", "calcom", 0644);
  struct sc_error err;
  g_assert_cmpint(sc_plugin_load(t->dirs.plugins, "calcom", t->dirs.cache, &t->p, &err), ==, SC_OK);
  t->stored = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  t->store = (struct sc_plugin_secrets){cct_read, cct_store, t};
  if (with_fake) cct_fake_start(&t->fake);
  g_setenv("CCT_KEY", KEY, TRUE);
  g_setenv("CCT_WHSEC", "whsec_test", TRUE);
}

static void cct_teardown(struct cct *t) {
  if (t->inst) sc_plugin_instance_destroy(t->inst);
  if (t->fake.pid) cct_fake_stop(&t->fake);
  sc_plugin_free(t->p, pt_may_unload());
  g_hash_table_destroy(t->stored);
  pt_dirs_free(&t->dirs);
}

/* settings_json may contain "@BASE@" for the fake's base URL. secrets is
** "name=env:VAR,name=env:VAR". Returns the create status; err filled. */
static int cct_instance(struct cct *t, const char *settings_json, const char *secrets,
                        const char *location, struct sc_plugin_instance **out,
                        struct sc_error *err) {
  gchar *base = g_strdup_printf("%s/v2", t->fake.base);
  gchar **parts = g_strsplit(settings_json, "@BASE@", -1);
  gchar *json = g_strjoinv(base, parts);
  gchar **pairs = g_strsplit(secrets, ",", -1);
  guint n = 0;
  const char *names[8], *refs[8];
  gchar **kv[8];
  for (guint i = 0; pairs[i] && *pairs[i] && n < 8; i++) {
    kv[n] = g_strsplit(pairs[i], "=", 2);
    names[n] = kv[n][0];
    refs[n] = kv[n][1];
    n++;
  }
  struct sc_conf_connector *c = pt_connector("calcom", "acme.miami.calcom", json, names, refs, n);
  struct sidecal_settings *s = NULL;
  int rc = sc_plugin_settings_validate(t->p->settings, t->p->n_settings, "conf.d/acme.yaml",
                                       "locations[0].connectors[0]", c, &s, err);
  *out = NULL;
  if (!rc) {
    struct sc_plugin_instance_spec spec = {
      .name = c->instance, .organization = "acme", .location = location,
      .staff = location ? NULL : "sam",
      .secrets = c->secrets, .n_secrets = c->n_secrets, .secret_store = &t->store};
    rc = sc_plugin_instance_create(t->p, &spec, s, out, err);
  }
  pt_connector_free(c);
  for (guint i = 0; i < n; i++) g_strfreev(kv[i]);
  g_strfreev(pairs);
  g_strfreev(parts);
  g_free(json);
  g_free(base);
  return rc;
}

#define STD_SETTINGS \
  "{\"base_url\": \"@BASE@\", \"default_event_type_id\": 202, " \
  "\"event_types\": {\"consult\": \"101\"}, \"page_size\": 2}"
#define STD_SECRETS "api_key=env:CCT_KEY,webhook_secret=env:CCT_WHSEC"

static void cct_std(struct cct *t, const char *settings, const char *secrets) {
  struct sc_error err;
  int rc = cct_instance(t, settings ? settings : STD_SETTINGS, secrets ? secrets : STD_SECRETS,
                        "miami", &t->inst, &err);
  if (rc) g_test_message("%s", err.message);
  g_assert_cmpint(rc, ==, SC_OK);
}

static const struct sidecal_connector *D(struct cct *t) { return &t->p->desc; }

/* ---- talking to the fake directly ----------------------------------------- */

/* Method + path (under the fake's root) with an optional JSON body; returns
** the parsed answer (json_object_put it). API calls carry the key and the
** bookings version. */
static json_object *cct_http(struct cct *t, const char *method, const char *path,
                             const char *body, uint32_t *status) {
  gchar *url = g_strdup_printf("%s%s", t->fake.base, path);
  struct sidecal_http_header h[3] = {{"Content-Type", "application/json"},
                                     {"Authorization", "Bearer " KEY},
                                     {"cal-api-version", "2024-08-13"}};
  struct sidecal_http_request req = {.struct_size = sizeof req, .method = method, .url = url,
                                     .headers = h, .n_headers = 3, .body = body,
                                     .body_len = body ? strlen(body) : 0};
  struct sidecal_http_response resp = {.struct_size = sizeof resp};
  /* No instance needed: the test itself is the caller. */
  static const volatile int32_t no_cancel = 0;
  struct sidecal_call_ctx ctx = {.struct_size = sizeof ctx, .organization = "acme",
                                 .instance = "test", .request_id = "test", .cancel = &no_cancel};
  struct sidecal_result res = {.struct_size = sizeof res};
  const struct sidecal_host_api *host = sc_plugin_host_api();
  g_assert_cmpint(host->http_request(&ctx, &req, &resp, &res), ==, SIDECAL_OK);
  if (status) *status = resp.status;
  json_object *o = json_tokener_parse(resp.body);
  host->http_response_free(&resp);
  g_free(url);
  return o;
}

static json_object *cct_ctl(struct cct *t, const char *path, const char *body) {
  gchar *p = g_strdup_printf("/_fake/%s", path);
  json_object *o = cct_http(t, body ? "POST" : "GET", p, body, NULL);
  g_free(p);
  g_assert_nonnull(o);
  return o;
}

static void cct_ctl0(struct cct *t, const char *path, const char *body) {
  json_object_put(cct_ctl(t, path, body));
}

static const char *jstr(json_object *o, const char *key) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* Seeds a booking on day `day` at 10:00 UTC for 30 minutes; returns its uid. */
static gchar *cct_seed(struct cct *t, int day, int type, const char *metadata) {
  gchar *body = g_strdup_printf(
      "{\"start\": \"2030-01-%02dT10:00:00Z\", \"eventTypeId\": %d, "
      "\"attendee\": {\"name\": \"Ann\", \"email\": \"ann%d@example.com\", \"timeZone\": \"Europe/Rome\"},"
      " \"metadata\": %s}", 7 + day, type, day, metadata);
  json_object *b = cct_ctl(t, "bookings", body);
  gchar *uid = g_strdup(jstr(b, "uid"));
  json_object_put(b);
  g_free(body);
  return uid;
}

#define OURS "{\"organizationId\": \"acme\", \"locationId\": \"miami\"}"

/* The fake's request log as an array (put it). */
static json_object *cct_requests(struct cct *t) { return cct_ctl(t, "requests", NULL); }

static json_object *cct_booking(struct cct *t, const char *uid) {
  json_object *all = cct_ctl(t, "bookings", NULL), *found = NULL;
  for (size_t i = 0; i < json_object_array_length(all); i++) {
    json_object *b = json_object_array_get_idx(all, i);
    if (!strcmp(jstr(b, "uid"), uid)) found = json_object_get(b);
  }
  json_object_put(all);
  g_assert_nonnull(found);
  return found;
}

static size_t cct_count_bookings(struct cct *t) {
  json_object *all = cct_ctl(t, "bookings", NULL);
  size_t n = json_object_array_length(all);
  json_object_put(all);
  return n;
}

/* ---- a sink recording everything ------------------------------------------ */

struct cct_ev {
  gchar *id, *marker, *replaces, *type, *appt_status, *email, *tz, *etag;
  uint32_t status;
  int64_t start, end;
};

struct cct_sink {
  struct sidecal_sink sink;
  GArray *evs;   /* struct cct_ev */
  gchar *cursor;
  int cursor_calls;
  const char *stop_at_marker;
};

static int32_t cct_on_event(const struct sidecal_sink *s, const struct sidecal_event *ev) {
  struct cct_sink *k = (struct cct_sink *)s;
  g_assert_cmpuint(ev->struct_size, >=, sizeof *ev);
  struct cct_ev e = {
    .id = g_strdup(ev->external_id), .marker = g_strdup(ev->marker),
    .replaces = g_strdup(ev->replaces_external_id), .type = g_strdup(ev->event_type),
    .appt_status = g_strdup(ev->appointment_status),
    .email = g_strdup(ev->n_attendees ? ev->attendees[0].email : NULL),
    .tz = g_strdup(ev->timezone), .etag = g_strdup(ev->etag), .status = ev->status, .start = ev->start_utc,
    .end = ev->end_utc};
  g_array_append_val(k->evs, e);
  return k->stop_at_marker && ev->marker && !strcmp(ev->marker, k->stop_at_marker);
}

static int32_t cct_on_deleted(const struct sidecal_sink *s, const char *id) {
  (void)s, (void)id;
  g_assert_not_reached();
  return 0;
}

static void cct_on_cursor(const struct sidecal_sink *s, const char *c) {
  struct cct_sink *k = (struct cct_sink *)s;
  g_free(k->cursor);
  k->cursor = g_strdup(c);
  k->cursor_calls++;
}

static void cct_ev_clear(void *p) {
  struct cct_ev *e = p;
  g_free(e->id), g_free(e->marker), g_free(e->replaces), g_free(e->type);
  g_free(e->appt_status), g_free(e->email), g_free(e->tz), g_free(e->etag);
}

static void cct_sink_init(struct cct_sink *k) {
  memset(k, 0, sizeof *k);
  k->sink = (struct sidecal_sink){.struct_size = sizeof k->sink, .event = cct_on_event,
                                  .deleted = cct_on_deleted, .cursor = cct_on_cursor};
  k->evs = g_array_new(FALSE, TRUE, sizeof(struct cct_ev));
  g_array_set_clear_func(k->evs, cct_ev_clear);
}

static void cct_sink_reset(struct cct_sink *k) {
  g_array_set_size(k->evs, 0);
  k->cursor_calls = 0;
}

static void cct_sink_clear(struct cct_sink *k) {
  g_array_unref(k->evs);
  g_free(k->cursor);
}

#define EV(k, i) (&g_array_index((k)->evs, struct cct_ev, (i)))

static int32_t cct_list(struct cct *t, int64_t from, int64_t to, const char *cursor,
                        struct cct_sink *k, struct sidecal_result *res) {
  struct sc_plugin_call call;
  sc_plugin_call_init(t->inst, &call, "list", 0);
  struct sidecal_window w = {from, to};
  int32_t rc = D(t)->list_events(t->inst->state, &call.ctx, &w, cursor, &k->sink, &call.res);
  g_assert_cmpint(rc, ==, call.res.code);
  *res = call.res;
  return rc;
}

/* ---- tests: settings -------------------------------------------------------- */

static void expect_create_error(struct cct *t, const char *settings, const char *secrets,
                                const char *message) {
  struct sc_error err;
  struct sc_plugin_instance *inst = NULL;
  g_assert_cmpint(cct_instance(t, settings, secrets, "miami", &inst, &err), ==, SC_EIO);
  g_assert_null(inst);
  gchar *want = g_strdup_printf("acme.miami.calcom: create failed: %s", message);
  g_assert_cmpstr(err.message, ==, want);
  g_free(want);
}

static void test_settings_errors(void) {
  struct cct t;
  cct_setup(&t, 0);
  g_setenv("CCT_CSECRET", "csecret", TRUE);
  g_setenv("CCT_RT", "rt_0", TRUE);
  expect_create_error(&t, "{}", "",
      "no credentials: set api_key, or oauth_client_id with oauth_client_secret and refresh_token");
  expect_create_error(&t, "{\"oauth_client_id\": \"client-1\"}", "oauth_client_secret=env:CCT_CSECRET",
      "no credentials: set api_key, or oauth_client_id with oauth_client_secret and refresh_token");
  expect_create_error(&t, "{\"oauth_client_id\": \"client-1\"}", "api_key=env:CCT_KEY",
      "api_key and oauth_client_id are exclusive: configure one of them");
  expect_create_error(&t, "{\"page_size\": 300}", "api_key=env:CCT_KEY",
      "page_size must be between 1 and 250 (Cal.com's take limit), not 300");
  expect_create_error(&t, "{\"event_types\": {\"consult\": \"abc\"}}", "api_key=env:CCT_KEY",
      "event_types.consult: \"abc\" is not a Cal.com event type id (a positive integer)");
  expect_create_error(&t, "{\"event_types\": {\"a\": \"5\", \"b\": \"5\"}}", "api_key=env:CCT_KEY",
      "event_types.b: Cal.com event type 5 is already mapped to \"a\"");
  expect_create_error(&t, "{\"base_url\": \"ftp://cal.example\"}", "api_key=env:CCT_KEY",
      "base_url must start with https:// or http://, not \"ftp://cal.example\"");
  expect_create_error(&t, "{\"default_event_type_id\": 0}", "api_key=env:CCT_KEY",
      "default_event_type_id must be a positive Cal.com event type id, not 0");
  /* The host's own validation names the key and lists the valid ones. */
  struct sc_error err;
  struct sc_plugin_instance *inst = NULL;
  g_assert_cmpint(cct_instance(&t, "{\"api_version\": \"x\"}", "api_key=env:CCT_KEY", "miami",
                               &inst, &err), ==, SC_EINVAL);
  g_assert_nonnull(strstr(err.message, "settings.api_version: unknown setting; valid keys: base_url, api_key,"));
  /* Both credential styles are accepted on their own. */
  g_assert_cmpint(cct_instance(&t, "{\"oauth_client_id\": \"client-1\"}",
                               "oauth_client_secret=env:CCT_CSECRET,refresh_token=env:CCT_RT",
                               "miami", &inst, &err), ==, SC_OK);
  sc_plugin_instance_destroy(inst);
  g_assert_cmpint(cct_instance(&t, "{}", "api_key=env:CCT_KEY", "miami", &inst, &err), ==, SC_OK);
  sc_plugin_instance_destroy(inst);
  cct_teardown(&t);
}

/* ---- tests: listing --------------------------------------------------------- */

static void test_list_pages_and_cursor(void) {
  struct cct t;
  cct_setup(&t, 1);
  cct_std(&t, NULL, NULL);
  gchar *u[5];
  for (int i = 0; i < 5; i++) u[i] = cct_seed(&t, i, i % 2 ? 101 : 202, OURS);
  gchar *foreign = cct_seed(&t, 2, 101, "{\"organizationId\": \"globex\", \"locationId\": \"miami\"}");
  gchar *outside = cct_seed(&t, 20, 101, OURS);
  gchar *unmapped = cct_seed(&t, 3, 303, OURS);
  cct_ctl0(&t, "requests/reset", "{}");

  struct cct_sink k;
  cct_sink_init(&k);
  struct sidecal_result res;
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 10 * 86400, NULL, &k, &res), ==, SIDECAL_OK);
  /* Five of ours in start order; the foreign booking skipped, the one
  ** outside the window and the unmapped type never asked for. */
  g_assert_cmpuint(k.evs->len, ==, 5);
  for (int i = 0; i < 5; i++) {
    g_assert_cmpstr(EV(&k, i)->id, ==, u[i]);
    g_assert_cmpint(EV(&k, i)->start, ==, DAY0 + i * 86400 + 36000);
    g_assert_cmpint(EV(&k, i)->end, ==, DAY0 + i * 86400 + 36000 + (i % 2 ? 1800 : 3600));
    g_assert_cmpuint(EV(&k, i)->status, ==, SIDECAL_EVENT_CONFIRMED);
    g_assert_cmpstr(EV(&k, i)->type, ==, i % 2 ? "consult" : NULL);
    g_assert_cmpstr(EV(&k, i)->tz, ==, "Europe/Rome");
  }
  g_assert_cmpuint(sc_plugin_instance_counter(t.inst, "bookings_foreign_skipped"), ==, 1);
  /* Three pages of take=2 (two ours + the foreign one make page 2). */
  json_object *reqs = cct_requests(&t);
  g_assert_cmpuint(json_object_array_length(reqs), ==, 3);
  for (int i = 0; i < 3; i++) {
    json_object *r = json_object_array_get_idx(reqs, i);
    gchar *want = g_strdup_printf("take=2&eventTypeIds=101%%2C202&afterStart=2030-01-07T00%%3A00%%3A00Z"
                                  "&beforeEnd=2030-01-17T00%%3A00%%3A00Z&sortStart=asc&skip=%d", 2 * i);
    g_assert_cmpstr(jstr(r, "query"), ==, want);
    g_assert_cmpstr(jstr(r, "version"), ==, "2024-08-13");
    g_assert_cmpstr(jstr(r, "path"), ==, "/v2/bookings");
    g_free(want);
  }
  json_object_put(reqs);
  /* The cursor is the newest updatedAt seen. */
  json_object *newest = cct_booking(&t, unmapped);  /* seeded last but not listed */
  json_object_put(newest);
  json_object *last = cct_booking(&t, foreign);
  gchar *want_cursor = g_strdup_printf("u:%s", jstr(last, "updatedAt"));
  g_assert_cmpstr(k.cursor, ==, want_cursor);
  json_object_put(last);

  /* Incremental: only what changed since, wherever it is in time. */
  uint32_t st = 0;
  gchar *path = g_strdup_printf("/v2/bookings/%s/cancel", u[3]);
  json_object_put(cct_http(&t, "POST", path, "{}", &st));
  g_assert_cmpuint(st, ==, 200);
  g_free(path);
  path = g_strdup_printf("/v2/bookings/%s/cancel", outside);
  json_object_put(cct_http(&t, "POST", path, "{}", &st));
  g_free(path);
  cct_ctl0(&t, "requests/reset", "{}");
  cct_sink_reset(&k);
  gchar *cursor = g_strdup(k.cursor);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 10 * 86400, cursor, &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 2);
  g_assert_cmpstr(EV(&k, 0)->id, ==, u[3]);
  g_assert_cmpuint(EV(&k, 0)->status, ==, SIDECAL_EVENT_CANCELLED);
  g_assert_cmpstr(EV(&k, 1)->id, ==, outside);
  reqs = cct_requests(&t);
  g_assert_cmpuint(json_object_array_length(reqs), ==, 1);
  gchar *esc = g_uri_escape_string(cursor + 2, NULL, FALSE);
  gchar *want = g_strdup_printf("take=2&eventTypeIds=101%%2C202&afterUpdatedAt=%s&sortUpdatedAt=asc&skip=0", esc);
  g_assert_cmpstr(jstr(json_object_array_get_idx(reqs, 0), "query"), ==, want);
  g_free(want), g_free(esc);
  json_object_put(reqs);
  json_object *ob = cct_booking(&t, outside);
  gchar *want2 = g_strdup_printf("u:%s", jstr(ob, "updatedAt"));
  g_assert_cmpstr(k.cursor, ==, want2);
  json_object_put(ob);
  g_free(want2);

  /* Nothing new: nothing reported, the cursor kept (not re-sent). */
  g_free(cursor);
  cursor = g_strdup(k.cursor);
  cct_sink_reset(&k);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 10 * 86400, cursor, &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 0);
  g_assert_cmpint(k.cursor_calls, ==, 0);
  /* A cursor that is not ours means a full sync. */
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, "garbage", &k, &res), ==, SIDECAL_CURSOR_EXPIRED);
  g_assert_cmpstr(res.message, ==, "cursor \"garbage\" is not one of ours");

  g_free(cursor), g_free(want_cursor);
  for (int i = 0; i < 5; i++) g_free(u[i]);
  g_free(foreign), g_free(outside), g_free(unmapped);
  cct_sink_clear(&k);
  cct_teardown(&t);
}

/* A reschedule seen by polling: the old booking (cancelled, pointing at
** its successor) is not reported as a cancellation; the successor says
** which booking it replaces. A raised cancel flag stops between pages. */
static void test_list_reschedule_and_cancel_flag(void) {
  struct cct t;
  cct_setup(&t, 1);
  cct_std(&t, NULL, NULL);
  gchar *old = cct_seed(&t, 0, 101, OURS);
  struct cct_sink k;
  cct_sink_init(&k);
  struct sidecal_result res;
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_OK);
  gchar *cursor = g_strdup(k.cursor);
  uint32_t st = 0;
  gchar *path = g_strdup_printf("/v2/bookings/%s/reschedule", old);
  json_object_put(cct_http(&t, "POST", path, "{\"start\": \"2030-03-01T09:00:00Z\"}", &st));
  g_assert_cmpuint(st, ==, 201);
  g_free(path);
  cct_sink_reset(&k);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, cursor, &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1);
  g_assert_cmpstr(EV(&k, 0)->id, !=, old);
  g_assert_cmpstr(EV(&k, 0)->replaces, ==, old);
  g_assert_cmpuint(EV(&k, 0)->status, ==, SIDECAL_EVENT_CONFIRMED);

  /* Cancelled by the host: RETRY, no cursor, and no request sent. */
  cct_ctl0(&t, "requests/reset", "{}");
  cct_sink_reset(&k);
  g_free(k.cursor);
  k.cursor = NULL;
  static const volatile int32_t raised = 1;
  struct sc_plugin_call call;
  sc_plugin_call_init(t.inst, &call, "list", 0);
  call.ctx.cancel = &raised;
  struct sidecal_window w = {DAY0, DAY0 + 86400};
  g_assert_cmpint(D(&t)->list_events(t.inst->state, &call.ctx, &w, NULL, &k.sink, &call.res), ==,
                  SIDECAL_RETRY);
  g_assert_cmpstr(call.res.message, ==, "cancelled by the host between pages");
  g_assert_null(k.cursor);
  json_object *reqs = cct_requests(&t);
  g_assert_cmpuint(json_object_array_length(reqs), ==, 0);
  json_object_put(reqs);
  g_free(cursor), g_free(old);
  cct_sink_clear(&k);
  cct_teardown(&t);
}

/* ---- tests: writes ---------------------------------------------------------- */

static void fill_ev(struct sidecal_event *ev, struct sidecal_attendee *a, int64_t start,
                    const char *marker, const char *type) {
  *a = (struct sidecal_attendee){"Bea Booker", "bea@example.com", "+15550100"};
  *ev = (struct sidecal_event){.struct_size = sizeof *ev, .status = SIDECAL_EVENT_CONFIRMED,
                               .start_utc = start, .end_utc = start + 1800,
                               .timezone = "America/New_York", .n_attendees = 1, .attendees = a,
                               .title = "Consultation", .marker = marker, .event_type = type};
}

static int32_t cct_create(struct cct *t, const struct sidecal_event *ev,
                          struct sidecal_write_result *out, struct sidecal_result *res) {
  struct sc_plugin_call call;
  sc_plugin_call_init(t->inst, &call, "create", 0);
  *out = (struct sidecal_write_result){.struct_size = sizeof *out};
  int32_t rc = D(t)->create_event(t->inst->state, &call.ctx, ev, out, &call.res);
  *res = call.res;
  return rc;
}

static int32_t cct_update(struct cct *t, const char *id, const struct sidecal_event *ev,
                          struct sidecal_write_result *out, struct sidecal_result *res) {
  struct sc_plugin_call call;
  sc_plugin_call_init(t->inst, &call, "update", 0);
  *out = (struct sidecal_write_result){.struct_size = sizeof *out};
  int32_t rc = D(t)->update_event(t->inst->state, &call.ctx, id, NULL, ev, out, &call.res);
  *res = call.res;
  return rc;
}

static int32_t cct_delete(struct cct *t, const char *id, struct sidecal_result *res) {
  struct sc_plugin_call call;
  sc_plugin_call_init(t->inst, &call, "delete", 0);
  int32_t rc = D(t)->delete_event(t->inst->state, &call.ctx, id, NULL, &call.res);
  *res = call.res;
  return rc;
}

/* The last request the fake saw, as "METHOD path version". */
static gchar *last_request(struct cct *t, int from_end) {
  json_object *reqs = cct_requests(t);
  size_t n = json_object_array_length(reqs);
  json_object *r = json_object_array_get_idx(reqs, n - 1 - (size_t)from_end);
  gchar *s = g_strdup_printf("%s %s %s", jstr(r, "method"), jstr(r, "path"), jstr(r, "version"));
  json_object_put(reqs);
  return s;
}

static void assert_last(struct cct *t, int from_end, const char *want) {
  gchar *s = last_request(t, from_end);
  g_assert_cmpstr(s, ==, want);
  g_free(s);
}

static void test_create_reschedule_cancel(void) {
  struct cct t;
  cct_setup(&t, 1);
  /* POST /bookings is served at another version than the rest. */
  cct_ctl0(&t, "config", "{\"versions\": {\"create\": \"2026-02-25\"}}");
  cct_std(&t, "{\"base_url\": \"@BASE@\", \"default_event_type_id\": 202, "
              "\"event_types\": {\"consult\": \"101\"}, \"create_api_version\": \"2026-02-25\"}",
          NULL);
  struct sidecal_event ev;
  struct sidecal_attendee a;
  struct sidecal_write_result out;
  struct sidecal_result res;
  fill_ev(&ev, &a, DAY0 + 9 * 3600, "sidecal:11111111-2222-3333-4444-555555555555", "consult");
  g_assert_cmpint(cct_create(&t, &ev, &out, &res), ==, SIDECAL_OK);
  assert_last(&t, 0, "POST /v2/bookings 2026-02-25");
  json_object *b = cct_booking(&t, out.external_id);
  g_assert_cmpstr(jstr(b, "start"), ==, "2030-01-07T09:00:00.000Z");
  g_assert_cmpstr(jstr(b, "eventTypeId"), ==, "101");
  json_object *md = NULL, *att = NULL;
  json_object_object_get_ex(b, "metadata", &md);
  g_assert_cmpstr(json_object_to_json_string_ext(md, JSON_C_TO_STRING_PLAIN), ==,
                  "{\"sidecalMarker\":\"sidecal:11111111-2222-3333-4444-555555555555\","
                  "\"organizationId\":\"acme\",\"locationId\":\"miami\"}");
  json_object_object_get_ex(b, "attendees", &att);
  json_object *a0 = json_object_array_get_idx(att, 0);
  g_assert_cmpstr(jstr(a0, "email"), ==, "bea@example.com");
  g_assert_cmpstr(jstr(a0, "timeZone"), ==, "America/New_York");
  g_assert_cmpstr(jstr(a0, "phoneNumber"), ==, "+15550100");
  /* The version our write left is the link's etag, and the listing reports
  ** the same one, so the host knows its own booking when it polls it back. */
  g_assert_cmpstr(out.etag, ==, jstr(b, "updatedAt"));
  struct cct_sink k;
  cct_sink_init(&k);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1);
  g_assert_cmpstr(EV(&k, 0)->etag, ==, out.etag);
  cct_sink_clear(&k);
  json_object_put(b);
  gchar *first = g_strdup(out.external_id);

  /* An unmapped type falls back to default_event_type_id. */
  fill_ev(&ev, &a, DAY0 + 12 * 3600, NULL, "walk-in");
  g_assert_cmpint(cct_create(&t, &ev, &out, &res), ==, SIDECAL_OK);
  b = cct_booking(&t, out.external_id);
  g_assert_cmpstr(jstr(b, "eventTypeId"), ==, "202");
  json_object_put(b);

  /* Same start: nothing to do, no reschedule. */
  fill_ev(&ev, &a, DAY0 + 9 * 3600, NULL, "consult");
  g_assert_cmpint(cct_update(&t, first, &ev, &out, &res), ==, SIDECAL_OK);
  g_assert_cmpstr(out.external_id, ==, first);
  gchar *want = g_strdup_printf("GET /v2/bookings/%s 2024-08-13", first);
  assert_last(&t, 0, want);
  g_free(want);

  /* A new start reschedules: Cal.com answers with a new uid, the old one
  ** is cancelled and points at it. */
  fill_ev(&ev, &a, DAY0 + 86400 + 15 * 3600, NULL, "consult");
  g_assert_cmpint(cct_update(&t, first, &ev, &out, &res), ==, SIDECAL_OK);
  g_assert_cmpstr(out.external_id, !=, first);
  want = g_strdup_printf("POST /v2/bookings/%s/reschedule 2024-08-13", first);
  assert_last(&t, 0, want);
  g_free(want);
  b = cct_booking(&t, first);
  g_assert_cmpstr(jstr(b, "status"), ==, "cancelled");
  g_assert_cmpstr(jstr(b, "rescheduledToUid"), ==, out.external_id);
  json_object_put(b);
  b = cct_booking(&t, out.external_id);
  g_assert_cmpstr(jstr(b, "start"), ==, "2030-01-08T15:00:00.000Z");
  g_assert_cmpstr(jstr(b, "rescheduledFromUid"), ==, first);
  g_assert_cmpstr(out.etag, ==, jstr(b, "updatedAt"));
  json_object_put(b);
  gchar *second = g_strdup(out.external_id);

  /* Cancel, then cancel again (Cal.com refuses the second; still done). */
  g_assert_cmpint(cct_delete(&t, second, &res), ==, SIDECAL_OK);
  want = g_strdup_printf("POST /v2/bookings/%s/cancel 2024-08-13", second);
  assert_last(&t, 0, want);
  g_free(want);
  b = cct_booking(&t, second);
  g_assert_cmpstr(jstr(b, "status"), ==, "cancelled");
  g_assert_cmpstr(jstr(b, "cancellationReason"), ==, "Cancelled in sidecal");
  json_object_put(b);
  g_assert_cmpint(cct_delete(&t, second, &res), ==, SIDECAL_OK);
  g_assert_cmpint(cct_delete(&t, "bk_gone", &res), ==, SIDECAL_OK);
  /* A cancelled booking cannot be moved. */
  g_assert_cmpint(cct_update(&t, second, &ev, &out, &res), ==, SIDECAL_OK); /* same start */
  fill_ev(&ev, &a, DAY0 + 3 * 86400, NULL, "consult");
  g_assert_cmpint(cct_update(&t, second, &ev, &out, &res), ==, SIDECAL_ERROR);
  want = g_strdup_printf("booking %s is cancelled at Cal.com and cannot be moved; cancel the "
                         "appointment or book it again", second);
  g_assert_cmpstr(res.message, ==, want);
  g_free(want);

  /* Bad input never reaches Cal.com. */
  size_t before = cct_count_bookings(&t);
  a.email = NULL, a.phone = NULL;
  g_assert_cmpint(cct_create(&t, &ev, &out, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "Cal.com needs an attendee with an email address or a phone number");
  g_assert_cmpuint(cct_count_bookings(&t), ==, before);
  cct_teardown(&t);
  g_free(first), g_free(second);
}

/* The host's marker lookup (core/sync_outbox.c): list around the
** appointment with no cursor and adopt the event carrying our marker. */
static gchar *find_by_marker(struct cct *t, int64_t start, const char *marker) {
  struct cct_sink k;
  cct_sink_init(&k);
  k.stop_at_marker = marker;
  struct sidecal_result res;
  g_assert_cmpint(cct_list(t, start - 86400, start + 1800 + 86400, NULL, &k, &res), ==, SIDECAL_OK);
  gchar *id = NULL;
  for (guint i = 0; i < k.evs->len; i++)
    if (EV(&k, i)->marker && !strcmp(EV(&k, i)->marker, marker)) id = g_strdup(EV(&k, i)->id);
  cct_sink_clear(&k);
  return id;
}

static void test_idempotent_create(void) {
  struct cct t;
  cct_setup(&t, 1);
  cct_std(&t, NULL, NULL);
  const char *marker = "sidecal:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
  struct sidecal_event ev;
  struct sidecal_attendee a;
  struct sidecal_write_result out;
  struct sidecal_result res;
  fill_ev(&ev, &a, DAY0 + 11 * 3600, marker, NULL);
  gchar *other = cct_seed(&t, 0, 202, OURS); /* a neighbour without our marker */
  g_assert_null(find_by_marker(&t, ev.start_utc, marker));
  /* The create lands, then Cal.com answers 500. */
  cct_ctl0(&t, "fail", "{\"method\": \"POST\", \"path\": \"/v2/bookings\", \"status\": 500, "
                       "\"after_write\": true}");
  g_assert_cmpint(cct_create(&t, &ev, &out, &res), ==, SIDECAL_RETRY);
  g_assert_cmpstr(res.message, ==, "Cal.com failed on POST /bookings "
                                   "(500 InternalServerErrorException: Internal server error)");
  g_assert_cmpuint(cct_count_bookings(&t), ==, 2);
  /* The retry finds it by its marker instead of creating another. */
  gchar *found = find_by_marker(&t, ev.start_utc, marker);
  g_assert_nonnull(found);
  g_assert_cmpstr(found, !=, other);
  json_object *b = cct_booking(&t, found);
  g_assert_cmpstr(jstr(b, "start"), ==, "2030-01-07T11:00:00.000Z");
  json_object_put(b);
  g_assert_cmpuint(cct_count_bookings(&t), ==, 2);

  /* The same for a reschedule that answered 500 after it took effect: the
  ** retry follows rescheduledToUid and moves nothing twice. */
  cct_ctl0(&t, "fail", "{\"method\": \"POST\", \"path\": \"/v2/bookings/.*/reschedule\", "
                       "\"status\": 502, \"after_write\": true}");
  fill_ev(&ev, &a, DAY0 + 2 * 86400 + 8 * 3600, marker, NULL);
  g_assert_cmpint(cct_update(&t, found, &ev, &out, &res), ==, SIDECAL_RETRY);
  g_assert_cmpuint(cct_count_bookings(&t), ==, 3);
  g_assert_cmpint(cct_update(&t, found, &ev, &out, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(cct_count_bookings(&t), ==, 3);
  b = cct_booking(&t, found);
  g_assert_cmpstr(jstr(b, "rescheduledToUid"), ==, out.external_id);
  json_object_put(b);
  b = cct_booking(&t, out.external_id);
  g_assert_cmpstr(jstr(b, "start"), ==, "2030-01-09T08:00:00.000Z");
  json_object_put(b);
  /* The successor keeps the marker, so the lookup still works. */
  gchar *again = find_by_marker(&t, ev.start_utc, marker);
  g_assert_cmpstr(again, ==, out.external_id);
  g_free(again), g_free(found), g_free(other);
  cct_teardown(&t);
}

static void test_error_mapping(void) {
  struct cct t;
  cct_setup(&t, 1);
  cct_std(&t, NULL, NULL);
  struct cct_sink k;
  cct_sink_init(&k);
  struct sidecal_result res;
  cct_ctl0(&t, "fail", "{\"method\": \"GET\", \"path\": \"/v2/bookings\", \"status\": 429, \"retry_after\": 7}");
  cct_ctl0(&t, "fail", "{\"method\": \"GET\", \"path\": \"/v2/bookings\", \"status\": 429}");
  cct_ctl0(&t, "fail", "{\"method\": \"GET\", \"path\": \"/v2/bookings\", \"status\": 503}");
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_RETRY);
  g_assert_cmpuint(res.retry_after_ms, ==, 7000);
  g_assert_cmpstr(res.message, ==, "Cal.com rate limit reached on GET /bookings "
                                   "(429 ThrottlerException: Too Many Requests); retry in 7 s");
  /* Without Retry-After the rate-limit reset (60 s ahead in the fake) is the hint. */
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_RETRY);
  g_assert_cmpuint(res.retry_after_ms, >=, 58000);
  g_assert_cmpuint(res.retry_after_ms, <=, 60000);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_RETRY);
  g_assert_cmpuint(res.retry_after_ms, ==, 0);
  g_assert_cmpstr(res.message, ==, "Cal.com failed on GET /bookings "
                                   "(503 InternalServerErrorException: Internal server error)");
  g_assert_null(k.cursor);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_OK);
  g_assert_nonnull(k.cursor);
  sc_plugin_instance_destroy(t.inst);

  /* A wrong key: UNAUTHORIZED, so the host refreshes (or flags the instance). */
  g_setenv("CCT_BADKEY", "cal_live_wrong", TRUE);
  cct_std(&t, NULL, "api_key=env:CCT_BADKEY");
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpstr(res.message, ==, "Cal.com rejected the credentials for GET /bookings "
                                   "(401 UnauthorizedException: Invalid or missing credentials)");
  struct sc_plugin_call call;
  sc_plugin_call_init(t.inst, &call, "refresh", 0);
  g_assert_cmpint(D(&t)->refresh_credentials(t.inst->state, &call.ctx, &call.res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(call.res.message, ==, "this instance uses an API key, which cannot be refreshed: "
                                        "configure a valid api_key");
  sc_plugin_instance_destroy(t.inst);

  /* A version Cal.com does not serve here is a permanent error. */
  cct_std(&t, "{\"base_url\": \"@BASE@\", \"bookings_api_version\": \"2024-01-01\"}", NULL);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "Cal.com refused GET /bookings (400 BadRequestException: "
                                   "cal-api-version 2024-01-01 is not served here (this endpoint "
                                   "expects 2024-08-13))");
  sc_plugin_instance_destroy(t.inst);
  t.inst = NULL;

  /* Nobody listening: the host's transport error, a RETRY. */
  struct sc_error err;
  g_assert_cmpint(cct_instance(&t, "{\"base_url\": \"http://127.0.0.1:1/v2\"}", "api_key=env:CCT_KEY",
                               "miami", &t.inst, &err), ==, SC_OK);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_RETRY);
  cct_sink_clear(&k);
  cct_teardown(&t);
}

static void test_oauth_refresh(void) {
  struct cct t;
  cct_setup(&t, 1);
  cct_ctl0(&t, "tokens", "{\"refresh\": \"rt_0\"}");
  g_setenv("CCT_CSECRET", "csecret", TRUE);
  g_setenv("CCT_RT", "rt_0", TRUE);
  cct_std(&t, "{\"base_url\": \"@BASE@\", \"oauth_client_id\": \"client-1\"}",
          "oauth_client_secret=env:CCT_CSECRET,refresh_token=env:CCT_RT");
  struct cct_sink k;
  cct_sink_init(&k);
  struct sidecal_result res;
  /* No access token yet: ask the host for a refresh, send nothing. */
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpstr(res.message, ==, "no OAuth access token yet: a refresh is needed");
  json_object *reqs = cct_requests(&t);
  g_assert_cmpuint(json_object_array_length(reqs), ==, 0);
  json_object_put(reqs);

  struct sc_plugin_call call;
  sc_plugin_call_init(t.inst, &call, "refresh", 0);
  g_assert_cmpint(D(&t)->refresh_credentials(t.inst->state, &call.ctx, &call.res), ==, SIDECAL_OK);
  const char *rt1 = g_hash_table_lookup(t.stored, "acme.miami.calcom/refresh_token");
  const char *at1 = g_hash_table_lookup(t.stored, "acme.miami.calcom/access_token");
  g_assert_nonnull(rt1);
  g_assert_cmpstr(rt1, !=, "rt_0");
  g_assert_nonnull(at1);
  reqs = cct_requests(&t);
  json_object *r = json_object_array_get_idx(reqs, 0);
  g_assert_cmpstr(jstr(r, "path"), ==, "/v2/oauth/client-1/refresh");
  g_assert_cmpstr(jstr(r, "secret_key"), ==, "csecret");
  g_assert_cmpstr(jstr(r, "body"), ==, "{\"refreshToken\":\"rt_0\"}");
  g_assert_null(jstr(r, "auth"));
  json_object_put(reqs);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_OK);
  reqs = cct_requests(&t);
  gchar *bearer = g_strdup_printf("Bearer %s", at1);
  g_assert_cmpstr(jstr(json_object_array_get_idx(reqs, 1), "auth"), ==, bearer);
  g_free(bearer);
  json_object_put(reqs);

  /* Expiry: 401, refresh with the rotated token, back in business. */
  cct_ctl0(&t, "expire", "{}");
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpstr(res.message, ==, "Cal.com rejected the credentials for GET /bookings "
                                   "(401 UnauthorizedException: ACCESS_TOKEN_IS_EXPIRED)");
  gchar *rt1_copy = g_strdup(rt1);
  g_assert_cmpint(D(&t)->refresh_credentials(t.inst->state, &call.ctx, &call.res), ==, SIDECAL_OK);
  reqs = cct_requests(&t);
  gchar *want = g_strdup_printf("{\"refreshToken\":\"%s\"}", rt1_copy);
  g_assert_cmpstr(jstr(json_object_array_get_idx(reqs, json_object_array_length(reqs) - 1), "body"),
                  ==, want);
  g_free(want);
  json_object_put(reqs);
  g_assert_cmpstr(g_hash_table_lookup(t.stored, "acme.miami.calcom/refresh_token"), !=, rt1_copy);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_OK);

  /* Rejected client credentials are permanent: reconnect. */
  cct_ctl0(&t, "config", "{\"oauth\": {\"client_secret\": \"rotated-by-admin\"}}");
  g_assert_cmpint(D(&t)->refresh_credentials(t.inst->state, &call.ctx, &call.res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(call.res.message, ==, "Cal.com rejected the credentials for the OAuth refresh "
                                        "(401 UnauthorizedException: Invalid client credentials); "
                                        "reconnect the Cal.com account");
  g_free(rt1_copy);
  cct_sink_clear(&k);
  cct_teardown(&t);
}

/* ---- tests: webhooks ------------------------------------------------------- */

struct cct_delivery {
  gchar *body;
  gchar *sig;    /* NULL: no header */
};

static void cct_deliver(struct cct *t, const char *trigger, const char *uid, const char *secret,
                        struct cct_delivery *d) {
  gchar *req = g_strdup_printf("{\"trigger\": \"%s\", \"uid\": \"%s\", \"secret\": %s%s%s}", trigger,
                               uid, secret ? "\"" : "", secret ? secret : "null", secret ? "\"" : "");
  json_object *o = cct_ctl(t, "webhook", req), *h = NULL;
  json_object_object_get_ex(o, "headers", &h);
  d->body = g_strdup(jstr(o, "body"));
  d->sig = g_strdup(jstr(h, "X-Cal-Signature-256"));
  json_object_put(o);
  g_free(req);
}

static void cct_delivery_free(struct cct_delivery *d) {
  g_free(d->body);
  g_free(d->sig);
}

static int32_t cct_verify(struct cct *t, const char *body, const char *sig,
                          struct sidecal_result *res) {
  struct sidecal_http_header h[2] = {{"content-type", "application/json"},
                                     {"x-cal-signature-256", sig}};
  struct sidecal_webhook wh = {.struct_size = sizeof wh, .n_headers = sig ? 2 : 1, .headers = h,
                               .body = body, .body_len = strlen(body)};
  struct sc_plugin_call call;
  sc_plugin_call_init(t->inst, &call, "verify", 0);
  int32_t rc = D(t)->webhook_verify(t->inst->state, &call.ctx, &wh, &call.res);
  *res = call.res;
  return rc;
}

static int32_t cct_parse(struct cct *t, const char *body, size_t len, struct cct_sink *k,
                         struct sidecal_result *res) {
  struct sidecal_webhook wh = {.struct_size = sizeof wh, .body = body, .body_len = len};
  struct sc_plugin_call call;
  sc_plugin_call_init(t->inst, &call, "parse", 0);
  int32_t rc = D(t)->webhook_parse(t->inst->state, &call.ctx, &wh, &k->sink, &call.res);
  *res = call.res;
  return rc;
}

static void test_webhook_verify(void) {
  struct cct t;
  cct_setup(&t, 1);
  cct_std(&t, NULL, NULL);
  gchar *uid = cct_seed(&t, 0, 101, OURS);
  struct sidecal_result res;
  struct cct_delivery good, wrong, unsigned_d;
  cct_deliver(&t, "BOOKING_CREATED", uid, "whsec_test", &good);
  cct_deliver(&t, "BOOKING_CREATED", uid, "another_secret", &wrong);
  cct_deliver(&t, "BOOKING_CREATED", uid, NULL, &unsigned_d);
  g_assert_cmpint(cct_verify(&t, good.body, good.sig, &res), ==, SIDECAL_OK);
  g_assert_cmpint(cct_verify(&t, wrong.body, wrong.sig, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "X-Cal-Signature-256 does not match the body: wrong "
                                   "webhook_secret, or the body was changed on the way");
  g_assert_cmpstr(unsigned_d.sig, ==, "no-secret-provided");
  g_assert_cmpint(cct_verify(&t, unsigned_d.body, unsigned_d.sig, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "delivery is unsigned (X-Cal-Signature-256: no-secret-provided) "
                                   "but this instance has a webhook_secret: set the same secret on "
                                   "the Cal.com webhook");
  g_assert_cmpint(cct_verify(&t, good.body, NULL, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "delivery has no X-Cal-Signature-256 header");
  /* One byte changed in the body. */
  gchar *tampered = g_strdup(good.body);
  char *p = strstr(tampered, "T10:00");
  p[2] = '1';
  g_assert_cmpint(cct_verify(&t, tampered, good.sig, &res), ==, SIDECAL_ERROR);
  /* Upper-case hex is not what Cal.com sends. */
  gchar *upper = g_ascii_strup(good.sig, -1);
  g_assert_cmpint(cct_verify(&t, good.body, upper, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "X-Cal-Signature-256 is not 64 lower-case hex digits");
  sc_plugin_instance_destroy(t.inst);

  /* No secret configured: refused, unless unsigned deliveries are allowed. */
  cct_std(&t, "{\"base_url\": \"@BASE@\"}", "api_key=env:CCT_KEY");
  g_assert_cmpint(cct_verify(&t, good.body, good.sig, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "no webhook_secret is configured, so deliveries cannot be "
                                   "verified: set the Cal.com webhook's secret as webhook_secret");
  sc_plugin_instance_destroy(t.inst);
  cct_std(&t, "{\"base_url\": \"@BASE@\", \"accept_unsigned_webhooks\": true}", "api_key=env:CCT_KEY");
  g_assert_cmpint(cct_verify(&t, unsigned_d.body, unsigned_d.sig, &res), ==, SIDECAL_OK);
  g_free(tampered), g_free(upper), g_free(uid);
  cct_delivery_free(&good), cct_delivery_free(&wrong), cct_delivery_free(&unsigned_d);
  cct_teardown(&t);
}

static void test_webhook_parse(void) {
  struct cct t;
  cct_setup(&t, 1);
  cct_std(&t, NULL, NULL);
  struct cct_sink k;
  cct_sink_init(&k);
  struct sidecal_result res;
  struct cct_delivery d;
  gchar *uid = cct_seed(&t, 0, 101, "{\"organizationId\": \"acme\", \"locationId\": \"miami\", "
                                    "\"sidecalMarker\": \"sidecal:m1\"}");

  cct_deliver(&t, "BOOKING_CREATED", uid, "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1);
  g_assert_cmpstr(EV(&k, 0)->id, ==, uid);
  g_assert_cmpstr(EV(&k, 0)->marker, ==, "sidecal:m1");
  g_assert_cmpstr(EV(&k, 0)->type, ==, "consult");
  g_assert_cmpstr(EV(&k, 0)->email, ==, "ann0@example.com");
  g_assert_null(EV(&k, 0)->replaces);
  g_assert_cmpuint(EV(&k, 0)->status, ==, SIDECAL_EVENT_CONFIRMED);
  g_assert_cmpint(EV(&k, 0)->start, ==, DAY0 + 36000);
  g_assert_cmpint(EV(&k, 0)->end, ==, DAY0 + 36000 + 1800);
  cct_delivery_free(&d);

  /* Rescheduled on Cal.com: the new uid says which booking it replaces. */
  gchar *want = NULL;
  uint32_t st = 0;
  gchar *path = g_strdup_printf("/v2/bookings/%s/reschedule", uid);
  json_object *nb = cct_http(&t, "POST", path, "{\"start\": \"2030-01-10T16:00:00Z\"}", &st);
  g_assert_cmpuint(st, ==, 201);
  json_object *data = NULL;
  json_object_object_get_ex(nb, "data", &data);
  gchar *new_uid = g_strdup(jstr(data, "uid"));
  json_object_put(nb);
  g_free(path);
  cct_sink_reset(&k);
  cct_deliver(&t, "BOOKING_RESCHEDULED", new_uid, "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1);
  g_assert_cmpstr(EV(&k, 0)->id, ==, new_uid);
  g_assert_cmpstr(EV(&k, 0)->replaces, ==, uid);
  g_assert_cmpstr(EV(&k, 0)->marker, ==, "sidecal:m1");
  g_assert_cmpint(EV(&k, 0)->start, ==, DAY0 + 3 * 86400 + 16 * 3600);
  cct_delivery_free(&d);

  /* No-show: the payload only names the booking; it is fetched. */
  cct_sink_reset(&k);
  cct_deliver(&t, "BOOKING_NO_SHOW_UPDATED", new_uid, "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1);
  g_assert_cmpstr(EV(&k, 0)->id, ==, new_uid);
  g_assert_cmpstr(EV(&k, 0)->appt_status, ==, "NO_SHOW");
  want = g_strdup_printf("GET /v2/bookings/%s 2024-08-13", new_uid);
  assert_last(&t, 0, want);
  g_free(want);
  cct_delivery_free(&d);

  /* Cancelled. */
  path = g_strdup_printf("/v2/bookings/%s/cancel", new_uid);
  json_object_put(cct_http(&t, "POST", path, "{\"cancellationReason\": \"ill\"}", &st));
  g_free(path);
  cct_sink_reset(&k);
  cct_deliver(&t, "BOOKING_CANCELLED", new_uid, "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1);
  g_assert_cmpuint(EV(&k, 0)->status, ==, SIDECAL_EVENT_CANCELLED);
  g_assert_null(EV(&k, 0)->replaces);

  /* Truncated JSON: refused, nothing reported. */
  cct_sink_reset(&k);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body) / 2, &k, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "delivery body is not a JSON object (is a custom payload "
                                   "template set on the Cal.com webhook? it must be off)");
  g_assert_cmpuint(k.evs->len, ==, 0);
  cct_delivery_free(&d);

  /* Triggers we do not handle are acknowledged and ignored. */
  const char *meeting = "{\"triggerEvent\":\"MEETING_ENDED\",\"createdAt\":\"2030-01-01T00:00:00Z\","
                        "\"payload\":{\"uid\":\"x\"}}";
  g_assert_cmpint(cct_parse(&t, meeting, strlen(meeting), &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 0);
  g_assert_cmpuint(sc_plugin_instance_counter(t.inst, "webhooks_ignored"), ==, 1);

  /* Another tenant's booking: refused with a clear error, nothing reported. */
  gchar *globex = cct_seed(&t, 1, 101, "{\"organizationId\": \"globex\", \"locationId\": \"miami\"}");
  cct_deliver(&t, "BOOKING_CREATED", globex, "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_ERROR);
  want = g_strdup_printf("booking %s: metadata organizationId names organization \"globex\", "
                                "but this instance belongs to \"acme\"; refused", globex);
  g_assert_cmpstr(res.message, ==, want);
  g_free(want);
  g_assert_cmpuint(k.evs->len, ==, 0);
  cct_delivery_free(&d);
  /* ... also when only the location is someone else's, and for no-shows. */
  gchar *tampa = cct_seed(&t, 1, 101, "{\"organizationId\": \"acme\", \"locationId\": \"tampa\"}");
  cct_deliver(&t, "BOOKING_NO_SHOW_UPDATED", tampa, "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_ERROR);
  want = g_strdup_printf("booking %s: metadata locationId names location \"tampa\", but this "
                         "instance belongs to \"miami\"; refused", tampa);
  g_assert_cmpstr(res.message, ==, want);
  g_free(want);
  g_assert_cmpuint(k.evs->len, ==, 0);
  cct_delivery_free(&d);
  /* No tenant in the metadata at all. */
  gchar *bare = cct_seed(&t, 1, 101, "{}");
  cct_deliver(&t, "BOOKING_CREATED", bare, "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_ERROR);
  want = g_strdup_printf("booking %s: metadata has no organizationId; this instance only accepts "
                         "bookings of organization \"acme\" (require_tenant_metadata: false accepts "
                         "bookings without it)", bare);
  g_assert_cmpstr(res.message, ==, want);
  g_free(want);
  g_assert_cmpuint(k.evs->len, ==, 0);
  sc_plugin_instance_destroy(t.inst);
  cct_std(&t, "{\"base_url\": \"@BASE@\", \"require_tenant_metadata\": false}", NULL);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1);
  cct_delivery_free(&d);

  g_free(uid), g_free(new_uid), g_free(globex), g_free(tampa), g_free(bare);
  cct_sink_clear(&k);
  cct_teardown(&t);
}

/* [U] whether Cal.com copies metadata to a rescheduled booking: when it
** does not, the successor inherits its predecessor's tenant and marker. */
static void test_reschedule_without_metadata(void) {
  struct cct t;
  cct_setup(&t, 1);
  cct_ctl0(&t, "config", "{\"reschedule_copies_metadata\": false}");
  cct_std(&t, NULL, NULL);
  gchar *old = cct_seed(&t, 0, 101, "{\"organizationId\": \"acme\", \"locationId\": \"miami\", "
                                    "\"sidecalMarker\": \"sidecal:m2\"}");
  gchar *foreign = cct_seed(&t, 1, 101, "{\"organizationId\": \"globex\"}");
  struct cct_sink k;
  cct_sink_init(&k);
  struct sidecal_result res;
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, NULL, &k, &res), ==, SIDECAL_OK);
  gchar *cursor = g_strdup(k.cursor);
  uint32_t st = 0;
  gchar *ids[2];
  const char *from[2] = {old, foreign};
  for (int i = 0; i < 2; i++) {
    gchar *path = g_strdup_printf("/v2/bookings/%s/reschedule", from[i]);
    json_object *o = cct_http(&t, "POST", path, "{\"start\": \"2030-03-01T09:00:00Z\"}", &st), *d;
    g_assert_cmpuint(st, ==, 201);
    json_object_object_get_ex(o, "data", &d);
    ids[i] = g_strdup(jstr(d, "uid"));
    json_object_put(o);
    g_free(path);
  }
  json_object *nb = cct_booking(&t, ids[0]), *md = NULL;
  json_object_object_get_ex(nb, "metadata", &md);
  g_assert_cmpuint(json_object_object_length(md), ==, 0);
  json_object_put(nb);

  cct_sink_reset(&k);
  g_assert_cmpint(cct_list(&t, DAY0, DAY0 + 86400, cursor, &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1); /* globex's successor inherits globex: skipped */
  g_assert_cmpstr(EV(&k, 0)->id, ==, ids[0]);
  g_assert_cmpstr(EV(&k, 0)->replaces, ==, old);
  g_assert_cmpstr(EV(&k, 0)->marker, ==, "sidecal:m2");

  struct cct_delivery d;
  cct_sink_reset(&k);
  cct_deliver(&t, "BOOKING_RESCHEDULED", ids[0], "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1);
  g_assert_cmpstr(EV(&k, 0)->replaces, ==, old);
  g_assert_cmpstr(EV(&k, 0)->marker, ==, "sidecal:m2");
  cct_delivery_free(&d);
  cct_deliver(&t, "BOOKING_RESCHEDULED", ids[1], "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_ERROR);
  gchar *want = g_strdup_printf("booking %s: metadata organizationId names organization \"globex\", "
                                "but this instance belongs to \"acme\"; refused", ids[1]);
  g_assert_cmpstr(res.message, ==, want);
  g_assert_cmpuint(k.evs->len, ==, 1);
  cct_delivery_free(&d);
  g_free(want), g_free(cursor), g_free(old), g_free(foreign), g_free(ids[0]), g_free(ids[1]);
  cct_sink_clear(&k);
  cct_teardown(&t);
}

/* A staff member's instance checks only the organization, and its own
** bookings carry no location. */
static void test_staff_instance(void) {
  struct cct t;
  cct_setup(&t, 1);
  struct sc_error err;
  g_assert_cmpint(cct_instance(&t, "{\"base_url\": \"@BASE@\", \"default_event_type_id\": 101}",
                               STD_SECRETS, NULL, &t.inst, &err), ==, SC_OK);
  struct sidecal_event ev;
  struct sidecal_attendee a;
  struct sidecal_write_result out;
  struct sidecal_result res;
  fill_ev(&ev, &a, DAY0 + 9 * 3600, "sidecal:s1", NULL);
  g_assert_cmpint(cct_create(&t, &ev, &out, &res), ==, SIDECAL_OK);
  json_object *b = cct_booking(&t, out.external_id), *md = NULL;
  json_object_object_get_ex(b, "metadata", &md);
  g_assert_cmpstr(json_object_to_json_string_ext(md, JSON_C_TO_STRING_PLAIN), ==,
                  "{\"sidecalMarker\":\"sidecal:s1\",\"organizationId\":\"acme\"}");
  json_object_put(b);
  gchar *uid = cct_seed(&t, 1, 101, "{\"organizationId\": \"acme\", \"locationId\": \"tampa\"}");
  struct cct_delivery d;
  struct cct_sink k;
  cct_sink_init(&k);
  cct_deliver(&t, "BOOKING_CREATED", uid, "whsec_test", &d);
  g_assert_cmpint(cct_parse(&t, d.body, strlen(d.body), &k, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(k.evs->len, ==, 1);
  cct_delivery_free(&d);
  g_free(uid);
  cct_sink_clear(&k);
  cct_teardown(&t);
}

/* ---- main ------------------------------------------------------------------- */

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/calcom/settings/errors", test_settings_errors);
  g_test_add_func("/calcom/list/pages_and_cursor", test_list_pages_and_cursor);
  g_test_add_func("/calcom/list/reschedule_and_cancel_flag", test_list_reschedule_and_cancel_flag);
  g_test_add_func("/calcom/write/create_reschedule_cancel", test_create_reschedule_cancel);
  g_test_add_func("/calcom/write/idempotent_create", test_idempotent_create);
  g_test_add_func("/calcom/errors/mapping", test_error_mapping);
  g_test_add_func("/calcom/oauth/refresh", test_oauth_refresh);
  g_test_add_func("/calcom/webhook/verify", test_webhook_verify);
  g_test_add_func("/calcom/webhook/parse", test_webhook_parse);
  g_test_add_func("/calcom/reschedule_without_metadata", test_reschedule_without_metadata);
  g_test_add_func("/calcom/staff_instance", test_staff_instance);
  return g_test_run();
}
