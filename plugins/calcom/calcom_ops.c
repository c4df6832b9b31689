/*
** calcom_ops: listing bookings (take/skip pages; afterUpdatedAt as the
** incremental cursor), creating, rescheduling and cancelling them, and the
** platform OAuth refresh with rotation.
*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "calcom.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_PREFIX "u:"
/* A full sync that saw no booking starts polling this far before its own
** start, so clock skew between us and Cal.com loses nothing. */
#define EMPTY_CURSOR_SKEW_S 300
#define MAX_PAGES 10000
#define MAX_RESCHEDULE_HOPS 8

/* ---- listing --------------------------------------------------------- */

struct page_state {
  char max_updated[64];
  int64_t max_updated_us;
  int stopped;               /* the sink wants no more */
  uint64_t reported, skipped;
};

static void append(GString *q, const char *key, const char *value) {
  gchar *v = g_uri_escape_string(value, NULL, FALSE);
  g_string_append_printf(q, "%c%s=%s", q->len && strchr(q->str, '?') ? '&' : '?', key, v);
  g_free(v);
}

static void note_updated(struct page_state *st, json_object *b) {
  const char *u = cc_str(b, "updatedAt");
  int64_t us;
  if (u && strlen(u) < sizeof st->max_updated && cc_parse_time(u, NULL, &us) == 0 &&
      us > st->max_updated_us) {
    st->max_updated_us = us;
    snprintf(st->max_updated, sizeof st->max_updated, "%s", u);
  }
}

/* Reports one listed booking. Bookings of another tenant are skipped (and
** counted), not fatal: one stray booking must not stop a whole sync. A
** booking superseded by a reschedule is skipped too: its successor carries
** replaces_external_id, so the host moves the appointment instead of
** cancelling it. */
static void report(const struct cc *c, const struct sidecal_call_ctx *ctx, json_object *b,
                   const struct sidecal_sink *sink, struct page_state *st) {
  struct sidecal_result r = {.struct_size = sizeof r};
  char inherited[512];
  note_updated(st, b);
  if (cc_str(b, "rescheduledToUid")) {
    st->skipped++;
    return;
  }
  if (cc_booking_tenant(c, ctx, b, inherited, sizeof inherited, &r) != SIDECAL_OK) {
    cc_host->log(ctx->host_instance, SIDECAL_LOG_WARN, "request=%s skipped: %s", ctx->request_id,
                 r.message);
    cc_host->counter_add(ctx->host_instance, "bookings_foreign_skipped", 1);
    st->skipped++;
    return;
  }
  struct cc_event e;
  if (cc_booking_event(c, b, 0, &e, &r) != SIDECAL_OK) {
    cc_host->log(ctx->host_instance, SIDECAL_LOG_WARN, "request=%s skipped: %s", ctx->request_id,
                 r.message);
    st->skipped++;
    return;
  }
  if (!e.ev.marker && *inherited) e.ev.marker = inherited;
  /* Only listings carry the version: a webhook payload's updatedAt, if
  ** any, is not known to be the booking's latest. */
  e.ev.etag = cc_booking_etag(b);
  st->reported++;
  if (sink->event(sink, &e.ev)) st->stopped = 1;
}

static int32_t list_page(const struct cc *c, const struct sidecal_call_ctx *ctx, const char *base_q,
                         int64_t skip, const struct sidecal_sink *sink, struct page_state *st,
                         int *more, struct sidecal_result *res) {
  GString *path = g_string_new(base_q);
  g_string_append_printf(path, "&skip=%lld", (long long)skip);
  struct cc_call call = {.method = "GET", .path = path->str, .version = c->bookings_version,
                         .auth = CC_AUTH_BEARER};
  struct cc_resp r;
  int32_t rc = cc_request(c, ctx, &call, &r, res);
  g_string_free(path, TRUE);
  if (rc != SIDECAL_OK) return rc;
  rc = cc_status(&r, "GET /bookings", res);
  if (rc == SIDECAL_OK && (!r.data || !json_object_is_type(r.data, json_type_array)))
    rc = sidecal_error(res, "Cal.com answered GET /bookings without a data array");
  if (rc == SIDECAL_OK) {
    size_t n = json_object_array_length(r.data);
    for (size_t i = 0; i < n && !st->stopped; i++)
      report(c, ctx, json_object_array_get_idx(r.data, i), sink, st);
    json_object *pag = NULL, *next = NULL;
    if (json_object_object_get_ex(r.root, "pagination", &pag) &&
        json_object_object_get_ex(pag, "hasNextPage", &next))
      *more = json_object_get_boolean(next);
    else
      *more = (int64_t)n == c->page_size;
    cc_host->counter_add(ctx->host_instance, "pages_fetched", 1);
  }
  cc_resp_free(&r);
  return rc;
}

