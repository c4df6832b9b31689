/*
** sidecal connector SDK: what the host gives a connector.
**
** - struct sidecal_result: how every callback reports OK / RETRY / ERROR.
** - struct sidecal_call_ctx: who and what a call is for (organization,
**   location or staff member, instance, request id, deadline, cancel flag).
** - struct sidecal_host_api: the host services table (logging, clock,
**   settings, secrets, metrics, HTTP). Connectors never link against the
**   core; they call it only through this table, so they link with
**   -Wl,-z,defs.
**
** The services table is append-only: new entries go at the end and raise
** SIDECAL_ABI_MINOR; struct_size says how much of it this host has. Before
** calling an entry added after 1.0, test it with SIDECAL_HOST_HAS().
**
** Every host function is thread-safe. Connectors own no threads, signal
** handlers, atexit handlers or thread-local destructors: the host may unload
** their code once the last call has returned.
*/
#ifndef SIDECAL_HOST_H
#define SIDECAL_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "settings.h"

/* ---- results ---------------------------------------------------------- */

#define SIDECAL_OK             0   /* done */
#define SIDECAL_RETRY          1   /* transient; try again after retry_after_ms
                                      (0: the host's backoff decides) */
#define SIDECAL_ERROR          2   /* permanent for this input; message says why */
#define SIDECAL_CURSOR_EXPIRED 3   /* list_events: the provider forgot the
                                      cursor; the host does a full sync */
#define SIDECAL_CONFLICT       4   /* update/delete: the etag precondition failed */
#define SIDECAL_UNAUTHORIZED   5   /* (1.1) the provider rejected the credentials
                                      (HTTP 401): the host calls
                                      refresh_credentials and retries; when
                                      that fails the instance NEEDS_REAUTH */

#define SIDECAL_MESSAGE_MAX 512

/* Zeroed by the host before each call. Callbacks return the same code they
** store in .code, so `return sidecal_error(res, "...")` reads naturally. */
struct sidecal_result {
  uint32_t struct_size;
  int32_t code;                 /* SIDECAL_OK .. SIDECAL_UNAUTHORIZED */
  uint32_t retry_after_ms;      /* with SIDECAL_RETRY; 0 = host decides */
  uint32_t reserved;
  char message[SIDECAL_MESSAGE_MAX]; /* human-readable, never a secret */
};

static inline int32_t sidecal_result_set(struct sidecal_result *res,
                                         int32_t code, uint32_t retry_ms,
                                         const char *message) {
  size_t i = 0;
  res->code = code;
  res->retry_after_ms = retry_ms;
  if (message)
    for (; message[i] && i + 1 < sizeof res->message; i++)
      res->message[i] = message[i];
  res->message[i] = '\0';
  return code;
}
static inline int32_t sidecal_ok(struct sidecal_result *res) {
  return sidecal_result_set(res, SIDECAL_OK, 0, NULL);
}
static inline int32_t sidecal_retry(struct sidecal_result *res,
                                    uint32_t retry_after_ms, const char *msg) {
  return sidecal_result_set(res, SIDECAL_RETRY, retry_after_ms, msg);
}
static inline int32_t sidecal_error(struct sidecal_result *res, const char *msg) {
  return sidecal_result_set(res, SIDECAL_ERROR, 0, msg);
}

/* ---- per-call context ------------------------------------------------- */

struct sidecal_call_ctx {
  uint32_t struct_size;
  uint32_t reserved;
  const char *organization;  /* organization slug, e.g. "acme" */
  const char *location;      /* location slug, or NULL for a staff instance */
  const char *staff;         /* staff slug, or NULL for a location instance */
  const char *instance;      /* stable instance name, e.g. "acme.miami.ghl" */
  const char *request_id;    /* for log lines; never NULL */
  int64_t deadline_ms;       /* host->monotonic_ms() value by which the call
                                should have returned; 0 = none */
  const volatile int32_t *cancel; /* never NULL; nonzero: stop and return
                                     SIDECAL_RETRY as soon as you can */
  struct sidecal_host_instance *host_instance; /* pass to host functions */
};

/* Opaque host handle of one instance (for logging, secrets, metrics). */
struct sidecal_host_instance;

/* ---- HTTP ------------------------------------------------------------- */

struct sidecal_http_header {
  const char *name;
  const char *value;
};

struct sidecal_http_request {
  uint32_t struct_size;
  uint32_t timeout_ms;       /* whole request; 0 = 30000; also capped by the
                                call's deadline */
  const char *method;        /* "GET", "POST", ... */
  const char *url;
  const struct sidecal_http_header *headers;
  uint32_t n_headers;
  uint32_t reserved;
  const char *body;          /* may be NULL */
  uint64_t body_len;
};

/* Filled by host->http_request(); release with host->http_response_free(). */
struct sidecal_http_response {
  uint32_t struct_size;
  uint32_t status;           /* HTTP status code */
  const struct sidecal_http_header *headers; /* names lower-cased */
  uint32_t n_headers;
  uint32_t reserved;
  const char *body;          /* NUL-terminated for convenience */
  uint64_t body_len;
  void *host_private;
};

/* ---- log levels ------------------------------------------------------- */

#define SIDECAL_LOG_DEBUG 0u
#define SIDECAL_LOG_INFO  1u
#define SIDECAL_LOG_WARN  2u
#define SIDECAL_LOG_ERROR 3u

/* ---- the services table ----------------------------------------------- */

struct sidecal_host_api {
  uint32_t struct_size;      /* sizeof(struct sidecal_host_api) of the host */
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t reserved;

  /* Logging: one line, attributed to the instance (hi may be NULL outside
  ** an instance). printf-style; never log a token or secret. */
  void (*log)(struct sidecal_host_instance *hi, uint32_t level,
              const char *fmt, ...);

  /* Clock. */
  int64_t (*now_utc_ms)(void);    /* wall clock, ms since the Unix epoch */
  int64_t (*monotonic_ms)(void);  /* for deadlines */

  /* Settings (validated and defaulted by the host; see settings.h).
  ** Returned strings live as long as the settings. A key the connector did
  ** not declare, or declared with another type, reads as absent. */
  const char *(*setting_string)(const struct sidecal_settings *s,
                                const char *key);             /* NULL: absent */
  int32_t (*setting_int)(const struct sidecal_settings *s, const char *key,
                         int64_t *out);                       /* 0, or -1 absent */
  int32_t (*setting_bool)(const struct sidecal_settings *s, const char *key,
                          int32_t *out);                      /* 0, or -1 absent */
  uint32_t (*setting_list_len)(const struct sidecal_settings *s,
                               const char *key);
  const char *(*setting_list_item)(const struct sidecal_settings *s,
                                   const char *key, uint32_t i);
  uint32_t (*setting_map_len)(const struct sidecal_settings *s,
                              const char *key);
  const char *(*setting_map_key)(const struct sidecal_settings *s,
                                 const char *key, uint32_t i);
  const char *(*setting_map_value)(const struct sidecal_settings *s,
                                   const char *key, const char *map_key);

  /* Secrets: read the current value of a secret setting into buf (NUL-
  ** terminated). Returns its length, -1 when not configured, -2 when buf is
  ** too small, -3 when the reference cannot be read. store_rotated keeps a
  ** new value (e.g. a refreshed OAuth token); the core encrypts it at rest
  ** and later reads return it. Returns 0 or -1. */
  int32_t (*secret_read)(struct sidecal_host_instance *hi, const char *key,
                         char *buf, size_t buf_size);
  int32_t (*secret_store_rotated)(struct sidecal_host_instance *hi,
                                  const char *key, const char *value);

  /* Metrics: add to a per-instance counter ([a-z0-9_]+ names). */
  void (*counter_add)(struct sidecal_host_instance *hi, const char *name,
                      uint64_t delta);

  /* HTTP over libcurl. Returns SIDECAL_OK when a response arrived (any
  ** status; *resp filled), else SIDECAL_RETRY (timeout, connection failure,
  ** cancelled) or SIDECAL_ERROR (bad request), with res->message set and
  ** *resp empty. The host retries only idempotent methods (GET, HEAD, PUT,
  ** DELETE, OPTIONS) and only when no response arrived; it never repeats a
  ** POST or PATCH by itself. */
  int32_t (*http_request)(const struct sidecal_call_ctx *ctx,
                          const struct sidecal_http_request *req,
                          struct sidecal_http_response *resp,
                          struct sidecal_result *res);
  void (*http_response_free)(struct sidecal_http_response *resp);
};

/* Nonzero when this host's table has `field` and it is set. */
#define SIDECAL_HOST_HAS(host, field)                                  \
  ((host)->struct_size >= offsetof(struct sidecal_host_api, field) +   \
                              sizeof((host)->field) &&                 \
   (host)->field != NULL)

#endif
