/*
** Tests for plugins/caldav against a real Radicale (tests/common/radicale.c):
** the built connector is loaded through the plugin host and called as the
** sync engine would. Events are put on the server the way a phone would
** (plain HTTP PUT of an .ics), and what the connector writes is read back
** from the server. Expected UTC times come from GLib's GTimeZone, not from
** libical, which the connector uses.
*/
#include <glib.h>
#include <string.h>

#include "config.h"
#include "../../plugins/caldav/dav_xml.h" /* compiled into this test for the parser tests */
#include "plugin_host.h"
#include "plugin_settings.h"
#include "plugin_test.h"
#include "radicale.h"

static struct rad_server rad;
static int have_server;
static struct pt_dirs dirs;
static struct sc_plugin *plugin;
static int env_seq;

#define PW_ALICE "alice-secret"
#define PW_BOB "bob-secret"
#define WIN_START 1798761600 /* 2027-01-01T00:00:00Z */
#define WIN_END 1809216000   /* 2027-05-01T00:00:00Z */

#define NY_VTIMEZONE                                                        \
  "BEGIN:VTIMEZONE\nTZID:America/New_York\n"                                \
  "BEGIN:DAYLIGHT\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\n"                  \
  "DTSTART:20070311T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\n"        \
  "TZNAME:EDT\nEND:DAYLIGHT\n"                                              \
  "BEGIN:STANDARD\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\n"                  \
  "DTSTART:20071104T020000\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\n"       \
  "TZNAME:EST\nEND:STANDARD\nEND:VTIMEZONE\n"

/* ---- what the connector reports --------------------------------------- */

struct rec_ev {
  char *id, *etag, *tz, *marker, *title;
  int64_t start, end;
  uint32_t all_day, status;
};

struct rec {
  struct sidecal_sink sink;
  GArray *events;     /* struct rec_ev */
  GPtrArray *deleted; /* char* */
  GArray *busy;       /* int64 pairs */
  char *cursor;
};

static int32_t rec_event(const struct sidecal_sink *s, const struct sidecal_event *ev) {
  struct rec *r = (struct rec *)s;
  struct rec_ev e = {
    .id = g_strdup(ev->external_id), .etag = g_strdup(ev->etag), .tz = g_strdup(ev->timezone),
    .marker = g_strdup(ev->marker), .title = g_strdup(ev->title), .start = ev->start_utc,
    .end = ev->end_utc, .all_day = ev->all_day, .status = ev->status};
  g_array_append_val(r->events, e);
  return 0;
}

static int32_t rec_deleted(const struct sidecal_sink *s, const char *id) {
  g_ptr_array_add(((struct rec *)s)->deleted, g_strdup(id));
  return 0;
}

static void rec_cursor(const struct sidecal_sink *s, const char *cursor) {
  struct rec *r = (struct rec *)s;
  g_free(r->cursor);
  r->cursor = g_strdup(cursor);
}

static int32_t rec_busy(const struct sidecal_sink *s, int64_t start, int64_t end) {
  struct rec *r = (struct rec *)s;
  g_array_append_val(r->busy, start);
  g_array_append_val(r->busy, end);
  return 0;
}

static void rec_ev_clear(gpointer p) {
  struct rec_ev *e = p;
  g_free(e->id);
  g_free(e->etag);
  g_free(e->tz);
  g_free(e->marker);
  g_free(e->title);
}

static void rec_init(struct rec *r) {
  memset(r, 0, sizeof *r);
  r->sink = (struct sidecal_sink){.struct_size = sizeof r->sink, .event = rec_event,
                                  .deleted = rec_deleted, .cursor = rec_cursor,
                                  .busy = rec_busy};
  r->events = g_array_new(FALSE, TRUE, sizeof(struct rec_ev));
  g_array_set_clear_func(r->events, rec_ev_clear);
  r->deleted = g_ptr_array_new_with_free_func(g_free);
  r->busy = g_array_new(FALSE, FALSE, sizeof(int64_t));
}

static void rec_reset(struct rec *r) {
  g_array_set_size(r->events, 0);
  g_ptr_array_set_size(r->deleted, 0);
  g_array_set_size(r->busy, 0);
}

static void rec_clear(struct rec *r) {
  g_array_unref(r->events);
  g_ptr_array_unref(r->deleted);
  g_array_unref(r->busy);
  g_free(r->cursor);
}

static int by_start(gconstpointer a, gconstpointer b) {
  const struct rec_ev *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

static struct rec_ev *ev_at(struct rec *r, guint i) {
  return &g_array_index(r->events, struct rec_ev, i);
}

static struct rec_ev *ev_by_id(struct rec *r, const char *id) {
  for (guint i = 0; i < r->events->len; i++)
    if (!strcmp(ev_at(r, i)->id, id)) return ev_at(r, i);
  return NULL;
}

static int deleted_has(struct rec *r, const char *id) {
  for (guint i = 0; i < r->deleted->len; i++)
    if (!strcmp(g_ptr_array_index(r->deleted, i), id)) return 1;
  return 0;
}

/* ---- time: GLib, independent of the connector's libical ---------------- */

static int64_t at(const char *zone, int y, int mo, int d, int h, int mi) {
  GTimeZone *tz = g_time_zone_new_identifier(zone);
  g_assert_nonnull(tz);
  GDateTime *dt = g_date_time_new(tz, y, mo, d, h, mi, 0);
  int64_t t = g_date_time_to_unix(dt);
  g_date_time_unref(dt);
  g_time_zone_unref(tz);
  return t;
}

/* ---- the connector through the host ----------------------------------- */

static int secret_read(void *ud, const char *instance, const char *key, const char *ref,
                       char **value, struct sc_error *err) {
  (void)ud, (void)instance, (void)key;
  return sc_config_resolve_secret(ref, value, err);
}

static const struct sc_plugin_secrets secrets = {secret_read, NULL, NULL};

/* settings_json without the password, which goes in as env:<fresh name>. */
static struct sc_plugin_instance *instance_try(const char *settings_json, const char *password,
                                               struct sc_error *err) {
  gchar *var = g_strdup_printf("SC_TEST_CALDAV_PW_%d", ++env_seq);
  g_setenv(var, password, TRUE);
  gchar *ref = g_strdup_printf("env:%s", var);
  const char *names[] = {"password"};
  const char *refs[] = {ref};
  struct sc_conf_connector *c =
      pt_connector("caldav", "acme.staff.alice.caldav", settings_json, names, refs, 1);
  struct sidecal_settings *s = NULL;
  int rc = sc_plugin_settings_validate(plugin->settings, plugin->n_settings, "conf.d/acme.yaml",
                                       "staff[0].connectors[0]", c, &s, err);
  struct sc_plugin_instance *inst = NULL;
  if (!rc) {
    struct sc_plugin_instance_spec spec = {
      .name = c->instance, .organization = "acme", .staff = "alice", .secrets = c->secrets,
      .n_secrets = c->n_secrets, .secret_store = &secrets};
    rc = sc_plugin_instance_create(plugin, &spec, s, &inst, err);
  }
  pt_connector_free(c);
  g_free(ref);
  g_free(var);
  return rc ? NULL : inst;
}

static struct sc_plugin_instance *instance_for(const char *user, const char *password,
                                               const char *calendar) {
  gchar *json = g_strdup_printf("{\"calendar_url\": \"%s%s/%s/\", \"username\": \"%s\"}",
                                rad.base_url, user, calendar, user);
  struct sc_error err;
  struct sc_plugin_instance *inst = instance_try(json, password, &err);
  if (!inst) g_error("instance: %s", err.message);
  g_free(json);
  return inst;
}

static int32_t list(struct sc_plugin_instance *inst, const char *cursor, struct rec *r,
                    char *msg) {
  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "test", 0);
  struct sidecal_window w = {WIN_START, WIN_END};
  int32_t rc = plugin->desc.list_events(inst->state, &call.ctx, &w, cursor, &r->sink, &call.res);
  g_assert_cmpint(rc, ==, call.res.code);
  if (msg) strcpy(msg, call.res.message);
  else if (rc) g_error("list_events: %d %s", rc, call.res.message);
  return rc;
}