int32_t cc_list_events(void *instance, const struct sidecal_call_ctx *ctx,
                       const struct sidecal_window *window, const char *cursor,
                       const struct sidecal_sink *sink, struct sidecal_result *res) {
  const struct cc *c = instance;
  int64_t started_s = cc_host->now_utc_ms() / 1000;
  char t[40];
  GString *q = g_string_new("/bookings");
  g_string_append_printf(q, "?take=%lld", (long long)c->page_size);
  if (c->type_ids_csv) append(q, "eventTypeIds", c->type_ids_csv);
  if (cursor) {
    int64_t s;
    if (strncmp(cursor, CURSOR_PREFIX, 2) || cc_parse_time(cursor + 2, &s, NULL)) {
      g_string_free(q, TRUE);
      return cc_fail(res, SIDECAL_CURSOR_EXPIRED, 0, "cursor \"%.64s\" is not one of ours", cursor);
    }
    /* Changes anywhere in time: a booking rescheduled out of the window
    ** must still reach the host. */
    append(q, "afterUpdatedAt", cursor + 2);
    append(q, "sortUpdatedAt", "asc");
  } else {
    cc_format_time(window->start_utc, t, sizeof t);
    append(q, "afterStart", t);
    cc_format_time(window->end_utc, t, sizeof t);
    append(q, "beforeEnd", t);
    append(q, "sortStart", "asc");
  }
  struct page_state st = {0};
  int more = 1;
  int32_t rc = SIDECAL_OK;
  for (int64_t page = 0; more && !st.stopped && rc == SIDECAL_OK; page++) {
    if (*ctx->cancel) {
      rc = sidecal_retry(res, 0, "cancelled by the host between pages");
      break;
    }
    if (page == MAX_PAGES) {
      rc = cc_fail(res, SIDECAL_ERROR, 0, "more than %d pages of bookings; raise page_size", MAX_PAGES);
      break;
    }
    rc = list_page(c, ctx, q->str, page * c->page_size, sink, &st, &more, res);
  }
  g_string_free(q, TRUE);
  if (rc != SIDECAL_OK || st.stopped) return rc == SIDECAL_OK ? sidecal_ok(res) : rc;
  if (*st.max_updated) {
    char next[80];
    snprintf(next, sizeof next, CURSOR_PREFIX "%s", st.max_updated);
    sink->cursor(sink, next);
  } else if (!cursor) {
    char next[48];
    cc_format_time(started_s - EMPTY_CURSOR_SKEW_S, t, sizeof t);
    snprintf(next, sizeof next, CURSOR_PREFIX "%s", t);
    sink->cursor(sink, next);
  }
  cc_host->log(ctx->host_instance, SIDECAL_LOG_DEBUG, "request=%s listed %llu bookings, skipped %llu",
               ctx->request_id, (unsigned long long)st.reported, (unsigned long long)st.skipped);
  return sidecal_ok(res);
}

/* ---- single bookings -------------------------------------------------- */

int32_t cc_get_booking(const struct cc *c, const struct sidecal_call_ctx *ctx, const char *uid,
                       struct cc_resp *out, struct sidecal_result *res) {
  gchar *e = g_uri_escape_string(uid, NULL, FALSE);
  gchar *path = g_strdup_printf("/bookings/%s", e);
  struct cc_call call = {.method = "GET", .path = path, .version = c->bookings_version,
                         .auth = CC_AUTH_BEARER};
  int32_t rc = cc_request(c, ctx, &call, out, res);
  g_free(path);
  g_free(e);
  if (rc != SIDECAL_OK) return rc;
  if (out->status == 404)
    return cc_fail(res, SIDECAL_ERROR, 0, "booking %s does not exist at Cal.com", uid);
  rc = cc_status(out, "GET /bookings/{uid}", res);
  /* A recurring series uid answers with an array: its first occurrence. */
  if (rc == SIDECAL_OK && out->data && json_object_is_type(out->data, json_type_array))
    out->data = json_object_array_length(out->data) ? json_object_array_get_idx(out->data, 0) : NULL;
  if (rc == SIDECAL_OK && (!out->data || !json_object_is_type(out->data, json_type_object)))
    rc = cc_fail(res, SIDECAL_ERROR, 0, "Cal.com answered GET /bookings/%s without a booking", uid);
  return rc;
}

