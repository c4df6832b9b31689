/*
** Tests for core/registry.c: generations built off to the side and swapped
** while threads call into instances, failed plugins and instances recorded
** without blocking the swap, config errors changing nothing, v1 -> v2 of a
** rebuilt plugin at the same path, draining, unloading, and 200 reloads
** leaving file descriptors and memory flat.
*/
#include <dlfcn.h>
#include <glib.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_fixtures.h"
#include "plugin_test.h"
#include "registry.h"

/* ---- hand-built conf.d ---------------------------------------------- */

struct conn_spec {
  const char *plugin;
  const char *settings_json;
};

static void config_free(void *p) {
  struct sc_config *cfg = p;
  for (size_t o = 0; o < cfg->n_orgs; o++) {
    struct sc_conf_org *org = &cfg->orgs[o];
    for (size_t l = 0; l < org->n_locations; l++) {
      struct sc_conf_location *loc = &org->locations[l];
      for (size_t k = 0; k < loc->n_connectors; k++) {
        struct sc_conf_connector *c = malloc(sizeof *c);
        *c = loc->connectors[k];
        pt_connector_free(c);
      }
      free(loc->connectors);
      free(loc->slug);
    }
    free(org->locations);
    free(org->slug);
    free(org->file);
  }
  free(cfg->orgs);
  free(cfg);
}

/* One organization "acme" with one location "miami" holding the connectors. */
static struct sc_config *make_config(const struct conn_spec *specs, size_t n) {
  struct sc_config *cfg = calloc(1, sizeof *cfg);
  cfg->orgs = calloc(1, sizeof *cfg->orgs);
  cfg->n_orgs = 1;
  struct sc_conf_org *org = &cfg->orgs[0];
  org->file = strdup("conf.d/acme.yaml");
  org->slug = strdup("acme");
  org->locations = calloc(1, sizeof *org->locations);
  org->n_locations = 1;
  struct sc_conf_location *loc = &org->locations[0];
  loc->slug = strdup("miami");
  loc->connectors = calloc(n + 1, sizeof *loc->connectors);
  for (size_t i = 0; i < n; i++) {
    struct sc_conf_connector *c = pt_connector(specs[i].plugin, NULL, specs[i].settings_json,
                                               NULL, NULL, 0);
    loc->connectors[i] = *c;
    free(c);
  }
  loc->n_connectors = n;
  return cfg;
}

static int reload_with(struct sc_registry *reg, const struct pt_dirs *d,
                       const struct conn_spec *specs, size_t n, struct sc_error *err) {
  struct sc_config *cfg = make_config(specs, n);
  struct sc_registry_source src = {
    .plugin_dirs = d->plugins, .cache_dir = d->cache, .config = cfg,
    .config_owner = cfg, .config_free = config_free,
  };
  int rc = sc_registry_reload(reg, &src, err);
  if (rc) config_free(cfg); /* on error the caller keeps the config */
  return rc;
}

static const struct conn_spec one_fixture[] = {{"fixture", "{\"label\": \"x\"}"}};

/* Calls list_events on acme.miami.fixture in the current generation and
** returns the first title (g_free it), or NULL when the call failed. */
static gchar *call_fixture(struct sc_registry *reg) {
  struct sc_generation *g = sc_registry_acquire(reg);
  struct sc_plugin_instance *inst = sc_generation_instance(g, "acme.miami.fixture");
  gchar *title = NULL;
  if (inst) {
    struct pt_sink sink;
    pt_sink_init(&sink);
    struct sc_plugin_call call;
    sc_plugin_call_init(inst, &call, "t", 0);
    struct sidecal_window w = {0, 86400};
    int32_t rc = inst->plugin->desc.list_events(inst->state, &call.ctx, &w, NULL, &sink.sink,
                                                &call.res);
    if (rc == SIDECAL_OK && sink.titles->len == 1)
      title = g_strdup(g_ptr_array_index(sink.titles, 0));
    pt_sink_clear(&sink);
  }
  sc_registry_release(g);
  return title;
}

static void assert_title(struct sc_registry *reg, const char *expected) {
  gchar *t = call_fixture(reg);
  g_assert_cmpstr(t, ==, expected);
  g_free(t);
}

/* ---- tests ---------------------------------------------------------- */

