/*
** calcom: shared definitions of the Cal.com connector's source files.
**
** The instance (struct cc) is built once in instance_create from validated
** settings and never changes afterwards, so concurrent calls on one
** instance need no lock; tokens are read through the host on every call
** (a refresh may rotate them at any time).
**
** Every function that talks to Cal.com returns a SIDECAL_* code and fills
** the sidecal_result with a message an admin can act on, never a token.
*/
#ifndef CALCOM_H
#define CALCOM_H

#include <json-c/json.h>
#include <sidecal/connector.h>
#include <stddef.h>
#include <stdint.h>

/* Where we keep our idempotency marker in a booking's metadata (Cal.com:
** at most 50 keys, 40-character keys, 500-character string values). */
#define CC_MARKER_KEY "sidecalMarker"
#define CC_MAX_ATTENDEES 16

extern const struct sidecal_host_api *cc_host;

struct cc_type {
  char *slug;        /* our event type slug */
  int64_t id;        /* Cal.com event type id */
};

struct cc {
  char *base_url;                 /* no trailing slash */
  const char *bookings_version;   /* cal-api-version of /bookings/... */
  const char *create_version;     /* cal-api-version of POST /bookings */
  int oauth;                      /* tokens (1) or an API key (0) */
  const char *client_id;          /* oauth only */
  int64_t default_type;           /* 0: none */
  struct cc_type *types;
  size_t n_types;
  char *type_ids_csv;             /* list filter, NULL when no types known */
  const char *org_key, *loc_key;  /* metadata keys naming the tenant */
  char *org_expect, *loc_expect;  /* loc_expect NULL: not checked */
  int require_tenant;
  int accept_unsigned;
  int64_t page_size;
  uint32_t timeout_ms;
};

/* ---- calcom_http.c ---- */

/* One API call. out->root is the parsed body (NULL when it is not JSON) and
** out->data its "data" member; release with cc_resp_free. Returns OK when a
** response arrived, whatever its status; map the status with cc_status. */
struct cc_resp {
  uint32_t status;
  json_object *root;
  json_object *data;
  struct sidecal_http_response http;
  int have_http;
};

#define CC_AUTH_NONE 0
#define CC_AUTH_BEARER 1

struct cc_call {
  const char *method;
  const char *path;         /* after base_url, with query, e.g. "/bookings?take=1" */
  const char *version;      /* cal-api-version, or NULL */
  json_object *body;        /* or NULL */
  int auth;                 /* CC_AUTH_* */
  const char *secret_key;   /* x-cal-secret-key value, or NULL */
};

int32_t cc_request(const struct cc *c, const struct sidecal_call_ctx *ctx,
                   const struct cc_call *call, struct cc_resp *out,
                   struct sidecal_result *res);
void cc_resp_free(struct cc_resp *r);
/* Maps a response status to a result: 2xx OK, 401 UNAUTHORIZED, 429 RETRY
** with Retry-After (or the rate-limit reset) as the hint, 5xx RETRY, other
** 4xx ERROR quoting Cal.com's message. `what` names the operation. */
int32_t cc_status(const struct cc_resp *r, const char *what,
                  struct sidecal_result *res);
const char *cc_resp_header(const struct cc_resp *r, const char *name);

/* ---- calcom_booking.c ---- */

/* Seconds since the epoch of an ISO-8601 string; 0 and -1 on failure. */
int cc_parse_time(const char *iso, int64_t *out_s, int64_t *out_us);
/* "2030-01-07T10:00:00Z" into buf (>= 32 bytes). */
void cc_format_time(int64_t t, char *buf, size_t size);

/* OK when the booking's metadata names this instance's tenant. */
int32_t cc_tenant_check(const struct cc *c, json_object *metadata,
                        const char *uid, struct sidecal_result *res);

/* Event storage that lives as long as the booking JSON it points into. */
struct cc_event {
  struct sidecal_event ev;
  struct sidecal_attendee att[CC_MAX_ATTENDEES];
};

/* A booking (API v2 or webhook payload shape) as a normalized event.
** fallback_modified: used when the booking has no updatedAt. */
int32_t cc_booking_event(const struct cc *c, json_object *b,
                         int64_t fallback_modified, struct cc_event *out,
                         struct sidecal_result *res);
const char *cc_slug_for(const struct cc *c, int64_t type_id);
int64_t cc_type_for(const struct cc *c, const char *slug);
const char *cc_str(json_object *o, const char *key);
/* A booking's version as an etag: its updatedAt, else its createdAt (Cal.com
** may leave updatedAt empty until the first change); NULL when it has
** neither. Reported by listings and returned by our own writes, so the host
** knows the booking it just wrote when the next poll lists it. */
const char *cc_booking_etag(json_object *b);

/* ---- calcom_ops.c ---- */

int32_t cc_list_events(void *instance, const struct sidecal_call_ctx *ctx,
                       const struct sidecal_window *window, const char *cursor,
                       const struct sidecal_sink *sink, struct sidecal_result *res);
int32_t cc_create_event(void *instance, const struct sidecal_call_ctx *ctx,
                        const struct sidecal_event *ev,
                        struct sidecal_write_result *out, struct sidecal_result *res);
int32_t cc_update_event(void *instance, const struct sidecal_call_ctx *ctx,
                        const char *external_id, const char *if_match,
                        const struct sidecal_event *ev,
                        struct sidecal_write_result *out, struct sidecal_result *res);
int32_t cc_delete_event(void *instance, const struct sidecal_call_ctx *ctx,
                        const char *external_id, const char *if_match,
                        struct sidecal_result *res);
int32_t cc_refresh(void *instance, const struct sidecal_call_ctx *ctx,
                   struct sidecal_result *res);
/* The tenant check of a booking (cc_tenant_check on its metadata), except
** that the successor of a reschedule whose metadata names no tenant at all
** inherits its predecessor's tenant and marker (whether Cal.com copies
** metadata on reschedule is unverified). marker gets the inherited marker
** or "". */
int32_t cc_booking_tenant(const struct cc *c, const struct sidecal_call_ctx *ctx, json_object *b,
                          char *marker, size_t marker_size, struct sidecal_result *res);
/* GET /bookings/{uid}; out->data is the booking. */
int32_t cc_get_booking(const struct cc *c, const struct sidecal_call_ctx *ctx,
                       const char *uid, struct cc_resp *out, struct sidecal_result *res);

/* ---- calcom_webhook.c ---- */

int32_t cc_webhook_verify(void *instance, const struct sidecal_call_ctx *ctx,
                          const struct sidecal_webhook *wh, struct sidecal_result *res);
int32_t cc_webhook_parse(void *instance, const struct sidecal_call_ctx *ctx,
                         const struct sidecal_webhook *wh,
                         const struct sidecal_sink *sink, struct sidecal_result *res);

/* printf into res->message with the given code. */
int32_t cc_fail(struct sidecal_result *res, int32_t code, uint32_t retry_ms,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