static int32_t busy(struct sc_plugin_instance *inst, struct rec *r) {
  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "test", 0);
  struct sidecal_window w = {WIN_START, WIN_END};
  return plugin->desc.free_busy(inst->state, &call.ctx, &w, &r->sink, &call.res);
}

static struct sidecal_event appointment(int64_t start, int64_t end, const char *tz,
                                        const char *marker) {
  static const struct sidecal_attendee att = {"Pat Doe", "pat@example.com", NULL};
  return (struct sidecal_event){
    .struct_size = sizeof(struct sidecal_event), .status = SIDECAL_EVENT_CONFIRMED,
    .start_utc = start, .end_utc = end, .timezone = tz, .n_attendees = 1, .attendees = &att,
    .title = "Haircut", .description = "Booked through sidecal", .marker = marker};
}

static int32_t create(struct sc_plugin_instance *inst, const struct sidecal_event *ev,
                      struct sidecal_write_result *out, char *msg) {
  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "test", 0);
  *out = (struct sidecal_write_result){.struct_size = sizeof *out};
  int32_t rc = plugin->desc.create_event(inst->state, &call.ctx, ev, out, &call.res);
  if (msg) strcpy(msg, call.res.message);
  return rc;
}

static int32_t update(struct sc_plugin_instance *inst, const char *id, const char *etag,
                      const struct sidecal_event *ev, struct sidecal_write_result *out,
                      char *msg) {
  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "test", 0);
  *out = (struct sidecal_write_result){.struct_size = sizeof *out};
  int32_t rc = plugin->desc.update_event(inst->state, &call.ctx, id, etag, ev, out, &call.res);
  if (msg) strcpy(msg, call.res.message);
  return rc;
}

static int32_t delete(struct sc_plugin_instance *inst, const char *id, const char *etag) {
  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "test", 0);
  return plugin->desc.delete_event(inst->state, &call.ctx, id, etag, &call.res);
}

/* ---- the server, as a phone would use it ------------------------------ */

static void calendar(const char *user, const char *password, const char *name,
                     const char *displayname) {
  gchar *path = g_strdup_printf("/%s/%s/", user, name);
  g_assert_cmpint(rad_mkcalendar(&rad, user, password, path, displayname), ==, 201);
  g_free(path);
}

static long phone_put(const char *user, const char *password, const char *path,
                      const char *ics) {
  gchar *body = g_strdup_printf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//phone//EN\n%s"
                                "END:VCALENDAR\n", ics);
  struct rad_req r = {.method = "PUT", .path = path, .user = user, .password = password,
                      .content_type = "text/calendar; charset=utf-8", .body = body};
  long status = rad_http(&rad, &r, NULL);
  g_free(body);
  return status;
}

static long phone_delete(const char *path) {
  struct rad_req r = {.method = "DELETE", .path = path, .user = "alice", .password = PW_ALICE};
  return rad_http(&rad, &r, NULL);
}

/* GET as alice; returns the status, body and ETag through the out params. */
static long server_get(const char *path, gchar **body, gchar **etag) {
  struct rad_req r = {.method = "GET", .path = path, .user = "alice", .password = PW_ALICE};
  struct sc_http_response resp;
  long status = rad_http(&rad, &r, &resp);
  *body = g_strdup(resp.body);
  *etag = NULL;
  for (size_t i = 0; i < resp.n_headers; i++)
    if (!strcmp(resp.headers[i].name, "etag")) *etag = g_strdup(resp.headers[i].value);
  sc_http_response_free(&resp);
  return status;
}

#define NEED_SERVER()                                                  \
  do {                                                                 \
    if (!have_server) {                                                \
      g_test_skip("radicale is not installed (scripts/install-deps)"); \
      return;                                                          \
    }                                                                  \
  } while (0)

/* ---- tests ------------------------------------------------------------ */

static void expect_create_error(const char *json, const char *message) {
  struct sc_error err;
  g_assert_null(instance_try(json, "x", &err));
  gchar *want = g_strdup_printf("acme.staff.alice.caldav: create failed: %s", message);
  g_assert_cmpstr(err.message, ==, want);
  g_free(want);
}

