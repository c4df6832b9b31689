/*
** Tests for plugins/ghl, the built ghl.so loaded through the plugin host and
** driven against the GHL fake (tests/fakes/ghl): every settings error;
** listing a window over several calendars, with each distinct contact
** fetched once per listing (404: no client; 429/5xx fail the listing;
** inside the rate budget); create with the contact upsert
** (both answer shapes, and the endpoint switched off); update and delete;
** every row of the status table; OAuth refresh with the rotated token stored
** through the host's secret store (and what happens when storing fails);
** 401 -> refresh -> success; a refused refresh -> SIDECAL_UNAUTHORIZED; a
** token about to expire is refreshed before use; 429 -> RETRY with the hint;
** 5xx -> RETRY; 500 after the write + retry -> no duplicate; webhooks:
** routing key, signature good / bad / truncated body, parsing, dedupe key;
** and a burst that stays inside a small rate budget.
*/
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/ghl/ghl_dedupe.h"
#include "../../plugins/ghl/ghl_status.h"
#include "../fakes/ghl/ghl_fake.h"
#include "plugin_fixtures.h"
#include "plugin_host.h"
#include "plugin_settings.h"
#include "plugin_test.h"

#define DEC1 1796083200LL /* 2026-12-01T00:00:00Z */

static struct ghl_fake *fake;
static struct pt_dirs dirs;
static struct sc_plugin *plugin;
static int serial;

/* ---- the host's secret store, as the daemon wires it ------------------ */

struct store {
  GHashTable *stored; /* key -> rotated value */
  int fail;           /* store answers an error */
};

static int store_read(void *ud, const char *instance, const char *key, const char *ref,
                      char **value, struct sc_error *err) {
  (void)ud, (void)instance;
  if (ref && g_str_has_prefix(ref, "env:") && g_getenv(ref + 4)) {
    *value = strdup(g_getenv(ref + 4));
    return SC_OK;
  }
  gchar *text = NULL;
  if (ref && g_str_has_prefix(ref, "file:") && g_file_get_contents(ref + 5, &text, NULL, NULL)) {
    *value = strdup(text);
    g_free(text);
    return SC_OK;
  }
  return sc_error_set(err, SC_ENOTFOUND, key, "%s cannot be read", ref ? ref : "(none)");
}

static int store_store(void *ud, const char *instance, const char *key, const char *value,
                       struct sc_error *err) {
  (void)instance;
  struct store *s = ud;
  if (s->fail) return sc_error_set(err, SC_EIO, key, "disk full");
  g_hash_table_insert(s->stored, g_strdup(key), g_strdup(value));
  return SC_OK;
}

/* ---- one instance of the connector against the fake ------------------- */

struct fx {
  struct store store;
  struct sc_plugin_secrets secrets;
  struct sc_plugin_instance *inst;
  char refresh_token[64];
};

static const char *oauth_names[] = {"client_id", "client_secret", "refresh_token", "webhook_public_key"};

/* Resets the fake, gives it a fresh refresh token (also in the env the
** secret reference names) and creates an instance; extra_json is spliced
** into the settings. Returns the create status; err has the message. */
static int fx_make(struct fx *f, const char *extra_json, size_t n_secrets, struct sc_error *err) {
  memset(f, 0, sizeof *f);
  f->store.stored = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  f->secrets = (struct sc_plugin_secrets){store_read, store_store, &f->store};
  snprintf(f->refresh_token, sizeof f->refresh_token, "rt-test-%d", ++serial);
  ghl_fake_do(fake, "/_fake/reset", "{\"data\": true}");
  gchar *cfg = g_strdup_printf("{\"refresh_token\": \"%s\", \"rate_max\": 100, \"rate_window_ms\": 10000,"
                               " \"token_lifetime_s\": 86399, \"contacts_enabled\": true,"
                               " \"contact_shape\": \"nested\"}", f->refresh_token);
  ghl_fake_do(fake, "/_fake/config", cfg);
  g_free(cfg);
  g_setenv("GHL_T_CLIENT_ID", "test-client", TRUE);
  g_setenv("GHL_T_CLIENT_SECRET", "test-secret", TRUE);
  g_setenv("GHL_T_REFRESH", f->refresh_token, TRUE);
  gchar *pubref = g_strdup_printf("file:%s", fake->public_key_path);
  const char *refs[] = {"env:GHL_T_CLIENT_ID", "env:GHL_T_CLIENT_SECRET", "env:GHL_T_REFRESH", pubref};
  gchar *settings = g_strdup_printf("{\"location_id\": \"loc-1\", \"calendar_ids\": [\"cal-1\", \"cal-2\"],"
                                    " \"base_url\": \"%s\", \"staff_users\": {\"ana\": \"u-ana\"}%s%s}",
                                    fake->base_url, extra_json ? ", " : "", extra_json ? extra_json : "");
  struct sc_conf_connector *c = pt_connector("ghl", "acme.miami.ghl", settings, oauth_names, refs, n_secrets);
  struct sidecal_settings *s = NULL;
  int rc = sc_plugin_settings_validate(plugin->settings, plugin->n_settings, "conf.d/acme.yaml",
                                       "locations[0].connectors[0]", c, &s, err);
  if (!rc) {
    struct sc_plugin_instance_spec spec = {
      .name = c->instance, .organization = "acme", .location = "miami",
      .secrets = c->secrets, .n_secrets = c->n_secrets, .secret_store = &f->secrets};
    rc = sc_plugin_instance_create(plugin, &spec, s, &f->inst, err);
  }
  pt_connector_free(c);
  g_free(settings);
  g_free(pubref);
  return rc;
}

static void fx_free(struct fx *f) {
  if (f->inst) sc_plugin_instance_destroy(f->inst);
  g_hash_table_unref(f->store.stored);
}

/* ---- calls ------------------------------------------------------------- */

struct rec {
  struct sidecal_sink sink;
  GPtrArray *events;   /* "id|start|end|status|title|marker" */
  GPtrArray *clients;  /* "id=name|email|phone", "id=" without a client */
  GPtrArray *deleted;
  gchar *etag, *raw;
  int64_t last_modified;
};

static int32_t rec_event(const struct sidecal_sink *s, const struct sidecal_event *ev) {
  struct rec *r = (struct rec *)s;
  g_ptr_array_add(r->events, g_strdup_printf("%s|%lld|%lld|%u|%s|%s", ev->external_id,
                                             (long long)ev->start_utc, (long long)ev->end_utc, ev->status,
                                             ev->title ? ev->title : "", ev->marker ? ev->marker : ""));
  const struct sidecal_attendee *a = ev->n_attendees ? &ev->attendees[0] : NULL;
  g_ptr_array_add(r->clients, a ? g_strdup_printf("%s=%s|%s|%s", ev->external_id, a->name ? a->name : "",
                                                  a->email ? a->email : "", a->phone ? a->phone : "")
                                : g_strdup_printf("%s=", ev->external_id));
  g_free(r->etag);
  g_free(r->raw);
  r->etag = g_strdup(ev->etag);
  r->raw = g_strdup(ev->raw_json);
  r->last_modified = ev->last_modified_utc;
  return 0;
}
static int32_t rec_deleted(const struct sidecal_sink *s, const char *id) {
  g_ptr_array_add(((struct rec *)s)->deleted, g_strdup(id));
  return 0;
}
static void rec_cursor(const struct sidecal_sink *s, const char *c) { (void)s, (void)c; }