static void test_initial_and_first_reload(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", 0644);
  struct sc_registry *reg = sc_registry_new(NULL);
  struct sc_generation *g0 = sc_registry_acquire(reg);
  g_assert_cmpuint(g0->number, ==, 0);
  g_assert_cmpuint(g0->n_instances, ==, 0);
  sc_registry_release(g0);
  struct sc_error err;
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  g_assert_cmpuint(sc_registry_generation_number(reg), ==, 1);
  assert_title(reg, "x v1");
  struct sc_generation *g = sc_registry_acquire(reg);
  g_assert_cmpuint(g->n_plugins, ==, 1);
  g_assert_cmpstr(g->plugins[0].name, ==, "fixture");
  g_assert_null(g->plugins[0].error);
  g_assert_cmpstr(g->instances[0].name, ==, "acme.miami.fixture");
  g_assert_cmpstr(g->instances[0].inst->location, ==, "miami");
  g_assert_nonnull(g->config);
  sc_registry_release(g);
  sc_registry_free(reg);
  pt_dirs_free(&d);
}

/* before_swap sees the built generation; an error from it rejects the
** reload: nothing swaps, no number is consumed, the caller keeps its config. */
struct hook {
  int calls;
  uint64_t saw_number;
  int saw_instance;
  int fail;
};

static int hook_run(void *ud, const struct sc_generation *next, struct sc_error *err) {
  struct hook *h = ud;
  h->calls++;
  h->saw_number = next->number;
  h->saw_instance = sc_generation_instance(next, "acme.miami.fixture") != NULL;
  if (h->fail) return sc_error_set(err, SC_EDB, NULL, "database apply failed: test");
  return SC_OK;
}

static void test_before_swap_hook(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", 0644);
  struct sc_registry *reg = sc_registry_new(NULL);
  struct sc_error err;
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  pt_stage(&d, "tests/plugins/fixture_v2.so", "fixture", 0644);
  struct hook h = {.fail = 1};
  struct sc_config *cfg = make_config(one_fixture, 1);
  struct sc_registry_source src = {
    .plugin_dirs = d.plugins, .cache_dir = d.cache, .config = cfg, .config_owner = cfg,
    .config_free = config_free, .before_swap = hook_run, .before_swap_ud = &h,
  };
  g_assert_cmpint(sc_registry_reload(reg, &src, &err), ==, SC_EDB);
  g_assert_cmpstr(err.message, ==, "database apply failed: test");
  g_assert_cmpint(h.calls, ==, 1);
  g_assert_cmpuint(h.saw_number, ==, 2);
  g_assert_true(h.saw_instance);
  g_assert_cmpuint(sc_registry_generation_number(reg), ==, 1);
  assert_title(reg, "x v1");
  h.fail = 0;  /* the caller still owns cfg and may retry with it */
  g_assert_cmpint(sc_registry_reload(reg, &src, &err), ==, SC_OK);
  g_assert_cmpint(h.calls, ==, 2);
  g_assert_cmpuint(h.saw_number, ==, 2);
  g_assert_cmpuint(sc_registry_generation_number(reg), ==, 2);
  assert_title(reg, "x v2");
  sc_registry_free(reg);
  pt_dirs_free(&d);
}

