/*
** Tests for core/plugin_host.c: loading real connector modules (built from
** tests/plugins/fixture.c and plugins/example), every stamp refusal with its
** exact message, the content-named copy, the host services table, instances,
** and the example connector end to end.
*/
#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_fixtures.h"
#include "plugin_host.h"
#include "plugin_settings.h"
#include "plugin_test.h"

static const char *built_for(const char *name) {
  if (!strcmp(name, "fixture")) return "tests/plugins/fixture_v1.so";
  return NULL;
}

/* Stages tests/plugins/<name>.so (or the v1 fixture for "fixture") and
** loads it; returns the status, the error in *err. */
static int load_fixture(struct pt_dirs *d, const char *name, struct sc_plugin **p,
                        struct sc_error *err) {
  gchar *rel = built_for(name) ? g_strdup(built_for(name))
                               : g_strdup_printf("tests/plugins/%s.so", name);
  pt_stage(d, rel, name, 0644);
  g_free(rel);
  return sc_plugin_load(d->plugins, name, d->cache, p, err);
}

static void assert_refused(const char *name, const char *expected_fmt) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  struct sc_plugin *p = NULL;
  struct sc_error err;
  int rc = load_fixture(&d, name, &p, &err);
  g_assert_cmpint(rc, ==, SC_EINVAL);
  g_assert_null(p);
  gchar *expected = g_strdup_printf(expected_fmt, d.plugins);
  g_assert_cmpstr(err.message, ==, expected);
  g_assert_null(strchr(err.message, '\n'));
  g_free(expected);
  pt_dirs_free(&d);
}

static void test_refuse_wrong_major(void) {
  assert_refused("wrong_major",
                 "%s/wrong_major.so: connector \"wrong_major\" 0.1.0 (ABI 2.3) refused by host "
                 "(ABI 1.3): ABI major 2 differs from the host's 1; rebuild it against "
                 "sidecal-sdk 1");
}

static void test_refuse_newer_minor(void) {
  assert_refused("newer_minor",
                 "%s/newer_minor.so: connector \"newer_minor\" 0.1.0 (ABI 1.7) refused by host "
                 "(ABI 1.3): built for a newer host (ABI minor 7 > 3); upgrade sidecal or "
                 "rebuild the connector against this SDK");
}

static void test_refuse_oversized(void) {
  assert_refused("oversized",
                 "%s/oversized.so: connector \"oversized\" 0.1.0 (ABI 1.3) refused by host "
                 "(ABI 1.3): descriptor is 232 bytes, larger than the 168 bytes this host "
                 "knows for ABI 1.3");
}

static void test_refuse_wrong_magic(void) {
  assert_refused("wrong_magic",
                 "%s/wrong_magic.so: connector \"wrong_magic\" (ABI unknown) refused by host "
                 "(ABI 1.3): bad magic 0xdeadbeef (expected 0x53434e31); not a sidecal "
                 "connector descriptor");
}

static void test_refuse_no_entry(void) {
  assert_refused("no_entry",
                 "%s/no_entry.so: connector \"no_entry\" (ABI unknown) refused by host "
                 "(ABI 1.3): no sidecal_connector_entry symbol; a connector must export it "
                 "(see sidecal/connector.h)");
}

static void test_refuse_missing_callback(void) {
  assert_refused("missing_callback",
                 "%s/missing_callback.so: connector \"missing_callback\" 0.1.0 (ABI 1.3) "
                 "refused by host (ABI 1.3): capability read_events needs callback "
                 "list_events, which is missing");
}

static void test_refuse_writable(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  int modes[] = {0666, 0664};
  for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
    pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", modes[i]);
    struct sc_plugin *p = NULL;
    struct sc_error err;
    g_assert_cmpint(sc_plugin_load(d.plugins, "fixture", d.cache, &p, &err), ==, SC_EINVAL);
    g_assert_null(p);
    gchar *expected = g_strdup_printf(
        "%s/fixture.so: connector \"fixture\" refused: file is group- or world-writable "
        "(mode %04o); run chmod go-w on it", d.plugins, modes[i]);
    g_assert_cmpstr(err.message, ==, expected);
    g_free(expected);
  }
  /* Nothing was copied or mapped for a refused file. */
  g_assert_false(g_file_test(d.cache, G_FILE_TEST_EXISTS));
  pt_dirs_free(&d);
}

