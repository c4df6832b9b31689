/*
** Connector plugins and hot reload through the real sidecald: every ABI
** refusal and a failing instance_create visible after a reload (admin API
** and `sidecalctl plugins`), v1 -> v2 of a rebuilt plugin changing
** behaviour without a restart (POST /v1/admin/reload, SIGHUP, sidecalctl
** reload), the old copy unmapped after drain, a config error rejecting the
** whole reload, 409 while a reload runs, a rotated token stored encrypted,
** health (NEEDS_REAUTH) in the listing, reloads under load with zero failed
** requests, and fds/RSS flat over many reloads.
**
** Counts honour SIDECAL_TEST_SCALE (0.2 under ASan in scripts/test).
*/
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "plugin_fixtures.h"
#include "plugin_test.h"
#include "secrets.h"
#include "testdaemon.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static const char *const BROKEN[] = {"wrong_major", "newer_minor", "oversized", "wrong_magic",
                                     "no_entry", "missing_callback"};

static struct sc_test_daemon D;
static struct pt_dirs P;      /* P.plugins is --plugin-dir */
static char *state_dir;
static char *ics_path;        /* the example connector's calendar */
static char *admin_key, *owner_key;

/* ---- conf.d ----------------------------------------------------------- */

/* miami_settings: the flow mapping of acme.miami.fixture's settings;
** extra_staff: appended to staff (may be ""). */
static char *acme_yaml(const char *miami_settings, const char *extra_staff) {
  GString *s = g_string_new(
      "organization: {slug: acme, name: Acme}\n"
      "locations:\n"
      "  - slug: miami\n"
      "    name: Miami\n"
      "    timezone: America/New_York\n"
      "    rules:\n"
      "      - {day_of_week: [1, 2, 3, 4, 5], start: \"09:00\", end: \"17:00\"}\n"
      "    connectors:\n"
      "      - plugin: fixture\n");
  g_string_append_printf(s, "        settings: %s\n", miami_settings);
  g_string_append(s,
      "      - plugin: ghl\n"
      "        settings: {location_id: abc}\n"
      "  - slug: austin\n"
      "    name: Austin\n"
      "    timezone: America/Chicago\n"
      "    connectors:\n"
      "      - plugin: fixture\n"
      "        settings: {label: Austin, fail_create: true}\n"
      "  - slug: lab\n"
      "    name: Lab\n"
      "    timezone: UTC\n"
      "    connectors:\n");
  for (size_t i = 0; i < G_N_ELEMENTS(BROKEN); i++)
    g_string_append_printf(s, "      - {plugin: %s}\n", BROKEN[i]);
  g_string_append_printf(s, "      - {plugin: example, settings: {path: \"%s\"}}\n", ics_path);
  g_string_append_printf(s,
      "staff:\n"
      "  - {slug: ann, name: Ann, locations: [miami]}\n%s"
      "event_types:\n"
      "  - {slug: consult, title: Consultation, duration: 30, published: true, staff: [ann]}\n",
      extra_staff);
  return g_string_free(s, FALSE);
}

static void write_conf(const char *text) {
  char *path = g_build_filename(D.conf_dir, "acme.yaml", NULL);
  char *tmp = g_strconcat(path, ".tmp", NULL);
  g_assert_true(g_file_set_contents(tmp, text, -1, NULL));
  g_assert_cmpint(g_rename(tmp, path), ==, 0);
  g_free(tmp);
  g_free(path);
}

static void write_good_conf(void) {
  char *y = acme_yaml("{label: Miami, count: 2, token: env:FIXTURE_TOKEN}", "");
  write_conf(y);
  g_free(y);
}

static void stage_fixture(int version) {
  pt_stage(&P, version == 1 ? "tests/plugins/fixture_v1.so" : "tests/plugins/fixture_v2.so",
           "fixture", 0644);
}

static double scale(void) {
  const char *s = getenv("SIDECAL_TEST_SCALE");
  double f = s ? atof(s) : 1.0;
  return f > 0 ? f : 1.0;
}

static int scaled(int n) {
  int v = (int)(n * scale() + 0.5);
  return v < 5 ? 5 : v;
}

/* ---- requests --------------------------------------------------------- */

static json_object *req_json(const char *method, const char *path, const char *key, long want) {
  struct sc_test_resp r;
  sc_test_http(&D, method, path, key, NULL, method[0] == 'P' ? "{}" : NULL, &r);
  if (r.status != want) g_error("%s %s: %ld (wanted %ld) %s", method, path, r.status, want, r.body);
  json_object *o = json_tokener_parse(r.body);
  g_assert_nonnull(o);
  sc_test_resp_free(&r);
  return o;
}