int32_t cc_booking_tenant(const struct cc *c, const struct sidecal_call_ctx *ctx, json_object *b,
                          char *marker, size_t marker_size, struct sidecal_result *res) {
  json_object *metadata = NULL;
  json_object_object_get_ex(b, "metadata", &metadata);
  const char *uid = cc_str(b, "uid");
  const char *pred = cc_str(b, "rescheduledFromUid");
  if (!pred) pred = cc_str(b, "rescheduleUid");
  *marker = '\0';
  if (cc_str(metadata, c->org_key) || !pred) return cc_tenant_check(c, metadata, uid, res);
  struct cc_resp r;
  if (cc_get_booking(c, ctx, pred, &r, res) != SIDECAL_OK) {
    cc_resp_free(&r);
    return res->code;
  }
  json_object *pm = NULL;
  json_object_object_get_ex(r.data, "metadata", &pm);
  int32_t rc = cc_str(pm, c->org_key) ? cc_tenant_check(c, pm, uid, res)
                                      : cc_tenant_check(c, metadata, uid, res);
  const char *m = cc_str(pm, CC_MARKER_KEY);
  if (rc == SIDECAL_OK && m) snprintf(marker, marker_size, "%s", m);
  cc_resp_free(&r);
  return rc;
}

/* The version of the booking a write left, as the link's etag. */
static void etag_of(json_object *b, struct sidecal_write_result *out) {
  const char *etag = cc_booking_etag(b);
  snprintf(out->etag, sizeof out->etag, "%s", etag && strlen(etag) < sizeof out->etag ? etag : "");
}

static int32_t post_booking(const struct cc *c, const struct sidecal_call_ctx *ctx,
                            const char *path, const char *version, json_object *body,
                            const char *what, struct sidecal_write_result *out,
                            struct sidecal_result *res) {
  struct cc_call call = {.method = "POST", .path = path, .version = version, .body = body,
                         .auth = CC_AUTH_BEARER};
  struct cc_resp r;
  int32_t rc = cc_request(c, ctx, &call, &r, res);
  if (rc != SIDECAL_OK) return rc;
  rc = cc_status(&r, what, res);
  json_object *b = r.data;
  if (b && json_object_is_type(b, json_type_array))
    b = json_object_array_length(b) ? json_object_array_get_idx(b, 0) : NULL;
  const char *uid = cc_str(b, "uid");
  if (rc == SIDECAL_OK && (!uid || strlen(uid) >= sizeof out->external_id))
    rc = cc_fail(res, SIDECAL_ERROR, 0, "Cal.com answered %s without a booking uid", what);
  if (rc == SIDECAL_OK) {
    snprintf(out->external_id, sizeof out->external_id, "%s", uid);
    etag_of(b, out);
  }
  cc_resp_free(&r);
  return rc;
}

static void add_str(json_object *o, const char *key, const char *value) {
  if (value && *value) json_object_object_add(o, key, json_object_new_string(value));
}

static int32_t pick_type(const struct cc *c, const struct sidecal_event *ev, int64_t *id,
                         struct sidecal_result *res) {
  const char *slug = SIDECAL_EVENT_HAS(ev, event_type) ? ev->event_type : NULL;
  *id = cc_type_for(c, slug);
  if (!*id) *id = c->default_type;
  if (*id) return SIDECAL_OK;
  if (slug)
    return cc_fail(res, SIDECAL_ERROR, 0,
                   "event type \"%s\" has no Cal.com event type: add it to event_types or set "
                   "default_event_type_id", slug);
  return sidecal_error(res, "no Cal.com event type for this appointment: set default_event_type_id");
}

static json_object *create_body(const struct cc *c, const struct sidecal_event *ev, int64_t type,
                                const char *start) {
  const struct sidecal_attendee *a = &ev->attendees[0];
  json_object *body = json_object_new_object(), *att = json_object_new_object(),
              *md = json_object_new_object();
  json_object_object_add(body, "start", json_object_new_string(start));
  json_object_object_add(body, "eventTypeId", json_object_new_int64(type));
  add_str(att, "name", a->name ? a->name : a->email ? a->email : a->phone);
  add_str(att, "email", a->email);
  add_str(att, "phoneNumber", a->phone);
  add_str(att, "timeZone", ev->timezone ? ev->timezone : "UTC");
  json_object_object_add(body, "attendee", att);
  if (SIDECAL_EVENT_HAS(ev, marker)) add_str(md, CC_MARKER_KEY, ev->marker);
  add_str(md, c->org_key, c->org_expect);
  if (c->loc_expect) add_str(md, c->loc_key, c->loc_expect);
  json_object_object_add(body, "metadata", md);
  return body;
}