static void test_create_checks(void) {
  expect_create_error("{\"base_url\": \"http://calendar.example.com/\", \"username\": \"a\"}",
                      "base_url http://calendar.example.com/: only https:// is allowed, or "
                      "http:// to a loopback address (credentials would cross the network in "
                      "clear text)");
  expect_create_error("{\"calendar_url\": \"http://10.0.0.5/cal/\", \"username\": \"a\"}",
                      "calendar_url http://10.0.0.5/cal/: only https:// is allowed, or "
                      "http:// to a loopback address (credentials would cross the network in "
                      "clear text)");
  expect_create_error("{\"provider\": \"google\", \"username\": \"a\"}",
                      "provider must be \"caldav\" or \"apple\"");
  expect_create_error("{\"username\": \"a\"}", "set base_url (or calendar_url) for a caldav provider");
  expect_create_error("{\"base_url\": \"https://x.example/\", \"username\": \"a\", "
                      "\"max_window_days\": 0}", "max_window_days must be 1..3660");
  /* iCloud needs nothing but the account: the base URL is its default. */
  struct sc_error err;
  struct sc_plugin_instance *inst =
      instance_try("{\"provider\": \"apple\", \"username\": \"a@icloud.com\"}", "x", &err);
  g_assert_nonnull(inst);
  sc_plugin_instance_destroy(inst);
  inst = instance_try("{\"base_url\": \"http://[::1]:5232/\", \"username\": \"a\"}", "x", &err);
  g_assert_nonnull(inst);
  sc_plugin_instance_destroy(inst);
}

static void test_discovery(void) {
  NEED_SERVER();
  calendar("bob", PW_BOB, "work", "Work");
  calendar("bob", PW_BOB, "personal", "Personal");
  g_assert_cmpint(phone_put("bob", PW_BOB, "/bob/work/a.ics",
                            "BEGIN:VEVENT\nUID:a\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270105T100000Z\nDTEND:20270105T110000Z\nEND:VEVENT\n"),
                  ==, 201);
  g_assert_cmpint(phone_put("bob", PW_BOB, "/bob/personal/b.ics",
                            "BEGIN:VEVENT\nUID:b\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270106T100000Z\nDTEND:20270106T110000Z\nEND:VEVENT\n"),
                  ==, 201);
  const char *cases[][2] = {{"\"calendar\": \"Work\", ", "/bob/work/a.ics"},
                            {"\"calendar\": \"personal\", ", "/bob/personal/b.ics"},
                            {"", "/bob/personal/b.ics"}}; /* first by href */
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    gchar *json = g_strdup_printf("{%s\"base_url\": \"%s\", \"username\": \"bob\"}", cases[i][0],
                                  rad.base_url);
    struct sc_error err;
    struct sc_plugin_instance *inst = instance_try(json, PW_BOB, &err);
    g_assert_nonnull(inst);
    struct rec r;
    rec_init(&r);
    list(inst, NULL, &r, NULL);
    g_assert_cmpuint(r.events->len, ==, 1);
    g_assert_cmpstr(ev_at(&r, 0)->id, ==, cases[i][1]);
    rec_clear(&r);
    sc_plugin_instance_destroy(inst);
    g_free(json);
  }
  /* A name no calendar has. */
  gchar *json = g_strdup_printf("{\"calendar\": \"Nope\", \"base_url\": \"%s\", "
                                "\"username\": \"bob\"}", rad.base_url);
  struct sc_error err;
  struct sc_plugin_instance *inst = instance_try(json, PW_BOB, &err);
  struct rec r;
  rec_init(&r);
  char msg[SIDECAL_MESSAGE_MAX];
  g_assert_cmpint(list(inst, NULL, &r, msg), ==, SIDECAL_ERROR);
  g_assert_cmpstr(msg, ==, "no calendar collection for events named \"Nope\" under /bob/");
  g_assert_cmpuint(r.events->len, ==, 0);
  rec_clear(&r);
  sc_plugin_instance_destroy(inst);
  g_free(json);
}

static void test_phone_events(void) {
  NEED_SERVER();
  calendar("alice", PW_ALICE, "phone", "Phone");
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/phone/dentist.ics", NY_VTIMEZONE
                            "BEGIN:VEVENT\nUID:dentist-1\nDTSTAMP:20261201T000000Z\n"
                            "DTSTART;TZID=America/New_York:20270112T093000\n"
                            "DTEND;TZID=America/New_York:20270112T104500\n"
                            "SUMMARY:Dentist\nEND:VEVENT\n"), ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/phone/trip.ics",
                            "BEGIN:VEVENT\nUID:trip\nDTSTAMP:20261201T000000Z\n"
                            "DTSTART;VALUE=DATE:20270115\nDTEND;VALUE=DATE:20270117\n"
                            "SUMMARY:Trip\nEND:VEVENT\n"), ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/phone/free.ics",
                            "BEGIN:VEVENT\nUID:free\nDTSTAMP:20261201T000000Z\n"
                            "DTSTART:20270113T100000Z\nDTEND:20270113T110000Z\n"
                            "TRANSP:TRANSPARENT\nSUMMARY:Reminder\nEND:VEVENT\n"), ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/phone/off.ics",
                            "BEGIN:VEVENT\nUID:off\nDTSTAMP:20261201T000000Z\n"
                            "DTSTART:20270114T120000Z\nDTEND:20270114T130000Z\n"
                            "STATUS:CANCELLED\nSUMMARY:Off\nEND:VEVENT\n"), ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/phone/later.ics",
                            "BEGIN:VEVENT\nUID:later\nDTSTAMP:20261201T000000Z\n"
                            "DTSTART:20280114T120000Z\nDTEND:20280114T130000Z\n"
                            "SUMMARY:Later\nEND:VEVENT\n"), ==, 201);
  struct sc_plugin_instance *inst = instance_for("alice", PW_ALICE, "phone");
  struct rec r;
  rec_init(&r);
  list(inst, NULL, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 3); /* not the transparent one, nor the one in 2028 */
  g_assert_true(g_str_has_prefix(r.cursor, "cd1:"));

  struct rec_ev *e = ev_by_id(&r, "/alice/phone/dentist.ics");
  g_assert_nonnull(e);
  g_assert_cmpint(e->start, ==, at("America/New_York", 2027, 1, 12, 9, 30));
  g_assert_cmpint(e->end, ==, at("America/New_York", 2027, 1, 12, 10, 45));
  g_assert_cmpstr(e->tz, ==, "America/New_York");
  g_assert_cmpuint(e->status, ==, SIDECAL_EVENT_CONFIRMED);
  g_assert_cmpuint(e->all_day, ==, 0);
  g_assert_null(e->marker);
  gchar *body, *etag;
  g_assert_cmpint(server_get("/alice/phone/dentist.ics", &body, &etag), ==, 200);
  g_assert_cmpstr(e->etag, ==, etag);
  g_free(body);
  g_free(etag);

  e = ev_by_id(&r, "/alice/phone/trip.ics");
  g_assert_nonnull(e);
  g_assert_cmpuint(e->all_day, ==, 1);
  g_assert_cmpint(e->start, ==, at("UTC", 2027, 1, 15, 0, 0));
  g_assert_cmpint(e->end, ==, at("UTC", 2027, 1, 17, 0, 0));

  e = ev_by_id(&r, "/alice/phone/off.ics");
  g_assert_nonnull(e);
  g_assert_cmpuint(e->status, ==, SIDECAL_EVENT_CANCELLED);

  /* Free/busy: neither the cancelled nor the transparent event blocks. */
  g_assert_cmpint(busy(inst, &r), ==, SIDECAL_OK);
  g_assert_cmpuint(r.busy->len, ==, 4);
  int64_t *b = (int64_t *)(void *)r.busy->data;
  int dentist_first = b[0] < b[2];
  g_assert_cmpint(b[dentist_first ? 0 : 2], ==, at("America/New_York", 2027, 1, 12, 9, 30));
  g_assert_cmpint(b[dentist_first ? 3 : 1], ==, at("UTC", 2027, 1, 17, 0, 0));
  rec_clear(&r);
  sc_plugin_instance_destroy(inst);
}