static json_object *reload_ok(void) {
  return req_json("POST", "/v1/admin/reload", admin_key, 200);
}

static const char *jstr(json_object *o, const char *k) {
  json_object *v;
  return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static int64_t jint(json_object *o, const char *k) {
  json_object *v;
  g_assert_true(json_object_object_get_ex(o, k, &v));
  return json_object_get_int64(v);
}

/* The entry named name of array key in o. */
static json_object *find(json_object *o, const char *key, const char *name) {
  json_object *arr;
  g_assert_true(json_object_object_get_ex(o, key, &arr));
  for (size_t i = 0; i < json_object_array_length(arr); i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    if (!g_strcmp0(jstr(e, "name"), name)) return e;
  }
  g_error("no %s entry named %s", key, name);
  return NULL;
}

static int64_t generation(void) {
  json_object *o = req_json("GET", "/v1/admin/plugins", admin_key, 200);
  int64_t g = jint(o, "generation");
  json_object_put(o);
  return g;
}

/* Title of the first event acme.miami.fixture reports now. */
static char *probe_title(void) {
  json_object *o = req_json("GET", "/v1/admin/instances/acme.miami.fixture/events"
                                   "?from=2027-01-04&to=2027-01-05", admin_key, 200);
  json_object *evs;
  g_assert_true(json_object_object_get_ex(o, "events", &evs));
  g_assert_cmpuint(json_object_array_length(evs), ==, 2);
  char *t = g_strdup(jstr(json_object_array_get_idx(evs, 0), "title"));
  json_object_put(o);
  return t;
}

static int64_t wait_generation_above(int64_t g) {
  for (int i = 0; i < 400; i++) {
    int64_t now = generation();
    if (now > g) return now;
    g_usleep(25 * 1000);
  }
  g_error("generation did not move past %lld", (long long)g);
  return 0;
}

static char *ctl(const char *const *args, int want) {
  char *out = NULL;
  int st = sc_test_ctl(&D, args, &out);
  if (st != want) g_error("sidecalctl %s: exit %d (wanted %d): %s", args[0], st, want, out);
  return out;
}

/* ---- set-up ----------------------------------------------------------- */

static char *make_key(const char *const *args) {
  char *out = ctl(args, 0);
  *strchr(out, '\n') = '\0';
  return out;
}

static void start_world(void) {
  g_setenv("FIXTURE_TOKEN", "tok", TRUE);  /* inherited by the daemon */
  pt_dirs_init(&P);
  state_dir = g_build_filename(P.root, "state", NULL);
  ics_path = g_build_filename(P.root, "cal.ics", NULL);
  g_assert_true(g_file_set_contents(ics_path,
      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sidecal//test//EN\r\n"
      "BEGIN:VEVENT\r\nUID:ev-1@test\r\nDTSTAMP:20270101T000000Z\r\n"
      "DTSTART:20270104T150000Z\r\nDTEND:20270104T153000Z\r\nSUMMARY:Dentist\r\n"
      "END:VEVENT\r\nEND:VCALENDAR\r\n", -1, NULL));
  pt_stage(&P, "plugins/example/example.so", "example", 0644);
  stage_fixture(1);
  for (size_t i = 0; i < G_N_ELEMENTS(BROKEN); i++) {
    char *rel = g_strdup_printf("tests/plugins/%s.so", BROKEN[i]);
    pt_stage(&P, rel, BROKEN[i], 0644);
    g_free(rel);
  }
  char *y = acme_yaml("{label: Miami, count: 2, token: env:FIXTURE_TOKEN}", "");
  const char *files[] = {"acme.yaml", y, NULL};
  sc_test_daemon_init(&D, files);
  g_free(y);
  const char *extra[] = {"--plugin-dir", P.plugins, "--state-dir", state_dir, NULL};
  sc_test_daemon_start(&D, extra);
  const char *adm[] = {"key", "create", "--platform-admin", NULL};
  const char *own[] = {"key", "create", "--org", "acme", "--role", "agency_owner", NULL};
  admin_key = make_key(adm);
  owner_key = make_key(own);
}

static void stop_world(void) {
  if (D.pid) g_assert_cmpint(sc_test_daemon_signal_wait(&D, SIGTERM), ==, 0);
  sc_test_daemon_cleanup(&D);
  pt_dirs_free(&P);
  g_free(state_dir);
  g_free(ics_path);
  g_free(admin_key);
  g_free(owner_key);
}

/* ---- tests ------------------------------------------------------------ */

static char *refusal(const char *name, const char *tail) {
  return g_strdup_printf("%s/%s.so: connector \"%s\" %s", P.plugins, name, name, tail);
}

static void test_refusals_visible_after_reload(void) {
  json_object *rep = reload_ok();
  char *want[G_N_ELEMENTS(BROKEN)] = {
    refusal("wrong_major", "0.1.0 (ABI 2.3) refused by host (ABI 1.3): ABI major 2 differs "
            "from the host's 1; rebuild it against sidecal-sdk 1"),
    refusal("newer_minor", "0.1.0 (ABI 1.7) refused by host (ABI 1.3): built for a newer host "
            "(ABI minor 7 > 3); upgrade sidecal or rebuild the connector against this SDK"),
    refusal("oversized", "0.1.0 (ABI 1.3) refused by host (ABI 1.3): descriptor is 232 bytes, "
            "larger than the 168 bytes this host knows for ABI 1.3"),
    refusal("wrong_magic", "(ABI unknown) refused by host (ABI 1.3): bad magic 0xdeadbeef "
            "(expected 0x53434e31); not a sidecal connector descriptor"),
    refusal("no_entry", "(ABI unknown) refused by host (ABI 1.3): no sidecal_connector_entry "
            "symbol; a connector must export it (see sidecal/connector.h)"),
    refusal("missing_callback", "0.1.0 (ABI 1.3) refused by host (ABI 1.3): capability "
            "read_events needs callback list_events, which is missing"),
  };
  char *list = NULL;
  const char *args[] = {"plugins", NULL};
  list = ctl(args, 0);
  for (size_t i = 0; i < G_N_ELEMENTS(BROKEN); i++) {
    json_object *p = find(rep, "plugins", BROKEN[i]);
    g_assert_cmpstr(jstr(p, "status"), ==, "failed");
    g_assert_cmpstr(jstr(p, "error"), ==, want[i]);
    char *inst_name = g_strdup_printf("acme.lab.%s", BROKEN[i]);
    json_object *in = find(rep, "instances", inst_name);
    char *inst_err = g_strdup_printf("%s: connector \"%s\" did not load: %s", inst_name,
                                     BROKEN[i], want[i]);
    g_assert_cmpstr(jstr(in, "status"), ==, "failed");
    g_assert_cmpstr(jstr(in, "error"), ==, inst_err);
    /* The same line in the other process's listing. */
    char *line = g_strdup_printf("    %s  FAILED: %s\n", BROKEN[i], want[i]);
    if (!strstr(list, line)) g_error("missing from sidecalctl plugins: %s\n%s", line, list);
    g_free(line);
    g_free(inst_err);
    g_free(inst_name);
    g_free(want[i]);
  }
  /* A plugin that is not there at all, and an instance whose create fails. */
  char *ghl = g_strdup_printf("%s/ghl.so: connector \"ghl\" cannot be loaded: No such file or "
                              "directory", P.plugins);
  g_assert_cmpstr(jstr(find(rep, "plugins", "ghl"), "error"), ==, ghl);
  g_assert_cmpstr(jstr(find(rep, "instances", "acme.austin.fixture"), "error"), ==,
                  "acme.austin.fixture: create failed: fail_create is set");
  g_assert_nonnull(strstr(list, "    acme.austin.fixture (fixture)  FAILED  health -  reason: "
                                "acme.austin.fixture: create failed: fail_create is set\n"));
  g_assert_cmpint(jint(rep, "failed_plugins"), ==, 7);    /* 6 refused + ghl */
  g_assert_cmpint(jint(rep, "failed_instances"), ==, 8);  /* their 7 + austin */
  /* Everything else swapped in. */
  g_assert_cmpstr(jstr(find(rep, "plugins", "fixture"), "status"), ==, "loaded");
  g_assert_cmpstr(jstr(find(rep, "instances", "acme.miami.fixture"), "status"), ==, "running");
  g_assert_nonnull(strstr(list, "    acme.miami.fixture (fixture)  running  health HEALTHY\n"));
  g_free(ghl);
  g_free(list);
  json_object_put(rep);
}

/* A plugin file others may write is refused; fixing the mode and reloading
** brings its instances back. */
static void test_writable_plugin_refused(void) {
  char *path = g_build_filename(P.plugins, "fixture.so", NULL);
  g_assert_cmpint(chmod(path, 0666), ==, 0);
  json_object *rep = reload_ok();
  char *want = g_strdup_printf("%s: connector \"fixture\" refused: file is group- or "
                               "world-writable (mode 0666); run chmod go-w on it", path);
  g_assert_cmpstr(jstr(find(rep, "plugins", "fixture"), "error"), ==, want);
  g_assert_cmpstr(jstr(find(rep, "instances", "acme.miami.fixture"), "status"), ==, "failed");
  json_object_put(req_json("GET", "/v1/admin/instances/acme.miami.fixture/events"
                                  "?from=2027-01-04&to=2027-01-05", admin_key, 409));
  json_object_put(rep);
  g_assert_cmpint(chmod(path, 0644), ==, 0);
  rep = reload_ok();
  g_assert_cmpstr(jstr(find(rep, "instances", "acme.miami.fixture"), "status"), ==, "running");
  json_object_put(rep);
  g_free(want);
  g_free(path);
}

/* The SDK's example connector (libical) runs in the daemon like any other. */
static void test_example_connector_in_daemon(void) {
  json_object *o = req_json("GET", "/v1/admin/instances/acme.lab.example/events"
                                   "?from=2027-01-04&to=2027-01-05", admin_key, 200);
  g_assert_cmpstr(jstr(o, "plugin_version"), ==, "1.0.0");
  json_object *evs;
  g_assert_true(json_object_object_get_ex(o, "events", &evs));
  g_assert_cmpuint(json_object_array_length(evs), ==, 1);
  json_object *ev = json_object_array_get_idx(evs, 0);
  g_assert_cmpstr(jstr(ev, "title"), ==, "Dentist");
  g_assert_cmpstr(jstr(ev, "start"), ==, "2027-01-04T15:00:00Z");
  g_assert_cmpstr(jstr(ev, "end"), ==, "2027-01-04T15:30:00Z");
  json_object_put(o);
}

static int mapped(const char *needle) {
  char *path = g_strdup_printf("/proc/%d/maps", (int)D.pid), *maps = NULL;
  g_assert_true(g_file_get_contents(path, &maps, NULL, NULL));
  int found = strstr(maps, needle) != NULL;
  g_free(maps);
  g_free(path);
  return found;
}

static char *copy_name(json_object *rep) {
  return g_strdup_printf("/plugin-cache/fixture.%.16s.so", jstr(find(rep, "plugins", "fixture"), "sha256"));
}

static void test_v1_to_v2_without_restart(void) {
  stage_fixture(1);
  json_object *r1 = reload_ok();
  char *t = probe_title();
  g_assert_cmpstr(t, ==, "Miami v1");
  g_free(t);
  char *old_copy = copy_name(r1);
  g_assert_true(mapped(old_copy));
  pid_t pid = D.pid;

  stage_fixture(2);  /* rebuilt in place: same path, new bytes */
  json_object *r2 = reload_ok();
  g_assert_cmpint(jint(r2, "generation"), ==, jint(r1, "generation") + 1);
  g_assert_cmpstr(jstr(find(r2, "plugins", "fixture"), "version"), ==, "0.2.0");
  g_assert_cmpstr(jstr(find(r1, "plugins", "fixture"), "version"), ==, "0.1.0");
  t = probe_title();
  g_assert_cmpstr(t, ==, "Miami v2");
  g_free(t);
  g_assert_cmpint(D.pid, ==, pid);
  /* Drained: the old build is no longer mapped (unloading is off under ASan). */
  json_object *desc = req_json("GET", "/v1/admin/plugins", admin_key, 200);
  json_object *unload;
  g_assert_true(json_object_object_get_ex(desc, "unload", &unload));
  g_assert_cmpint(json_object_get_boolean(unload), ==, !UNDER_ASAN);
  /* Live health of the new generation: the one probe since the swap. */
  json_object *live = find(desc, "instances", "acme.miami.fixture");
  g_assert_cmpstr(jstr(live, "health"), ==, "ok");
  g_assert_cmpint(jint(live, "calls"), ==, 1);
  g_assert_cmpint(jint(live, "failures"), ==, 0);
  char *new_copy = copy_name(r2);
  g_assert_true(mapped(new_copy));
  if (!UNDER_ASAN) {
    g_assert_false(mapped(old_copy));
    char *file = g_strconcat(state_dir, old_copy, NULL);
    g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
    g_free(file);
  }

  /* SIGHUP: back to v1. */
  stage_fixture(1);
  int64_t g = generation();
  kill(D.pid, SIGHUP);
  g_assert_cmpint(wait_generation_above(g), ==, g + 1);
  t = probe_title();
  g_assert_cmpstr(t, ==, "Miami v1");
  g_free(t);

  /* sidecalctl reload (NOTIFY, heard by every daemon): v2 again. */
  stage_fixture(2);
  const char *rl[] = {"reload", NULL}, *ls[] = {"plugins", NULL};
  char *out = ctl(rl, 0);
  char *want = g_strdup_printf("  generation %lld\n", (long long)g + 2);
  if (!strstr(out, want)) g_error("sidecalctl reload said: %s", out);
  t = probe_title();
  g_assert_cmpstr(t, ==, "Miami v2");
  g_free(t);
  char *list = ctl(ls, 0);
  g_assert_nonnull(strstr(list, "    fixture 0.2.0  ABI 1.3  sha256 "));
  g_free(list);
  g_free(want);
  g_free(out);
  g_free(old_copy);
  g_free(new_copy);
  json_object_put(desc);
  json_object_put(r1);
  json_object_put(r2);
}

static void test_config_error_rejects_whole_reload(void) {
  write_good_conf();
  json_object *before = reload_ok();
  /* A new staff member and an unknown setting: neither may take effect. */
  const char *bad_settings = "{label: Miami, labl: x}";
  char *y = acme_yaml(bad_settings, "  - {slug: zed, name: Zed, locations: [miami]}\n");
  const char *at = strstr(y, "labl");
  int line = 1, col = 1;
  for (const char *c = y; c < at; c++) {
    if (*c == '\n') line++, col = 1;
    else col++;
  }
  write_conf(y);
  struct sc_test_resp r;
  sc_test_http(&D, "POST", "/v1/admin/reload", admin_key, NULL, "{}", &r);
  g_assert_cmpint(r.status, ==, 422);
  char *msg = g_strdup_printf("%s/acme.yaml:%d:%d: locations[0].connectors[0].settings.labl: "
                              "unknown setting; valid keys: label, count, enabled, tags, "
                              "headers, token, fail_create", D.conf_dir, line, col);
  json_object *o = json_tokener_parse(r.body), *e;
  g_assert_true(json_object_object_get_ex(o, "error", &e));
  g_assert_cmpstr(jstr(e, "code"), ==, "validation_failed");
  g_assert_cmpstr(jstr(e, "message"), ==, msg);
  json_object_put(o);
  sc_test_resp_free(&r);
  /* Nothing changed: generation, plugins, the database. */
  g_assert_cmpint(generation(), ==, jint(before, "generation"));
  char *t = probe_title();
  g_assert_cmpstr(t, ==, "Miami v2");
  g_free(t);
  PGconn *c = sc_test_db_connect(&D.db);
  char *n = sc_test_db_value(c, "SELECT count(*) FROM staff WHERE slug = 'zed'");
  g_assert_cmpstr(n, ==, "0");
  g_free(n);
  PQfinish(c);
  char *log = sc_test_daemon_log(&D);
  char *line_txt = g_strdup_printf("event=reload_rejected trigger=http error=\"%s\"", msg);
  g_assert_nonnull(strstr(log, line_txt));
  /* sidecalctl reload reports the rejection (bad input: exit 2). */
  const char *rl[] = {"reload", NULL};
  char *out = ctl(rl, 2);
  char *said = g_strdup_printf("  rejected: %s\n", msg);
  if (!strstr(out, said)) g_error("sidecalctl reload said: %s", out);
  g_free(said);
  g_free(out);
  const char *ls[] = {"plugins", NULL};
  char *list = ctl(ls, 0);
  g_assert_nonnull(strstr(list, "  last reload REJECTED at "));
  g_assert_nonnull(strstr(list, msg));
  g_free(list);
  /* A YAML-level error too (the whole file is refused). */
  write_conf("organization: {slug: acme, name: Acme}\nlocations: [{slug: miami}]\n");
  sc_test_http(&D, "POST", "/v1/admin/reload", admin_key, NULL, "{}", &r);
  g_assert_cmpint(r.status, ==, 422);
  g_assert_nonnull(strstr(r.body, "acme.yaml:2:"));
  sc_test_resp_free(&r);
  g_assert_cmpint(generation(), ==, jint(before, "generation"));
  /* Fixed again: the next reload swaps and clears the rejection. */
  write_good_conf();
  json_object *after = reload_ok();
  g_assert_cmpint(jint(after, "generation"), ==, jint(before, "generation") + 1);
  list = ctl(ls, 0);
  g_assert_null(strstr(list, "REJECTED"));
  g_free(list);
  json_object_put(after);
  g_free(line_txt);
  g_free(log);
  g_free(msg);
  g_free(y);
  json_object_put(before);
}

/* The first reload blocks while config apply reads a secret from a FIFO,
** so the second one provably overlaps it. */
struct bg_reload {
  long status;
  char *body;
};

static gpointer bg_reload_run(gpointer p) {
  struct bg_reload *b = p;
  struct sc_test_resp r;
  sc_test_http(&D, "POST", "/v1/admin/reload", admin_key, NULL, "{}", &r);
  b->status = r.status;
  b->body = g_strdup(r.body);
  sc_test_resp_free(&r);
  return NULL;
}

static void test_409_while_a_reload_runs(void) {
  char *fifo = g_build_filename(P.root, "token.fifo", NULL);
  g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
  char *settings = g_strdup_printf("{label: Miami, count: 2, token: \"file:%s\"}", fifo);
  char *y = acme_yaml(settings, "");
  write_conf(y);
  int64_t g = generation();
  struct bg_reload b = {0};
  GThread *t = g_thread_new("reload", bg_reload_run, &b);
  /* Wait until the daemon has the FIFO open for reading (it blocks there). */
  int fd = -1;
  for (int i = 0; i < 400 && fd < 0; i++) {
    fd = open(fifo, O_WRONLY | O_NONBLOCK);
    if (fd < 0) g_usleep(25 * 1000);
  }
  g_assert_cmpint(fd, >=, 0);
  struct sc_test_resp r;
  sc_test_http(&D, "POST", "/v1/admin/reload", admin_key, NULL, "{}", &r);
  g_assert_cmpint(r.status, ==, 409);
  g_assert_cmpstr(r.body, ==, "{\"error\":{\"code\":\"conflict\",\"message\":\"a reload is "
                              "already running\"}}");
  sc_test_resp_free(&r);
  g_assert_cmpint(write(fd, "fifo-token\n", 11), ==, 11);
  close(fd);
  g_thread_join(t);
  g_assert_cmpint(b.status, ==, 200);
  g_assert_cmpint(generation(), ==, g + 1);
  g_free(b.body);
  write_good_conf();
  json_object_put(reload_ok());
  g_unlink(fifo);
  g_free(fifo);
  g_free(settings);
  g_free(y);
}

/* refresh_credentials rotates "token": the new value is stored encrypted
** and later reads return it, not the conf.d value. */
static void test_rotated_token_stored_encrypted(void) {
  json_object *o = req_json("POST", "/v1/admin/instances/acme.miami.fixture/refresh", admin_key, 200);
  json_object *res;
  g_assert_true(json_object_object_get_ex(o, "result", &res));
  g_assert_cmpint(jint(res, "code"), ==, 0);
  json_object_put(o);
  json_object_put(req_json("POST", "/v1/admin/instances/acme.miami.fixture/refresh", admin_key, 200));
  PGconn *c = sc_test_db_connect(&D.db);
  char *org = sc_test_db_value(c, "SELECT organization_id FROM connector_instances"
                                  " WHERE name = 'acme.miami.fixture'");
  char *id = sc_test_db_value(c, "SELECT id FROM connector_instances WHERE name = 'acme.miami.fixture'");
  char *raw = sc_test_db_value(c, "SELECT position('tok+1'::bytea in ciphertext)"
                                  " FROM connector_secrets WHERE name = 'token'");
  g_assert_cmpstr(raw, ==, "0");  /* not in clear text */
  struct sc_keyring *kr = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_keyring_load(D.keyring, &kr, &err), ==, SC_OK);
  char *value = NULL;
  g_assert_cmpint(sc_secret_get(c, kr, org, id, "token", &value, &err), ==, SC_OK);
  g_assert_cmpstr(value, ==, "tok+1+1");
  /* A reload with the unchanged conf.d value does not undo the rotation. */
  json_object_put(reload_ok());
  free(value);
  g_assert_cmpint(sc_secret_get(c, kr, org, id, "token", &value, &err), ==, SC_OK);
  g_assert_cmpstr(value, ==, "tok+1+1");
  free(value);
  sc_keyring_free(kr);
  g_free(raw);
  g_free(org);
  g_free(id);
  PQfinish(c);
  /* Unknown and failed instances. */
  json_object_put(req_json("POST", "/v1/admin/instances/acme.nowhere.fixture/refresh", admin_key, 404));
  json_object_put(req_json("POST", "/v1/admin/instances/acme.austin.fixture/refresh", admin_key, 409));
  json_object_put(req_json("POST", "/v1/admin/reload", owner_key, 404));
}

