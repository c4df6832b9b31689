/* sidecald's life cycle through the real binary: start, serve, drain on
** SIGTERM, and each start-up refusal with its exact message. */
#include <curl/curl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testdaemon.h"

static const char *ORG_YAML =
    "organization: {slug: acme, name: Acme}\n"
    "locations:\n"
    "  - {slug: miami, name: Miami, timezone: America/New_York}\n";

static void test_start_serve_stop(void) {
  const char *files[] = {"acme.yaml", ORG_YAML, NULL};
  struct sc_test_daemon d;
  sc_test_daemon_init(&d, files);
  sc_test_daemon_start(&d, NULL);
  struct sc_test_resp r;
  sc_test_http(&d, "GET", "/health", NULL, NULL, NULL, &r);
  g_assert_cmpint(r.status, ==, 200);
  g_assert_cmpstr(r.body, ==, "{\"status\":\"ok\",\"database\":\"ok\",\"version\":\"0.1.0\"}");
  sc_test_resp_free(&r);
  /* The config was applied to the database. */
  PGconn *c = sc_test_db_connect(&d.db);
  char *v = sc_test_db_value(c, "SELECT string_agg(slug, ',') FROM locations");
  g_assert_cmpstr(v, ==, "miami");
  g_free(v);
  PQfinish(c);
  g_assert_cmpint(sc_test_daemon_signal_wait(&d, SIGTERM), ==, 0);
  char *log = sc_test_daemon_log(&d);
  g_assert_nonnull(strstr(log, "event=stopping signal=SIGTERM"));
  g_assert_nonnull(strstr(log, "event=stopped"));
  g_free(log);
  sc_test_daemon_cleanup(&d);
}

/* A request whose body is still arriving when SIGTERM comes is finished. */
struct slow_body {
  int sent;
  pid_t daemon;
};

static size_t slow_read(char *buf, size_t size, size_t n, void *userdata) {
  struct slow_body *s = userdata;
  (void)size;
  (void)n;
  if (s->sent == 10) return 0;
  if (s->sent == 3) kill(s->daemon, SIGTERM);  /* mid-request */
  g_usleep(100 * 1000);
  buf[0] = 'x';
  s->sent++;
  return 1;
}

static void test_sigterm_drains_in_flight(void) {
  const char *files[] = {"acme.yaml", ORG_YAML, NULL};
  struct sc_test_daemon d;
  sc_test_daemon_init(&d, files);
  sc_test_daemon_start(&d, NULL);
  struct slow_body s = {0, d.pid};
  CURL *c = curl_easy_init();
  char *url = g_strdup_printf("http://127.0.0.1:%d/health", d.port);
  struct curl_slist *h = curl_slist_append(NULL, "Content-Length: 10");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, slow_read);
  curl_easy_setopt(c, CURLOPT_READDATA, &s);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  FILE *sink = fopen("/dev/null", "w");
  curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  fclose(sink);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  g_free(url);
  g_assert_cmpint(rc, ==, CURLE_OK);
  g_assert_cmpint(s.sent, ==, 10);
  g_assert_cmpint(status, ==, 405);  /* the route answered, after the signal */
  /* The daemon exits cleanly after the drained request. */
  int st = 0;
  g_assert_cmpint(waitpid(d.pid, &st, 0), ==, d.pid);
  d.pid = 0;
  g_assert_true(WIFEXITED(st));
  g_assert_cmpint(WEXITSTATUS(st), ==, 0);
  sc_test_daemon_cleanup(&d);
}

/* Runs the daemon expecting it to refuse; returns its log. */
static char *expect_refusal(struct sc_test_daemon *d, int want_status) {
  char *bin = sc_test_build_path("core/sidecald");
  char *argv[] = {bin, "--config-dir", d->conf_dir, "--listen", "127.0.0.1:0", NULL};
  char **envp = g_get_environ();
  envp = g_environ_setenv(envp, "SIDECAL_DATABASE_URL", d->db.url, TRUE);
  envp = g_environ_setenv(envp, "SIDECAL_MASTER_KEY_FILE", d->keyring, TRUE);
  char *err_text = NULL;
  int status = -1;
  g_assert_true(g_spawn_sync(NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                             &err_text, &status, NULL));
  g_strfreev(envp);
  g_free(bin);
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), ==, want_status);
  return err_text;
}