static void test_refuse_name_mismatch_and_missing(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "other", 0644);
  struct sc_plugin *p = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_plugin_load(d.plugins, "other", d.cache, &p, &err), ==, SC_EINVAL);
  gchar *expected = g_strdup_printf(
      "%s/other.so: connector \"other\" 0.1.0 (ABI 1.3) refused by host (ABI 1.3): "
      "descriptor name \"fixture\" does not match the file name \"other.so\"", d.plugins);
  g_assert_cmpstr(err.message, ==, expected);
  g_free(expected);

  g_assert_cmpint(sc_plugin_load(d.plugins, "absent", d.cache, &p, &err), ==, SC_EIO);
  expected = g_strdup_printf("%s/absent.so: connector \"absent\" cannot be loaded: "
                             "No such file or directory", d.plugins);
  g_assert_cmpstr(err.message, ==, expected);
  g_free(expected);

  /* A symlink is not a regular file: plugins are installed, not linked in. */
  gchar *target = pt_build_path("tests/plugins/fixture_v1.so");
  gchar *link = g_build_filename(d.plugins, "fixture.so", NULL);
  g_assert_cmpint(symlink(target, link), ==, 0);
  g_assert_cmpint(sc_plugin_load(d.plugins, "fixture", d.cache, &p, &err), ==, SC_EINVAL);
  expected = g_strdup_printf("%s: connector \"fixture\" refused: not a regular file", link);
  g_assert_cmpstr(err.message, ==, expected);
  g_free(expected);
  g_free(link);
  g_free(target);

  g_assert_cmpint(sc_plugin_load(d.plugins, "../etc", d.cache, &p, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "plugin name \"../etc\" must match [a-z0-9_]+");
  g_assert_null(p);
  pt_dirs_free(&d);
}

static void test_refused_module_is_unmapped(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  struct sc_plugin *p = NULL;
  struct sc_error err;
  g_assert_cmpint(load_fixture(&d, "wrong_major", &p, &err), ==, SC_EINVAL);
  GDir *dir = g_dir_open(d.cache, 0, NULL);
  const char *copy = g_dir_read_name(dir);
  g_assert_nonnull(copy);
  gchar *copy_path = g_build_filename(d.cache, copy, NULL);
  g_assert_null(dlopen(copy_path, RTLD_NOW | RTLD_NOLOAD));
  g_free(copy_path);
  g_dir_close(dir);
  pt_dirs_free(&d);
}

