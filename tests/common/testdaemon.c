/* The sidecald test harness (see testdaemon.h). */
#include "testdaemon.h"

#include <curl/curl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"

void sc_test_daemon_init(struct sc_test_daemon *d, const char *const *files) {
  memset(d, 0, sizeof *d);
  sc_test_db_create(&d->db);
  d->dir = g_dir_make_tmp("sc-daemon-XXXXXX", NULL);
  d->conf_dir = g_build_filename(d->dir, "conf.d", NULL);
  d->keyring = g_build_filename(d->dir, "master.keyring", NULL);
  d->log_path = g_build_filename(d->dir, "sidecald.log", NULL);
  g_mkdir(d->conf_dir, 0700);
  struct sc_error err;
  if (sc_keyring_create(d->keyring, &err)) g_error("keyring: %s", err.message);
  for (const char *const *f = files; f && f[0]; f += 2) {
    char *p = g_build_filename(d->conf_dir, f[0], NULL);
    g_assert_true(g_file_set_contents(p, f[1], -1, NULL));
    g_free(p);
  }
}

char *sc_test_daemon_log(const struct sc_test_daemon *d) {
  char *text = NULL;
  if (!g_file_get_contents(d->log_path, &text, NULL, NULL)) return g_strdup("");
  return text;
}

static int find_port(const char *log) {
  const char *line = strstr(log, "event=started");
  const char *p = line ? strstr(line, " port=") : NULL;
  return p ? atoi(p + 6) : 0;
}

void sc_test_daemon_start(struct sc_test_daemon *d, const char *const *extra) {
  char *bin = sc_test_build_path("core/sidecald");
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, bin);
  const char *fixed[] = {"--config-dir", d->conf_dir, "--listen", "127.0.0.1:0",
                         "--pool", "4", NULL};
  for (const char *const *a = fixed; *a; a++) g_ptr_array_add(argv, (char *)*a);
  for (const char *const *a = extra; a && *a; a++) g_ptr_array_add(argv, (char *)*a);
  g_ptr_array_add(argv, NULL);
  if (!d->shared) g_unlink(d->log_path);
  pid_t pid = fork();
  if (pid == 0) {
    FILE *log = fopen(d->log_path, "w");
    if (!log) _exit(127);
    /* A crashed test must not leave a daemon behind holding meson's pipes. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fileno(log), 1);
    dup2(fileno(log), 2);
    setenv("SIDECAL_DATABASE_URL", d->db.url, 1);
    setenv("SIDECAL_MASTER_KEY_FILE", d->keyring, 1);
    execv(bin, (char **)argv->pdata);
    _exit(127);
  }
  g_ptr_array_free(argv, TRUE);
  g_free(bin);
  d->pid = pid;
  for (int i = 0; i < 600 && !d->port; i++) {  /* up to 30 s under ASan */
    char *log = sc_test_daemon_log(d);
    d->port = find_port(log);
    int status;
    if (!d->port && waitpid(pid, &status, WNOHANG) == pid) {
      d->pid = 0;
      g_error("sidecald exited during start-up:\n%s", log);
    }
    g_free(log);
    if (!d->port) g_usleep(50 * 1000);
  }
  if (!d->port) g_error("sidecald did not start in time");
}