static void test_writes(void) {
  NEED_SERVER();
  calendar("alice", PW_ALICE, "writes", "Writes");
  struct sc_plugin_instance *inst = instance_for("alice", PW_ALICE, "writes");
  const char *marker = "sidecal:11111111-2222-3333-4444-555555555555";
  const char *href = "/alice/writes/sidecal-11111111-2222-3333-4444-555555555555.ics";
  int64_t s = at("Europe/Berlin", 2027, 3, 10, 14, 0);
  struct sidecal_event ev = appointment(s, s + 45 * 60, "Europe/Berlin", marker);
  struct sidecal_write_result out, out2;
  char msg[SIDECAL_MESSAGE_MAX];
  g_assert_cmpint(create(inst, &ev, &out, msg), ==, SIDECAL_OK);
  g_assert_cmpstr(out.external_id, ==, href);
  g_assert_cmpstr(out.etag, !=, "");

  gchar *body, *etag;
  g_assert_cmpint(server_get(href, &body, &etag), ==, 200);
  g_assert_cmpstr(etag, ==, out.etag);
  g_assert_nonnull(strstr(body, "DTSTART;TZID=Europe/Berlin:20270310T140000"));
  g_assert_nonnull(strstr(body, "DTEND;TZID=Europe/Berlin:20270310T144500"));
  g_assert_nonnull(strstr(body, "BEGIN:VTIMEZONE"));
  g_assert_nonnull(strstr(body, "TZID:Europe/Berlin"));
  g_assert_nonnull(strstr(body, "X-SIDECAL-MARKER:sidecal:11111111-2222-3333-4444-555555555555"));
  g_assert_nonnull(strstr(body, "UID:sidecal-11111111-2222-3333-4444-555555555555"));
  g_assert_null(strstr(body, "ATTENDEE"));
  g_free(body);
  g_free(etag);

  /* What we wrote reads back with our marker, so the host knows it is ours. */
  struct rec r;
  rec_init(&r);
  list(inst, NULL, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 1);
  g_assert_cmpstr(ev_at(&r, 0)->id, ==, href);
  g_assert_cmpstr(ev_at(&r, 0)->marker, ==, marker);
  g_assert_cmpstr(ev_at(&r, 0)->etag, ==, out.etag);
  g_assert_cmpstr(ev_at(&r, 0)->tz, ==, "Europe/Berlin");
  g_assert_cmpint(ev_at(&r, 0)->start, ==, s);
  g_assert_cmpint(ev_at(&r, 0)->end, ==, s + 45 * 60);

  /* Reschedule across the DST change of 2027-03-28. */
  int64_t s2 = at("Europe/Berlin", 2027, 3, 29, 9, 0);
  ev = appointment(s2, s2 + 3600, "Europe/Berlin", marker);
  g_assert_cmpint(update(inst, out.external_id, out.etag, &ev, &out2, msg), ==, SIDECAL_OK);
  g_assert_cmpstr(out2.external_id, ==, href);
  g_assert_cmpstr(out2.etag, !=, out.etag);
  g_assert_cmpint(server_get(href, &body, &etag), ==, 200);
  g_assert_nonnull(strstr(body, "DTSTART;TZID=Europe/Berlin:20270329T090000"));
  g_assert_cmpint(s2, ==, at("UTC", 2027, 3, 29, 7, 0));
  g_free(body);
  g_free(etag);

  /* Stale ETags are refused; the current one deletes; a second delete is fine. */
  struct sidecal_write_result scratch;
  g_assert_cmpint(update(inst, href, out.etag, &ev, &scratch, msg), ==, SIDECAL_CONFLICT);
  g_assert_cmpint(delete(inst, href, out.etag), ==, SIDECAL_CONFLICT);
  g_assert_cmpint(server_get(href, &body, &etag), ==, 200);
  g_free(body);
  g_free(etag);
  g_assert_cmpint(delete(inst, href, out2.etag), ==, SIDECAL_OK);
  g_assert_cmpint(server_get(href, &body, &etag), ==, 404);
  g_free(body);
  g_free(etag);
  g_assert_cmpint(delete(inst, href, out2.etag), ==, SIDECAL_OK);

  /* An all-day appointment is written with DATE values. */
  ev = appointment(at("UTC", 2027, 4, 2, 0, 0), at("UTC", 2027, 4, 3, 0, 0), "Europe/Berlin",
                   "sidecal:allday");
  ev.all_day = 1;
  g_assert_cmpint(create(inst, &ev, &out, msg), ==, SIDECAL_OK);
  g_assert_cmpint(server_get(out.external_id, &body, &etag), ==, 200);
  g_assert_nonnull(strstr(body, "DTSTART;VALUE=DATE:20270402"));
  g_assert_nonnull(strstr(body, "DTEND;VALUE=DATE:20270403"));
  g_free(body);
  g_free(etag);
  /* A host without markers (ABI 1.0) updates it: the UID stays. */
  ev.marker = NULL;
  ev.end_utc += 86400;
  g_assert_cmpint(update(inst, out.external_id, out.etag, &ev, &out2, msg), ==, SIDECAL_OK);
  g_assert_cmpint(server_get(out.external_id, &body, &etag), ==, 200);
  g_assert_nonnull(strstr(body, "UID:sidecal-allday\r\n"));
  g_assert_nonnull(strstr(body, "DTEND;VALUE=DATE:20270404"));
  g_assert_null(strstr(body, "X-SIDECAL-MARKER"));
  g_free(body);
  g_free(etag);

  /* Bad input changes nothing on the server. */
  ev = appointment(s, s, "Europe/Berlin", "sidecal:empty");
  g_assert_cmpint(create(inst, &ev, &out, msg), ==, SIDECAL_ERROR);
  g_assert_cmpstr(msg, ==, "the event ends before it starts");
  ev = appointment(s, s + 60, "Mars/Olympus_Mons", "sidecal:mars");
  g_assert_cmpint(create(inst, &ev, &out, msg), ==, SIDECAL_ERROR);
  g_assert_cmpstr(msg, ==, "unknown time zone \"Mars/Olympus_Mons\"");
  rec_reset(&r);
  list(inst, NULL, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 1); /* the all-day one */
  rec_clear(&r);
  sc_plugin_instance_destroy(inst);
}

