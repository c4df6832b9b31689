/*
** The public booking handler: body checks, the organization's transaction,
** Idempotency-Key, and core/booking.c.
*/
#include "api_booking.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "avail_cache.h"
#include "booking.h"
#include "idempotency.h"
#include "json_input.h"
#include "timeutil.h"

static const char *const keys[] = {"event_type", "start", "staff", "client_name",
                                   "client_email", "client_phone", "notes", "timezone",
                                   "metadata", NULL};

static int read_body(json_object *body, const struct sc_cat_org *org, struct sc_booking *b,
                     struct sc_error *err) {
  enum sc_json_has h;
  const char *et = NULL, *start = NULL, *staff = NULL;
  int rc = sc_json_only_keys(body, keys, err);
  if (!rc) rc = sc_json_string(body, "event_type", &h, &et, 64, err);
  if (!rc && !et) rc = sc_error_set(err, SC_EINVAL, "event_type", "event_type: required");
  if (!rc) rc = sc_json_string(body, "start", &h, &start, 64, err);
  if (!rc && !start) rc = sc_error_set(err, SC_EINVAL, "start", "start: required");
  if (!rc) rc = sc_time_parse_rfc3339(start, "start", &b->start, NULL, err);
  if (!rc) rc = sc_json_string(body, "staff", &h, &staff, 64, err);
  if (!rc) rc = sc_json_string(body, "client_name", &h, &b->client_name, 200, err);
  if (!rc && (!b->client_name || !*b->client_name))
    rc = sc_error_set(err, SC_EINVAL, "client_name", "client_name: required");
  if (!rc) rc = sc_json_string(body, "client_email", &h, &b->client_email, 320, err);
  if (!rc && (!b->client_email || !strchr(b->client_email, '@')))
    rc = sc_error_set(err, SC_EINVAL, "client_email", "client_email: required (an email address)");
  if (!rc) rc = sc_json_string(body, "client_phone", &h, &b->client_phone, 64, err);
  if (!rc) rc = sc_json_string(body, "notes", &h, &b->notes, 5000, err);
  if (!rc) rc = sc_json_string(body, "timezone", &h, &b->timezone, 64, err);
  if (!rc && b->timezone && !sc_tz_valid(b->timezone))
    rc = sc_error_set(err, SC_EINVAL, "timezone", "timezone: unknown time zone \"%s\"", b->timezone);
  if (!rc) rc = sc_json_object(body, "metadata", &h, &b->metadata, err);
  if (rc) return rc;
  b->et = sc_cat_event_type(org, et);
  if (!b->et || !b->et->active || !b->et->published)
    return sc_error_set(err, SC_EINVAL, "event_type", "event_type: no bookable event type \"%s\"", et);
  if (staff) {
    b->staff = sc_cat_staff(org, staff);
    if (!b->staff || !b->staff->active || !sc_cat_staff_at(b->staff, b->loc->id))
      return sc_error_set(err, SC_EINVAL, "staff", "staff: no active staff member \"%s\" at this location", staff);
  }
  return SC_OK;
}

static json_object *render(const struct sc_booking *b, const char *id,
                           const struct sc_cat_staff *st) {
  char s[32], e[32];
  sc_time_format_utc(b->start, s, sizeof s);
  sc_time_format_utc(b->start + (int64_t)b->et->duration * 60, e, sizeof e);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(id));
  json_object_object_add(o, "status", json_object_new_string("SCHEDULED"));
  json_object_object_add(o, "location", json_object_new_string(b->loc->slug));
  json_object_object_add(o, "event_type", json_object_new_string(b->et->slug));
  json_object_object_add(o, "staff", json_object_new_string(st->slug));
  json_object_object_add(o, "start", json_object_new_string(s));
  json_object_object_add(o, "end", json_object_new_string(e));
  json_object_object_add(o, "timezone", json_object_new_string(b->timezone ? b->timezone : b->loc->timezone));
  json_object_object_add(o, "client_name", json_object_new_string(b->client_name));
  json_object_object_add(o, "client_email", json_object_new_string(b->client_email));
  return o;
}

/* The transaction: idempotency first, then the booking, then the stored
** response, all committed together. */
static int book(struct sc_app *app, struct sc_http_req *req, struct sc_booking *b,
                struct sc_http_resp *resp, struct sc_error *err) {
  PGconn *conn = sc_db_acquire(app->pool);
  struct sc_tenant t = {0};
  snprintf(t.org_id, sizeof t.org_id, "%s", b->org->id);
  const char *key = sc_http_header(req, "Idempotency-Key");
  struct sc_idem_replay rp = {0};
  int rc = sc_db_begin(conn, &t, err);
  if (!rc && key) rc = sc_idem_claim(conn, b->org->id, key, req->method, req->path, req->body,
                                     req->body_len, &rp, err);
  if (!rc && rp.replay) {
    sc_db_rollback(conn);
    sc_db_release(app->pool, conn);
    free(resp->body);
    resp->status = rp.status;
    resp->body = rp.body;
    resp->content_type = "application/json";
    return SC_OK;
  }
  char id[37];
  const struct sc_cat_staff *st = NULL;
  json_object *out = NULL;
  if (!rc) rc = sc_booking_make(app->pool, conn, app->avail, b, id, &st, err);
  if (!rc) out = render(b, id, st);
  if (!rc && key)
    rc = sc_idem_store(conn, b->org->id, key, 201, json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN), err);
  if (!rc) rc = sc_booking_commit(conn, b, st, err);
  if (rc) sc_db_rollback(conn);
  sc_db_release(app->pool, conn);
  if (rc) {
    json_object_put(out);
    return rc;
  }
  sc_avail_cache_bump(app->avail, NULL, st->id, NULL);
  sc_http_json(resp, 201, out);
  return SC_OK;
}

static int json_content(struct sc_http_req *req) {
  const char *ct = sc_http_header(req, "Content-Type");
  return ct && !strncasecmp(ct, "application/json", 16);
}

void sc_api_public_booking(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_app *app = req->app;
  struct sc_error err = {0};
  const struct sc_catalog *cat = sc_catalog_acquire(app->catalog);
  const struct sc_cat_org *org = sc_cat_org_by_slug(cat, req->params[0]);
  struct sc_booking b = {.org = org, .now = (int64_t)time(NULL)};
  b.loc = org && org->active ? sc_cat_location(org, req->params[1]) : NULL;
  json_object *body = NULL;
  int rc;
  if (!b.loc || !b.loc->active) {
    rc = sc_error_set(&err, SC_ENOTFOUND, NULL, "no such booking page");
  } else if (!json_content(req)) {
    sc_catalog_release(app->catalog, cat);
    return sc_http_error(resp, 415, "unsupported_media_type", NULL, "send the body as application/json");
  } else if ((rc = sc_json_parse_object(req->body, req->body_len, &body, &err)) &&
             !strcmp(err.kind, "malformed_json")) {
    sc_catalog_release(app->catalog, cat);
    return sc_http_error(resp, 400, "malformed_json", "$", "%s", err.message);
  } else {
    snprintf(resp->org, sizeof resp->org, "%s", org->slug);
    if (!rc) rc = read_body(body, org, &b, &err);
    if (!rc) rc = book(app, req, &b, resp, &err);
  }
  json_object_put(body);
  sc_catalog_release(app->catalog, cat);
  if (rc) sc_http_from_error(resp, &err);
}
