/*
** Tests for core/http_client.c against a real local TCP server (a thread in
** this process speaking just enough HTTP/1.1): responses, headers, the
** idempotent-only retry rule, timeouts, cancellation and bad input.
*/
#include <arpa/inet.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_client.h"
#include "plugin_host.h"

/* Per connection, in order: 'D' read the request and close without a reply,
** 'R' reply 200 with body "hello", 'S' read the request and stall 2 s. */
struct server {
  int fd;
  int port;
  const char *script;
  int accepted;
  GString *last_request;
  GThread *thread;
};

static void read_request(int c, GString *into) {
  g_string_truncate(into, 0);
  char buf[4096];
  long need = -1;
  for (;;) {
    ssize_t n = recv(c, buf, sizeof buf, 0);
    if (n <= 0) return;
    g_string_append_len(into, buf, n);
    const char *end = strstr(into->str, "\r\n\r\n");
    if (end && need < 0) {
      const char *cl = strcasestr(into->str, "content-length:");
      need = (long)(end - into->str) + 4 + (cl && cl < end ? atol(cl + 15) : 0);
    }
    if (need >= 0 && (long)into->len >= need) return;
  }
}

static gpointer serve(gpointer p) {
  struct server *s = p;
  for (const char *step = s->script; *step; step++) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) return NULL;
    s->accepted++;
    read_request(c, s->last_request);
    if (*step == 'R') {
      const char *r = "HTTP/1.1 200 OK\r\nX-Test:  yes \r\nContent-Length: 5\r\n"
                      "Connection: close\r\n\r\nhello";
      g_assert_cmpint(send(c, r, strlen(r), 0), ==, (ssize_t)strlen(r));
    } else if (*step == 'S') {
      g_usleep(2 * G_USEC_PER_SEC);
    }
    shutdown(c, SHUT_RDWR);
    close(c);
  }
  return NULL;
}

static void server_start(struct server *s, const char *script) {
  memset(s, 0, sizeof *s);
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  g_assert_cmpint(bind(s->fd, (struct sockaddr *)&a, sizeof a), ==, 0);
  socklen_t len = sizeof a;
  g_assert_cmpint(getsockname(s->fd, (struct sockaddr *)&a, &len), ==, 0);
  g_assert_cmpint(listen(s->fd, 8), ==, 0);
  s->port = ntohs(a.sin_port);
  s->script = script;
  s->last_request = g_string_new(NULL);
  s->thread = g_thread_new("server", serve, s);
}

/* Joins after the script ran (or closes the listener to end it early). */
static void server_stop(struct server *s, int expect_all) {
  if (!expect_all) shutdown(s->fd, SHUT_RDWR);
  g_thread_join(s->thread);
  close(s->fd);
  g_string_free(s->last_request, TRUE);
}

static gchar *url_for(const struct server *s, const char *path) {
  return g_strdup_printf("http://127.0.0.1:%d%s", s->port, path);
}

static void test_get_retried_once_after_no_response(void) {
  struct server s;
  server_start(&s, "DR");
  gchar *url = url_for(&s, "/events");
  struct sc_http_request req = {.method = "GET", .url = url, .timeout_ms = 5000};
  struct sc_http_response resp;
  struct sc_error err;
  g_assert_cmpint(sc_http_request(&req, &resp, &err), ==, SC_OK);
  g_assert_cmpint(resp.status, ==, 200);
  g_assert_cmpstr(resp.body, ==, "hello");
  g_assert_cmpuint(resp.body_len, ==, 5);
  g_assert_cmpint(resp.attempts, ==, 2);
  int found = 0;
  for (size_t i = 0; i < resp.n_headers; i++)
    if (!strcmp(resp.headers[i].name, "x-test")) {
      g_assert_cmpstr(resp.headers[i].value, ==, "yes");
      found = 1;
    }
  g_assert_true(found);
  sc_http_response_free(&resp);
  server_stop(&s, 1);
  g_assert_cmpint(s.accepted, ==, 2);
  g_free(url);
}