static void test_refuses_newer_schema(void) {
  const char *files[] = {"acme.yaml", ORG_YAML, NULL};
  struct sc_test_daemon d;
  sc_test_daemon_init(&d, files);
  PGconn *c = sc_test_db_connect(&d.db);
  g_free(sc_test_db_value(c, "CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                             " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());"
                             "INSERT INTO schema_migrations VALUES (1, 'schema'), (2, 'a'), (3, 'b'),"
                             " (4, 'c'), (5, 'd'), (6, 'e'), (7, 'f'), (8, 'g'), (9, 'h'), (42, 'future')"));
  PQfinish(c);
  char *log = expect_refusal(&d, 1);
  g_assert_nonnull(strstr(log, "sidecald: database schema is at version 42, newer than this build knows (latest here: "));
  g_assert_nonnull(strstr(log, "upgrade sidecal before using this database\n"));
  g_free(log);
  sc_test_daemon_cleanup(&d);
}

static void test_refuses_privileged_role(void) {
  const char *files[] = {"acme.yaml", ORG_YAML, NULL};
  struct sc_test_daemon d;
  sc_test_daemon_init(&d, files);
  g_setenv("SIDECAL_APP_ROLE", "postgres", TRUE);
  char *log = expect_refusal(&d, 1);
  g_unsetenv("SIDECAL_APP_ROLE");
  g_assert_nonnull(strstr(log, "sidecald: refusing to run as database role \"postgres\": it is a "
                               "superuser; row-level security would not bind it"));
  g_free(log);
  /* Nothing was applied: the refusal comes before the config touches data. */
  PGconn *c = sc_test_db_connect(&d.db);
  char *v = sc_test_db_value(c, "SELECT count(*) FROM organizations");
  g_assert_cmpstr(v, ==, "0");
  g_free(v);
  PQfinish(c);
  sc_test_daemon_cleanup(&d);
}

static void test_refuses_bad_config(void) {
  const char *files[] = {"acme.yaml",
                         "organization: {slug: acme, name: Acme}\n"
                         "locations:\n"
                         "  - {slug: miami, name: Miami, timezone: America/Nwe_York}\n",
                         NULL};
  struct sc_test_daemon d;
  sc_test_daemon_init(&d, files);
  char *log = expect_refusal(&d, 2);
  char *expect = g_strdup_printf("sidecald: %s/acme.yaml:3:42: locations[0].timezone: unknown time zone "
                                 "\"America/Nwe_York\"\n", d.conf_dir);
  g_assert_nonnull(strstr(log, expect));
  g_free(expect);
  g_free(log);
  sc_test_daemon_cleanup(&d);
}

static void test_refuses_missing_keyring(void) {
  const char *files[] = {"acme.yaml", ORG_YAML, NULL};
  struct sc_test_daemon d;
  sc_test_daemon_init(&d, files);
  g_unlink(d.keyring);
  char *log = expect_refusal(&d, 1);
  g_assert_nonnull(strstr(log, d.keyring));
  g_free(log);
  sc_test_daemon_cleanup(&d);
}