static void test_server_edit_conflict(void) {
  NEED_SERVER();
  calendar("alice", PW_ALICE, "edits", "Edits");
  struct sc_plugin_instance *inst = instance_for("alice", PW_ALICE, "edits");
  int64_t s = at("America/New_York", 2027, 2, 3, 15, 0);
  struct sidecal_event ev = appointment(s, s + 1800, "America/New_York", "sidecal:edit-1");
  struct sidecal_write_result out, out2;
  char msg[SIDECAL_MESSAGE_MAX];
  g_assert_cmpint(create(inst, &ev, &out, msg), ==, SIDECAL_OK);
  /* The staff member moves it on the phone. */
  g_assert_cmpint(phone_put("alice", PW_ALICE, out.external_id,
                            "BEGIN:VEVENT\nUID:sidecal-edit-1\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270203T210000Z\nDTEND:20270203T213000Z\n"
                            "X-SIDECAL-MARKER:sidecal:edit-1\nSUMMARY:Moved\nEND:VEVENT\n"),
                  ==, 201);
  ev.start_utc += 3600;
  ev.end_utc += 3600;
  g_assert_cmpint(update(inst, out.external_id, out.etag, &ev, &out2, msg), ==, SIDECAL_CONFLICT);
  gchar *want = g_strdup_printf("%s changed on the server since ETag %s (HTTP 412)",
                                out.external_id, out.etag);
  g_assert_cmpstr(msg, ==, want);
  g_free(want);
  gchar *body, *etag;
  g_assert_cmpint(server_get(out.external_id, &body, &etag), ==, 200);
  g_assert_nonnull(strstr(body, "SUMMARY:Moved")); /* ours did not overwrite it */
  g_free(body);
  g_free(etag);
  sc_plugin_instance_destroy(inst);
}

static void test_idempotent_create(void) {
  NEED_SERVER();
  calendar("alice", PW_ALICE, "idem", "Idem");
  struct sc_plugin_instance *inst = instance_for("alice", PW_ALICE, "idem");
  int64_t s = at("Europe/Berlin", 2027, 2, 10, 9, 0);
  struct sidecal_event ev = appointment(s, s + 3600, "Europe/Berlin", "sidecal:idem-1");
  struct sidecal_write_result out, again;
  char msg[SIDECAL_MESSAGE_MAX];
  g_assert_cmpint(create(inst, &ev, &out, msg), ==, SIDECAL_OK);
  /* The first answer was lost; the retry lands on the same resource. */
  ev.title = "Haircut (retried)";
  g_assert_cmpint(create(inst, &ev, &again, msg), ==, SIDECAL_OK);
  g_assert_cmpstr(again.external_id, ==, out.external_id);
  struct rec r;
  rec_init(&r);
  list(inst, NULL, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 1);
  g_assert_cmpstr(ev_at(&r, 0)->title, ==, "Haircut (retried)");
  g_assert_cmpstr(ev_at(&r, 0)->etag, ==, again.etag);

  /* A resource of that name that is not ours is left alone. */
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/idem/sidecal-idem-2.ics",
                            "BEGIN:VEVENT\nUID:someone-else\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270211T100000Z\nDTEND:20270211T110000Z\nEND:VEVENT\n"),
                  ==, 201);
  ev.marker = "sidecal:idem-2";
  g_assert_cmpint(create(inst, &ev, &again, msg), ==, SIDECAL_ERROR);
  g_assert_cmpstr(msg, ==, "/alice/idem/sidecal-idem-2.ics exists and was not written by "
                           "sidecal for this appointment");
  rec_reset(&r);
  list(inst, NULL, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 2);
  g_assert_null(ev_by_id(&r, "/alice/idem/sidecal-idem-2.ics")->marker);
  rec_clear(&r);
  sc_plugin_instance_destroy(inst);
}

/* Tuesdays 10:00-11:00 New York from 2027-02-23, six times, across the
** 2027-03-14 DST change; 03-09 excluded, 03-16 moved to 14:00-15:00. */
#define WEEKLY                                                                    \
  NY_VTIMEZONE                                                                    \
  "BEGIN:VEVENT\nUID:weekly-1\nDTSTAMP:20270101T000000Z\n"                        \
  "DTSTART;TZID=America/New_York:20270223T100000\n"                               \
  "DTEND;TZID=America/New_York:20270223T110000\n"                                 \
  "RRULE:FREQ=WEEKLY;COUNT=6\nEXDATE;TZID=America/New_York:20270309T100000\n"     \
  "SUMMARY:Team\nEND:VEVENT\n"                                                    \
  "BEGIN:VEVENT\nUID:weekly-1\nDTSTAMP:20270101T000000Z\n"                        \
  "RECURRENCE-ID;TZID=America/New_York:20270316T100000\n"                         \
  "DTSTART;TZID=America/New_York:20270316T140000\n"                               \
  "DTEND;TZID=America/New_York:20270316T150000\n"                                 \
  "SUMMARY:Team (moved)\nEND:VEVENT\n"