static int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* sidecalctl reload reaches every daemon on the database; a stopped daemon
** removes its record. */
static void test_every_daemon_hears_reload(void) {
  struct sc_test_daemon d2;
  sc_test_daemon_share(&D, &d2);
  char *state2 = g_build_filename(P.root, "state2", NULL);
  const char *extra[] = {"--plugin-dir", P.plugins, "--state-dir", state2, NULL};
  sc_test_daemon_start(&d2, extra);
  const char *rl[] = {"reload", NULL}, *ls[] = {"plugins", NULL};
  char *out = ctl(rl, 0);
  g_assert_cmpint(count_of(out, "  generation "), ==, 2);
  char *mine = g_strdup_printf(":%d  generation 2\n", (int)d2.pid);  /* its first reload */
  if (!strstr(out, mine)) g_error("sidecalctl reload said: %s", out);
  char *list = ctl(ls, 0);
  g_assert_cmpint(count_of(list, "daemon "), ==, 2);
  g_free(list);
  g_assert_cmpint(sc_test_daemon_signal_wait(&d2, SIGTERM), ==, 0);
  list = ctl(ls, 0);
  g_assert_cmpint(count_of(list, "daemon "), ==, 1);
  g_free(list);
  sc_test_daemon_cleanup(&d2);
  g_free(mine);
  g_free(out);
  g_free(state2);
}