static void test_post_never_repeated(void) {
  struct server s;
  server_start(&s, "DR");
  gchar *url = url_for(&s, "/book");
  struct sc_http_request req = {.method = "POST", .url = url, .body = "{\"a\":1}",
                                .body_len = 7, .timeout_ms = 5000};
  struct sc_http_response resp;
  struct sc_error err;
  g_assert_cmpint(sc_http_request(&req, &resp, &err), ==, SC_EIO);
  gchar *expected = g_strdup_printf("POST %s: Server returned nothing (no headers, no data) "
                                    "(after 1 attempt)", url);
  g_assert_cmpstr(err.message, ==, expected);
  g_assert_cmpint(resp.attempts, ==, 1);
  g_assert_cmpint(resp.retryable, ==, 1);
  g_assert_null(resp.body);
  /* The server's second step ('R') is never reached by a repeat. */
  g_assert_cmpint(s.accepted, ==, 1);
  server_stop(&s, 0);
  g_assert_cmpint(s.accepted, ==, 1);
  g_free(expected);
  g_free(url);
}

static void test_post_sends_body_and_headers(void) {
  struct server s;
  server_start(&s, "R");
  gchar *url = url_for(&s, "/book");
  struct sc_http_header h[] = {{"Authorization", "Bearer t0k"}, {"Content-Type", "application/json"}};
  struct sc_http_request req = {.method = "POST", .url = url, .headers = h, .n_headers = 2,
                                .body = "{\"a\":1}", .body_len = 7, .timeout_ms = 5000};
  struct sc_http_response resp;
  struct sc_error err;
  g_assert_cmpint(sc_http_request(&req, &resp, &err), ==, SC_OK);
  g_assert_cmpint(resp.attempts, ==, 1);
  sc_http_response_free(&resp);
  /* The reply came after the whole request was read. */
  g_assert_true(g_str_has_prefix(s.last_request->str, "POST /book HTTP/1.1\r\n"));
  g_assert_nonnull(strstr(s.last_request->str, "\r\nAuthorization: Bearer t0k\r\n"));
  g_assert_true(g_str_has_suffix(s.last_request->str, "\r\n\r\n{\"a\":1}"));
  server_stop(&s, 1);
  g_free(url);
}

static void test_timeout(void) {
  struct server s;
  server_start(&s, "S");
  gchar *url = url_for(&s, "/slow");
  struct sc_http_request req = {.method = "GET", .url = url, .timeout_ms = 200};
  struct sc_http_response resp;
  struct sc_error err;
  gint64 t0 = g_get_monotonic_time();
  g_assert_cmpint(sc_http_request(&req, &resp, &err), ==, SC_EIO);
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 1500000);
  g_assert_true(g_str_has_prefix(err.message, "GET "));
  g_assert_nonnull(strstr(err.message, ": Timeout was reached (after 1 attempt)"));
  g_assert_cmpint(resp.retryable, ==, 1);
  server_stop(&s, 1);
  g_free(url);
}