static void test_failed_plugin_and_instance_recorded(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", 0644);
  pt_stage(&d, "tests/plugins/wrong_major.so", "wrong_major", 0644);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "other_copy", 0644);
  struct sc_registry *reg = sc_registry_new(NULL);
  struct conn_spec specs[] = {
    {"fixture", "{\"label\": \"x\"}"},
    {"wrong_major", "{\"anything\": 1}"},
  };
  struct sc_error err;
  g_assert_cmpint(reload_with(reg, &d, specs, 2, &err), ==, SC_OK);
  assert_title(reg, "x v1");
  struct sc_generation *g = sc_registry_acquire(reg);
  const struct sc_gen_instance *bad = sc_generation_instance_entry(g, "acme.miami.wrong_major");
  g_assert_nonnull(bad);
  g_assert_null(bad->inst);
  gchar *refusal = g_strdup_printf(
      "%s/wrong_major.so: connector \"wrong_major\" 0.1.0 (ABI 2.3) refused by host (ABI 1.3): "
      "ABI major 2 differs from the host's 1; rebuild it against sidecal-sdk 1", d.plugins);
  gchar *expected = g_strdup_printf("acme.miami.wrong_major: connector \"wrong_major\" did not "
                                    "load: %s", refusal);
  g_assert_cmpstr(bad->error, ==, expected);
  g_assert_cmpstr(g->plugins[1].error, ==, refusal);
  g_assert_null(sc_generation_instance(g, "acme.miami.wrong_major"));

  /* What `sidecalctl plugins` prints. */
  struct sidecal_result res = {.code = SIDECAL_RETRY};
  snprintf(res.message, sizeof res.message, "HTTP 429 from provider");
  sc_plugin_instance_record(sc_generation_instance(g, "acme.miami.fixture"), &res);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  sc_generation_describe(g, f);
  fclose(f);
  gchar *listing = g_strdup_printf(
      "generation 1\nplugins:\n"
      "  fixture 0.1.0  ABI 1.3  sha256 %.16s  %s/fixture.so  [read_events,credential_refresh]\n"
      "  wrong_major  FAILED: %s\n"
      "instances:\n"
      "  acme.miami.fixture (fixture)  retrying  calls 1  failures 1  last error: HTTP 429 "
      "from provider\n"
      "  acme.miami.wrong_major (wrong_major)  FAILED: %s\n",
      g->plugins[0].plugin->sha256, d.plugins, refusal, expected);
  g_assert_cmpstr(buf, ==, listing);
  g_free(listing);
  free(buf);
  sc_registry_release(g);

  /* A plugin whose descriptor name differs from its file name is refused;
  ** the rest swaps in. */
  struct conn_spec specs2[] = {
    {"fixture", "{\"label\": \"y\"}"},
    {"other_copy", "{}"},
  };
  g_assert_cmpint(reload_with(reg, &d, specs2, 2, &err), ==, SC_OK);
  assert_title(reg, "y v1");
  /* An instance whose create fails is recorded; the generation still swaps. */
  struct conn_spec specs3[] = {{"fixture", "{\"label\": \"z\", \"fail_create\": true}"}};
  g_assert_cmpint(reload_with(reg, &d, specs3, 1, &err), ==, SC_OK);
  g = sc_registry_acquire(reg);
  g_assert_cmpuint(g->number, ==, 3);
  g_assert_cmpstr(g->instances[0].error, ==, "acme.miami.fixture: create failed: fail_create is set");
  g_assert_null(g->instances[0].inst);
  sc_registry_release(g);
  g_free(expected);
  g_free(refusal);
  sc_registry_free(reg);
  pt_dirs_free(&d);
}