static void test_health_in_listing(void) {
  PGconn *c = sc_test_db_connect(&D.db);
  g_free(sc_test_db_value(c, "INSERT INTO sync_status (organization_id, instance_id, status,"
                             " error_count, last_error) SELECT organization_id, id,"
                             " 'NEEDS_REAUTH', 3, 'refresh token revoked by the provider'"
                             " FROM connector_instances WHERE name = 'acme.miami.fixture'"));
  const char *ls[] = {"plugins", NULL};
  char *list = ctl(ls, 0);
  g_assert_nonnull(strstr(list, "    acme.miami.fixture (fixture)  running  health NEEDS_REAUTH"
                                "  errors 3  last error: refresh token revoked by the provider\n"));
  g_free(list);
  g_free(sc_test_db_value(c, "DELETE FROM sync_status"));
  PQfinish(c);
}

/* At start-up a settings error stops the daemon (exit 2) before the config
** reaches the database. */
static void test_start_refused_before_apply(void) {
  char *y = acme_yaml("{label: Miami, labl: x}", "");
  const char *files[] = {"acme.yaml", y, NULL};
  struct sc_test_daemon d3;
  sc_test_daemon_init(&d3, files);
  char *bin = sc_test_build_path("core/sidecald");
  char *state3 = g_build_filename(d3.dir, "state", NULL);
  const char *argv[] = {bin, "--config-dir", d3.conf_dir, "--listen", "127.0.0.1:0",
                        "--plugin-dir", P.plugins, "--state-dir", state3, NULL};
  char **envp = g_get_environ();
  envp = g_environ_setenv(envp, "SIDECAL_DATABASE_URL", d3.db.url, TRUE);
  envp = g_environ_setenv(envp, "SIDECAL_MASTER_KEY_FILE", d3.keyring, TRUE);
  char *err_text = NULL;
  int status = -1;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                             &err_text, &status, NULL));
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), ==, 2);
  char *want = g_strdup_printf("sidecald: %s/acme.yaml:10:", d3.conf_dir);
  if (!strstr(err_text, want) || !strstr(err_text, "settings.labl: unknown setting; valid keys:"))
    g_error("stderr: %s", err_text);
  PGconn *c = sc_test_db_connect(&d3.db);
  char *n = sc_test_db_value(c, "SELECT count(*) FROM organizations");
  g_assert_cmpstr(n, ==, "0");
  g_free(n);
  PQfinish(c);
  sc_test_daemon_cleanup(&d3);
  g_strfreev(envp);
  g_free(want);
  g_free(err_text);
  g_free(state3);
  g_free(bin);
  g_free(y);
}

