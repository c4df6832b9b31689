/*
** Crash tests of the sync engine: a child process (this binary re-run with
** --child) serves the webhook routes and runs the engine on the test's
** database, the way sidecald will once it loads connectors, and is killed
** with SIGKILL at random points:
** - a burst of 1,000 webhook deliveries from 8 clients (SIDECAL_TEST_SCALE
**   shrinks it under sanitizers) with three kills and restarts per seed,
**   three seeds: every delivery ends acknowledged and applied exactly once;
** - a kill after the provider took a create but before its answer was
**   recorded: after restart (lease lapsed) the push completes once, by
**   finding the event by its marker, with no duplicate at the provider.
*/
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "http.h"
#include "metrics.h"
#include "plugin_fixtures.h"
#include "routes.h"
#include "sync_engine.h"
#include "sync_fixture.h"
#include "testdaemon.h"

/* ---- the child: a minimal daemon ---------------------------------------- */

static int env_read(void *ud, const char *instance, const char *key, const char *ref,
                    char **value, struct sc_error *err) {
  (void)ud, (void)instance, (void)key;
  const char *v = ref && !strncmp(ref, "env:", 4) ? getenv(ref + 4) : NULL;
  if (!v) return sc_error_set(err, SC_EINVAL, NULL, "unset %s", ref ? ref : "(none)");
  *value = strdup(v);
  return SC_OK;
}
static int env_store(void *ud, const char *instance, const char *key, const char *value,
                     struct sc_error *err) {
  (void)ud, (void)instance, (void)key, (void)value, (void)err;
  return SC_OK;
}
static const struct sc_plugin_secrets env_secrets = {env_read, env_store, NULL};

static void cfg_free(void *p) {
  sc_config_free(p);
  free(p);
}

/* argv: --child URL CONF_DIR PLUGIN_DIR CACHE_DIR LEASE_MS. Prints the port,
** then serves until killed. */
static _Noreturn void child_main(char **argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  /* never outlive a failed test */
  if (getppid() == 1) _exit(1);
  struct sc_error err;
  struct sc_config *cfg = calloc(1, sizeof *cfg);
  if (sc_config_load_dir(argv[3], cfg, &err)) g_error("child config: %s", err.message);
  struct sc_registry *reg = sc_registry_new(NULL);
  struct sc_registry_source src = {.plugin_dirs = argv[4], .cache_dir = argv[5], .config = cfg,
                                   .config_owner = cfg, .config_free = cfg_free,
                                   .secrets = &env_secrets};
  if (sc_registry_reload(reg, &src, &err)) g_error("child registry: %s", err.message);
  sc_metrics_init();
  static struct sc_app app;
  if (sc_db_pool_open(argv[2], 8, &app.pool, &err)) g_error("child pool: %s", err.message);
  app.registry = reg;
  struct sc_http_config hc = {.listen = "127.0.0.1:0", .threads = 4, .routes = sc_routes, .app = &app};
  struct sc_http_server *srv;
  if (sc_http_start(&hc, &srv, &err)) g_error("child http: %s", err.message);
  struct sc_sync_engine_options o = {.poll_ms = 20, .sched.interval_ms = 3600000,
                                     .outbox.lease_ms = atoll(argv[6]), .outbox.workers = 2};
  if (sc_sync_engine_start(app.pool, reg, &o, &app.sync, &err)) g_error("child engine: %s", err.message);
  printf("%d\n", sc_http_port(srv));
  fflush(stdout);
  for (;;) pause();
}

/* ---- the parent ------------------------------------------------------------ */

struct child {
  GPid pid;
  int port;
};

static void spawn(struct fx *f, const char *lease_ms, struct child *c) {
  char *self = g_file_read_link("/proc/self/exe", NULL);
  char *conf = g_build_filename(f->dir, "conf", NULL);
  const char *argv[] = {self, "--child", f->db.url, conf, f->pd.plugins, f->pd.cache, lease_ms, NULL};
  int out_fd;
  GError *e = NULL;
  if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &c->pid, NULL, &out_fd, NULL, &e))
    g_error("spawn child: %s", e->message);
  FILE *in = fdopen(out_fd, "r");
  if (fscanf(in, "%d", &c->port) != 1) g_error("child did not report its port");
  fclose(in);
  g_free(conf);
  g_free(self);
}

static void kill_child(struct child *c) {
  kill(c->pid, SIGKILL);
  int st;
  waitpid(c->pid, &st, 0);
  g_spawn_close_pid(c->pid);
  c->pid = 0;
}

static double scale(void) {
  const char *s = getenv("SIDECAL_TEST_SCALE");
  double v = s ? atof(s) : 1.0;
  return v > 0 && v <= 1 ? v : 1.0;
}

struct burst {
  struct fx *f;
  volatile int *port;  /* current child's port; 0 while restarting */
  int from, to;
};

static char *event_body(int i) {
  return g_strdup_printf("{\"changes\": [{\"op\": \"upsert\", \"id\": \"k%d\", \"start\": %d,"
                         " \"end\": %d, \"title\": \"Kill %d\", \"status\": 1}]}",
                         i, 1798000000 + i * 3600, 1798000000 + i * 3600 + 1800, i);
}

/* Each delivery is retried until acknowledged, as a provider would. */
static void *client(void *p) {
  struct burst *b = p;
  for (int i = b->from; i < b->to; i++) {
    char *body = event_body(i);
    for (int tries = 0;; tries++) {
      int port = __atomic_load_n(b->port, __ATOMIC_ACQUIRE);
      if (port) {
        struct sc_test_daemon d = {.port = port};
        struct sc_test_resp r;
        sc_test_http_hdr(&d, "POST", "/v1/webhooks/scripted/acme.miami.scripted", NULL,
                         "X-Test-Signature: s3cret", body, &r);
        long st = r.status;
        sc_test_resp_free(&r);
        if (st == 200) break;
      }
      if (tries > 2000) g_error("delivery %d never acknowledged", i);
      g_usleep(5000);
    }
    g_free(body);
  }
  return NULL;
}