static void rec_init(struct rec *r) {
  memset(r, 0, sizeof *r);
  r->sink = (struct sidecal_sink){.struct_size = sizeof r->sink, .event = rec_event,
                                  .deleted = rec_deleted, .cursor = rec_cursor};
  r->events = g_ptr_array_new_with_free_func(g_free);
  r->clients = g_ptr_array_new_with_free_func(g_free);
  r->deleted = g_ptr_array_new_with_free_func(g_free);
}
static void rec_clear(struct rec *r) {
  g_ptr_array_unref(r->events);
  g_ptr_array_unref(r->clients);
  g_ptr_array_unref(r->deleted);
  g_free(r->etag);
  g_free(r->raw);
}

static int32_t list(struct fx *f, int64_t from, int64_t to, struct rec *r, struct sidecal_result *res) {
  struct sc_plugin_call call;
  sc_plugin_call_init(f->inst, &call, "t-list", 0);
  struct sidecal_window w = {from, to};
  int32_t rc = plugin->desc.list_events(f->inst->state, &call.ctx, &w, NULL, &r->sink, &call.res);
  *res = call.res;
  return rc;
}

static int32_t refresh(struct fx *f, struct sidecal_result *res) {
  struct sc_plugin_call call;
  sc_plugin_call_init(f->inst, &call, "t-refresh", 0);
  int32_t rc = plugin->desc.refresh_credentials(f->inst->state, &call.ctx, &call.res);
  *res = call.res;
  return rc;
}

static int32_t create(struct fx *f, const struct sidecal_event *ev, struct sidecal_write_result *out,
                      struct sidecal_result *res) {
  struct sc_plugin_call call;
  sc_plugin_call_init(f->inst, &call, "t-create", 0);
  *out = (struct sidecal_write_result){.struct_size = sizeof *out};
  int32_t rc = plugin->desc.create_event(f->inst->state, &call.ctx, ev, out, &call.res);
  *res = call.res;
  return rc;
}

static int32_t update(struct fx *f, const char *id, const struct sidecal_event *ev,
                      struct sidecal_write_result *out, struct sidecal_result *res) {
  struct sc_plugin_call call;
  sc_plugin_call_init(f->inst, &call, "t-update", 0);
  *out = (struct sidecal_write_result){.struct_size = sizeof *out};
  int32_t rc = plugin->desc.update_event(f->inst->state, &call.ctx, id, NULL, ev, out, &call.res);
  *res = call.res;
  return rc;
}

static int32_t delete(struct fx *f, const char *id, struct sidecal_result *res) {
  struct sc_plugin_call call;
  sc_plugin_call_init(f->inst, &call, "t-delete", 0);
  int32_t rc = plugin->desc.delete_event(f->inst->state, &call.ctx, id, NULL, &call.res);
  *res = call.res;
  return rc;
}

/* An instance with a fresh access token. */
static void fx_ready(struct fx *f, const char *extra_json) {
  struct sc_error err;
  g_assert_cmpint(fx_make(f, extra_json, 4, &err), ==, SC_OK);
  struct sidecal_result res;
  g_assert_cmpint(refresh(f, &res), ==, SIDECAL_OK);
  ghl_fake_do(fake, "/_fake/reset", "{}"); /* the request log starts here */
}

static json_object *fake_state(const char *what) {
  json_object *st = ghl_fake_control(fake, "GET", "/_fake/state", NULL), *v;
  g_assert_true(json_object_object_get_ex(st, what, &v));
  json_object_get(v);
  json_object_put(st);
  return v;
}

