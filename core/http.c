/*
** The HTTP server: libmicrohttpd glue, body accumulation with a hard limit,
** routing by pattern, JSON error responses, request logging and draining.
*/
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

struct sc_http_server {
  struct MHD_Daemon *mhd;
  struct sc_http_config cfg;
  atomic_int in_flight;
  int port;
};

/* Per-request state, kept in MHD's con_cls between access-handler calls. */
struct req_ctx {
  char *body;
  size_t len;
  size_t cap;
  int too_large;
  struct timespec started;
};

static double elapsed(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- response helpers -------------------------------------------------- */

void sc_http_json(struct sc_http_resp *resp, int status, json_object *obj) {
  free(resp->body);
  resp->status = status;
  resp->body = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
  resp->content_type = "application/json";
  json_object_put(obj);
}

void sc_http_error(struct sc_http_resp *resp, int status, const char *code,
                   const char *field, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_object *e = json_object_new_object();
  json_object_object_add(e, "code", json_object_new_string(code));
  json_object_object_add(e, "message", json_object_new_string(msg));
  if (field && *field) json_object_object_add(e, "field", json_object_new_string(field));
  json_object *root = json_object_new_object();
  json_object_object_add(root, "error", e);
  sc_http_json(resp, status, root);
}

void sc_http_from_error(struct sc_http_resp *resp, const struct sc_error *err) {
  int status = 500;
  const char *code = "internal";
  switch (err->code) {
  case SC_EINVAL: status = 422; code = "validation_failed"; break;
  case SC_ENOTFOUND: status = 404; code = "not_found"; break;
  case SC_ECONFLICT: status = 409; code = "conflict"; break;
  case SC_ESTATE: status = 409; code = "conflict"; break;
  case SC_EDB: status = 503; code = "database_unavailable"; break;
  case SC_EPRECONDITION: status = 412; code = "precondition_failed"; break;
  default: break;
  }
  /* Internal details stay in the log, not in the response. */
  if (status >= 500) {
    sc_log_error("event=internal_error code=%s message=\"%s\"",
                 sc_status_name(err->code), err->message);
    sc_http_error(resp, status, code, NULL, "%s",
                  status == 503 ? "the database is unavailable; retry later"
                                : "internal error");
    return;
  }
  sc_http_error(resp, status, *err->kind ? err->kind : code, err->field, "%s",
                err->message);
}

const char *sc_http_header(const struct sc_http_req *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *sc_http_query(const struct sc_http_req *req, const char *name) {
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- routing ----------------------------------------------------------- */

/* Matches "/a/{x}/b" against "/a/123/b"; captured segments are copied into
** buf (which must outlive the request) and pointed to from req->params. */
static int match(const char *pattern, const char *path, struct sc_http_req *req,
                 char *buf, size_t bufsz) {
  size_t used = 0;
  req->n_params = 0;
  const char *p = pattern, *s = path;
  while (*p && *s) {
    if (*p == '{') {
      const char *pend = strchr(p, '}');
      size_t n = strcspn(s, "/");
      if (!pend || n == 0 || req->n_params >= SC_HTTP_MAX_PARAMS || used + n + 1 > bufsz)
        return 0;
      memcpy(buf + used, s, n);
      buf[used + n] = '\0';
      req->params[req->n_params++] = buf + used;
      used += n + 1;
      p = pend + 1;
      s += n;
    } else if (*p == *s) {
      p++;
      s++;
    } else {
      return 0;
    }
  }
  return *p == '\0' && *s == '\0';
}

static void route(struct sc_http_server *srv, struct sc_http_req *req,
                  struct sc_http_resp *resp, char *buf, size_t bufsz) {
  char allow[128] = "";
  for (const struct sc_http_route *r = srv->cfg.routes; r && r->pattern; r++) {
    if (!match(r->pattern, req->path, req, buf, bufsz)) continue;
    if (strcmp(r->method, req->method) != 0) {
      size_t used = strlen(allow);
      if (!strstr(allow, r->method))
        snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "", r->method);
      continue;
    }
    req->route = r->pattern;
    sc_metrics_set_route(r->pattern);  /* DB queries count against it */
    r->handler(req, resp);
    sc_metrics_set_route(NULL);
    return;
  }
  if (*allow) {
    req->route = "(method not allowed)";
    resp->extra_headers[resp->n_extra++] = g_strdup_printf("Allow: %s", allow);
    sc_http_error(resp, 405, "method_not_allowed", NULL,
                  "%s is not allowed here; allowed: %s", req->method, allow);
    return;
  }
  req->route = "(no route)";
  sc_http_error(resp, 404, "not_found", NULL, "no such route: %s %s", req->method, req->path);
}

/* ---- libmicrohttpd glue ------------------------------------------------ */

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct sc_http_resp *resp) {
  const char *body = resp->body ? resp->body : "";
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type",
                          resp->content_type ? resp->content_type : "application/json");
  for (int i = 0; i < resp->n_extra; i++) {
    char *h = resp->extra_headers[i], *colon = strchr(h, ':');
    if (colon) {
      *colon = '\0';
      MHD_add_response_header(r, h, colon + 1 + (colon[1] == ' '));
    }
    free(h);
  }
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
  MHD_destroy_response(r);
  free(resp->body);
  return ret;
}