/* sidecalctl rotate-master-key against the daemon's database: a new active
** key, every secret re-encrypted under it, and the daemon restarts on it. */
static void test_rotate_master_key(void) {
  const char *files[] = {"acme.yaml",
                         "organization: {slug: acme, name: Acme}\n"
                         "locations:\n"
                         "  - slug: miami\n"
                         "    name: Miami\n"
                         "    timezone: America/New_York\n"
                         "    connectors:\n"
                         "      - plugin: ghl\n"
                         "        settings: {refresh_token: \"env:SC_ROTATE_TOKEN\", client_secret: \"env:SC_ROTATE_SECRET\"}\n",
                         NULL};
  g_setenv("SC_ROTATE_TOKEN", "token-value", TRUE);
  g_setenv("SC_ROTATE_SECRET", "secret-value", TRUE);
  struct sc_test_daemon d;
  sc_test_daemon_init(&d, files);
  sc_test_daemon_start(&d, NULL);
  g_assert_cmpint(sc_test_daemon_signal_wait(&d, SIGTERM), ==, 0);
  PGconn *c = sc_test_db_connect(&d.db);
  char *v = sc_test_db_value(c, "SELECT string_agg(encode(substring(ciphertext from 1 for 5), 'hex'), ',') FROM connector_secrets");
  g_assert_cmpstr(v, ==, "0100000001,0100000001");
  g_free(v);
  const char *args[] = {"rotate-master-key", NULL};
  char *out = NULL;
  g_assert_cmpint(sc_test_ctl(&d, args, &out), ==, 0);
  g_assert_cmpstr(out, ==, "active key k2; 2 secrets re-encrypted\n");
  g_free(out);
  v = sc_test_db_value(c, "SELECT string_agg(encode(substring(ciphertext from 1 for 5), 'hex'), ',') FROM connector_secrets");
  g_assert_cmpstr(v, ==, "0100000002,0100000002");
  g_free(v);
  /* The daemon starts on the rotated keyring and rewrites nothing. */
  sc_test_daemon_start(&d, NULL);
  char *log = sc_test_daemon_log(&d);
  g_assert_nonnull(strstr(log, "secrets_written=0 secrets_unresolved=0"));
  g_free(log);
  g_assert_cmpint(sc_test_daemon_signal_wait(&d, SIGTERM), ==, 0);
  PQfinish(c);
  g_unsetenv("SC_ROTATE_TOKEN");
  g_unsetenv("SC_ROTATE_SECRET");
  sc_test_daemon_cleanup(&d);
}

/* The shipped conf.d/ (the documented reference and the demo) starts with
** the connectors this tree builds: every settings map validates. */
static void test_shipped_config_starts(void) {
  struct sc_test_daemon d;
  sc_test_daemon_init(&d, NULL);
  const char *names[] = {"example.yaml", "sunrise.yaml"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    char *rel = g_build_filename("conf.d", names[i], NULL), *src = sc_test_source_path(rel), *text = NULL;
    g_assert_true(g_file_get_contents(src, &text, NULL, NULL));
    char *dst = g_build_filename(d.conf_dir, names[i], NULL);
    g_assert_true(g_file_set_contents(dst, text, -1, NULL));
    g_free(rel);
    g_free(src);
    g_free(text);
    g_free(dst);
  }
  const char *plugins[] = {"plugins/ghl", "plugins/caldav", "plugins/calcom", "plugins/example"};
  GString *dirs = g_string_new(NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(plugins); i++) {
    char *p = sc_test_build_path(plugins[i]);
    g_string_append_printf(dirs, "%s%s", i ? ":" : "", p);
    g_free(p);
  }
  char *state = g_build_filename(d.dir, "state", NULL);
  const char *extra[] = {"--plugin-dir", dirs->str, "--state-dir", state, NULL};
  g_setenv("SIDECAL_SYNC", "off", TRUE);
  sc_test_daemon_start(&d, extra);
  g_unsetenv("SIDECAL_SYNC");
  char *log = sc_test_daemon_log(&d);
  g_assert_nonnull(strstr(log, "failed_plugins=0"));
  g_assert_null(strstr(log, "unknown setting"));
  g_free(log);
  struct sc_test_resp r;
  sc_test_http(&d, "GET", "/health", NULL, NULL, NULL, &r);
  g_assert_cmpint(r.status, ==, 200);
  sc_test_resp_free(&r);
  g_assert_cmpint(sc_test_daemon_signal_wait(&d, SIGTERM), ==, 0);
  g_string_free(dirs, TRUE);
  g_free(state);
  sc_test_daemon_cleanup(&d);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  g_test_add_func("/daemon/start_serve_stop", test_start_serve_stop);
  g_test_add_func("/daemon/sigterm_drains_in_flight", test_sigterm_drains_in_flight);
  g_test_add_func("/daemon/refuses_newer_schema", test_refuses_newer_schema);
  g_test_add_func("/daemon/refuses_privileged_role", test_refuses_privileged_role);
  g_test_add_func("/daemon/refuses_bad_config", test_refuses_bad_config);
  g_test_add_func("/daemon/refuses_missing_keyring", test_refuses_missing_keyring);
  g_test_add_func("/daemon/rotate_master_key", test_rotate_master_key);
  g_test_add_func("/daemon/shipped_config_starts", test_shipped_config_starts);
  int rc = g_test_run();
  curl_global_cleanup();
  return rc;
}