static void test_recurring_dst(void) {
  NEED_SERVER();
  calendar("alice", PW_ALICE, "recur", "Recur");
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/recur/weekly.ics", WEEKLY), ==, 201);
  struct sc_plugin_instance *inst = instance_for("alice", PW_ALICE, "recur");
  struct rec r;
  rec_init(&r);
  list(inst, NULL, &r, NULL);
  g_array_sort(r.events, by_start);
  const char *z = "America/New_York";
  int64_t want[][2] = {
    {at(z, 2027, 2, 23, 10, 0), at(z, 2027, 2, 23, 11, 0)},
    {at(z, 2027, 3, 2, 10, 0), at(z, 2027, 3, 2, 11, 0)},
    {at(z, 2027, 3, 16, 14, 0), at(z, 2027, 3, 16, 15, 0)},
    {at(z, 2027, 3, 23, 10, 0), at(z, 2027, 3, 23, 11, 0)},
    {at(z, 2027, 3, 30, 10, 0), at(z, 2027, 3, 30, 11, 0)},
  };
  g_assert_cmpuint(r.events->len, ==, G_N_ELEMENTS(want));
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    g_assert_cmpint(ev_at(&r, i)->start, ==, want[i][0]);
    g_assert_cmpint(ev_at(&r, i)->end, ==, want[i][1]);
  }
  /* 10:00 EST is 15:00 UTC, 10:00 EDT 14:00 UTC: the series really crosses DST. */
  g_assert_cmpint(want[1][0] % 86400, ==, 15 * 3600);
  g_assert_cmpint(want[3][0] % 86400, ==, 14 * 3600);
  /* Occurrences are named by their original start; the moved one keeps its name. */
  g_assert_cmpstr(ev_at(&r, 0)->id, ==, "/alice/recur/weekly.ics#20270223T150000Z");
  g_assert_cmpstr(ev_at(&r, 2)->id, ==, "/alice/recur/weekly.ics#20270316T140000Z");
  g_assert_cmpstr(ev_at(&r, 2)->title, ==, "Team (moved)");

  g_assert_cmpint(busy(inst, &r), ==, SIDECAL_OK);
  g_assert_cmpuint(r.busy->len, ==, 2 * G_N_ELEMENTS(want));
  GArray *starts = g_array_new(FALSE, FALSE, sizeof(int64_t));
  for (guint i = 0; i < r.busy->len; i += 2)
    g_array_append_val(starts, g_array_index(r.busy, int64_t, i));
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    int found = 0;
    for (guint j = 0; j < starts->len; j++)
      found |= g_array_index(starts, int64_t, j) == want[i][0] &&
               g_array_index(r.busy, int64_t, 2 * j + 1) == want[i][1];
    g_assert_true(found);
  }
  g_array_unref(starts);
  rec_clear(&r);
  sc_plugin_instance_destroy(inst);
}

static void test_incremental(void) {
  NEED_SERVER();
  calendar("alice", PW_ALICE, "incr", "Incr");
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/incr/a.ics",
                            "BEGIN:VEVENT\nUID:a\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270201T100000Z\nDTEND:20270201T110000Z\nEND:VEVENT\n"),
                  ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/incr/b.ics",
                            "BEGIN:VEVENT\nUID:b\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270202T100000Z\nDTEND:20270202T110000Z\nEND:VEVENT\n"),
                  ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/incr/daily.ics",
                            "BEGIN:VEVENT\nUID:daily\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270301T080000Z\nDTEND:20270301T090000Z\n"
                            "RRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\n"), ==, 201);
  struct sc_plugin_instance *inst = instance_for("alice", PW_ALICE, "incr");
  struct rec r;
  rec_init(&r);
  list(inst, NULL, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 5);
  gchar *c1 = g_strdup(r.cursor);

  /* Nothing changed: nothing reported. */
  rec_reset(&r);
  list(inst, c1, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 0);
  g_assert_cmpuint(r.deleted->len, ==, 0);

  /* On the phone: b deleted, c added, one day of the series excluded. */
  g_assert_cmpint(phone_delete("/alice/incr/b.ics"), ==, 200);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/incr/c.ics",
                            "BEGIN:VEVENT\nUID:c\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270203T100000Z\nDTEND:20270203T110000Z\nEND:VEVENT\n"),
                  ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/incr/daily.ics",
                            "BEGIN:VEVENT\nUID:daily\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270301T080000Z\nDTEND:20270301T090000Z\n"
                            "RRULE:FREQ=DAILY;COUNT=3\nEXDATE:20270302T080000Z\nEND:VEVENT\n"),
                  ==, 201);
  rec_reset(&r);
  gchar *c2 = g_strdup(r.cursor);
  list(inst, c2, &r, NULL);
  g_assert_cmpuint(r.deleted->len, ==, 2);
  g_assert_true(deleted_has(&r, "/alice/incr/b.ics"));
  g_assert_true(deleted_has(&r, "/alice/incr/daily.ics#20270302T080000Z"));
  g_assert_cmpuint(r.events->len, ==, 3); /* c, and the two days the series still has */
  g_assert_nonnull(ev_by_id(&r, "/alice/incr/c.ics"));
  g_assert_nonnull(ev_by_id(&r, "/alice/incr/daily.ics#20270301T080000Z"));
  g_assert_nonnull(ev_by_id(&r, "/alice/incr/daily.ics#20270303T080000Z"));
  g_assert_cmpstr(r.cursor, !=, c2);

  /* The whole series deleted: each occurrence it had is a deletion. */
  g_assert_cmpint(phone_delete("/alice/incr/daily.ics"), ==, 200);
  gchar *c3 = g_strdup(r.cursor);
  rec_reset(&r);
  list(inst, c3, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 0);
  g_assert_cmpuint(r.deleted->len, ==, 2);
  g_assert_true(deleted_has(&r, "/alice/incr/daily.ics#20270301T080000Z"));
  g_assert_true(deleted_has(&r, "/alice/incr/daily.ics#20270303T080000Z"));
  g_free(c1);
  g_free(c2);
  g_free(c3);
  rec_clear(&r);
  sc_plugin_instance_destroy(inst);
}

