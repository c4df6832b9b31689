/*
** Starts and stops a private Radicale server for CalDAV tests.
*/
#include "radicale.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
      !getsockname(fd, (struct sockaddr *)&a, &len))
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

static int accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

static void write_config(const struct rad_server *s, const char *const *users, size_t n) {
  GString *u = g_string_new("");
  for (size_t i = 0; i < n; i++) g_string_append_printf(u, "%s\n", users[i]);
  gchar *users_path = g_build_filename(s->dir, "users", NULL);
  g_assert_true(g_file_set_contents(users_path, u->str, -1, NULL));
  gchar *cols = g_build_filename(s->dir, "collections", NULL);
  gchar *conf = g_strdup_printf(
      "[server]\nhosts = 127.0.0.1:%d\n"
      "[auth]\ntype = htpasswd\nhtpasswd_filename = %s\nhtpasswd_encryption = plain\n"
      "delay = 0\n"
      "[rights]\ntype = owner_only\n"
      "[storage]\nfilesystem_folder = %s\n"
      "[web]\ntype = none\n"
      "[logging]\nlevel = warning\nmask_passwords = True\n",
      s->port, users_path, cols);
  gchar *conf_path = g_build_filename(s->dir, "config", NULL);
  g_assert_true(g_file_set_contents(conf_path, conf, -1, NULL));
  g_free(conf_path);
  g_free(conf);
  g_free(cols);
  g_free(users_path);
  g_string_free(u, TRUE);
}

static void rm_rf(const char *path) {
  GDir *d = g_dir_open(path, 0, NULL);
  if (d) {
    const char *e;
    while ((e = g_dir_read_name(d))) {
      gchar *p = g_build_filename(path, e, NULL);
      rm_rf(p);
      g_free(p);
    }
    g_dir_close(d);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

static void read_log(const struct rad_server *s, char *why, size_t why_size, const char *what) {
  gchar *log_path = g_build_filename(s->dir, "log", NULL);
  gchar *log = NULL;
  g_file_get_contents(log_path, &log, NULL, NULL);
  snprintf(why, why_size, "radicale %s; log: %s", what, log ? log : "(none)");
  g_free(log);
  g_free(log_path);
}

int rad_start(struct rad_server *s, const char *const *users, size_t n_users, char *why,
              size_t why_size) {
  memset(s, 0, sizeof *s);
  gchar *bin = g_find_program_in_path("radicale");
  if (!bin) return 1;
  s->dir = g_dir_make_tmp("sidecal-radicale-XXXXXX", NULL);
  s->port = free_port();
  g_assert_nonnull(s->dir);
  g_assert_cmpint(s->port, >, 0);
  write_config(s, users, n_users);
  gchar *conf_path = g_build_filename(s->dir, "config", NULL);
  gchar *log_path = g_build_filename(s->dir, "log", NULL);
  int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = log_fd >= 0 && null_fd >= 0 ? fork() : -1;
  if (pid == 0) {
    /* A test that aborts must not leave a server behind. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execl(bin, bin, "--config", conf_path, (char *)NULL);
    _exit(127);
  }
  int err = errno;
  if (log_fd >= 0) close(log_fd);
  if (null_fd >= 0) close(null_fd);
  g_free(log_path);
  g_free(conf_path);
  g_free(bin);
  if (pid < 0) {
    snprintf(why, why_size, "cannot start radicale: %s", strerror(err));
    rad_stop(s);
    return -1;
  }
  s->pid = pid;
  for (int i = 0; i < 300; i++) { /* up to 15 s: Python starts slowly */
    if (accepts(s->port)) {
      s->base_url = g_strdup_printf("http://127.0.0.1:%d/", s->port);
      return 0;
    }
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      s->pid = 0;
      read_log(s, why, why_size, "exited");
      rad_stop(s);
      return -1;
    }
    g_usleep(50000);
  }
  read_log(s, why, why_size, "did not listen within 15 s");
  rad_stop(s);
  return -1;
}

void rad_stop(struct rad_server *s) {
  if (s->pid > 0) {
    kill(s->pid, SIGTERM);
    int status;
    for (int i = 0; i < 100 && waitpid(s->pid, &status, WNOHANG) == 0; i++) g_usleep(20000);
    if (waitpid(s->pid, &status, WNOHANG) == 0) {
      kill(s->pid, SIGKILL);
      waitpid(s->pid, &status, 0);
    }
  }
  if (s->dir) rm_rf(s->dir);
  g_free(s->dir);
  g_free(s->base_url);
  memset(s, 0, sizeof *s);
}

long rad_http(const struct rad_server *s, const struct rad_req *r, struct sc_http_response *resp) {
  gchar *plain = g_strdup_printf("%s:%s", r->user, r->password);
  gchar *b64 = g_base64_encode((const guchar *)plain, strlen(plain));
  gchar *auth = g_strdup_printf("Basic %s", b64);
  struct sc_http_header h[5];
  size_t n = 0;
  h[n++] = (struct sc_http_header){"Authorization", auth};
  if (r->content_type) h[n++] = (struct sc_http_header){"Content-Type", r->content_type};
  if (r->depth) h[n++] = (struct sc_http_header){"Depth", r->depth};
  if (r->if_match) h[n++] = (struct sc_http_header){"If-Match", r->if_match};
  gchar *url = g_strdup_printf("http://127.0.0.1:%d%s", s->port, r->path);
  struct sc_http_request req = {.method = r->method, .url = url, .headers = h, .n_headers = n,
                                .body = r->body, .body_len = r->body ? strlen(r->body) : 0,
                                .timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : 20000};
  struct sc_http_response local;
  struct sc_error err;
  long status = 0;
  if (sc_http_request(&req, &local, &err) == 0) status = local.status;
  if (resp) *resp = local;
  else sc_http_response_free(&local);
  g_free(url);
  g_free(auth);
  g_free(b64);
  g_free(plain);
  return status;
}

long rad_mkcalendar(const struct rad_server *s, const char *user, const char *password,
                    const char *path, const char *displayname) {
  gchar *body = g_markup_printf_escaped(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
      "<C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop>"
      "<D:displayname>%s</D:displayname><C:supported-calendar-component-set>"
      "<C:comp name=\"VEVENT\"/></C:supported-calendar-component-set>"
      "</D:prop></D:set></C:mkcalendar>", displayname);
  struct rad_req r = {.method = "MKCALENDAR", .path = path, .user = user, .password = password,
                      .content_type = "application/xml; charset=utf-8", .body = body};
  long status = rad_http(s, &r, NULL);
  g_free(body);
  return status;
}
