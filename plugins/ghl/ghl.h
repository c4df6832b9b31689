/*
** plugins/ghl internals: the instance state and the helpers the connector's
** files share (HTTP with auth and rate budget, times, status map, webhooks).
** Nothing here is exported from ghl.so: only sidecal_connector_entry is.
**
** Contract of the HTTP helper (ghl_api_call): one request to the GHL API
** with Authorization, Version and Accept set, after the rate limiter let it
** go. Returns SIDECAL_OK with *resp filled (2xx; caller frees), or a result
** with *resp empty: SIDECAL_UNAUTHORIZED (401, or no usable access token:
** the host refreshes and retries), SIDECAL_RETRY (429 with retry_after_ms
** from Retry-After / X-RateLimit-Interval-Milliseconds, 408, 5xx, no
** response), SIDECAL_ERROR (any other status; the message carries GHL's).
** The caller gets the status of non-2xx answers in *status (0 when none).
*/
#ifndef GHL_H
#define GHL_H

#include <json-c/json.h>
#include <pthread.h>
#include <sidecal/connector.h>
#include <stdint.h>

#include "ghl_rate.h"

#define GHL_CALENDAR_VERSION "2021-04-15"
#define GHL_CONTACTS_VERSION "2021-07-28"
#define GHL_DEFAULT_BASE_URL "https://services.leadconnectorhq.com"
#define GHL_MARKERS 128

extern const struct sidecal_host_api *ghl_host;

/* A create's dedupe key (calendar, user, start, contact) and the host's
** marker, remembered so list_events can report the marker back. */
struct ghl_marker {
  char key[320];
  char marker[80];
};

struct ghl {
  const struct sidecal_settings *settings;
  const char *location_id;
  const char *base_url;            /* no trailing slash */
  uint32_t n_calendars;
  int has_oauth;                   /* client id/secret + refresh token configured */
  int has_static_token;            /* access_token (Private Integration Token) */
  struct ghl_rate rate;

  pthread_mutex_t lock;            /* guards everything below */
  char access_token[2048];         /* "" until a refresh */
  int64_t token_expires_ms;        /* wall clock; 0 = unknown */
  int64_t token_skew_ms;
  char pending_refresh[1024];      /* rotated but not yet stored (store failed) */
  struct ghl_marker markers[GHL_MARKERS];
  uint32_t next_marker;
};

/* ---- HTTP (ghl_api.c) ---- */
int32_t ghl_api_call(struct ghl *g, const struct sidecal_call_ctx *ctx, const char *method,
                     const char *path_query, const char *version, const char *body,
                     struct sidecal_http_response *resp, uint32_t *status,
                     struct sidecal_result *res);
/* Parses a 2xx body as a JSON object; ERROR naming `what` when it is not. */
int32_t ghl_parse_body(const struct sidecal_http_response *resp, const char *what,
                       json_object **out, struct sidecal_result *res);
int32_t ghl_refresh(struct ghl *g, const struct sidecal_call_ctx *ctx,
                    struct sidecal_result *res);
/* Value of a lower-cased response header, or NULL. */
const char *ghl_header(const struct sidecal_http_header *h, uint32_t n, const char *name);
/* Retry-After (delta seconds or HTTP date) in ms; -1 when absent/unreadable. */
int64_t ghl_retry_after_ms(const char *value, int64_t now_ms);

/* ---- time (ghl_time.c) ---- */
/* ISO-8601 with offset (or Z, or epoch ms as a number) to Unix seconds;
** returns 0 and sets *out, or -1. */
int ghl_time_parse(json_object *v, int64_t *out);
/* Unix seconds as ISO-8601 with the offset of `tzid` (UTC when NULL or
** unknown) into buf. */
void ghl_time_format(int64_t t, const char *tzid, char *buf, size_t size);

/* ---- events (ghl_events.c) ---- */
int32_t ghl_list_events(void *instance, const struct sidecal_call_ctx *ctx,
                        const struct sidecal_window *window, const char *cursor,
                        const struct sidecal_sink *sink, struct sidecal_result *res);
int32_t ghl_create_event(void *instance, const struct sidecal_call_ctx *ctx,
                         const struct sidecal_event *ev, struct sidecal_write_result *out,
                         struct sidecal_result *res);
int32_t ghl_update_event(void *instance, const struct sidecal_call_ctx *ctx,
                         const char *external_id, const char *if_match,
                         const struct sidecal_event *ev, struct sidecal_write_result *out,
                         struct sidecal_result *res);
int32_t ghl_delete_event(void *instance, const struct sidecal_call_ctx *ctx,
                         const char *external_id, const char *if_match,
                         struct sidecal_result *res);
/* One GHL appointment object to a normalized event, reported to sink.
** Returns 1 when the sink wants no more, 0 to go on, or -1 when the object
** lacks an id or readable times (nothing reported). */
int32_t ghl_report_appointment(struct ghl *g, json_object *a, json_object *contact,
                               const struct sidecal_sink *sink);
/* GET /contacts/{id}: the contact object into *contact (json_object_put
** it), NULL when the id is empty or GHL no longer has that contact. */
int32_t ghl_fetch_contact(struct ghl *g, const struct sidecal_call_ctx *ctx, const char *contact_id,
                          json_object **contact, struct sidecal_result *res);

/* ---- webhooks (ghl_webhook.c) ---- */
int32_t ghl_webhook_route(const struct sidecal_call_ctx *ctx, const struct sidecal_webhook *wh,
                          char *key, size_t key_size, struct sidecal_result *res);
int32_t ghl_instance_key(void *instance, char *key, size_t key_size);
int32_t ghl_webhook_verify(void *instance, const struct sidecal_call_ctx *ctx,
                           const struct sidecal_webhook *wh, struct sidecal_result *res);
/* ABI 1.3 webhook_dedupe_key: GHL's webhookId, else (id, dateUpdated, type). */
int32_t ghl_webhook_dedupe(void *instance, const struct sidecal_webhook *wh, char *buf,
                           size_t size);
int32_t ghl_webhook_parse(void *instance, const struct sidecal_call_ctx *ctx,
                          const struct sidecal_webhook *wh, const struct sidecal_sink *sink,
                          struct sidecal_result *res);

/* ---- marker memory (ghl_events.c) ---- */
void ghl_dedupe_key(const char *calendar, const char *user, int64_t start, const char *contact,
                    char *buf, size_t size);

#endif