/* Servers without DAV:sync-token get an empty token in the cursor; the
** connector then compares every member's ETag with what it holds. */
static void test_etag_listing(void) {
  NEED_SERVER();
  calendar("alice", PW_ALICE, "etags", "Etags");
  const char *a = "BEGIN:VEVENT\nUID:a\nDTSTAMP:20270101T000000Z\n"
                  "DTSTART:20270201T100000Z\nDTEND:20270201T110000Z\nEND:VEVENT\n";
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/etags/a.ics", a), ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/etags/b.ics",
                            "BEGIN:VEVENT\nUID:b\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270202T100000Z\nDTEND:20270202T110000Z\nEND:VEVENT\n"),
                  ==, 201);
  struct sc_plugin_instance *inst = instance_for("alice", PW_ALICE, "etags");
  struct rec r;
  rec_init(&r);
  list(inst, NULL, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 2);
  gchar *no_token = g_strndup(r.cursor, 21); /* "cd1:<id>:" */
  g_assert_cmpint(phone_delete("/alice/etags/a.ics"), ==, 200);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/etags/b.ics",
                            "BEGIN:VEVENT\nUID:b\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270202T120000Z\nDTEND:20270202T130000Z\nEND:VEVENT\n"),
                  ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/etags/c.ics",
                            "BEGIN:VEVENT\nUID:c\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270203T100000Z\nDTEND:20270203T110000Z\nEND:VEVENT\n"),
                  ==, 201);
  rec_reset(&r);
  list(inst, no_token, &r, NULL);
  g_assert_cmpuint(r.deleted->len, ==, 1);
  g_assert_true(deleted_has(&r, "/alice/etags/a.ics"));
  g_assert_cmpuint(r.events->len, ==, 2);
  g_assert_cmpint(ev_by_id(&r, "/alice/etags/b.ics")->start, ==, at("UTC", 2027, 2, 2, 12, 0));
  g_assert_nonnull(ev_by_id(&r, "/alice/etags/c.ics"));
  g_assert_cmpstr(r.cursor, ==, no_token);
  /* Unchanged ETags: nothing to report. */
  rec_reset(&r);
  list(inst, no_token, &r, NULL);
  g_assert_cmpuint(r.events->len, ==, 0);
  g_assert_cmpuint(r.deleted->len, ==, 0);
  g_free(no_token);
  rec_clear(&r);
  sc_plugin_instance_destroy(inst);
}

static int same_sets(struct rec *a, struct rec *b) {
  if (a->events->len != b->events->len) return 0;
  for (guint i = 0; i < a->events->len; i++) {
    struct rec_ev *x = ev_at(a, i), *y = ev_by_id(b, x->id);
    if (!y || x->start != y->start || x->end != y->end || strcmp(x->etag, y->etag)) return 0;
  }
  return 1;
}

static void test_bogus_token(void) {
  NEED_SERVER();
  calendar("alice", PW_ALICE, "bogus", "Bogus");
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/bogus/weekly.ics", WEEKLY), ==, 201);
  g_assert_cmpint(phone_put("alice", PW_ALICE, "/alice/bogus/a.ics",
                            "BEGIN:VEVENT\nUID:a\nDTSTAMP:20270101T000000Z\n"
                            "DTSTART:20270201T100000Z\nDTEND:20270201T110000Z\nEND:VEVENT\n"),
                  ==, 201);
  struct sc_plugin_instance *inst = instance_for("alice", PW_ALICE, "bogus");
  struct rec first, r;
  rec_init(&first);
  rec_init(&r);
  list(inst, NULL, &first, NULL);
  g_assert_cmpuint(first.events->len, ==, 6);

  char msg[SIDECAL_MESSAGE_MAX];
  gchar *bogus = g_strdup_printf("%.21shttp://radicale.org/ns/sync/%064d", first.cursor, 0);
  g_assert_cmpint(list(inst, bogus, &r, msg), ==, SIDECAL_CURSOR_EXPIRED);
  g_assert_cmpstr(msg, ==, "the CalDAV server no longer knows the sync token; full sync needed");
  g_assert_cmpuint(r.events->len, ==, 0);
  g_assert_null(r.cursor);
  g_assert_cmpint(list(inst, "garbage", &r, msg), ==, SIDECAL_CURSOR_EXPIRED);
  g_assert_cmpstr(msg, ==, "the cursor is not one this connector wrote; full sync needed");
  /* The host's answer to CURSOR_EXPIRED: a full sync, with the same result. */
  list(inst, NULL, &r, NULL);
  g_assert_true(same_sets(&first, &r));

  /* A cursor from before a restart (unknown cache id) with changes pending. */
  gchar *restarted = g_strdup_printf("cd1:%016x%s", 1, r.cursor + 20);
  g_assert_cmpint(phone_delete("/alice/bogus/a.ics"), ==, 200);
  rec_reset(&r);
  g_assert_cmpint(list(inst, restarted, &r, msg), ==, SIDECAL_CURSOR_EXPIRED);
  g_assert_true(g_str_has_prefix(msg, "the connector restarted"));
  g_assert_cmpuint(r.deleted->len, ==, 0);
  g_free(restarted);
  g_free(bogus);
  rec_clear(&first);
  rec_clear(&r);
  sc_plugin_instance_destroy(inst);
}

