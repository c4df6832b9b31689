/*
** HTTP server over libmicrohttpd (a thread per connection, or a fixed pool
** of epoll threads) with a route table, JSON bodies and the API's error
** format:
**   {"error":{"code":"...","message":"...","field":"..."}}
**
** Handlers run on MHD's threads with the whole request body in hand
** (bounded by body_limit: a larger one is answered 413 before the handler
** runs). A handler fills struct sc_http_resp; it must not block forever.
** sc_http_stop() stops accepting, lets in-flight requests finish (up to a
** drain deadline) and then frees everything.
*/
#ifndef SC_HTTP_H
#define SC_HTTP_H

#include <stddef.h>
#include <json-c/json.h>

#include "error.h"

#define SC_HTTP_MAX_PARAMS 4

struct sc_http_req {
  const char *method;
  const char *path;
  const char *route;            /* the matched pattern, for logs/metrics */
  const char *params[SC_HTTP_MAX_PARAMS]; /* {name} segments, in order */
  int n_params;
  const char *body;             /* NUL-terminated, may be "" */
  size_t body_len;
  void *conn;                   /* struct MHD_Connection *, for headers/args */
  void *app;                    /* the server's app pointer */
};

struct sc_http_resp {
  int status;
  char *body;            /* malloc'd; freed by the server */
  const char *content_type;
  char *extra_headers[8];  /* "Name: value", malloc'd */
  int n_extra;
  char org[64];          /* organization slug for the request log, if known */
};

typedef void (*sc_http_handler)(struct sc_http_req *req, struct sc_http_resp *resp);

struct sc_http_route {
  const char *method;   /* "GET", "POST", ... */
  const char *pattern;  /* "/v1/appointments/{id}" */
  sc_http_handler handler;
};

struct sc_http_config {
  const char *listen;   /* "127.0.0.1:8080" */
  int threads;          /* 0 = a thread per connection; N = N epoll threads */
  size_t body_limit;    /* bytes, 0 = 64 KiB */
  int drain_ms;         /* how long stop waits for in-flight requests */
  const struct sc_http_route *routes;
  void *app;
  /* Called after every request (metrics); may be NULL. */
  void (*observe)(const struct sc_http_req *req, int status, double seconds,
                  void *app);
};

struct sc_http_server;

int sc_http_start(const struct sc_http_config *cfg, struct sc_http_server **out,
                  struct sc_error *err);
void sc_http_stop(struct sc_http_server *srv);
/* The port actually bound (useful with port 0 in tests). */
int sc_http_port(const struct sc_http_server *srv);

/* Request helpers. */
const char *sc_http_header(const struct sc_http_req *req, const char *name);
const char *sc_http_query(const struct sc_http_req *req, const char *name);

/* Response helpers: take ownership of obj (json_object_put). */
void sc_http_json(struct sc_http_resp *resp, int status, json_object *obj);
void sc_http_error(struct sc_http_resp *resp, int status, const char *code,
                   const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Maps an SC_E* error to a status and error body (422 for SC_EINVAL...). */
void sc_http_from_error(struct sc_http_resp *resp, const struct sc_error *err);

#endif