static int body_append(struct req_ctx *ctx, const char *data, size_t n, size_t limit) {
  if (ctx->too_large || ctx->len + n > limit) {
    ctx->too_large = 1;
    return 0;
  }
  if (ctx->len + n + 1 > ctx->cap) {
    size_t cap = ctx->cap ? ctx->cap : 1024;
    while (cap < ctx->len + n + 1) cap *= 2;
    char *b = realloc(ctx->body, cap);
    if (!b) return -1;
    ctx->body = b;
    ctx->cap = cap;
  }
  memcpy(ctx->body + ctx->len, data, n);
  ctx->len += n;
  ctx->body[ctx->len] = '\0';
  return 0;
}

static enum MHD_Result dispatch(struct sc_http_server *srv, struct MHD_Connection *conn,
                                const char *url, const char *method, struct req_ctx *ctx) {
  struct sc_http_req req = {.method = method, .path = url, .conn = conn, .app = srv->cfg.app,
                            .body = ctx->body ? ctx->body : "", .body_len = ctx->len,
                            .route = "(none)"};
  struct sc_http_resp resp = {.status = 500};
  char buf[512];
  if (ctx->too_large) {
    req.route = "(body too large)";
    sc_http_error(&resp, 413, "payload_too_large", NULL,
                  "request body exceeds %zu bytes", srv->cfg.body_limit);
  } else {
    route(srv, &req, &resp, buf, sizeof buf);
  }
  double secs = elapsed(&ctx->started);
  sc_log_info("event=request method=%s route=\"%s\" status=%d duration_ms=%.2f org=%s",
              method, req.route, resp.status, secs * 1000.0, *resp.org ? resp.org : "-");
  sc_metrics_observe_request(req.route, method, resp.status, secs);
  if (srv->cfg.observe) srv->cfg.observe(&req, resp.status, secs, srv->cfg.app);
  return send_resp(conn, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls) {
  (void)version;
  struct sc_http_server *srv = cls;
  struct req_ctx *ctx = *con_cls;
  if (!ctx) {
    ctx = calloc(1, sizeof *ctx);
    if (!ctx) return MHD_NO;
    clock_gettime(CLOCK_MONOTONIC, &ctx->started);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > srv->cfg.body_limit) ctx->too_large = 1;
    atomic_fetch_add(&srv->in_flight, 1);
    *con_cls = ctx;
    return MHD_YES;
  }
  if (*upload_size) {
    if (body_append(ctx, upload, *upload_size, srv->cfg.body_limit) < 0) return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }
  return dispatch(srv, conn, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)conn;
  (void)toe;
  struct sc_http_server *srv = cls;
  struct req_ctx *ctx = *con_cls;
  if (!ctx) return;
  free(ctx->body);
  free(ctx);
  *con_cls = NULL;
  atomic_fetch_sub(&srv->in_flight, 1);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, struct sc_error *err) {
  char host[64];
  const char *colon = strrchr(listen, ':');
  if (!colon || (size_t)(colon - listen) >= sizeof host)
    return sc_error_set(err, SC_EINVAL, "listen", "--listen: expected ADDR:PORT, got \"%s\"", listen);
  memcpy(host, listen, (size_t)(colon - listen));
  host[colon - listen] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
    return sc_error_set(err, SC_EINVAL, "listen", "--listen: expected IPv4ADDR:PORT, got \"%s\"", listen);
  sa->sin_port = htons((uint16_t)port);
  return SC_OK;
}

/* Handlers block on PostgreSQL (a webhook waits for its commit, a booking
** for its transaction). In a pool thread that stalls every other
** connection the thread serves: with 32 webhook clients over 32 pool
** threads, intake ran at 700/s where a thread per connection takes 7,500/s.
** So a thread per connection by default; --threads N keeps N epoll threads
** for deployments with many idle keep-alive connections. */
static struct MHD_Daemon *start_mhd(struct sc_http_server *srv, struct sockaddr_in *sa,
                                    int pool) {
  if (pool > 0)
    return MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC,
        0, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)pool,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_END);
  return MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC,
      0, NULL, NULL, on_request, srv,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)sa,
      MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
      MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
      MHD_OPTION_END);
}

int sc_http_start(const struct sc_http_config *cfg, struct sc_http_server **out,
                  struct sc_error *err) {
  struct sockaddr_in sa;
  int rc = parse_listen(cfg->listen, &sa, err);
  if (rc) return rc;
  struct sc_http_server *srv = calloc(1, sizeof *srv);
  if (!srv) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  srv->cfg = *cfg;
  if (!srv->cfg.body_limit) srv->cfg.body_limit = 64 * 1024;
  if (!srv->cfg.drain_ms) srv->cfg.drain_ms = 10000;
  srv->mhd = start_mhd(srv, &sa, cfg->threads);
  if (!srv->mhd) {
    int e = errno;
    free(srv);
    return sc_error_set(err, SC_EIO, "listen", "cannot listen on %s: %s", cfg->listen,
                        e ? strerror(e) : "libmicrohttpd refused to start");
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = info ? info->port : ntohs(sa.sin_port);
  *out = srv;
  return SC_OK;
}

int sc_http_port(const struct sc_http_server *srv) { return srv->port; }

void sc_http_stop(struct sc_http_server *srv) {
  if (!srv) return;
  /* Stop accepting first, so no new request starts while we drain. */
  MHD_socket lsock = MHD_quiesce_daemon(srv->mhd);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (atomic_load(&srv->in_flight) > 0 && elapsed(&t0) * 1000.0 < srv->cfg.drain_ms) {
    struct timespec nap = {0, 5 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  if (atomic_load(&srv->in_flight) > 0)
    sc_log_warn("event=http_drain_timeout in_flight=%d", atomic_load(&srv->in_flight));
  MHD_stop_daemon(srv->mhd);
  if (lsock != MHD_INVALID_SOCKET) close(lsock);
  free(srv);
}