static void test_config_error_changes_nothing(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", 0644);
  struct sc_registry *reg = sc_registry_new(NULL);
  struct sc_error err;
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  struct conn_spec bad[] = {{"fixture", "{\"label\": \"new\", \"colour\": \"red\"}"}};
  g_assert_cmpint(reload_with(reg, &d, bad, 1, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==,
                  "conf.d/acme.yaml:11:7: locations[0].connectors[0].settings.colour: unknown "
                  "setting; valid keys: label, count, enabled, tags, headers, token, fail_create");
  struct conn_spec twice[] = {{"fixture", "{\"label\": \"a\"}"}, {"fixture", "{\"label\": \"b\"}"}};
  g_assert_cmpint(reload_with(reg, &d, twice, 2, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "conf.d/acme.yaml:8:5: locations[0].connectors[1]: instance "
                                   "name \"acme.miami.fixture\" is used twice");
  g_assert_cmpuint(sc_registry_generation_number(reg), ==, 1);
  assert_title(reg, "x v1");
  /* The failed attempts did not consume generation numbers. */
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  g_assert_cmpuint(sc_registry_generation_number(reg), ==, 2);
  sc_registry_free(reg);
  pt_dirs_free(&d);
}

static void test_v1_to_v2_without_restart(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", 0644);
  struct sc_registry *reg = sc_registry_new(NULL);
  struct sc_error err;
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  assert_title(reg, "x v1");
  struct sc_generation *g = sc_registry_acquire(reg);
  gchar *v1_copy = g_strdup(g->plugins[0].plugin->copy_path);
  sc_registry_release(g);

  /* Rebuilt file at the same path. */
  pt_stage(&d, "tests/plugins/fixture_v2.so", "fixture", 0644);
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  assert_title(reg, "x v2");
  g = sc_registry_acquire(reg);
  g_assert_cmpstr(g->plugins[0].plugin->copy_path, !=, v1_copy);
  g_assert_cmpstr(g->plugins[0].plugin->path, ==, g->plugins[0].plugin->path);
  sc_registry_release(g);

  /* The v1 generation drained inside reload; its copy is unmapped unless
  ** unloading is off (it is under ASan). */
  g_assert_cmpuint(sc_registry_collect(reg, 0), ==, 0);
  if (sc_registry_unload_enabled(reg)) {
    g_assert_null(dlopen(v1_copy, RTLD_NOW | RTLD_NOLOAD));
    g_assert_false(g_file_test(v1_copy, G_FILE_TEST_EXISTS));
  } else
    g_test_message("unloading is off (AddressSanitizer): RTLD_NOLOAD check skipped");

  /* And back. */
  pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", 0644);
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  assert_title(reg, "x v1");
  g_free(v1_copy);
  sc_registry_free(reg);
  pt_dirs_free(&d);
}

static void test_unload_always_even_under_asan(void) {
  /* SC_REGISTRY_UNLOAD_ALWAYS exercises the dlclose path in every build. */
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", 0644);
  struct sc_registry_options opts = {.unload = SC_REGISTRY_UNLOAD_ALWAYS};
  struct sc_registry *reg = sc_registry_new(&opts);
  struct sc_error err;
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  struct sc_generation *g = sc_registry_acquire(reg);
  gchar *v1_copy = g_strdup(g->plugins[0].plugin->copy_path);
  sc_registry_release(g);
  pt_stage(&d, "tests/plugins/fixture_v2.so", "fixture", 0644);
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  g_assert_null(dlopen(v1_copy, RTLD_NOW | RTLD_NOLOAD));
  struct sc_registry_options never = {.unload = SC_REGISTRY_UNLOAD_NEVER};
  struct sc_registry *reg2 = sc_registry_new(&never);
  g_assert_cmpint(sc_registry_unload_enabled(reg2), ==, 0);
  sc_registry_free(reg2);
  g_free(v1_copy);
  sc_registry_free(reg);
  pt_dirs_free(&d);
}

struct reload_job {
  struct sc_registry *reg;
  struct pt_dirs *d;
  int rc;
  struct sc_error err;
};

static gpointer reload_thread(gpointer p) {
  struct reload_job *j = p;
  j->rc = reload_with(j->reg, j->d, one_fixture, 1, &j->err);
  return NULL;
}

static void test_drain_and_concurrent_reload(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", 0644);
  struct sc_registry_options opts = {.drain_timeout_ms = 400};
  struct sc_registry *reg = sc_registry_new(&opts);
  struct sc_error err;
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);

  /* A call in flight on generation 1 holds the reload in its drain wait. */
  struct sc_generation *held = sc_registry_acquire(reg);
  struct reload_job job = {reg, &d, 0, {0}};
  GThread *t = g_thread_new("reload", reload_thread, &job);
  while (sc_registry_generation_number(reg) != 2) g_usleep(1000);
  /* New calls already see generation 2 while the old one drains. */
  assert_title(reg, "x v1");
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_ESTATE);
  g_assert_cmpstr(err.message, ==, "a reload is already running");
  g_assert_cmpint(held->cancel, ==, 0);
  /* The old generation is still whole: its instance still answers. */
  struct sc_plugin_instance *old = sc_generation_instance(held, "acme.miami.fixture");
  g_assert_nonnull(old);
  sc_registry_release(held);
  g_thread_join(t);
  g_assert_cmpint(job.rc, ==, SC_OK);
  g_assert_cmpuint(sc_registry_collect(reg, 0), ==, 0);

  /* Overstaying the deadline: cancel raised, kept until released. */
  held = sc_registry_acquire(reg);
  gint64 t0 = g_get_monotonic_time();
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  g_assert_cmpint(g_get_monotonic_time() - t0, >=, 390000);
  g_assert_cmpint(held->cancel, ==, 1);
  struct sc_plugin_call call;
  sc_plugin_call_init(sc_generation_instance(held, "acme.miami.fixture"), &call, "late", 0);
  g_assert_cmpint(*call.ctx.cancel, ==, 1);
  g_assert_cmpuint(sc_registry_collect(reg, 0), ==, 1);
  sc_registry_release(held);
  g_assert_cmpuint(sc_registry_collect(reg, 0), ==, 0);
  sc_registry_free(reg);
  pt_dirs_free(&d);
}

/* ---- swaps under load ----------------------------------------------- */

struct hammer {
  struct sc_registry *reg;
  atomic_int stop;
  atomic_long calls;
  atomic_long failures;
};