int32_t cc_create_event(void *instance, const struct sidecal_call_ctx *ctx,
                        const struct sidecal_event *ev, struct sidecal_write_result *out,
                        struct sidecal_result *res) {
  const struct cc *c = instance;
  int64_t type;
  if (pick_type(c, ev, &type, res) != SIDECAL_OK) return res->code;
  if (!ev->n_attendees || (!ev->attendees[0].email && !ev->attendees[0].phone))
    return sidecal_error(res, "Cal.com needs an attendee with an email address or a phone number");
  char start[40];
  cc_format_time(ev->start_utc, start, sizeof start);
  json_object *body = create_body(c, ev, type, start);
  int32_t rc = post_booking(c, ctx, "/bookings", c->create_version, body, "POST /bookings", out, res);
  json_object_put(body);
  if (rc == SIDECAL_OK)
    cc_host->log(ctx->host_instance, SIDECAL_LOG_INFO, "request=%s created booking %s",
                 ctx->request_id, out->external_id);
  return rc;
}

/* Follows rescheduledToUid from uid to the booking that is current now, so
** a reschedule that answered 500 after it took effect is not repeated. */
static int32_t current_booking(const struct cc *c, const struct sidecal_call_ctx *ctx,
                               const char *uid, struct cc_resp *r, char *cur, size_t size,
                               struct sidecal_result *res) {
  snprintf(cur, size, "%s", uid);
  for (int hop = 0; hop < MAX_RESCHEDULE_HOPS; hop++) {
    if (cc_get_booking(c, ctx, cur, r, res) != SIDECAL_OK) {
      cc_resp_free(r);
      return res->code;
    }
    const char *next = cc_str(r->data, "rescheduledToUid");
    if (!next || strlen(next) >= size) return sidecal_ok(res);
    snprintf(cur, size, "%s", next);
    cc_resp_free(r);
  }
  return cc_fail(res, SIDECAL_ERROR, 0, "booking %s was rescheduled more than %d times in a row",
                 uid, MAX_RESCHEDULE_HOPS);
}

static int32_t cancel(const struct cc *c, const struct sidecal_call_ctx *ctx, const char *uid,
                      struct sidecal_result *res) {
  gchar *e = g_uri_escape_string(uid, NULL, FALSE);
  gchar *path = g_strdup_printf("/bookings/%s/cancel", e);
  json_object *body = json_object_new_object();
  json_object_object_add(body, "cancellationReason", json_object_new_string("Cancelled in sidecal"));
  struct cc_call call = {.method = "POST", .path = path, .version = c->bookings_version,
                         .body = body, .auth = CC_AUTH_BEARER};
  struct cc_resp r;
  int32_t rc = cc_request(c, ctx, &call, &r, res);
  g_free(path);
  g_free(e);
  json_object_put(body);
  if (rc != SIDECAL_OK) return rc;
  uint32_t status = r.status;
  rc = status == 404 ? sidecal_ok(res) : cc_status(&r, "POST /bookings/{uid}/cancel", res);
  cc_resp_free(&r);
  if (rc != SIDECAL_ERROR || status != 400) return rc;
  /* Cancelling twice is a 400 [unverified]: done if it is cancelled now. */
  struct sidecal_result first = *res;
  rc = cc_get_booking(c, ctx, uid, &r, res);
  const char *st = rc == SIDECAL_OK ? cc_str(r.data, "status") : NULL;
  int done = st && !strcmp(st, "cancelled");
  cc_resp_free(&r);
  if (done) return sidecal_ok(res);
  *res = first;
  return res->code;
}

int32_t cc_delete_event(void *instance, const struct sidecal_call_ctx *ctx,
                        const char *external_id, const char *if_match,
                        struct sidecal_result *res) {
  (void)if_match; /* Cal.com has no preconditions */
  return cancel(instance, ctx, external_id, res);
}