/* ---- under load ------------------------------------------------------- */

struct hammer {
  atomic_int *stop;
  int id;
  long requests, failures;
  char *first_failure;
};

static gpointer hammer_run(gpointer p) {
  struct hammer *h = p;
  while (!atomic_load(h->stop)) {
    struct sc_test_resp r;
    if (h->id % 2)
      sc_test_http(&D, "GET", "/v1/availability?location=miami&event_type=consult"
                              "&from=2027-01-04&to=2027-01-05", owner_key, NULL, NULL, &r);
    else
      sc_test_http(&D, "GET", "/v1/admin/instances/acme.miami.fixture/events"
                              "?from=2027-01-04&to=2027-01-05", admin_key, NULL, NULL, &r);
    h->requests++;
    if (r.status != 200) {
      h->failures++;
      if (!h->first_failure) h->first_failure = g_strdup_printf("%ld %s", r.status, r.body);
    }
    sc_test_resp_free(&r);
  }
  return NULL;
}

static void test_reloads_under_load_zero_failures(void) {
  atomic_int stop = 0;
  struct hammer h[8];
  GThread *t[8];
  for (int i = 0; i < 8; i++) {
    h[i] = (struct hammer){.stop = &stop, .id = i};
    t[i] = g_thread_new("hammer", hammer_run, &h[i]);
  }
  int n = scaled(50);
  int64_t g0 = generation();
  for (int i = 0; i < n; i++) {
    stage_fixture(i % 2 ? 1 : 2);  /* every reload maps a new build and drains the old */
    json_object_put(reload_ok());
  }
  atomic_store(&stop, 1);
  long total = 0, failed = 0;
  for (int i = 0; i < 8; i++) {
    g_thread_join(t[i]);
    total += h[i].requests;
    failed += h[i].failures;
    if (h[i].first_failure) g_test_message("thread %d: %s", i, h[i].first_failure);
    g_free(h[i].first_failure);
  }
  g_test_message("%d reloads, %ld requests, %ld failed", n, total, failed);
  g_assert_cmpint(generation(), ==, g0 + n);
  g_assert_cmpint(failed, ==, 0);
  g_assert_cmpint(total, >, n);
}