static gpointer hammer_thread(gpointer p) {
  struct hammer *h = p;
  while (!atomic_load(&h->stop)) {
    gchar *t = call_fixture(h->reg);
    if (!t || (strcmp(t, "x v1") && strcmp(t, "x v2"))) atomic_fetch_add(&h->failures, 1);
    atomic_fetch_add(&h->calls, 1);
    g_free(t);
  }
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void test_swaps_under_load(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  pt_stage(&d, "tests/plugins/fixture_v1.so", "fixture", 0644);
  struct sc_registry *reg = sc_registry_new(NULL);
  struct sc_error err;
  g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  struct hammer h = {.reg = reg};
  GThread *threads[8];
  for (int i = 0; i < 8; i++) threads[i] = g_thread_new("hammer", hammer_thread, &h);
  long v2_seen = 0;
  double took[50];
  for (int i = 0; i < 50; i++) {
    pt_stage(&d, i % 2 ? "tests/plugins/fixture_v1.so" : "tests/plugins/fixture_v2.so",
             "fixture", 0644);
    gint64 t0 = g_get_monotonic_time();
    g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
    took[i] = (double)(g_get_monotonic_time() - t0) / 1000.0;
    gchar *t = call_fixture(reg);
    v2_seen += !g_strcmp0(t, "x v2");
    g_assert_cmpstr(t, ==, i % 2 ? "x v1" : "x v2");
    g_free(t);
  }
  atomic_store(&h.stop, 1);
  for (int i = 0; i < 8; i++) g_thread_join(threads[i]);
  qsort(took, 50, sizeof took[0], cmp_double);
  g_test_message("%ld calls during 50 swaps, %ld failed; reload (build + swap + drain) "
                 "median %.2f ms, max %.2f ms", atomic_load(&h.calls),
                 atomic_load(&h.failures), took[25], took[49]);
  g_assert_cmpint(atomic_load(&h.failures), ==, 0);
  g_assert_cmpint(atomic_load(&h.calls), >, 50);
  g_assert_cmpint(v2_seen, ==, 25);
  g_assert_cmpuint(sc_registry_generation_number(reg), ==, 51);
  sc_registry_free(reg);
  pt_dirs_free(&d);
}

static int count_fds(void) {
  GDir *dir = g_dir_open("/proc/self/fd", 0, NULL);
  int n = 0;
  while (g_dir_read_name(dir)) n++;
  g_dir_close(dir);
  return n;
}

static long rss_kb(void) {
  gchar *s = NULL;
  g_assert_true(g_file_get_contents("/proc/self/statm", &s, NULL, NULL));
  long pages = 0, resident = 0;
  g_assert_cmpint(sscanf(s, "%ld %ld", &pages, &resident), ==, 2);
  g_free(s);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_200_reloads_flat(void) {
  struct pt_dirs d;
  pt_dirs_init(&d);
  struct sc_registry *reg = sc_registry_new(NULL);
  struct sc_error err;
  const char *variants[] = {"tests/plugins/fixture_v1.so", "tests/plugins/fixture_v2.so"};
  for (int i = 0; i < 20; i++) { /* warm up: caches, allocator arenas */
    pt_stage(&d, variants[i % 2], "fixture", 0644);
    g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
  }
  int fds = count_fds();
  long rss = rss_kb();
  for (int i = 0; i < 200; i++) {
    pt_stage(&d, variants[i % 2], "fixture", 0644);
    g_assert_cmpint(reload_with(reg, &d, one_fixture, 1, &err), ==, SC_OK);
    assert_title(reg, i % 2 ? "x v2" : "x v1");
  }
  int fds_after = count_fds();
  long rss_after = rss_kb();
  g_test_message("fds %d -> %d, rss %ld kB -> %ld kB", fds, fds_after, rss, rss_after);
  g_assert_cmpint(fds_after, ==, fds);
  if (sc_registry_unload_enabled(reg))
    g_assert_cmpint(rss_after - rss, <, 2048);
  else
    g_test_message("AddressSanitizer build: RSS not compared (quarantine); LSan checks leaks");
  sc_registry_free(reg);
  pt_dirs_free(&d);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/registry/first_reload", test_initial_and_first_reload);
  g_test_add_func("/registry/before_swap_hook", test_before_swap_hook);
  g_test_add_func("/registry/failed_recorded", test_failed_plugin_and_instance_recorded);
  g_test_add_func("/registry/config_error_changes_nothing", test_config_error_changes_nothing);
  g_test_add_func("/registry/v1_to_v2", test_v1_to_v2_without_restart);
  g_test_add_func("/registry/unload_always", test_unload_always_even_under_asan);
  g_test_add_func("/registry/drain_and_concurrent_reload", test_drain_and_concurrent_reload);
  g_test_add_func("/registry/swaps_under_load", test_swaps_under_load);
  g_test_add_func("/registry/200_reloads_flat", test_200_reloads_flat);
  return g_test_run();
}
