/* Benchmark: hot reload of connector plugins in the real sidecald, under
** load. Each reload maps a different build of the fixture connector (v1 and
** v2 alternate), so every one loads, swaps and drains for real.
**
** Prints:
**   - reload latency, POST /v1/admin/reload round trip (it answers once the
**     new generation serves), median and max;
**   - reload latency, SIGHUP sent -> GET /v1/admin/plugins shows the new
**     generation, median and max;
**   - the daemon's own total_ms for the POSTed reloads;
**   - request latency p50/p99/max and failures for the clients hammering
**     GET /v1/availability and the list_events probe during the reloads.
** Needs SIDECAL_TEST_PG_URL (scripts/pg url) and a built tree; never run by
** the test suite.
** Usage: build/bench/bench_reload [RELOADS_PER_KIND] [CLIENT_THREADS] [INSTANCES] */
#include <curl/curl.h>
#include <glib.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_test.h"
#include "testdaemon.h"

static struct sc_test_daemon D;
static struct pt_dirs P;
static char *admin_key, *owner_key;

/* ---- one keep-alive HTTP client ------------------------------------- */

struct client {
  CURL *c;
  struct curl_slist *h;
  GString *body;
};

static size_t collect(char *p, size_t s, size_t n, void *u) {
  g_string_append_len(u, p, (gssize)(s * n));
  return s * n;
}

static void client_init(struct client *cl, const char *key) {
  cl->c = curl_easy_init();
  cl->body = g_string_new(NULL);
  char *authz = g_strdup_printf("Authorization: Bearer %s", key);
  cl->h = curl_slist_append(NULL, authz);
  cl->h = curl_slist_append(cl->h, "Expect:");
  g_free(authz);
  curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, cl->h);
  curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, cl->body);
  curl_easy_setopt(cl->c, CURLOPT_TIMEOUT, 30L);
}

static long client_do(struct client *cl, const char *method, const char *path) {
  char url[512];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", D.port, path);
  g_string_truncate(cl->body, 0);
  curl_easy_setopt(cl->c, CURLOPT_URL, url);
  curl_easy_setopt(cl->c, CURLOPT_CUSTOMREQUEST, method);
  if (!strcmp(method, "POST")) curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, "{}");
  else curl_easy_setopt(cl->c, CURLOPT_HTTPGET, 1L);
  long status = 0;
  if (curl_easy_perform(cl->c) == CURLE_OK)
    curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

static void client_free(struct client *cl) {
  curl_slist_free_all(cl->h);
  curl_easy_cleanup(cl->c);
  g_string_free(cl->body, TRUE);
}

static int64_t json_int(const char *body, const char *k1, const char *k2, double *dbl) {
  json_object *o = json_tokener_parse(body), *v = NULL, *w = NULL;
  int64_t n = -1;
  if (o && json_object_object_get_ex(o, k1, &v)) {
    if (k2 && json_object_object_get_ex(v, k2, &w)) v = w;
    else if (k2) v = NULL;
    if (v) {
      n = json_object_get_int64(v);
      if (dbl) *dbl = json_object_get_double(v);
    }
  }
  json_object_put(o);
  return n;
}

/* ---- load ------------------------------------------------------------ */

/* Phase 0: reloads by POST (one HTTP worker thread busy with each reload);
** phase 1: reloads by SIGHUP (no HTTP thread involved). */
static atomic_int load_phase;

struct loader {
  int id;
  atomic_int *stop;
  GArray *lat[2];  /* double ms, per phase */
  long failures;
};

static gpointer loader_run(gpointer p) {
  struct loader *l = p;
  struct client cl;
  client_init(&cl, l->id % 2 ? owner_key : admin_key);
  while (!atomic_load(l->stop)) {
    gint64 t0 = g_get_monotonic_time();
    long st = l->id % 2
        ? client_do(&cl, "GET", "/v1/availability?location=loc0&event_type=consult"
                                "&from=2027-01-04&to=2027-01-05")
        : client_do(&cl, "GET", "/v1/admin/instances/acme.loc0.fixture/events"
                                "?from=2027-01-04&to=2027-01-05");
    double ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    g_array_append_val(l->lat[atomic_load(&load_phase)], ms);
    if (st != 200) l->failures++;
  }
  client_free(&cl);
  return NULL;
}

