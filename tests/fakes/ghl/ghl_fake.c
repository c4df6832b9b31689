/* Starting, driving and stopping the GHL fake from C tests (ghl_fake.h). */
#include "ghl_fake.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct ghl_fake *ghl_fake_start(void) {
  const char *src = g_getenv("SIDECAL_SOURCE_ROOT");
  g_assert_nonnull(src);
  struct ghl_fake *f = g_new0(struct ghl_fake, 1);
  f->keydir = g_dir_make_tmp("sidecal-ghl-fake-XXXXXX", NULL);
  g_assert_nonnull(f->keydir);
  gchar *script = g_build_filename(src, "tests", "fakes", "ghl", "fake_ghl.py", NULL);
  gchar *argv[] = {"python3", script, "--keydir", f->keydir, NULL};
  int out_fd = -1;
  GError *error = NULL;
  gboolean ok = g_spawn_async_with_pipes(NULL, argv, NULL,
                                         G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                         NULL, &f->pid, &f->stdin_fd, &out_fd, NULL, &error);
  g_assert_no_error(error);
  g_assert_true(ok);
  g_free(script);
  FILE *out = fdopen(out_fd, "r");
  char line[4096];
  g_assert_nonnull(fgets(line, sizeof line, out));
  fclose(out);
  json_object *o = json_tokener_parse(line), *v;
  g_assert_nonnull(o);
  g_assert_true(json_object_object_get_ex(o, "port", &v));
  f->port = json_object_get_int(v);
  g_assert_true(json_object_object_get_ex(o, "public_key", &v));
  f->public_key_path = g_strdup(json_object_get_string(v));
  json_object_put(o);
  f->base_url = g_strdup_printf("http://127.0.0.1:%d", f->port);
  return f;
}

static void rm_dir(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  const char *e;
  while (d && (e = g_dir_read_name(d))) {
    gchar *p = g_build_filename(path, e, NULL);
    unlink(p);
    g_free(p);
  }
  if (d) g_dir_close(d);
  rmdir(path);
}

void ghl_fake_stop(struct ghl_fake *f) {
  if (!f) return;
  close(f->stdin_fd);
  int status = 0;
  for (int i = 0; i < 100 && waitpid(f->pid, &status, WNOHANG) == 0; i++) g_usleep(50000);
  if (waitpid(f->pid, &status, WNOHANG) == 0) {
    kill(f->pid, SIGTERM);
    waitpid(f->pid, &status, 0);
  }
  g_spawn_close_pid(f->pid);
  rm_dir(f->keydir);
  g_free(f->keydir);
  g_free(f->public_key_path);
  g_free(f->base_url);
  g_free(f);
}

long ghl_fake_raw(struct ghl_fake *f, const char *method, const char *path,
                  const char *const *headers, const char *body, struct sc_http_response *resp) {
  struct sc_http_header h[16];
  size_t n = 0;
  for (size_t i = 0; headers && headers[i] && n < 16; i += 2, n++)
    h[n] = (struct sc_http_header){headers[i], headers[i + 1]};
  gchar *url = g_strconcat(f->base_url, path, NULL);
  struct sc_http_request req = {.method = method, .url = url, .headers = h, .n_headers = n,
                                .body = body, .body_len = body ? strlen(body) : 0,
                                .timeout_ms = 20000};
  struct sc_error err;
  int rc = sc_http_request(&req, resp, &err);
  if (rc) g_error("fake request %s %s failed: %s", method, path, err.message);
  g_free(url);
  return resp->status;
}

json_object *ghl_fake_control(struct ghl_fake *f, const char *method, const char *path,
                              const char *body) {
  struct sc_http_response resp;
  long status = ghl_fake_raw(f, method, path, NULL, body, &resp);
  if (status != 200) g_error("fake control %s %s: %ld %s", method, path, status, resp.body);
  json_object *o = json_tokener_parse(resp.body);
  g_assert_nonnull(o);
  sc_http_response_free(&resp);
  return o;
}

void ghl_fake_do(struct ghl_fake *f, const char *path, const char *body) {
  json_object_put(ghl_fake_control(f, "POST", path, body));
}

char *ghl_fake_token(struct ghl_fake *f) {
  json_object *o = ghl_fake_control(f, "POST", "/_fake/token", "{}"), *v;
  g_assert_true(json_object_object_get_ex(o, "access_token", &v));
  char *t = g_strdup(json_object_get_string(v));
  json_object_put(o);
  return t;
}

int ghl_fake_max_in_window(struct ghl_fake *f, int64_t window_ms, int *total) {
  json_object *log = ghl_fake_control(f, "GET", "/_fake/requests", NULL);
  size_t n = json_object_array_length(log);
  int max = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *v;
    json_object_object_get_ex(json_object_array_get_idx(log, i), "t_ms", &v);
    int64_t t0 = json_object_get_int64(v);
    int in = 0;
    for (size_t k = 0; k < n; k++) {
      json_object_object_get_ex(json_object_array_get_idx(log, k), "t_ms", &v);
      int64_t t = json_object_get_int64(v);
      if (t >= t0 && t < t0 + window_ms) in++;
    }
    if (in > max) max = in;
  }
  if (total) *total = (int)n;
  json_object_put(log);
  return max;
}

int ghl_fake_count(struct ghl_fake *f, const char *prefix) {
  json_object *log = ghl_fake_control(f, "GET", "/_fake/requests", NULL), *m, *p;
  int count = 0;
  for (size_t i = 0; i < json_object_array_length(log); i++) {
    json_object *r = json_object_array_get_idx(log, i);
    json_object_object_get_ex(r, "method", &m);
    json_object_object_get_ex(r, "path", &p);
    gchar *key = g_strdup_printf("%s %s", json_object_get_string(m), json_object_get_string(p));
    if (g_str_has_prefix(key, prefix)) count++;
    g_free(key);
  }
  json_object_put(log);
  return count;
}