static void test_wrong_password(void) {
  NEED_SERVER();
  calendar("alice", PW_ALICE, "auth", "Auth");
  struct sc_plugin_instance *inst = instance_for("alice", "not-the-password", "auth");
  struct rec r;
  rec_init(&r);
  char msg[SIDECAL_MESSAGE_MAX];
  g_assert_cmpint(list(inst, NULL, &r, msg), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpstr(msg, ==, "PROPFIND /alice/auth/: HTTP 401: the CalDAV server rejected the "
                           "username or password (iCloud needs an app-specific password)");
  g_assert_cmpuint(r.events->len, ==, 0);
  g_assert_null(r.cursor);
  struct sidecal_event ev = appointment(WIN_START + 3600, WIN_START + 7200, NULL, "sidecal:x");
  struct sidecal_write_result out;
  g_assert_cmpint(create(inst, &ev, &out, msg), ==, SIDECAL_UNAUTHORIZED);
  g_assert_cmpint(delete(inst, "/alice/auth/x.ics", "\"e\""), ==, SIDECAL_UNAUTHORIZED);
  sc_plugin_instance_destroy(inst);

  /* Discovery stops at the first 401 too. */
  gchar *json = g_strdup_printf("{\"base_url\": \"%s\", \"username\": \"alice\"}", rad.base_url);
  struct sc_error err;
  inst = instance_try(json, "wrong", &err);
  g_assert_cmpint(list(inst, NULL, &r, msg), ==, SIDECAL_UNAUTHORIZED);
  g_assert_true(g_str_has_prefix(msg, "PROPFIND /: HTTP 401"));
  sc_plugin_instance_destroy(inst);
  g_free(json);
  rec_clear(&r);
}

/* ---- the XML parser on answers Radicale does not give ------------------ */

/* iCloud style: default namespace, other prefixes, CDATA calendar-data. */
static void test_xml_icloud_style(void) {
  const char *body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<multistatus xmlns=\"DAV:\"><response><href>/1234/calendars/work/a.ics</href>"
      "<propstat><prop><getetag>\"C=1@U=2\"</getetag>"
      "<calendar-data xmlns=\"urn:ietf:params:xml:ns:caldav\"><![CDATA[BEGIN:VCALENDAR\r\n"
      "END:VCALENDAR\r\n]]></calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat>"
      "<propstat><prop><displayname/></prop><status>HTTP/1.1 404 Not Found</status></propstat>"
      "</response><response><href>https://p42-caldav.icloud.com:443/1234/calendars/</href>"
      "<propstat><prop><x:calendar-home-set xmlns:x=\"urn:ietf:params:xml:ns:caldav\">"
      "<href>https://p42-caldav.icloud.com:443/1234/calendars/</href></x:calendar-home-set>"
      "<resourcetype><collection/><cal:calendar xmlns:cal=\"urn:ietf:params:xml:ns:caldav\"/>"
      "</resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response>"
      "<response><propstat><prop/></propstat></response></multistatus>";
  struct cd_multistatus ms;
  char why[128];
  g_assert_cmpint(cd_multistatus_parse(body, strlen(body), &ms, why, sizeof why), ==, 0);
  g_assert_cmpuint(ms.n, ==, 2); /* the response without href is dropped */
  g_assert_cmpstr(ms.r[0].href, ==, "/1234/calendars/work/a.ics");
  g_assert_cmpstr(ms.r[0].etag, ==, "\"C=1@U=2\"");
  /* XML turns CRLF into LF; libical reads either. */
  g_assert_cmpstr(ms.r[0].calendar_data, ==, "BEGIN:VCALENDAR\nEND:VCALENDAR");
  g_assert_null(ms.r[0].displayname); /* only from a 2xx propstat */
  g_assert_cmpstr(ms.r[1].home, ==, "https://p42-caldav.icloud.com:443/1234/calendars/");
  g_assert_true(ms.r[1].is_calendar);
  cd_multistatus_free(&ms);
}

/* RFC 6578 3.6: a 507 for the collection itself means "truncated". */
static void test_xml_sync_truncated(void) {
  const char *body =
      "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>/alice/cal/gone.ics</D:href>"
      "<D:status>HTTP/1.1 404 Not Found</D:status></D:response>"
      "<D:response><D:href>/alice/cal/</D:href>"
      "<D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>"
      "<D:sync-token>http://example.com/sync/2</D:sync-token></D:multistatus>";
  struct cd_multistatus ms;
  char why[128];
  g_assert_cmpint(cd_multistatus_parse(body, strlen(body), &ms, why, sizeof why), ==, 0);
  g_assert_cmpuint(ms.n, ==, 2);
  g_assert_cmpuint(ms.r[0].status, ==, 404);
  g_assert_cmpuint(ms.r[1].status, ==, 507);
  g_assert_cmpstr(ms.sync_token, ==, "http://example.com/sync/2");
  cd_multistatus_free(&ms);

  const char *err409 = "<error xmlns=\"DAV:\"><valid-sync-token/></error>";
  g_assert_true(cd_xml_has_element(err409, strlen(err409), "DAV:", "valid-sync-token"));
  const char *other = "<D:error xmlns:D=\"urn:other\"><D:valid-sync-token/></D:error>";
  g_assert_false(cd_xml_has_element(other, strlen(other), "DAV:", "valid-sync-token"));

  g_assert_cmpint(cd_multistatus_parse("<html>no</html>", 15, &ms, why, sizeof why), ==, -1);
  g_assert_cmpstr(why, ==, "the answer is not a DAV:multistatus");
  g_assert_cmpint(cd_multistatus_parse("not xml", 7, &ms, why, sizeof why), ==, -1);
  g_assert_cmpstr(why, ==, "the answer is not XML");
  /* No entity expansion from outside documents. */
  const char *xxe = "<!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                    "<multistatus xmlns=\"DAV:\"><response><href>&x;</href></response>"
                    "</multistatus>";
  g_assert_cmpint(cd_multistatus_parse(xxe, strlen(xxe), &ms, why, sizeof why), ==, 0);
  for (size_t i = 0; i < ms.n; i++) g_assert_null(strstr(ms.r[i].href, "root:"));
  cd_multistatus_free(&ms);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  pt_dirs_init(&dirs);
  pt_stage(&dirs, "plugins/caldav/caldav.so", "caldav", 0755);
  struct sc_error err;
  if (sc_plugin_load(dirs.plugins, "caldav", dirs.cache, &plugin, &err))
    g_error("load: %s", err.message);
  const char *users[] = {"alice:" PW_ALICE, "bob:" PW_BOB};
  char why[4096];
  int rc = rad_start(&rad, users, G_N_ELEMENTS(users), why, sizeof why);
  if (rc < 0) g_error("%s", why);
  have_server = rc == 0;

  g_test_add_func("/caldav/xml/icloud_style", test_xml_icloud_style);
  g_test_add_func("/caldav/xml/sync_truncated", test_xml_sync_truncated);
  g_test_add_func("/caldav/create_checks", test_create_checks);
  g_test_add_func("/caldav/discovery", test_discovery);
  g_test_add_func("/caldav/phone_events", test_phone_events);
  g_test_add_func("/caldav/writes", test_writes);
  g_test_add_func("/caldav/server_edit_conflict", test_server_edit_conflict);
  g_test_add_func("/caldav/idempotent_create", test_idempotent_create);
  g_test_add_func("/caldav/recurring_dst", test_recurring_dst);
  g_test_add_func("/caldav/incremental", test_incremental);
  g_test_add_func("/caldav/etag_listing", test_etag_listing);
  g_test_add_func("/caldav/bogus_token", test_bogus_token);
  g_test_add_func("/caldav/wrong_password", test_wrong_password);
  int result = g_test_run();

  if (have_server) rad_stop(&rad);
  sc_plugin_free(plugin, pt_may_unload());
  pt_dirs_free(&dirs);
  return result;
}