static void test_load_content_named_copy(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  struct sc_plugin *p = NULL;
  struct sc_error err;
  g_assert_cmpint(load_fixture(&d, "fixture", &p, &err), ==, SC_OK);
  gchar *src = g_build_filename(d.plugins, "fixture.so", NULL);
  gchar *data = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(src, &data, &len, NULL));
  gchar *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
  g_assert_cmpstr(p->sha256, ==, sum);
  gchar *copy = g_strdup_printf("%s/fixture.%.16s.so", d.cache, sum);
  g_assert_cmpstr(p->copy_path, ==, copy);
  g_assert_cmpstr(p->path, ==, src);
  g_assert_true(g_file_test(copy, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr(p->name, ==, "fixture");
  g_assert_cmpstr(p->desc.version, ==, "0.1.0");
  g_assert_cmpuint(p->desc.capabilities, ==,
                   SIDECAL_CAP_READ_EVENTS | SIDECAL_CAP_CREDENTIAL_REFRESH);
  g_assert_nonnull(p->desc.list_events);
  g_assert_null(p->desc.create_event);
  g_assert_cmpuint(p->n_settings, ==, 7);
  g_assert_cmpstr(p->settings[5].name, ==, "token");
  char caps[100];
  g_assert_cmpstr(sc_plugin_caps_string(p->desc.capabilities, caps, sizeof caps), ==,
                  "read_events,credential_refresh");
  sc_plugin_free(p, 1);
  g_free(copy);
  g_free(sum);
  g_free(data);
  g_free(src);
  pt_dirs_free(&d);
}

static void test_describe(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  struct sc_plugin *p = NULL;
  struct sc_error err;
  g_assert_cmpint(load_fixture(&d, "fixture", &p, &err), ==, SC_OK);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  sc_plugin_describe(p, f);
  fclose(f);
  g_assert_nonnull(strstr(buf, "fixture 0.1.0 (ABI 1.3)\n  Test connector (fixture)\n"));
  g_assert_nonnull(strstr(buf, "capabilities: read_events,credential_refresh\n"));
  g_assert_nonnull(strstr(buf, "  label (string, required)\n      Text put in every event title.\n"));
  g_assert_nonnull(strstr(buf, "  count (int, optional, default 1)\n"));
  g_assert_nonnull(strstr(buf, "  token (string, optional, secret: env:NAME or file:PATH)\n"));
  free(buf);
  sc_plugin_free(p, 1);
  pt_dirs_free(&d);
}

static void test_ctl_describe(void) {
  gchar *dir = pt_build_path("plugins/example");
  if (g_test_subprocess()) {
    char *argv[] = {"plugins", "describe", "example", "--plugin-dir", dir, NULL};
    exit(sc_cmd_plugins(5, argv));
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
  g_test_trap_assert_stdout("example 1.0.0 (ABI 1.3)\n*capabilities: read_events\n"
                            "settings:\n  path (string, required)\n      Absolute path*");
  g_free(dir);
}

static void test_ctl_describe_errors(void) {
  if (g_test_subprocess()) {
    char *argv[] = {"plugins", "describe", "nosuch", "--plugin-dir", "/nonexistent", NULL};
    exit(sc_cmd_plugins(5, argv));
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed();
  g_test_trap_assert_stderr("sidecalctl: /nonexistent/nosuch.so: connector \"nosuch\" cannot "
                            "be loaded: No such file or directory\n");
  char *bad[] = {"plugins", "list", NULL};
  g_assert_cmpint(sc_cmd_plugins(2, bad), ==, 2);
}

/* ---- instances and the host table ----------------------------------- */

struct test_store {
  int reads;
  GHashTable *stored;
};

static int store_read(void *ud, const char *instance, const char *key, const char *ref,
                      char **value, struct sc_error *err) {
  struct test_store *s = ud;
  s->reads++;
  if (strncmp(ref, "env:", 4))
    return sc_error_set(err, SC_EINVAL, key, "%s: only env: here", instance);
  const char *v = g_getenv(ref + 4);
  if (!v) return sc_error_set(err, SC_ENOTFOUND, key, "%s is not set", ref);
  *value = strdup(v);
  return SC_OK;
}

static int store_store(void *ud, const char *instance, const char *key, const char *value,
                       struct sc_error *err) {
  (void)err;
  struct test_store *s = ud;
  g_hash_table_insert(s->stored, g_strdup_printf("%s/%s", instance, key), g_strdup(value));
  return SC_OK;
}

static struct sc_plugin_instance *make_instance(struct sc_plugin *p, const char *settings_json,
                                                const struct sc_plugin_secrets *store,
                                                struct sc_error *err, int *rc) {
  const char *names[] = {"token"};
  const char *refs[] = {"env:SC_TEST_FIXTURE_TOKEN"};
  struct sc_conf_connector *c = pt_connector("fixture", "acme.miami.fixture", settings_json,
                                             names, refs, 1);
  struct sidecal_settings *s = NULL;
  *rc = sc_plugin_settings_validate(p->settings, p->n_settings, "conf.d/acme.yaml",
                                    "locations[0].connectors[0]", c, &s, err);
  struct sc_plugin_instance *inst = NULL;
  if (!*rc) {
    struct sc_plugin_instance_spec spec = {
      .name = c->instance, .organization = "acme", .location = "miami",
      .secrets = c->secrets, .n_secrets = c->n_secrets, .secret_store = store,
    };
    *rc = sc_plugin_instance_create(p, &spec, s, &inst, err);
  }
  pt_connector_free(c);
  return inst;
}

static void test_instance_calls(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  struct sc_plugin *p = NULL;
  struct sc_error err;
  g_assert_cmpint(load_fixture(&d, "fixture", &p, &err), ==, SC_OK);
  struct test_store ts = {0, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free)};
  struct sc_plugin_secrets store = {store_read, store_store, &ts};
  g_setenv("SC_TEST_FIXTURE_TOKEN", "tok", TRUE);
  int rc;
  struct sc_plugin_instance *inst =
      make_instance(p, "{\"label\": \"hello\", \"count\": 3}", &store, &err, &rc);
  g_assert_cmpint(rc, ==, SC_OK);

  struct sc_plugin_call call;
  sc_plugin_call_init(inst, &call, "req-1", 0);
  g_assert_cmpstr(call.ctx.instance, ==, "acme.miami.fixture");
  g_assert_cmpstr(call.ctx.organization, ==, "acme");
  g_assert_cmpstr(call.ctx.location, ==, "miami");
  g_assert_null(call.ctx.staff);
  g_assert_cmpint(*call.ctx.cancel, ==, 0);

  struct pt_sink sink;
  pt_sink_init(&sink);
  struct sidecal_window w = {1767225600, 1767312000};
  g_assert_cmpint(p->desc.list_events(inst->state, &call.ctx, &w, NULL, &sink.sink, &call.res),
                  ==, SIDECAL_OK);
  g_assert_cmpuint(sink.ids->len, ==, 3);
  g_assert_cmpstr(g_ptr_array_index(sink.titles, 2), ==, "hello v1");
  g_assert_cmpstr(g_ptr_array_index(sink.ids, 2), ==, "ev-2");
  g_assert_cmpint(g_array_index(sink.starts, int64_t, 1), ==, 1767225600 + 3600);
  g_assert_cmpstr(sink.cursor, ==, "c1");
  sc_plugin_instance_record(inst, &call.res);

  sc_plugin_call_init(inst, &call, "req-2", 0);
  g_assert_cmpint(p->desc.list_events(inst->state, &call.ctx, &w, "expired", &sink.sink,
                                      &call.res), ==, SIDECAL_CURSOR_EXPIRED);
  g_assert_cmpstr(call.res.message, ==, "cursor expired");
  sc_plugin_instance_record(inst, &call.res);
  char last[SIDECAL_MESSAGE_MAX];
  g_assert_cmpint(sc_plugin_instance_health(inst, last, sizeof last), ==, SIDECAL_CURSOR_EXPIRED);
  g_assert_cmpstr(last, ==, "cursor expired");
  g_assert_cmpuint(sc_plugin_instance_counter(inst, "list_calls"), ==, 2);
  g_assert_cmpuint(sc_plugin_instance_counter(inst, "nothing"), ==, 0);

  /* Credential refresh: reads env:SC_TEST_FIXTURE_TOKEN through the store,
  ** stores the rotated token, and later reads see the rotated one. */
  sc_plugin_call_init(inst, &call, "req-3", 0);
  g_assert_cmpint(p->desc.refresh_credentials(inst->state, &call.ctx, &call.res), ==, SIDECAL_OK);
  g_assert_cmpstr(g_hash_table_lookup(ts.stored, "acme.miami.fixture/token"), ==, "tok+1");
  g_assert_cmpint(p->desc.refresh_credentials(inst->state, &call.ctx, &call.res), ==, SIDECAL_OK);
  g_assert_cmpstr(g_hash_table_lookup(ts.stored, "acme.miami.fixture/token"), ==, "tok+1+1");
  g_assert_cmpint(ts.reads, ==, 1);
  char buf[4];
  const struct sidecal_host_api *host = sc_plugin_host_api();
  g_assert_cmpint(host->secret_read(&inst->hi, "token", buf, sizeof buf), ==, -2);
  g_assert_cmpint(host->secret_read(&inst->hi, "label", buf, sizeof buf), ==, -1);

  /* Typed getters on the validated settings (defaults filled in). */
  int64_t n = 0;
  int32_t b = 0;
  g_assert_cmpint(host->setting_int(inst->settings, "count", &n), ==, 0);
  g_assert_cmpint(n, ==, 3);
  g_assert_cmpint(host->setting_bool(inst->settings, "enabled", &b), ==, 0);
  g_assert_cmpint(b, ==, 1);
  g_assert_cmpint(host->setting_int(inst->settings, "label", &n), ==, -1);
  g_assert_null(host->setting_string(inst->settings, "token"));
  g_assert_cmpuint(host->setting_list_len(inst->settings, "tags"), ==, 0);
  g_assert_cmpuint(host->struct_size, ==, sizeof(struct sidecal_host_api));
  g_assert_true(SIDECAL_HOST_HAS(host, http_response_free));

  pt_sink_clear(&sink);
  sc_plugin_instance_destroy(inst);
  sc_plugin_free(p, 1);
  g_hash_table_destroy(ts.stored);
  g_unsetenv("SC_TEST_FIXTURE_TOKEN");
  pt_dirs_free(&d);
}

static void test_instance_create_fails(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  struct sc_plugin *p = NULL;
  struct sc_error err;
  g_assert_cmpint(load_fixture(&d, "fixture", &p, &err), ==, SC_OK);
  int rc;
  struct sc_plugin_instance *inst =
      make_instance(p, "{\"label\": \"x\", \"fail_create\": true}", NULL, &err, &rc);
  g_assert_null(inst);
  g_assert_cmpint(rc, ==, SC_EIO);
  g_assert_cmpstr(err.message, ==, "acme.miami.fixture: create failed: fail_create is set");
  sc_plugin_free(p, 1);
  pt_dirs_free(&d);
}

/* ---- the example connector ------------------------------------------ */

static const char *ics =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sidecal//test//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19701101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n"
    "TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:19700308T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n"
    "TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    /* Weekly on Mondays 09:00 New York, 4 times, the 2nd excluded, the 3rd moved. */
    "BEGIN:VEVENT\r\nUID:standup@example\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=America/New_York:20260302T090000\r\n"
    "DTEND;TZID=America/New_York:20260302T093000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE;TZID=America/New_York:20260309T090000\r\n"
    "SUMMARY:Standup\r\nATTENDEE;CN=Ann:mailto:ann@example.com\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:standup@example\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID;TZID=America/New_York:20260316T090000\r\n"
    "DTSTART;TZID=America/New_York:20260316T140000\r\n"
    "DTEND;TZID=America/New_York:20260316T143000\r\nSUMMARY:Standup (moved)\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:holiday@example\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20260304\r\nDTEND;VALUE=DATE:20260305\r\nSUMMARY:Holiday\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:outside@example\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20270101T100000Z\r\nDTEND:20270101T110000Z\r\nSUMMARY:Next year\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n";

static void test_example_connector(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "plugins/example/example.so", "example", 0644);
  struct sc_plugin *p = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_plugin_load(d.plugins, "example", d.cache, &p, &err), ==, SC_OK);
  gchar *ics_path = g_build_filename(d.root, "cal.ics", NULL);
  g_assert_true(g_file_set_contents(ics_path, ics, -1, NULL));

  gchar *json = g_strdup_printf("{\"path\": \"%s\"}", ics_path);
  struct sc_conf_connector *c = pt_connector("example", "acme.miami.example", json, NULL, NULL, 0);
  struct sidecal_settings *s = NULL;
  g_assert_cmpint(sc_plugin_settings_validate(p->settings, p->n_settings, "conf.d/acme.yaml",
                                              "locations[0].connectors[0]", c, &s, &err), ==, SC_OK);
  struct sc_plugin_instance_spec spec = {.name = "acme.miami.example", .organization = "acme",
                                         .location = "miami"};
  struct sc_plugin_instance *inst = NULL;
  g_assert_cmpint(sc_plugin_instance_create(p, &spec, s, &inst, &err), ==, SC_OK);

  /* March 2026 (New York switches to EDT on March 8). */
  struct sidecal_window w = {1772323200 /* 2026-03-01Z */, 1775001600 /* 2026-04-01Z */};
  struct sc_plugin_call call;
  struct pt_sink sink;
  pt_sink_init(&sink);
  sc_plugin_call_init(inst, &call, "r", 0);
  g_assert_cmpint(p->desc.list_events(inst->state, &call.ctx, &w, NULL, &sink.sink, &call.res),
                  ==, SIDECAL_OK);
  g_assert_cmpuint(sink.ids->len, ==, 4);
  /* 03-02 09:00 EST = 14:00Z; 03-09 excluded; 03-16 moved to 14:00 EDT =
  ** 18:00Z and reported by the override; 03-23 09:00 EDT = 13:00Z. */
  g_assert_cmpstr(g_ptr_array_index(sink.ids, 0), ==, "standup@example/20260302T140000Z");
  g_assert_cmpint(g_array_index(sink.starts, int64_t, 0), ==, 1772460000);
  g_assert_cmpint(g_array_index(sink.ends, int64_t, 0), ==, 1772460000 + 1800);
  g_assert_cmpstr(g_ptr_array_index(sink.tzids, 0), ==, "America/New_York");
  g_assert_cmpstr(g_ptr_array_index(sink.emails, 0), ==, "ann@example.com");
  g_assert_cmpstr(g_ptr_array_index(sink.ids, 1), ==, "standup@example/20260323T130000Z");
  g_assert_cmpint(g_array_index(sink.starts, int64_t, 1), ==, 1774270800);
  g_assert_cmpstr(g_ptr_array_index(sink.titles, 2), ==, "Standup (moved)");
  g_assert_cmpstr(g_ptr_array_index(sink.ids, 2), ==, "standup@example/20260316T130000Z");
  g_assert_cmpint(g_array_index(sink.starts, int64_t, 2), ==, 1773684000);
  g_assert_cmpstr(g_ptr_array_index(sink.ids, 3), ==, "holiday@example");
  g_assert_cmpuint(g_array_index(sink.all_day, uint32_t, 3), ==, 1);
  g_assert_cmpint(g_array_index(sink.starts, int64_t, 3), ==, 1772582400);
  g_assert_cmpint(g_array_index(sink.ends, int64_t, 3), ==, 1772582400 + 86400);
  g_assert_cmpuint(sc_plugin_instance_counter(inst, "vevents_read"), ==, 4);
  gchar *cursor = g_strdup(sink.cursor);
  g_assert_nonnull(cursor);

  /* Unchanged file: nothing reported. Changed file: cursor expired. */
  pt_sink_clear(&sink);
  pt_sink_init(&sink);
  g_assert_cmpint(p->desc.list_events(inst->state, &call.ctx, &w, cursor, &sink.sink, &call.res),
                  ==, SIDECAL_OK);
  g_assert_cmpuint(sink.ids->len, ==, 0);
  g_assert_true(g_file_set_contents(ics_path, ics, (gssize)strlen(ics) - 2, NULL));
  g_assert_cmpint(p->desc.list_events(inst->state, &call.ctx, &w, cursor, &sink.sink, &call.res),
                  ==, SIDECAL_CURSOR_EXPIRED);
  g_assert_cmpstr(call.res.message, ==, "the file changed since the cursor; do a full sync");

  pt_sink_clear(&sink);
  g_free(cursor);
  sc_plugin_instance_destroy(inst);
  pt_connector_free(c);

  /* A missing file fails instance creation with the path in the message. */
  c = pt_connector("example", NULL, "{\"path\": \"/nonexistent/cal.ics\"}", NULL, NULL, 0);
  g_assert_cmpint(sc_plugin_settings_validate(p->settings, p->n_settings, "f", "p", c, &s, &err),
                  ==, SC_OK);
  g_assert_cmpint(sc_plugin_instance_create(p, &spec, s, &inst, &err), ==, SC_EIO);
  g_assert_cmpstr(err.message, ==, "acme.miami.example: create failed: cannot read "
                                   "/nonexistent/cal.ics: No such file or directory");
  pt_connector_free(c);
  g_free(json);
  g_free(ics_path);
  sc_plugin_free(p, pt_may_unload());
  pt_dirs_free(&d);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/plugin_host/refuse/wrong_major", test_refuse_wrong_major);
  g_test_add_func("/plugin_host/refuse/newer_minor", test_refuse_newer_minor);
  g_test_add_func("/plugin_host/refuse/oversized", test_refuse_oversized);
  g_test_add_func("/plugin_host/refuse/wrong_magic", test_refuse_wrong_magic);
  g_test_add_func("/plugin_host/refuse/no_entry", test_refuse_no_entry);
  g_test_add_func("/plugin_host/refuse/missing_callback", test_refuse_missing_callback);
  g_test_add_func("/plugin_host/refuse/writable", test_refuse_writable);
  g_test_add_func("/plugin_host/refuse/name_and_missing", test_refuse_name_mismatch_and_missing);
  g_test_add_func("/plugin_host/refuse/unmapped", test_refused_module_is_unmapped);
  g_test_add_func("/plugin_host/load/content_named_copy", test_load_content_named_copy);
  g_test_add_func("/plugin_host/describe", test_describe);
  g_test_add_func("/plugin_host/ctl/describe", test_ctl_describe);
  g_test_add_func("/plugin_host/ctl/describe_errors", test_ctl_describe_errors);
  g_test_add_func("/plugin_host/instance/calls", test_instance_calls);
  g_test_add_func("/plugin_host/instance/create_fails", test_instance_create_fails);
  g_test_add_func("/plugin_host/example", test_example_connector);
  return g_test_run();
}