/* Cal.com can only move a booking (reschedule: a new uid) or cancel it;
** title, attendees and length follow the event type. */
int32_t cc_update_event(void *instance, const struct sidecal_call_ctx *ctx,
                        const char *external_id, const char *if_match,
                        const struct sidecal_event *ev, struct sidecal_write_result *out,
                        struct sidecal_result *res) {
  (void)if_match;
  const struct cc *c = instance;
  char cur[256];
  struct cc_resp r;
  if (current_booking(c, ctx, external_id, &r, cur, sizeof cur, res) != SIDECAL_OK) return res->code;
  int64_t start = 0;
  cc_parse_time(cc_str(r.data, "start"), &start, NULL);
  const char *status = cc_str(r.data, "status");
  int cancelled = status && !strcmp(status, "cancelled");
  snprintf(out->external_id, sizeof out->external_id, "%s", cur);
  etag_of(r.data, out);  /* the version left when nothing needs doing */
  cc_resp_free(&r);
  if (ev->status == SIDECAL_EVENT_CANCELLED && !cancelled) out->etag[0] = '\0';
  if (ev->status == SIDECAL_EVENT_CANCELLED)
    return cancelled ? sidecal_ok(res) : cancel(c, ctx, cur, res);
  if (start == ev->start_utc) return sidecal_ok(res);
  if (cancelled)
    return cc_fail(res, SIDECAL_ERROR, 0,
                   "booking %s is cancelled at Cal.com and cannot be moved; cancel the appointment "
                   "or book it again", cur);
  char when[40];
  cc_format_time(ev->start_utc, when, sizeof when);
  json_object *body = json_object_new_object();
  json_object_object_add(body, "start", json_object_new_string(when));
  json_object_object_add(body, "reschedulingReason", json_object_new_string("Moved in sidecal"));
  gchar *e = g_uri_escape_string(cur, NULL, FALSE);
  gchar *path = g_strdup_printf("/bookings/%s/reschedule", e);
  int32_t rc = post_booking(c, ctx, path, c->bookings_version, body,
                            "POST /bookings/{uid}/reschedule", out, res);
  g_free(path);
  g_free(e);
  json_object_put(body);
  if (rc == SIDECAL_OK)
    cc_host->log(ctx->host_instance, SIDECAL_LOG_INFO, "request=%s rescheduled booking %s as %s",
                 ctx->request_id, cur, out->external_id);
  return rc;
}

/* ---- credentials ------------------------------------------------------ */

static int32_t store_tokens(const struct sidecal_call_ctx *ctx, json_object *data,
                            struct sidecal_result *res) {
  const char *access = cc_str(data, "accessToken"), *refresh = cc_str(data, "refreshToken");
  if (!access || !refresh)
    return sidecal_error(res, "Cal.com answered the refresh without accessToken and refreshToken");
  /* The old refresh token is spent: keep the new one before anything else. */
  if (cc_host->secret_store_rotated(ctx->host_instance, "refresh_token", refresh) ||
      cc_host->secret_store_rotated(ctx->host_instance, "access_token", access))
    return sidecal_error(res, "could not keep the rotated Cal.com tokens; reconnect the account");
  return sidecal_ok(res);
}

int32_t cc_refresh(void *instance, const struct sidecal_call_ctx *ctx, struct sidecal_result *res) {
  const struct cc *c = instance;
  if (!c->oauth)
    return sidecal_error(res, "this instance uses an API key, which cannot be refreshed: "
                              "configure a valid api_key");
  char rt[4096], secret[1024];
  int32_t n1 = cc_host->secret_read(ctx->host_instance, "refresh_token", rt, sizeof rt);
  int32_t n2 = cc_host->secret_read(ctx->host_instance, "oauth_client_secret", secret, sizeof secret);
  int32_t rc;
  if (n1 <= 0 || n2 <= 0) {
    rc = sidecal_error(res, n1 <= 0 ? "refresh_token cannot be read" : "oauth_client_secret cannot be read");
  } else {
    json_object *body = json_object_new_object();
    json_object_object_add(body, "refreshToken", json_object_new_string(rt));
    gchar *e = g_uri_escape_string(c->client_id, NULL, FALSE);
    gchar *path = g_strdup_printf("/oauth/%s/refresh", e);
    struct cc_call call = {.method = "POST", .path = path, .body = body, .auth = CC_AUTH_NONE,
                           .secret_key = secret};
    struct cc_resp r;
    rc = cc_request(c, ctx, &call, &r, res);
    g_free(path);
    g_free(e);
    json_object_put(body);
    if (rc == SIDECAL_OK) {
      rc = cc_status(&r, "the OAuth refresh", res);
      /* A rejected refresh token will not get better by retrying. */
      if (rc == SIDECAL_UNAUTHORIZED || (rc == SIDECAL_ERROR && r.status == 400))
        rc = cc_fail(res, SIDECAL_ERROR, 0, "%s; reconnect the Cal.com account", res->message);
      if (rc == SIDECAL_OK) rc = store_tokens(ctx, r.data, res);
      cc_resp_free(&r);
    }
  }
  explicit_bzero(rt, sizeof rt);
  explicit_bzero(secret, sizeof secret);
  return rc;
}