/* ---- set-up ---------------------------------------------------------- */

static char *conf(int instances) {
  GString *s = g_string_new("organization: {slug: acme, name: Acme}\nlocations:\n");
  for (int i = 0; i < instances; i++)
    g_string_append_printf(s,
        "  - slug: loc%d\n    name: Location %d\n    timezone: America/New_York\n"
        "    rules:\n      - {day_of_week: [1, 2, 3, 4, 5], start: \"09:00\", end: \"17:00\"}\n"
        "    connectors:\n      - plugin: fixture\n        settings: {label: L%d, count: 3}\n",
        i, i, i);
  g_string_append(s, "staff:\n  - {slug: ann, name: Ann, locations: [loc0]}\n"
                     "event_types:\n  - {slug: consult, title: Consultation, duration: 30,"
                     " published: true, staff: [ann]}\n");
  return g_string_free(s, FALSE);
}

static char *make_key(const char *const *args) {
  char *out = NULL;
  if (sc_test_ctl(&D, args, &out) != 0) g_error("sidecalctl key create failed");
  *strchr(out, '\n') = '\0';
  return out;
}

/* The build tree is two levels above this binary (build/bench/bench_reload). */
static void default_build_root(void) {
  if (g_getenv("SIDECAL_BUILD_ROOT")) return;
  char *exe = g_file_read_link("/proc/self/exe", NULL);
  char *bench = g_path_get_dirname(exe), *root = g_path_get_dirname(bench);
  g_setenv("SIDECAL_BUILD_ROOT", root, TRUE);
  g_free(exe);
  g_free(bench);
  g_free(root);
}