static void await_q(struct fx *f, const char *sql, const char *want, int seconds) {
  char *v = NULL;
  for (int i = 0; i < seconds * 20; i++) {
    g_free(v);
    v = q(f, sql);
    if (!g_strcmp0(v, want)) break;
    g_usleep(50000);
  }
  g_assert_cmpstr(v, ==, want);
  g_free(v);
}

static void burst_with_kills(gconstpointer seed_p) {
  guint32 seed = GPOINTER_TO_UINT(seed_p);
  GRand *rnd = g_rand_new_with_seed(seed);
  struct fx f;
  fx_init(&f);
  int n = (int)(1000 * scale());
  enum { C = 8 };
  struct child ch;
  spawn(&f, "2000", &ch);
  /* The deliveries name events the scripted provider does not list, so a
  ** full sync would rightly sweep them as deleted there. Let the initial
  ** sync finish first: a kill inside it makes the next daemon run it again
  ** in the middle of the burst. */
  await_q(&f, "SELECT count(*) FROM sync_leases WHERE initial_sync_at IS NOT NULL", "1", 30);
  volatile int port = ch.port;
  pthread_t t[C];
  struct burst b[C];
  for (int i = 0; i < C; i++) {
    b[i] = (struct burst){&f, &port, n * i / C, n * (i + 1) / C};
    pthread_create(&t[i], NULL, client, &b[i]);
  }
  int stored_at_kill[3];
  for (int k = 0; k < 3; k++) {
    /* Intake takes 1,000 deliveries in well under a second: kill early. */
    g_usleep((gulong)g_rand_int_range(rnd, 5000, 60000));
    __atomic_store_n(&port, 0, __ATOMIC_RELEASE);
    kill_child(&ch);
    char *v = q(&f, "SELECT count(*) FROM sync_inbox");
    stored_at_kill[k] = atoi(v);
    g_free(v);
    spawn(&f, "2000", &ch);
    __atomic_store_n(&port, ch.port, __ATOMIC_RELEASE);
  }
  for (int i = 0; i < C; i++) pthread_join(t[i], NULL);
  g_test_message("seed %u: deliveries stored at the kills: %d, %d, %d of %d", seed,
                 stored_at_kill[0], stored_at_kill[1], stored_at_kill[2], n);
  /* The kills fell inside the burst, not after it. */
  g_assert_cmpint(stored_at_kill[0], <, n);
  char *want = g_strdup_printf("%d %d", n, n);
  await_q(&f, "SELECT count(*) || ' ' || count(processed_at) FROM sync_inbox", want, 120);
  g_free(want);
  want = g_strdup_printf("%d", n);
  assert_q(&f, "SELECT count(*) FROM appointments", want);
  assert_q(&f, "SELECT count(DISTINCT external_id) FROM appointment_links", want);
  assert_q(&f, "SELECT count(*) FROM appointments WHERE status = 'CANCELLED'", "0");
  assert_q(&f, "SELECT count(*) FROM sync_inbox WHERE attempts <> 1 OR error IS NOT NULL", "0");
  g_free(want);
  kill_child(&ch);
  g_rand_free(rnd);
  fx_free(&f);
}

static void test_kill_between_write_and_record(void) {
  struct fx f;
  fx_init(&f);
  control(&f, "{\"create\": [\"hang_after_write:60000\"]}");
  struct child ch;
  spawn(&f, "4000", &ch);
  /* A listing that ran after the hung create wrote the event would rightly
  ** adopt it as the link by its marker; the kill must find none, so the
  ** initial sync comes first (the next one is minutes away). */
  await_q(&f, "SELECT count(*) FROM sync_leases WHERE initial_sync_at IS NOT NULL", "1", 30);
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  for (int i = 0; i < 400 && calls(&f, "create") < 1; i++) g_usleep(25000);
  g_assert_cmpint(calls(&f, "create"), ==, 1);
  g_assert_cmpint(live_events(&f), ==, 1);  /* the provider has it */
  kill_child(&ch);
  assert_q(&f, "SELECT state || ' ' || attempts FROM sync_jobs", "running 1");
  assert_q(&f, "SELECT count(*) FROM appointment_links", "0");
  spawn(&f, "4000", &ch);
  await_q(&f, "SELECT state || ' ' || attempts FROM sync_jobs", "done 2", 30);
  g_assert_cmpint(live_events(&f), ==, 1);
  g_assert_cmpint(calls(&f, "create"), ==, 1);
  char *ext = q(&f, "SELECT external_id FROM appointment_links");
  char *marker = event_field(&f, ext, "marker");
  char *want = g_strdup_printf("sidecal:%s", id);
  g_assert_cmpstr(marker, ==, want);
  kill_child(&ch);
  g_free(want), g_free(marker), g_free(ext), g_free(id);
  fx_free(&f);
}

int main(int argc, char **argv) {
  if (argc == 7 && !strcmp(argv[1], "--child")) child_main(argv);
  g_test_init(&argc, &argv, NULL);
  g_test_add_data_func("/sync_crash/burst_with_kills/seed1", GUINT_TO_POINTER(1), burst_with_kills);
  g_test_add_data_func("/sync_crash/burst_with_kills/seed2", GUINT_TO_POINTER(2), burst_with_kills);
  g_test_add_data_func("/sync_crash/burst_with_kills/seed3", GUINT_TO_POINTER(3), burst_with_kills);
  g_test_add_func("/sync_crash/kill_between_write_and_record", test_kill_between_write_and_record);
  return g_test_run();
}