static const char *sfield(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static const char *fake_refresh_token(void) {
  static char buf[128];
  json_object *st = ghl_fake_control(fake, "GET", "/_fake/state", NULL);
  snprintf(buf, sizeof buf, "%s", sfield(st, "refresh_token"));
  json_object_put(st);
  return buf;
}

/* A client appointment as the outbox would hand it over. */
static struct sidecal_attendee ana = {"Ana Diaz", "ana@example.com", "+15550100"};
static struct sidecal_event appt(int64_t start, const char *title, uint32_t status, const char *marker) {
  return (struct sidecal_event){
    .struct_size = sizeof(struct sidecal_event), .status = status, .start_utc = start,
    .end_utc = start + 3600, .timezone = "America/New_York", .n_attendees = 1, .attendees = &ana,
    .title = title, .description = "first visit", .location = "Room 2", .marker = marker};
}

/* ---- settings ---------------------------------------------------------- */

static void assert_create_fails(const char *extra, size_t n_secrets, const char *msg) {
  struct fx f;
  struct sc_error err;
  g_assert_cmpint(fx_make(&f, extra, n_secrets, &err), ==, SC_EIO);
  gchar *want = g_strdup_printf("acme.miami.ghl: create failed: %s", msg);
  g_assert_cmpstr(err.message, ==, want);
  g_assert_null(f.inst);
  g_free(want);
  fx_free(&f);
}

static void test_settings_errors(void) {
  /* Keys given later in the JSON win over the defaults spliced first. */
  assert_create_fails("\"location_id\": \"\"", 4, "location_id must not be empty");
  assert_create_fails("\"calendar_ids\": []", 4, "calendar_ids must name at least one GHL calendar id");
  assert_create_fails("\"calendar_ids\": [\"cal-1\", \"\"]", 4, "calendar_ids must not contain an empty id");
  assert_create_fails("\"base_url\": \"ftp://x\"", 4,
                      "base_url must start with https:// (or http:// for a test server)");
  assert_create_fails("\"base_url\": \"https://x/\"", 4, "base_url must not end with a slash");
  assert_create_fails("\"rate_limit_requests\": 0", 4, "rate_limit_requests must be between 1 and 100000");
  assert_create_fails("\"rate_limit_window_ms\": -5", 4, "rate_limit_window_ms must be between 1 and 86400000");
  assert_create_fails(NULL, 2, "OAuth needs client_id, client_secret and refresh_token together; "
                               "missing: refresh_token");
  assert_create_fails(NULL, 0, "no credentials: configure client_id, client_secret and refresh_token "
                               "(OAuth) or access_token (Private Integration Token)");
  /* A settings type error is the host's, with file:line:col. */
  struct fx f;
  struct sc_error err;
  g_assert_cmpint(fx_make(&f, "\"rate_limit_requests\": \"many\"", 4, &err), ==, SC_EINVAL);
  g_assert_nonnull(strstr(err.message, "settings.rate_limit_requests: "));
  fx_free(&f);
  /* And nothing was asked of the fake by any of them. */
  g_assert_cmpint(ghl_fake_count(fake, ""), ==, 0);
}

/* ---- OAuth ------------------------------------------------------------- */

static void test_refresh_rotation(void) {
  struct fx f;
  struct sc_error err;
  g_assert_cmpint(fx_make(&f, NULL, 4, &err), ==, SC_OK);
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  /* No token yet: the host is asked to refresh, nothing is sent. */
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpstr(res.message, ==, "no GHL access token yet; refresh needed");
  g_assert_cmpint(ghl_fake_count(fake, ""), ==, 0);
  g_assert_cmpint(refresh(&f, &res), ==, SIDECAL_OK);
  const char *rotated = g_hash_table_lookup(f.store.stored, "refresh_token");
  g_assert_nonnull(rotated);
  g_assert_cmpstr(rotated, !=, f.refresh_token);
  g_assert_cmpstr(rotated, ==, fake_refresh_token());
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  /* The next refresh spends the rotated token, not the configured one. */
  g_assert_cmpint(refresh(&f, &res), ==, SIDECAL_OK);
  g_assert_cmpstr(g_hash_table_lookup(f.store.stored, "refresh_token"), ==, fake_refresh_token());
  g_assert_cmpuint(sc_plugin_instance_counter(f.inst, "ghl_token_refreshes"), ==, 2);
  rec_clear(&r);
  fx_free(&f);
}

static void test_unauthorized_refresh_success(void) {
  struct fx f;
  fx_ready(&f, NULL);
  ghl_fake_do(fake, "/_fake/expire", "{}");
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpstr(res.message, ==, "GHL GET /calendars/events answered 401: Invalid JWT: token expired");
  g_assert_cmpint(refresh(&f, &res), ==, SIDECAL_OK);
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpint(ghl_fake_count(fake, "GET /calendars/events"), ==, 3); /* 401 + two calendars */
  rec_clear(&r);
  fx_free(&f);
}

static void test_refresh_refused(void) {
  struct fx f;
  struct sc_error err;
  g_assert_cmpint(fx_make(&f, NULL, 4, &err), ==, SC_OK);
  ghl_fake_do(fake, "/_fake/config", "{\"refresh_token\": \"spent-elsewhere\"}");
  struct sidecal_result res;
  g_assert_cmpint(refresh(&f, &res), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpstr(res.message, ==, "GHL refused the token refresh (400: refresh token is invalid or was "
                                   "already used); re-authorize the location in GHL");
  g_assert_cmpuint(g_hash_table_size(f.store.stored), ==, 0);
  fx_free(&f);
  /* A PIT-only instance cannot refresh at all. */
  g_setenv("GHL_T_PIT", "pit-token", TRUE);
  const char *names[] = {"access_token"}, *refs[] = {"env:GHL_T_PIT"};
  gchar *settings = g_strdup_printf("{\"location_id\": \"loc-1\", \"calendar_ids\": [\"cal-1\"], \"base_url\": \"%s\"}",
                                    fake->base_url);
  struct sc_conf_connector *c = pt_connector("ghl", "acme.miami.ghl", settings, names, refs, 1);
  struct sidecal_settings *s = NULL;
  g_assert_cmpint(sc_plugin_settings_validate(plugin->settings, plugin->n_settings, "f", "p", c, &s, &err), ==, 0);
  struct store st = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free), 0};
  struct sc_plugin_secrets sec = {store_read, store_store, &st};
  struct sc_plugin_instance_spec spec = {.name = "acme.miami.ghl", .organization = "acme", .location = "miami",
                                         .secrets = c->secrets, .n_secrets = 1, .secret_store = &sec};
  struct sc_plugin_instance *inst = NULL;
  g_assert_cmpint(sc_plugin_instance_create(plugin, &spec, s, &inst, &err), ==, SC_OK);
  struct fx pit = {.inst = inst};
  g_assert_cmpint(refresh(&pit, &res), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpstr(res.message, ==, "GHL rejected the access token and no OAuth refresh is configured "
                                   "(client_id, client_secret, refresh_token)");
  /* The fake does not know "pit-token": a 401, reported as such. */
  struct rec r;
  rec_init(&r);
  g_assert_cmpint(list(&pit, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_UNAUTHORIZED);
  rec_clear(&r);
  sc_plugin_instance_destroy(inst);
  pt_connector_free(c);
  g_free(settings);
  g_hash_table_unref(st.stored);
}

static void test_refresh_store_fails(void) {
  struct fx f;
  struct sc_error err;
  g_assert_cmpint(fx_make(&f, NULL, 4, &err), ==, SC_OK);
  f.store.fail = 1;
  struct sidecal_result res;
  g_assert_cmpint(refresh(&f, &res), ==, SIDECAL_RETRY);
  g_assert_cmpstr(res.message, ==, "the rotated GHL refresh token could not be stored; will retry");
  /* Not stored, so not used. */
  struct rec r;
  rec_init(&r);
  g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_UNAUTHORIZED);
  /* Next time the unstored rotated token is the one spent. */
  f.store.fail = 0;
  g_assert_cmpint(refresh(&f, &res), ==, SIDECAL_OK);
  g_assert_cmpstr(g_hash_table_lookup(f.store.stored, "refresh_token"), ==, fake_refresh_token());
  g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_OK);
  rec_clear(&r);
  fx_free(&f);
}

static void test_refresh_before_expiry(void) {
  struct fx f;
  struct sc_error err;
  g_assert_cmpint(fx_make(&f, NULL, 4, &err), ==, SC_OK);
  ghl_fake_do(fake, "/_fake/config", "{\"token_lifetime_s\": 1}");
  struct sidecal_result res;
  g_assert_cmpint(refresh(&f, &res), ==, SIDECAL_OK);
  ghl_fake_do(fake, "/_fake/reset", "{}");
  g_usleep(1000 * 1000);
  struct rec r;
  rec_init(&r);
  g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpstr(res.message, ==, "the GHL access token is about to expire; refresh needed");
  g_assert_cmpint(ghl_fake_count(fake, ""), ==, 0);
  rec_clear(&r);
  fx_free(&f);
}

/* ---- reading ------------------------------------------------------------ */

static void seed(const char *json) {
  gchar *body = g_strdup_printf("{\"appointments\": %s}", json);
  ghl_fake_do(fake, "/_fake/seed", body);
  g_free(body);
}

static void test_list_window(void) {
  struct fx f;
  fx_ready(&f, NULL);
  seed("[{\"id\":\"a1\",\"locationId\":\"loc-1\",\"calendarId\":\"cal-1\",\"contactId\":\"k1\","
       "\"startTime\":\"2026-12-01T10:00:00+01:00\",\"endTime\":\"2026-12-01T11:00:00+01:00\","
       "\"title\":\"Cut\",\"appointmentStatus\":\"confirmed\",\"dateUpdated\":\"2026-11-20T08:00:00.000Z\"},"
       "{\"id\":\"a2\",\"locationId\":\"loc-1\",\"calendarId\":\"cal-2\",\"contactId\":\"k2\","
       "\"startTime\":\"2026-12-01T15:00:00Z\",\"endTime\":\"2026-12-01T15:30:00Z\",\"appointmentStatus\":\"new\"},"
       "{\"id\":\"a3\",\"locationId\":\"loc-1\",\"calendarId\":\"cal-1\",\"contactId\":\"k1\","
       "\"startTime\":\"2026-12-03T10:00:00Z\",\"endTime\":\"2026-12-03T11:00:00Z\"},"
       "{\"id\":\"a4\",\"locationId\":\"loc-1\",\"calendarId\":\"cal-9\",\"contactId\":\"k1\","
       "\"startTime\":\"2026-12-01T10:00:00Z\",\"endTime\":\"2026-12-01T11:00:00Z\"}]");
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(r.events->len, ==, 2);
  g_assert_cmpstr(g_ptr_array_index(r.events, 0), ==, "a1|1796115600|1796119200|1|Cut|");
  g_assert_cmpstr(g_ptr_array_index(r.events, 1), ==, "a2|1796137200|1796139000|2||");
  g_assert_cmpint(ghl_fake_count(fake, "GET /calendars/events"), ==, 2);
  /* etag, last-modified and the raw payload of the last one (a2). */
  g_assert_nonnull(r.etag);
  g_assert_nonnull(strstr(r.raw, "\"id\":\"a2\""));
  g_assert_cmpint(r.last_modified, >, DEC1 - 86400 * 30);
  /* GHL has no cursor: a cursor is answered with "list the window". */
  struct sc_plugin_call call;
  sc_plugin_call_init(f.inst, &call, "t", 0);
  struct sidecal_window w = {DEC1, DEC1 + 86400};
  g_assert_cmpint(plugin->desc.list_events(f.inst->state, &call.ctx, &w, "c1", &r.sink, &call.res), ==,
                  SIDECAL_CURSOR_EXPIRED);
  g_assert_cmpstr(call.res.message, ==, "GHL has no change cursor; list the whole window");
  rec_clear(&r);
  fx_free(&f);
}