static int fd_count(void) {
  char *path = g_strdup_printf("/proc/%d/fd", (int)D.pid);
  GDir *d = g_dir_open(path, 0, NULL);
  g_assert_nonnull(d);
  int n = 0;
  while (g_dir_read_name(d)) n++;
  g_dir_close(d);
  g_free(path);
  return n;
}

static long rss_kb(void) {
  char *path = g_strdup_printf("/proc/%d/status", (int)D.pid), *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  const char *l = strstr(text, "VmRSS:");
  long kb = l ? atol(l + 6) : -1;
  g_free(text);
  g_free(path);
  return kb;
}

static void test_many_reloads_leave_fds_and_rss_flat(void) {
  for (int i = 0; i < 20; i++) {  /* warm-up: pools, caches, allocator arenas */
    stage_fixture(i % 2 ? 1 : 2);
    json_object_put(reload_ok());
  }
  int fd0 = fd_count();
  long rss0 = rss_kb();
  int n = scaled(200);
  for (int i = 0; i < n; i++) {
    stage_fixture(i % 2 ? 1 : 2);
    json_object_put(reload_ok());
  }
  int fd1 = fd_count();
  long rss1 = rss_kb();
  g_test_message("%d reloads: fds %d -> %d, RSS %ld -> %ld kB", n, fd0, fd1, rss0, rss1);
  /* +2: the server may still be closing the last test connection. */
  g_assert_cmpint(fd1, <=, fd0 + 2);
  if (!UNDER_ASAN) g_assert_cmpint(rss1, <=, rss0 + 4096);
  /* The plugin cache holds only the build in use (unloading on). */
  if (!UNDER_ASAN) {
    char *cache = g_build_filename(state_dir, "plugin-cache", NULL);
    GDir *d = g_dir_open(cache, 0, NULL);
    int fixture_copies = 0;
    const char *e;
    while ((e = g_dir_read_name(d))) fixture_copies += g_str_has_prefix(e, "fixture.");
    g_dir_close(d);
    g_assert_cmpint(fixture_copies, ==, 1);
    g_free(cache);
  }
}