int sc_test_daemon_signal_wait(struct sc_test_daemon *d, int sig) {
  if (!d->pid) return -1;
  kill(d->pid, sig);
  int status = 0;
  waitpid(d->pid, &status, 0);
  d->pid = 0;
  d->port = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void rm_rf(const char *path) {
  GDir *dir = g_dir_open(path, 0, NULL);
  if (dir) {
    const char *name;
    while ((name = g_dir_read_name(dir))) {
      char *child = g_build_filename(path, name, NULL);
      if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
        rm_rf(child);
      else
        g_unlink(child);
      g_free(child);
    }
    g_dir_close(dir);
  }
  g_rmdir(path);
}

void sc_test_daemon_share(const struct sc_test_daemon *src, struct sc_test_daemon *d) {
  memset(d, 0, sizeof *d);
  d->shared = 1;
  d->db.name = g_strdup(src->db.name);
  d->db.url = g_strdup(src->db.url);
  d->dir = g_strdup(src->dir);
  d->conf_dir = g_strdup(src->conf_dir);
  d->keyring = g_strdup(src->keyring);
  d->log_path = g_strdup_printf("%s/sidecald-2.log", src->dir);
}

void sc_test_daemon_cleanup(struct sc_test_daemon *d) {
  if (d->pid) sc_test_daemon_signal_wait(d, SIGKILL);
  if (d->shared) {
    g_free(d->db.name);
    g_free(d->db.url);
    g_free(d->dir);
    g_free(d->conf_dir);
    g_free(d->keyring);
    g_free(d->log_path);
    memset(d, 0, sizeof *d);
    return;
  }
  sc_test_db_drop(&d->db);
  if (d->dir) rm_rf(d->dir);
  g_free(d->dir);
  g_free(d->conf_dir);
  g_free(d->keyring);
  g_free(d->log_path);
  memset(d, 0, sizeof *d);
}

static size_t collect(char *ptr, size_t size, size_t n, void *userdata) {
  g_string_append_len(userdata, ptr, (gssize)(size * n));
  return size * n;
}

static void http_full(const struct sc_test_daemon *d, const char *method, const char *path,
                      const char *key, const char *content_type, const char *header,
                      const char *body, struct sc_test_resp *resp) {
  CURL *c = curl_easy_init();
  GString *out = g_string_new(NULL), *hdr = g_string_new(NULL);
  char *url = g_strdup_printf("http://127.0.0.1:%d%s", d->port, path);
  struct curl_slist *h = NULL;
  char *auth = key ? g_strdup_printf("Authorization: Bearer %s", key) : NULL;
  char *ct = g_strdup_printf("Content-Type: %s", content_type ? content_type : "application/json");
  if (auth) h = curl_slist_append(h, auth);
  if (body) h = curl_slist_append(h, ct);
  if (header) h = curl_slist_append(h, header);
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, hdr);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  CURLcode rc = curl_easy_perform(c);
  resp->status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
  resp->body = g_string_free(out, FALSE);
  resp->headers = g_string_free(hdr, FALSE);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  g_free(url);
  g_free(auth);
  g_free(ct);
}

void sc_test_http(const struct sc_test_daemon *d, const char *method, const char *path,
                  const char *key, const char *content_type, const char *body,
                  struct sc_test_resp *resp) {
  http_full(d, method, path, key, content_type, NULL, body, resp);
}

void sc_test_http_hdr(const struct sc_test_daemon *d, const char *method, const char *path,
                      const char *key, const char *header, const char *body,
                      struct sc_test_resp *resp) {
  http_full(d, method, path, key, NULL, header, body, resp);
}

void sc_test_resp_free(struct sc_test_resp *resp) {
  g_free(resp->body);
  g_free(resp->headers);
  resp->body = resp->headers = NULL;
}

int sc_test_ctl(const struct sc_test_daemon *d, const char *const *args, char **out) {
  char *bin = sc_test_build_path("core/sidecalctl");
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, bin);
  for (const char *const *a = args; *a; a++) g_ptr_array_add(argv, (char *)*a);
  g_ptr_array_add(argv, NULL);
  char **envp = g_get_environ();
  envp = g_environ_setenv(envp, "SIDECAL_DATABASE_URL", d->db.url, TRUE);
  envp = g_environ_setenv(envp, "SIDECAL_MASTER_KEY_FILE", d->keyring, TRUE);
  int status = -1;
  char *stdout_text = NULL;
  GError *gerr = NULL;
  if (!g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
                    &stdout_text, NULL, &status, &gerr))
    g_error("spawn sidecalctl: %s", gerr->message);
  g_strfreev(envp);
  g_ptr_array_free(argv, TRUE);
  g_free(bin);
  if (out) *out = stdout_text;
  else g_free(stdout_text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