/* ---- clients of listed appointments --------------------------------------- */

/* N appointments over two calendars naming K distinct contacts (one of them
** unknown to GHL, one appointment naming none): the listing asks GHL for
** each contact exactly once and reports every appointment's client. */
static void test_list_contacts_once(void) {
  struct fx f;
  fx_ready(&f, NULL);
  ghl_fake_do(fake, "/_fake/seed", "{\"contacts\": ["
              "{\"id\":\"k1\",\"locationId\":\"loc-1\",\"name\":\"Kim One\",\"email\":\"kim@example.com\","
              "\"phone\":\"+15550101\"},"
              "{\"id\":\"k2\",\"locationId\":\"loc-1\",\"firstName\":\"Lee\",\"lastName\":\"Two\","
              "\"email\":\"lee@example.com\"}]}");
  GString *apps = g_string_new("[");
  const char *who[][2] = {{"n1", "k1"}, {"n2", "k2"}, {"n3", "k1"}, {"n4", "k-gone"}, {"n5", "k-gone"},
                          {"n6", "k1"}, {"n7", NULL}};
  for (size_t i = 0; i < G_N_ELEMENTS(who); i++)
    g_string_append_printf(apps, "%s{\"id\":\"%s\",\"locationId\":\"loc-1\",\"calendarId\":\"cal-%d\","
                           "%s%s%s\"startTime\":\"2026-12-01T%02zu:00:00Z\",\"endTime\":\"2026-12-01T%02zu:30:00Z\"}",
                           i ? "," : "", who[i][0], (int)(i % 2) + 1, who[i][1] ? "\"contactId\":\"" : "",
                           who[i][1] ? who[i][1] : "", who[i][1] ? "\"," : "", 8 + i, 8 + i);
  g_string_append(apps, "]");
  seed(apps->str);
  g_string_free(apps, TRUE);
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(r.events->len, ==, 7);
  g_assert_cmpint(ghl_fake_count(fake, "GET /contacts/"), ==, 3);
  g_assert_cmpint(ghl_fake_count(fake, "GET /contacts/k1"), ==, 1);
  g_assert_cmpint(ghl_fake_count(fake, "GET /contacts/k-gone"), ==, 1);
  g_assert_cmpuint(sc_plugin_instance_counter(f.inst, "ghl_contacts_fetched"), ==, 3);
  /* Calendar 1 is listed first: n1 n3 n5 n7, then n2 n4 n6. */
  const char *want[] = {"n1=Kim One|kim@example.com|+15550101", "n3=Kim One|kim@example.com|+15550101",
                        "n5=", "n7=", "n2=Lee Two|lee@example.com|", "n4=",
                        "n6=Kim One|kim@example.com|+15550101"};
  for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
    g_assert_cmpstr(g_ptr_array_index(r.clients, i), ==, want[i]);
  /* The cache lives for one listing: the next one asks again. */
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpint(ghl_fake_count(fake, "GET /contacts/"), ==, 6);
  rec_clear(&r);
  fx_free(&f);
}

/* Contact k1 (Kim) and appointment f1 of hers on December 1st. */
static void seed_kim_and_f1(void) {
  ghl_fake_do(fake, "/_fake/seed", "{\"contacts\": [{\"id\":\"k1\",\"locationId\":\"loc-1\",\"name\":\"Kim\","
                                   "\"email\":\"kim@example.com\"}]}");
  seed("[{\"id\":\"f1\",\"locationId\":\"loc-1\",\"calendarId\":\"cal-1\",\"contactId\":\"k1\","
       "\"startTime\":\"2026-12-01T10:00:00Z\",\"endTime\":\"2026-12-01T11:00:00Z\"}]");
}

/* A contact GHL cannot give now fails the whole listing with its retry
** semantics: a full listing that answered OK without every appointment
** (or without its client) would make the host sweep or mis-import. */
static void test_list_contact_failure(void) {
  struct fx f;
  fx_ready(&f, NULL);
  seed_kim_and_f1();
  ghl_fake_do(fake, "/_fake/faults", "[{\"match\":\"GET /contacts/k1\",\"status\":503},"
                                     " {\"match\":\"GET /contacts/k1\",\"status\":429,\"retry_after\":\"1\"}]");
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_RETRY);
  g_assert_cmpstr(res.message, ==, "GHL GET /contacts/k1 answered 503: Internal server error");
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_RETRY);
  g_assert_cmpuint(res.retry_after_ms, ==, 1000);
  g_assert_cmpuint(r.events->len, ==, 0);
  /* Once GHL answers, the same listing is whole. */
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(r.events->len, ==, 1);
  g_assert_cmpstr(g_ptr_array_index(r.clients, 0), ==, "f1=Kim|kim@example.com|");
  rec_clear(&r);
  fx_free(&f);
}

/* A 403 on a contact (the app lacks the contacts scope) fails the listing
** with what the agency must change, and is not retried as if temporary. */
static void test_list_contact_forbidden(void) {
  struct fx f;
  fx_ready(&f, NULL);
  seed_kim_and_f1();
  ghl_fake_do(fake, "/_fake/faults", "[{\"match\":\"GET /contacts/k1\",\"status\":403,"
                                     "\"message\":\"The token is not authorized for this scope.\"}]");
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "GHL GET /contacts/k1 answered 403: The token is not authorized for this"
                                   " scope. (the GHL app needs the contacts.readonly scope to read a polled"
                                   " appointment's client)");
  g_assert_cmpuint(r.events->len, ==, 0);
  rec_clear(&r);
  fx_free(&f);
}

/* Contact reads share the location's budget: a listing that needs more
** requests than one window allows waits for slots instead of failing, and
** GHL never sees more than the budget in any window. */
static void test_list_contacts_in_budget(void) {
  struct fx f;
  fx_ready(&f, "\"calendar_ids\": [\"cal-1\"], \"rate_limit_requests\": 3, \"rate_limit_window_ms\": 1000");
  ghl_fake_do(fake, "/_fake/config", "{\"rate_max\": 3, \"rate_window_ms\": 1000}");
  GString *contacts = g_string_new("{\"contacts\": ["), *apps = g_string_new("[");
  for (int i = 0; i < 7; i++) {
    g_string_append_printf(contacts, "%s{\"id\":\"c%d\",\"locationId\":\"loc-1\",\"email\":\"c%d@example.com\"}",
                           i ? "," : "", i, i);
    g_string_append_printf(apps, "%s{\"id\":\"b%d\",\"locationId\":\"loc-1\",\"calendarId\":\"cal-1\","
                           "\"contactId\":\"c%d\",\"startTime\":\"2026-12-01T%02d:00:00Z\","
                           "\"endTime\":\"2026-12-01T%02d:30:00Z\"}", i ? "," : "", i, i, 8 + i, 8 + i);
  }
  g_string_append(contacts, "]}");
  g_string_append(apps, "]");
  ghl_fake_do(fake, "/_fake/seed", contacts->str);
  seed(apps->str);
  g_string_free(contacts, TRUE);
  g_string_free(apps, TRUE);
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  gint64 t0 = g_get_monotonic_time();
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpint(g_get_monotonic_time() - t0, >=, 2 * G_USEC_PER_SEC);  /* 8 requests at 3 per second */
  g_assert_cmpuint(r.events->len, ==, 7);
  g_assert_cmpstr(g_ptr_array_index(r.clients, 6), ==, "b6=|c6@example.com|");
  int total = 0;
  g_assert_cmpint(ghl_fake_max_in_window(fake, 1000, &total), <=, 3);
  g_assert_cmpint(total, ==, 8);
  g_assert_cmpint(ghl_fake_count(fake, "GET /contacts/"), ==, 7);
  rec_clear(&r);
  fx_free(&f);
}