int main(int argc, char **argv) {
  /* These daemons test loading and reloading; the sync engine would write
  ** sync_status rows of its own while the tests set them. */
  g_setenv("SIDECAL_SYNC", "off", TRUE);
  g_test_init(&argc, &argv, NULL);
  start_world();
  g_test_add_func("/reload/refusals_visible", test_refusals_visible_after_reload);
  g_test_add_func("/reload/example_connector", test_example_connector_in_daemon);
  g_test_add_func("/reload/writable_plugin_refused", test_writable_plugin_refused);
  g_test_add_func("/reload/v1_to_v2_without_restart", test_v1_to_v2_without_restart);
  g_test_add_func("/reload/config_error_rejects", test_config_error_rejects_whole_reload);
  g_test_add_func("/reload/409_while_running", test_409_while_a_reload_runs);
  g_test_add_func("/reload/rotated_token_encrypted", test_rotated_token_stored_encrypted);
  g_test_add_func("/reload/health_in_listing", test_health_in_listing);
  g_test_add_func("/reload/every_daemon_hears_reload", test_every_daemon_hears_reload);
  g_test_add_func("/reload/start_refused_before_apply", test_start_refused_before_apply);
  g_test_add_func("/reload/under_load_zero_failures", test_reloads_under_load_zero_failures);
  g_test_add_func("/reload/fds_and_rss_flat", test_many_reloads_leave_fds_and_rss_flat);
  int rc = g_test_run();
  stop_world();
  return rc;
}