static void test_refused_hides_query_and_retries_get(void) {
  /* Bind then close to get a port nobody listens on. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof a), ==, 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  gchar *url = g_strdup_printf("http://127.0.0.1:%d/x?api_key=s3cret", ntohs(a.sin_port));
  struct sc_http_request req = {.method = "GET", .url = url, .timeout_ms = 2000};
  struct sc_http_response resp;
  struct sc_error err;
  g_assert_cmpint(sc_http_request(&req, &resp, &err), ==, SC_EIO);
  gchar *expected = g_strdup_printf("GET http://127.0.0.1:%d/x: Couldn't connect to server "
                                    "(after 2 attempts)", ntohs(a.sin_port));
  g_assert_cmpstr(err.message, ==, expected);
  g_assert_null(strstr(err.message, "s3cret"));
  g_free(expected);
  g_free(url);
}

static void test_cancelled(void) {
  struct server s;
  server_start(&s, "S");
  gchar *url = url_for(&s, "/slow");
  volatile int32_t cancel = 1;
  struct sc_http_request req = {.method = "GET", .url = url, .timeout_ms = 5000, .cancel = &cancel};
  struct sc_http_response resp;
  struct sc_error err;
  g_assert_cmpint(sc_http_request(&req, &resp, &err), ==, SC_EIO);
  gchar *expected = g_strdup_printf("GET %s: cancelled (after 1 attempt)", url);
  g_assert_cmpstr(err.message, ==, expected);
  server_stop(&s, 0);
  g_free(expected);
  g_free(url);
}

static void test_bad_input(void) {
  struct sc_http_response resp;
  struct sc_error err;
  struct sc_http_request req = {.method = "get", .url = "http://x/", .timeout_ms = 10};
  g_assert_cmpint(sc_http_request(&req, &resp, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "invalid HTTP method \"get\"");
  req.method = "GET";
  req.url = "file:///etc/passwd";
  g_assert_cmpint(sc_http_request(&req, &resp, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "URL must start with http:// or https://");
  req.url = "http://x/";
  req.timeout_ms = 0;
  g_assert_cmpint(sc_http_request(&req, &resp, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "timeout must be positive");
  g_assert_true(sc_http_method_is_idempotent("PUT"));
  g_assert_false(sc_http_method_is_idempotent("PATCH"));
  g_assert_false(sc_http_method_is_idempotent("POST"));
}

/* The same client as connectors see it through the host table. */
static void test_host_table_http(void) {
  struct server s;
  server_start(&s, "RS");
  gchar *url = url_for(&s, "/cal");
  const struct sidecal_host_api *host = sc_plugin_host_api();
  int32_t cancel = 0;
  struct sidecal_call_ctx ctx = {.struct_size = sizeof ctx, .request_id = "r1", .cancel = &cancel};
  struct sidecal_http_header hdr[] = {{"Accept", "application/json"}};
  struct sidecal_http_request req = {.struct_size = sizeof req, .method = "GET", .url = url,
                                     .headers = hdr, .n_headers = 1};
  struct sidecal_http_response resp;
  struct sidecal_result res = {.struct_size = sizeof res};
  g_assert_cmpint(host->http_request(&ctx, &req, &resp, &res), ==, SIDECAL_OK);
  g_assert_cmpuint(resp.status, ==, 200);
  g_assert_cmpstr(resp.body, ==, "hello");
  g_assert_cmpuint(resp.n_headers, ==, 3);
  g_assert_cmpstr(resp.headers[0].name, ==, "x-test");
  g_assert_cmpstr(resp.headers[0].value, ==, "yes");
  g_assert_nonnull(strstr(s.last_request->str, "\r\nAccept: application/json\r\n"));
  host->http_response_free(&resp);
  g_assert_null(resp.body);

  /* The call's deadline caps the request's own (default 30 s) timeout. */
  ctx.deadline_ms = sc_plugin_monotonic_ms() + 200;
  gint64 t0 = g_get_monotonic_time();
  g_assert_cmpint(host->http_request(&ctx, &req, &resp, &res), ==, SIDECAL_RETRY);
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 1500000);
  g_assert_nonnull(strstr(res.message, ": Timeout was reached (after 1 attempt)"));
  g_assert_null(resp.body);

  ctx.deadline_ms = sc_plugin_monotonic_ms() - 1;
  g_assert_cmpint(host->http_request(&ctx, &req, &resp, &res), ==, SIDECAL_RETRY);
  g_assert_cmpstr(res.message, ==, "http_request: the call's deadline has passed");
  req.url = "ftp://x/";
  ctx.deadline_ms = 0;
  g_assert_cmpint(host->http_request(&ctx, &req, &resp, &res), ==, SIDECAL_ERROR);
  g_assert_cmpstr(res.message, ==, "URL must start with http:// or https://");
  server_stop(&s, 1);
  g_free(url);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/http_client/get_retried_once", test_get_retried_once_after_no_response);
  g_test_add_func("/http_client/post_never_repeated", test_post_never_repeated);
  g_test_add_func("/http_client/post_body_headers", test_post_sends_body_and_headers);
  g_test_add_func("/http_client/timeout", test_timeout);
  g_test_add_func("/http_client/refused", test_refused_hides_query_and_retries_get);
  g_test_add_func("/http_client/cancelled", test_cancelled);
  g_test_add_func("/http_client/bad_input", test_bad_input);
  g_test_add_func("/http_client/host_table", test_host_table_http);
  return g_test_run();
}