/* ---- the status table ---------------------------------------------------- */

static void test_status_rows(void) {
  static const struct {
    const char *ghl, *ours;
    uint32_t event;
  } in[] = {
    {"new", "SCHEDULED", SIDECAL_EVENT_TENTATIVE},    {"confirmed", "CONFIRMED", SIDECAL_EVENT_CONFIRMED},
    {"cancelled", "CANCELLED", SIDECAL_EVENT_CANCELLED}, {"showed", "COMPLETED", SIDECAL_EVENT_CONFIRMED},
    {"noshow", "NO_SHOW", SIDECAL_EVENT_CONFIRMED},    {"invalid", "CANCELLED", SIDECAL_EVENT_CANCELLED},
  };
  static const struct {
    const char *ours, *ghl;
  } out[] = {
    {"SCHEDULED", "new"},       {"CONFIRMED", "confirmed"}, {"RESCHEDULED", "confirmed"},
    {"CANCELLED", "cancelled"}, {"NO_SHOW", "noshow"},      {"COMPLETED", "showed"},
    {"IN_PROGRESS", "showed"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(in); i++) {
    g_assert_cmpstr(ghl_status_to_ours(in[i].ghl), ==, in[i].ours);
    g_assert_cmpuint(ghl_status_to_event(in[i].ghl), ==, in[i].event);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(out); i++)
    g_assert_cmpstr(ghl_status_from_ours(out[i].ours), ==, out[i].ghl);
  g_assert_null(ghl_status_to_ours("booked"));
  g_assert_null(ghl_status_from_ours("LATE"));
  g_assert_cmpuint(ghl_status_to_event("booked"), ==, SIDECAL_EVENT_CONFIRMED);

  /* Inbound through the plugin: each GHL status as listed. */
  struct fx f;
  fx_ready(&f, NULL);
  GString *js = g_string_new("[");
  for (size_t i = 0; i < G_N_ELEMENTS(in); i++)
    g_string_append_printf(js, "%s{\"id\":\"s%zu\",\"locationId\":\"loc-1\",\"calendarId\":\"cal-1\","
                           "\"contactId\":\"k\",\"startTime\":\"2026-12-01T%02zu:00:00Z\","
                           "\"endTime\":\"2026-12-01T%02zu:30:00Z\",\"appointmentStatus\":\"%s\"}",
                           i ? "," : "", i, i + 8, i + 8, in[i].ghl);
  g_string_append(js, "]");
  seed(js->str);
  g_string_free(js, TRUE);
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(r.events->len, ==, G_N_ELEMENTS(in));
  for (size_t i = 0; i < G_N_ELEMENTS(in); i++) {
    gchar *want = g_strdup_printf("s%zu|%lld|%lld|%u||", i, DEC1 + (long long)(i + 8) * 3600,
                                  DEC1 + (long long)(i + 8) * 3600 + 1800, in[i].event);
    g_assert_cmpstr(g_ptr_array_index(r.events, i), ==, want);
    g_free(want);
  }
  /* Outbound: each event status as written. */
  static const struct {
    uint32_t event;
    const char *ghl;
  } w[] = {{SIDECAL_EVENT_CONFIRMED, "confirmed"}, {SIDECAL_EVENT_TENTATIVE, "new"},
           {SIDECAL_EVENT_CANCELLED, "cancelled"}};
  for (size_t i = 0; i < G_N_ELEMENTS(w); i++) {
    struct sidecal_event ev = appt(DEC1 + 86400 * (int64_t)(i + 2), "x", w[i].event, NULL);
    struct sidecal_write_result o;
    g_assert_cmpint(create(&f, &ev, &o, &res), ==, SIDECAL_OK);
    gchar *path = g_strdup_printf("/calendars/events/appointments/%s", o.external_id);
    char *token = ghl_fake_token(fake);
    gchar *auth = g_strdup_printf("Bearer %s", token);
    const char *h[] = {"Authorization", auth, "Version", "2021-04-15", NULL};
    struct sc_http_response hr;
    g_assert_cmpint(ghl_fake_raw(fake, "GET", path, h, NULL, &hr), ==, 200);
    gchar *want = g_strdup_printf("\"appointmentStatus\":\"%s\"", w[i].ghl);
    g_assert_nonnull(strstr(hr.body, want));
    g_free(want);
    sc_http_response_free(&hr);
    g_free(auth);
    g_free(token);
    g_free(path);
  }
  rec_clear(&r);
  fx_free(&f);
}

/* ---- writing ------------------------------------------------------------- */

static json_object *only_appointment(void) {
  json_object *apps = fake_state("appointments");
  g_assert_cmpuint(json_object_array_length(apps), ==, 1);
  json_object *a = json_object_get(json_object_array_get_idx(apps, 0));
  json_object_put(apps);
  return a;
}

static void test_create_with_contact(void) {
  struct fx f;
  fx_ready(&f, NULL);
  struct sidecal_event ev = appt(DEC1 + 36000, "Consultation", SIDECAL_EVENT_CONFIRMED, "sidecal:a-1");
  struct sidecal_write_result out;
  struct sidecal_result res;
  g_assert_cmpint(create(&f, &ev, &out, &res), ==, SIDECAL_OK);
  json_object *contacts = fake_state("contacts");
  g_assert_cmpuint(json_object_array_length(contacts), ==, 1);
  json_object *c = json_object_array_get_idx(contacts, 0);
  g_assert_cmpstr(sfield(c, "email"), ==, "ana@example.com");
  g_assert_cmpstr(sfield(c, "phone"), ==, "+15550100");
  g_assert_cmpstr(sfield(c, "name"), ==, "Ana Diaz");
  g_assert_cmpstr(sfield(c, "locationId"), ==, "loc-1");
  json_object *a = only_appointment();
  g_assert_cmpstr(sfield(a, "id"), ==, out.external_id);
  g_assert_cmpstr(sfield(a, "dateUpdated"), ==, out.etag);
  g_assert_cmpstr(sfield(a, "contactId"), ==, sfield(c, "id"));
  g_assert_cmpstr(sfield(a, "calendarId"), ==, "cal-1");
  g_assert_cmpstr(sfield(a, "locationId"), ==, "loc-1");
  g_assert_cmpstr(sfield(a, "assignedUserId"), ==, "u-ana");
  g_assert_cmpstr(sfield(a, "startTime"), ==, "2026-12-01T05:00:00-05:00");
  g_assert_cmpstr(sfield(a, "endTime"), ==, "2026-12-01T06:00:00-05:00");
  g_assert_cmpstr(sfield(a, "title"), ==, "Consultation");
  g_assert_cmpstr(sfield(a, "address"), ==, "Room 2");
  g_assert_cmpstr(sfield(a, "appointmentStatus"), ==, "confirmed");
  json_object_put(a);
  json_object_put(contacts);
  /* The upsert used the contacts Version; the marker comes back on list. */
  g_assert_cmpint(ghl_fake_count(fake, "POST /contacts/upsert"), ==, 1);
  struct rec r;
  rec_init(&r);
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  gchar *want = g_strdup_printf("%s|%lld|%lld|1|Consultation|sidecal:a-1", out.external_id, DEC1 + 36000,
                                DEC1 + 39600);
  g_assert_cmpstr(g_ptr_array_index(r.events, 0), ==, want);
  g_free(want);
  /* Another appointment for the same client reuses the contact. */
  struct sidecal_event ev2 = appt(DEC1 + 86400, "Follow-up", SIDECAL_EVENT_CONFIRMED, "sidecal:a-2");
  g_assert_cmpint(create(&f, &ev2, &out, &res), ==, SIDECAL_OK);
  contacts = fake_state("contacts");
  g_assert_cmpuint(json_object_array_length(contacts), ==, 1);
  json_object_put(contacts);
  rec_clear(&r);
  fx_free(&f);
}

static void test_contact_variants(void) {
  struct fx f;
  fx_ready(&f, NULL);
  struct sidecal_write_result out;
  struct sidecal_result res;
  /* The flat answer shape ({"id": ...}) works too. */
  ghl_fake_do(fake, "/_fake/config", "{\"contact_shape\": \"flat\"}");
  struct sidecal_event ev = appt(DEC1 + 36000, "Flat", SIDECAL_EVENT_CONFIRMED, NULL);
  g_assert_cmpint(create(&f, &ev, &out, &res), ==, SIDECAL_OK);
  json_object *a = only_appointment(), *contacts = fake_state("contacts");
  g_assert_cmpstr(sfield(a, "contactId"), ==, sfield(json_object_array_get_idx(contacts, 0), "id"));
  json_object_put(a);
  json_object_put(contacts);
  /* No email and no phone: refused before anything is sent. */
  ghl_fake_do(fake, "/_fake/reset", "{}");
  struct sidecal_attendee nobody = {"Walk-in", NULL, NULL};
  ev.attendees = &nobody;
  g_assert_cmpint(create(&f, &ev, &out, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "a GHL appointment needs a contact: the client has neither email nor phone");
  g_assert_cmpint(ghl_fake_count(fake, ""), ==, 0);
  /* The upsert endpoint missing (it is third-party-confirmed): a clear error. */
  ghl_fake_do(fake, "/_fake/config", "{\"contacts_enabled\": false}");
  ev.attendees = &ana;
  g_assert_cmpint(create(&f, &ev, &out, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "GHL POST /contacts/upsert answered 404: Cannot POST /contacts/upsert");
  fx_free(&f);
}

static void test_update_delete(void) {
  struct fx f;
  fx_ready(&f, NULL);
  struct sidecal_event ev = appt(DEC1 + 36000, "Cut", SIDECAL_EVENT_CONFIRMED, "sidecal:u-1");
  struct sidecal_write_result out, out2;
  struct sidecal_result res;
  g_assert_cmpint(create(&f, &ev, &out, &res), ==, SIDECAL_OK);
  ev.start_utc += 7200;
  ev.end_utc += 7200;
  ev.title = "Cut and colour";
  ev.timezone = NULL;
  g_assert_cmpint(update(&f, out.external_id, &ev, &out2, &res), ==, SIDECAL_OK);
  g_assert_cmpstr(out2.external_id, ==, out.external_id);
  g_assert_cmpstr(out2.etag, !=, out.etag);
  json_object *a = only_appointment();
  g_assert_cmpstr(sfield(a, "title"), ==, "Cut and colour");
  g_assert_cmpstr(sfield(a, "startTime"), ==, "2026-12-01T12:00:00+00:00");
  json_object_put(a);
  ev.status = SIDECAL_EVENT_CANCELLED;
  g_assert_cmpint(update(&f, out.external_id, &ev, &out2, &res), ==, SIDECAL_OK);
  a = only_appointment();
  g_assert_cmpstr(sfield(a, "appointmentStatus"), ==, "cancelled");
  json_object_put(a);
  g_assert_cmpint(delete(&f, out.external_id, &res), ==, SIDECAL_OK);
  json_object *apps = fake_state("appointments");
  g_assert_cmpuint(json_object_array_length(apps), ==, 0);
  json_object_put(apps);
  /* Deleting what is gone meets the goal; updating it cannot. */
  g_assert_cmpint(delete(&f, out.external_id, &res), ==, SIDECAL_OK);
  g_assert_cmpint(update(&f, out.external_id, &ev, &out2, &res), ==, SIDECAL_ERROR);
  gchar *want = g_strdup_printf("GHL PUT /calendars/events/appointments/%s answered 404: Event not found",
                                out.external_id);
  g_assert_cmpstr(res.message, ==, want);
  g_free(want);
  fx_free(&f);
}

/* ---- faults ---------------------------------------------------------------- */

static void test_retry_hints(void) {
  struct fx f;
  fx_ready(&f, NULL);
  ghl_fake_do(fake, "/_fake/faults", "[{\"match\":\"GET /calendars/events\",\"status\":429,\"retry_after\":\"1\"}]");
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_RETRY);
  g_assert_cmpuint(res.retry_after_ms, ==, 1000);
  g_assert_cmpstr(res.message, ==, "GHL GET /calendars/events answered 429: Too many requests");
  /* The connector itself keeps off until the hint has passed. */
  gint64 t0 = g_get_monotonic_time();
  g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpint(g_get_monotonic_time() - t0, >=, 900 * 1000);
  fx_free(&f);

  /* Without Retry-After the provider's interval header is the hint. */
  fx_ready(&f, NULL);
  ghl_fake_do(fake, "/_fake/config", "{\"rate_window_ms\": 1500}");
  ghl_fake_do(fake, "/_fake/faults", "[{\"match\":\"GET /calendars/events\",\"status\":429}]");
  g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_RETRY);
  g_assert_cmpuint(res.retry_after_ms, ==, 1500);
  fx_free(&f);

  /* Retry-After as an HTTP date. */
  fx_ready(&f, NULL);
  GDateTime *now = g_date_time_new_now_utc(), *at = g_date_time_add_seconds(now, 3);
  g_date_time_unref(now);
  gchar *date = g_date_time_format(at, "%a, %d %b %Y %H:%M:%S GMT");
  gchar *fault = g_strdup_printf("[{\"match\":\"GET /calendars/events\",\"status\":429,\"retry_after\":\"%s\"}]",
                                 date);
  ghl_fake_do(fake, "/_fake/faults", fault);
  g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_RETRY);
  g_assert_cmpuint(res.retry_after_ms, >, 1000);
  g_assert_cmpuint(res.retry_after_ms, <=, 3000);
  g_free(fault);
  g_free(date);
  g_date_time_unref(at);
  fx_free(&f);

  /* A 5xx is transient; the host's backoff decides. */
  fx_ready(&f, NULL);
  ghl_fake_do(fake, "/_fake/faults", "[{\"match\":\"GET /calendars/events\",\"status\":503}]");
  g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_RETRY);
  g_assert_cmpuint(res.retry_after_ms, ==, 0);
  g_assert_cmpstr(res.message, ==, "GHL GET /calendars/events answered 503: Internal server error");
  g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_OK);
  rec_clear(&r);
  fx_free(&f);
}