static void stage(int i) {
  pt_stage(&P, i % 2 ? "tests/plugins/fixture_v1.so" : "tests/plugins/fixture_v2.so",
           "fixture", 0644);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(GArray *a, double p) {
  if (!a->len) return 0;
  g_array_sort(a, cmp_double);
  size_t i = (size_t)(p * (a->len - 1) + 0.5);
  return g_array_index(a, double, i);
}

static void print_dist(const char *what, GArray *a) {
  printf("%-44s median %7.2f ms  max %7.2f ms  (n=%u)\n", what, pct(a, 0.5), pct(a, 1.0), a->len);
}

int main(int argc, char **argv) {
  int reloads = argc > 1 ? atoi(argv[1]) : 40;
  int threads = argc > 2 ? atoi(argv[2]) : 8;
  int instances = argc > 3 ? atoi(argv[3]) : 8;
  if (reloads < 1 || threads < 1 || threads > 64 || instances < 1 || instances > 500) return 2;
  default_build_root();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pt_dirs_init(&P);
  stage(1);
  char *state = g_build_filename(P.root, "state", NULL), *y = conf(instances);
  const char *files[] = {"acme.yaml", y, NULL};
  sc_test_daemon_init(&D, files);
  const char *extra[] = {"--plugin-dir", P.plugins, "--state-dir", state, NULL};
  sc_test_daemon_start(&D, extra);
  const char *adm[] = {"key", "create", "--platform-admin", NULL};
  const char *own[] = {"key", "create", "--org", "acme", "--role", "agency_owner", NULL};
  admin_key = make_key(adm);
  owner_key = make_key(own);

  atomic_int stop = 0;
  struct loader *ls = calloc((size_t)threads, sizeof *ls);
  GThread **ts = calloc((size_t)threads, sizeof *ts);
  for (int i = 0; i < threads; i++) {
    ls[i] = (struct loader){.id = i, .stop = &stop};
    for (int k = 0; k < 2; k++) ls[i].lat[k] = g_array_new(FALSE, FALSE, sizeof(double));
    ts[i] = g_thread_new("load", loader_run, &ls[i]);
  }
  g_usleep(200 * 1000);

  struct client ad;
  client_init(&ad, admin_key);
  GArray *post = g_array_new(FALSE, FALSE, sizeof(double));
  GArray *hup = g_array_new(FALSE, FALSE, sizeof(double));
  GArray *daemon_total = g_array_new(FALSE, FALSE, sizeof(double));
  static const char *const phases[] = {"read_config", "build", "apply", "apply_pool_wait",
                                       "swap_and_drain"};
  GArray *phase[5];
  for (int k = 0; k < 5; k++) phase[k] = g_array_new(FALSE, FALSE, sizeof(double));
  long reload_failures = 0;
  for (int i = 0; i < reloads; i++) {
    stage(i);
    gint64 t0 = g_get_monotonic_time();
    long st = client_do(&ad, "POST", "/v1/admin/reload");
    double ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    if (st != 200) {
      reload_failures++;
      continue;
    }
    g_array_append_val(post, ms);
    double total = 0;
    json_int(ad.body->str, "timings_ms", "total", &total);
    g_array_append_val(daemon_total, total);
    for (int k = 0; k < 5; k++) {
      double v = 0;
      json_int(ad.body->str, "timings_ms", phases[k], &v);
      g_array_append_val(phase[k], v);
    }
  }
  atomic_store(&load_phase, 1);
  for (int i = 0; i < reloads; i++) {
    stage(i + 1);
    if (client_do(&ad, "GET", "/v1/admin/plugins") != 200) g_error("GET /v1/admin/plugins failed");
    int64_t g = json_int(ad.body->str, "generation", NULL, NULL);
    gint64 t0 = g_get_monotonic_time(), deadline = t0 + 10 * G_USEC_PER_SEC;
    kill(D.pid, SIGHUP);
    int64_t now = g;
    while (now <= g && g_get_monotonic_time() < deadline) {
      if (client_do(&ad, "GET", "/v1/admin/plugins") == 200)
        now = json_int(ad.body->str, "generation", NULL, NULL);
    }
    double ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    if (now > g) g_array_append_val(hup, ms);
    else reload_failures++;
  }
  atomic_store(&stop, 1);
  GArray *all = g_array_new(FALSE, FALSE, sizeof(double));
  GArray *by[2] = {g_array_new(FALSE, FALSE, sizeof(double)), g_array_new(FALSE, FALSE, sizeof(double))};
  long failures = 0;
  for (int i = 0; i < threads; i++) {
    g_thread_join(ts[i]);
    for (int k = 0; k < 2; k++) {
      g_array_append_vals(all, ls[i].lat[k]->data, ls[i].lat[k]->len);
      g_array_append_vals(by[k], ls[i].lat[k]->data, ls[i].lat[k]->len);
      g_array_free(ls[i].lat[k], TRUE);
    }
    failures += ls[i].failures;
  }

  printf("bench_reload: %d instances of the fixture connector, %d client threads, "
         "v1/v2 alternating\n", instances, threads);
  print_dist("reload via POST /v1/admin/reload (client)", post);
  print_dist("reload, daemon-reported total_ms", daemon_total);
  printf("  phases (median ms):");
  for (int k = 0; k < 5; k++) printf(" %s %.2f", phases[k], pct(phase[k], 0.5));
  printf("\n  phases (max ms):   ");
  for (int k = 0; k < 5; k++) printf(" %s %.2f", phases[k], pct(phase[k], 1.0));
  printf("\n");
  print_dist("reload via SIGHUP -> new generation seen", hup);
  const char *names[3] = {"requests during reloads (all)", "  ... while reloading by POST",
                          "  ... while reloading by SIGHUP"};
  GArray *sets[3] = {all, by[0], by[1]};
  for (int k = 0; k < 3; k++)
    printf("%-44s p50 %.2f ms  p99 %.2f ms  max %.2f ms  (n=%u)\n", names[k],
           pct(sets[k], 0.5), pct(sets[k], 0.99), pct(sets[k], 1.0), sets[k]->len);
  printf("failed requests: %ld   failed reloads: %ld\n", failures, reload_failures);

  client_free(&ad);
  g_array_free(post, TRUE);
  g_array_free(hup, TRUE);
  g_array_free(daemon_total, TRUE);
  for (int k = 0; k < 5; k++) g_array_free(phase[k], TRUE);
  g_array_free(all, TRUE);
  g_array_free(by[0], TRUE);
  g_array_free(by[1], TRUE);
  free(ls);
  free(ts);
  sc_test_daemon_signal_wait(&D, SIGTERM);
  sc_test_daemon_cleanup(&D);
  pt_dirs_free(&P);
  g_free(state);
  g_free(y);
  g_free(admin_key);
  g_free(owner_key);
  curl_global_cleanup();
  return failures || reload_failures ? 1 : 0;
}