static void test_500_after_write_no_duplicate(void) {
  struct fx f;
  fx_ready(&f, NULL);
  ghl_fake_do(fake, "/_fake/faults", "[{\"match\":\"POST /calendars/events/appointments\",\"status\":500,"
                                     "\"after_write\":true}]");
  struct sidecal_event ev = appt(DEC1 + 36000, "Once", SIDECAL_EVENT_CONFIRMED, "sidecal:once");
  struct sidecal_write_result out;
  struct sidecal_result res;
  g_assert_cmpint(create(&f, &ev, &out, &res), ==, SIDECAL_RETRY);
  g_assert_cmpstr(res.message, ==, "GHL POST /calendars/events/appointments answered 500: Internal server error");
  /* The host's marker lookup finds the first attempt's appointment... */
  struct rec r;
  rec_init(&r);
  g_assert_cmpint(list(&f, DEC1, DEC1 + 86400, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(r.events->len, ==, 1);
  g_assert_true(g_str_has_suffix(g_ptr_array_index(r.events, 0), "|sidecal:once"));
  /* ...and a plain retried create adopts it by its dedupe key. */
  g_assert_cmpint(create(&f, &ev, &out, &res), ==, SIDECAL_OK);
  json_object *a = only_appointment();
  g_assert_cmpstr(sfield(a, "id"), ==, out.external_id);
  json_object_put(a);
  g_assert_cmpint(ghl_fake_count(fake, "POST /calendars/events/appointments"), ==, 1);
  g_assert_cmpuint(sc_plugin_instance_counter(f.inst, "ghl_creates_adopted"), ==, 1);
  rec_clear(&r);
  fx_free(&f);
}

/* ---- webhooks --------------------------------------------------------------- */

struct delivery {
  gchar *body, *signature;
};

static struct delivery deliver(const char *spec) {
  json_object *w = ghl_fake_control(fake, "POST", "/_fake/webhook", spec);
  struct delivery d = {g_strdup(sfield(w, "body")), g_strdup(sfield(w, "signature"))};
  json_object_put(w);
  return d;
}

static int32_t wh_call(struct fx *f, int which, const char *body, size_t len, const char *sig,
                       struct rec *r, struct sidecal_result *res) {
  struct sidecal_http_header h[2] = {{"content-type", "application/json"}, {"x-wh-signature", sig}};
  struct sidecal_webhook wh = {.struct_size = sizeof wh, .n_headers = sig ? 2 : 1, .headers = h,
                               .body = body, .body_len = len};
  struct sc_plugin_call call;
  sc_plugin_call_init(f->inst, &call, "t-webhook", 0);
  int32_t rc = which ? plugin->desc.webhook_parse(f->inst->state, &call.ctx, &wh, &r->sink, &call.res)
                     : plugin->desc.webhook_verify(f->inst->state, &call.ctx, &wh, &call.res);
  *res = call.res;
  return rc;
}

static void test_webhooks(void) {
  struct fx f;
  fx_ready(&f, NULL);
  seed("[{\"id\":\"w1\",\"locationId\":\"loc-1\",\"calendarId\":\"cal-1\",\"contactId\":\"k1\","
       "\"startTime\":\"2026-12-01T10:00:00Z\",\"endTime\":\"2026-12-01T11:00:00Z\",\"title\":\"Hook\","
       "\"appointmentStatus\":\"noshow\",\"dateUpdated\":\"2026-11-25T10:00:00.000Z\"}]");
  struct delivery up = deliver("{\"type\":\"AppointmentUpdate\",\"appointment_id\":\"w1\"}");
  struct delivery del = deliver("{\"type\":\"AppointmentDelete\",\"appointment_id\":\"w1\",\"with_webhook_id\":false}");
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  size_t len = strlen(up.body);

  /* Routing: the app-wide URL knows no instance; locationId names it. */
  char key[128];
  struct sidecal_http_header h[1] = {{"x-wh-signature", up.signature}};
  struct sidecal_webhook wh = {.struct_size = sizeof wh, .n_headers = 1, .headers = h, .body = up.body,
                               .body_len = len};
  struct sc_plugin_call call;
  sc_plugin_call_init(f.inst, &call, "t-route", 0);
  g_assert_cmpint(plugin->desc.webhook_route(&call.ctx, &wh, key, sizeof key, &call.res), ==, SIDECAL_OK);
  g_assert_cmpstr(key, ==, "loc-1");
  char mine[128];
  g_assert_cmpint(plugin->desc.instance_key(f.inst->state, mine, sizeof mine), ==, 0);
  g_assert_cmpstr(mine, ==, key);
  wh.body = "{\"type\":\"AppointmentUpdate\"}";
  wh.body_len = strlen(wh.body);
  g_assert_cmpint(plugin->desc.webhook_route(&call.ctx, &wh, key, sizeof key, &call.res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(call.res.message, ==, "GHL webhook has no locationId to route by");
  wh.body = "{\"type\":\"ContactCreate\",\"locationId\":\"loc-1\"}";
  wh.body_len = strlen(wh.body);
  g_assert_cmpint(plugin->desc.webhook_route(&call.ctx, &wh, key, sizeof key, &call.res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(call.res.message, ==, "GHL webhook type \"ContactCreate\" is not handled (only "
                  "AppointmentCreate, AppointmentUpdate, AppointmentDelete)");

  /* Signatures over the exact bytes. */
  g_assert_cmpint(wh_call(&f, 0, up.body, len, up.signature, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpint(wh_call(&f, 0, up.body, len, del.signature, &r, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "GHL webhook signature does not match its body");
  g_assert_cmpint(wh_call(&f, 0, up.body, len - 5, up.signature, &r, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "GHL webhook signature does not match its body");
  g_assert_cmpint(wh_call(&f, 0, up.body, len, NULL, &r, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "GHL webhook has no x-wh-signature header");
  g_assert_cmpint(wh_call(&f, 0, up.body, len, "%%%not-base64", &r, &res), ==, SIDECAL_ERROR);

  /* Parsing: an update is the appointment, a delete its id. */
  g_assert_cmpint(wh_call(&f, 1, up.body, len, up.signature, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(r.events->len, ==, 1);
  g_assert_cmpstr(g_ptr_array_index(r.events, 0), ==, "w1|1796119200|1796122800|1|Hook|");
  g_assert_cmpint(wh_call(&f, 1, del.body, strlen(del.body), del.signature, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(r.deleted->len, ==, 1);
  g_assert_cmpstr(g_ptr_array_index(r.deleted, 0), ==, "w1");
  g_assert_cmpint(wh_call(&f, 1, up.body, len - 5, up.signature, &r, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "GHL webhook body is not a complete JSON object");
  struct delivery other = deliver("{\"type\":\"ContactCreate\",\"appointment_id\":\"w1\"}");
  g_assert_cmpint(wh_call(&f, 1, other.body, strlen(other.body), other.signature, &r, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "GHL webhook type \"ContactCreate\" is not handled (only AppointmentCreate, "
                                   "AppointmentUpdate, AppointmentDelete)");
  struct delivery away = deliver("{\"type\":\"AppointmentCreate\",\"appointment_id\":\"w1\",\"locationId\":\"loc-2\"}");
  g_assert_cmpint(wh_call(&f, 1, away.body, strlen(away.body), away.signature, &r, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "GHL webhook is for location \"loc-2\", this instance serves \"loc-1\"");
  g_assert_cmpuint(r.events->len, ==, 1);
  g_assert_cmpuint(r.deleted->len, ==, 1);

  /* Dedupe keys: webhookId when present, else (id, dateUpdated, type). */
  char dk[256];
  json_object *o = json_tokener_parse(up.body);
  gchar *want = g_strdup_printf("ghl:%s", sfield(o, "webhookId"));
  g_assert_cmpint(ghl_webhook_dedupe_key(up.body, len, dk, sizeof dk), ==, 0);
  g_assert_cmpstr(dk, ==, want);
  g_free(want);
  json_object_put(o);
  g_assert_cmpint(ghl_webhook_dedupe_key(del.body, strlen(del.body), dk, sizeof dk), ==, 0);
  g_assert_cmpstr(dk, ==, "ghl:w1|2026-11-25T10:00:00.000Z|AppointmentDelete");
  g_assert_cmpint(ghl_webhook_dedupe_key(up.body, len - 5, dk, sizeof dk), ==, -1);
  g_assert_cmpint(ghl_webhook_dedupe_key("{\"type\":\"X\"}", 12, dk, sizeof dk), ==, -1);

  struct delivery *all[] = {&up, &del, &other, &away};
  for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
    g_free(all[i]->body);
    g_free(all[i]->signature);
  }
  rec_clear(&r);
  fx_free(&f);
}

static void test_webhook_without_key(void) {
  struct fx f;
  struct sc_error err;
  g_assert_cmpint(fx_make(&f, NULL, 3, &err), ==, SC_OK);
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  const char *body = "{\"type\":\"AppointmentCreate\",\"locationId\":\"loc-1\",\"appointment\":{\"id\":\"x\"}}";
  g_assert_cmpint(wh_call(&f, 0, body, strlen(body), "c2ln", &r, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "GHL webhook_public_key is not configured: cannot verify webhooks");
  rec_clear(&r);
  fx_free(&f);
}

/* ---- the rate budget ---------------------------------------------------------- */

struct burst {
  struct fx *f;
  int ok;
};

static gpointer burst_thread(gpointer data) {
  struct burst *b = data;
  for (int i = 0; i < 4; i++) {
    struct rec r;
    rec_init(&r);
    struct sidecal_result res;
    if (list(b->f, DEC1, DEC1 + 60, &r, &res) == SIDECAL_OK) b->ok++;
    rec_clear(&r);
  }
  return NULL;
}

static void test_rate_burst(void) {
  struct fx f;
  /* One calendar, so one request per listing: 16 requests at 4 per second. */
  fx_ready(&f, "\"calendar_ids\": [\"cal-1\"], \"rate_limit_requests\": 4, \"rate_limit_window_ms\": 1000");
  ghl_fake_do(fake, "/_fake/config", "{\"rate_max\": 4, \"rate_window_ms\": 1000}");
  gint64 t0 = g_get_monotonic_time();
  struct burst b[4];
  GThread *th[4];
  for (int i = 0; i < 4; i++) {
    b[i] = (struct burst){&f, 0};
    th[i] = g_thread_new("burst", burst_thread, &b[i]);
  }
  for (int i = 0; i < 4; i++) g_thread_join(th[i]);
  gint64 took = g_get_monotonic_time() - t0;
  for (int i = 0; i < 4; i++) g_assert_cmpint(b[i].ok, ==, 4);
  int total = 0;
  g_assert_cmpint(ghl_fake_max_in_window(fake, 1000, &total), <=, 4);
  g_assert_cmpint(total, ==, 16);
  g_assert_cmpint(took, >=, 3 * G_USEC_PER_SEC);
  g_assert_cmpint(took, <, 15 * G_USEC_PER_SEC);
  fx_free(&f);
}

/* The provider's X-RateLimit-Remaining: 0 holds us back even when our own
** budget (100 per 10 s here) would not. */
static void test_provider_remaining_zero(void) {
  struct fx f;
  fx_ready(&f, "\"calendar_ids\": [\"cal-1\"]");
  ghl_fake_do(fake, "/_fake/config", "{\"rate_max\": 2, \"rate_window_ms\": 1000}");
  struct rec r;
  rec_init(&r);
  struct sidecal_result res;
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < 3; i++) g_assert_cmpint(list(&f, DEC1, DEC1 + 60, &r, &res), ==, SIDECAL_OK);
  g_assert_cmpint(g_get_monotonic_time() - t0, >=, 900 * 1000);
  json_object *log = ghl_fake_control(fake, "GET", "/_fake/requests", NULL), *v;
  g_assert_cmpuint(json_object_array_length(log), ==, 3);
  for (size_t i = 0; i < 3; i++) {
    g_assert_true(json_object_object_get_ex(json_object_array_get_idx(log, i), "status", &v));
    g_assert_cmpint(json_object_get_int(v), ==, 200);
  }
  json_object_put(log);
  rec_clear(&r);
  fx_free(&f);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  fake = ghl_fake_start();
  pt_dirs_init(&dirs);
  pt_stage(&dirs, "plugins/ghl/ghl.so", "ghl", 0644);
  struct sc_error err;
  if (sc_plugin_load(dirs.plugins, "ghl", dirs.cache, &plugin, &err)) g_error("load: %s", err.message);
  g_test_add_func("/ghl/settings_errors", test_settings_errors);
  g_test_add_func("/ghl/refresh_rotation", test_refresh_rotation);
  g_test_add_func("/ghl/unauthorized_refresh_success", test_unauthorized_refresh_success);
  g_test_add_func("/ghl/refresh_refused", test_refresh_refused);
  g_test_add_func("/ghl/refresh_store_fails", test_refresh_store_fails);
  g_test_add_func("/ghl/refresh_before_expiry", test_refresh_before_expiry);
  g_test_add_func("/ghl/list_window", test_list_window);
  g_test_add_func("/ghl/list_contacts_once", test_list_contacts_once);
  g_test_add_func("/ghl/list_contact_failure", test_list_contact_failure);
  g_test_add_func("/ghl/list_contact_forbidden", test_list_contact_forbidden);
  g_test_add_func("/ghl/list_contacts_in_budget", test_list_contacts_in_budget);
  g_test_add_func("/ghl/status_rows", test_status_rows);
  g_test_add_func("/ghl/create_with_contact", test_create_with_contact);
  g_test_add_func("/ghl/contact_variants", test_contact_variants);
  g_test_add_func("/ghl/update_delete", test_update_delete);
  g_test_add_func("/ghl/retry_hints", test_retry_hints);
  g_test_add_func("/ghl/500_after_write_no_duplicate", test_500_after_write_no_duplicate);
  g_test_add_func("/ghl/webhooks", test_webhooks);
  g_test_add_func("/ghl/webhook_without_key", test_webhook_without_key);
  g_test_add_func("/ghl/rate_burst", test_rate_burst);
  g_test_add_func("/ghl/provider_remaining_zero", test_provider_remaining_zero);
  int rc = g_test_run();
  sc_plugin_free(plugin, pt_may_unload());
  pt_dirs_free(&dirs);
  ghl_fake_stop(fake);
  return rc;
}
