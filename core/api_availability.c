/*
** Availability handlers: argument checks, scope, and merging the per-staff
** slot lists of core/avail_service.c into one answer.
*/
#include "api_availability.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "avail_service.h"
#include "timeutil.h"

#define SC_AVAIL_MAX_DAYS 62
#define SC_AVAIL_MAX_STAFF 256

struct avail_args {
  const char *location, *event_type, *staff, *from, *to, *tz;
};

static int parse_day(const char *s, const char *field, sc_date *d, struct sc_error *err) {
  int y, m, dd, n = 0;
  if (!s) return sc_error_set(err, SC_EINVAL, field, "%s: required (YYYY-MM-DD)", field);
  if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &dd, &n) != 3 || s[n] || strlen(s) != 10 ||
      !sc_date_from_ymd(y, m, dd, d) || y < 1900 || y > 2199)
    return sc_error_set(err, SC_EINVAL, field, "%s: expected a date YYYY-MM-DD", field);
  return SC_OK;
}

static int check_window(const struct avail_args *a, struct sc_avail_request *rq,
                        struct sc_error *err) {
  if (!a->event_type) return sc_error_set(err, SC_EINVAL, "event_type", "event_type: required (an event type slug)");
  int rc = parse_day(a->from, "from", &rq->from, err);
  if (!rc) rc = parse_day(a->to, "to", &rq->to, err);
  if (rc) return rc;
  if (rq->from > rq->to) return sc_error_set(err, SC_EINVAL, "to", "to: must not be before from");
  if (rq->to - rq->from + 1 > SC_AVAIL_MAX_DAYS)
    return sc_error_set(err, SC_EINVAL, "to", "to: the window may span at most %d days", SC_AVAIL_MAX_DAYS);
  if (a->tz && !sc_tz_valid(a->tz)) return sc_error_set(err, SC_EINVAL, "tz", "tz: unknown time zone \"%s\"", a->tz);
  rq->window_tz = a->tz;
  rq->now = (int64_t)time(NULL);
  return SC_OK;
}

struct offer {
  int64_t start;
  const char *staff;
};

static int cmp_offer(const void *a, const void *b) {
  const struct offer *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return strcmp(x->staff, y->staff);
}

static json_object *render(const struct sc_avail_request *rq, GArray *offers) {
  g_array_sort(offers, cmp_offer);
  json_object *slots = json_object_new_array(), *cur = NULL, *staff = NULL;
  int64_t cur_start = 0;
  for (guint i = 0; i < offers->len; i++) {
    struct offer *o = &g_array_index(offers, struct offer, i);
    if (!cur || o->start != cur_start) {
      char s[32], e[32];
      sc_time_format_utc(o->start, s, sizeof s);
      sc_time_format_utc(o->start + (int64_t)rq->et->duration * 60, e, sizeof e);
      cur = json_object_new_object();
      staff = json_object_new_array();
      json_object_object_add(cur, "start", json_object_new_string(s));
      json_object_object_add(cur, "end", json_object_new_string(e));
      json_object_object_add(cur, "staff", staff);
      json_object_array_add(slots, cur);
      cur_start = o->start;
    }
    json_object_array_add(staff, json_object_new_string(o->staff));
  }
  json_object *out = json_object_new_object();
  char d[16];
  int y, m, dd;
  json_object_object_add(out, "location", json_object_new_string(rq->loc->slug));
  json_object_object_add(out, "event_type", json_object_new_string(rq->et->slug));
  json_object_object_add(out, "timezone", json_object_new_string(rq->window_tz ? rq->window_tz : rq->loc->timezone));
  sc_date_to_ymd(rq->from, &y, &m, &dd);
  snprintf(d, sizeof d, "%04d-%02d-%02d", y, m, dd);
  json_object_object_add(out, "from", json_object_new_string(d));
  sc_date_to_ymd(rq->to, &y, &m, &dd);
  snprintf(d, sizeof d, "%04d-%02d-%02d", y, m, dd);
  json_object_object_add(out, "to", json_object_new_string(d));
  json_object_object_add(out, "duration", json_object_new_int(rq->et->duration));
  json_object_object_add(out, "slots", slots);
  return out;
}

static void answer_key(char *buf, size_t n, const struct sc_avail_request *rq,
                       const struct sc_cat_staff *only, const char *tz) {
  snprintf(buf, n, "%s|%s|%s|%s|%d|%d|%s", rq->org->id, rq->loc->id, rq->et->id,
           only ? only->id : "*", (int)rq->from, (int)rq->to, tz ? tz : "-");
}

/* Computes for each staff member (all candidates, or one) and merges; a
** whole answer is cached on top of the per-day cache, so a repeated
** request costs a hash probe. */
static int compute(struct sc_app *app, const struct sc_avail_request *rq,
                   const struct sc_cat_staff *only, char **json, struct sc_error *err) {
  const struct sc_cat_staff *cand[SC_AVAIL_MAX_STAFF];
  size_t n = sc_avail_candidates(rq->org, rq->loc, rq->et, cand, SC_AVAIL_MAX_STAFF), k = 0;
  const char *ids[SC_AVAIL_MAX_STAFF + 2];
  ids[k++] = rq->org->id;
  ids[k++] = rq->loc->id;
  for (size_t i = 0; i < n; i++)
    if (!only || cand[i] == only) ids[k++] = cand[i]->id;
  char key[512];
  answer_key(key, sizeof key, rq, only, rq->window_tz);
  if (sc_avail_cache_answer_get(app->avail, key, ids, k, rq->now, json)) return SC_OK;
  uint64_t gens[SC_AVAIL_MAX_STAFF + 3];
  sc_avail_cache_gen_vector(app->avail, ids, k, gens);  /* before reading inputs */
  GArray *offers = g_array_new(FALSE, FALSE, sizeof(struct offer));
  int rc = SC_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    if (only && cand[i] != only) continue;
    struct sc_staff_slots ss;
    rc = sc_avail_staff_slots(app->pool, NULL, app->avail, rq, cand[i], &ss, err);
    for (size_t j = 0; !rc && j < ss.n; j++) {
      struct offer o = {ss.starts[j], cand[i]->slug};
      g_array_append_val(offers, o);
    }
    if (!rc) sc_staff_slots_free(&ss);
  }
  if (!rc) {
    json_object *out = render(rq, offers);
    *json = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
    json_object_put(out);
    /* Valid until minimum notice would drop the earliest slot; at most a
    ** minute, so slots entering the booking horizon appear promptly. */
    int64_t until = rq->now + 60;
    if (offers->len) {
      int64_t first = g_array_index(offers, struct offer, 0).start - (int64_t)rq->et->min_notice * 60;
      if (first + 1 < until) until = first + 1;
    }
    sc_avail_cache_answer_put(app->avail, key, gens, k + 1, until, *json);
  }
  g_array_free(offers, TRUE);
  return rc;
}

static void send_json_text(struct sc_http_resp *resp, char *json) {
  free(resp->body);
  resp->status = 200;
  resp->body = json;
  resp->content_type = "application/json";
}

/* Resolves slugs in the catalog; `published_only` for public pages. */
static int resolve(const struct sc_cat_org *org, const struct avail_args *a, int published_only,
                   struct sc_avail_request *rq, const struct sc_cat_staff **staff,
                   struct sc_error *err) {
  rq->org = org;
  rq->loc = a->location ? sc_cat_location(org, a->location) : NULL;
  if (!a->location) return sc_error_set(err, SC_EINVAL, "location", "location: required (a location slug)");
  if (!rq->loc || !rq->loc->active)
    return sc_error_set(err, SC_EINVAL, "location", "location: no active location \"%s\"", a->location);
  int rc = check_window(a, rq, err);
  if (rc) return rc;
  rq->et = sc_cat_event_type(org, a->event_type);
  if (!rq->et || !rq->et->active || (published_only && !rq->et->published))
    return sc_error_set(err, SC_EINVAL, "event_type", "event_type: no bookable event type \"%s\"", a->event_type);
  *staff = NULL;
  if (a->staff) {
    *staff = sc_cat_staff(org, a->staff);
    if (!*staff || !(*staff)->active || !sc_cat_staff_at(*staff, rq->loc->id))
      return sc_error_set(err, SC_EINVAL, "staff", "staff: no active staff member \"%s\" at this location", a->staff);
  }
  return SC_OK;
}

/* The design's isolation rules, for availability: location staff see their
** location, staff members themselves. */
static int check_scope(const struct sc_caller *c, const struct sc_avail_request *rq,
                       const struct sc_cat_staff **staff, const struct sc_cat_org *org,
                       struct sc_error *err) {
  if (c->role == SC_ROLE_LOCATION_STAFF && strcmp(c->location_id, rq->loc->id))
    return sc_error_set(err, SC_EINVAL, "location", "location: no active location \"%s\"", rq->loc->slug);
  if (c->role == SC_ROLE_STAFF) {
    const struct sc_cat_staff *me = sc_cat_staff_by_id(org, c->staff_id);
    if (*staff && *staff != me)
      return sc_error_set(err, SC_EINVAL, "staff",
                          "staff: no active staff member \"%s\" at this location", (*staff)->slug);
    if (!me || !sc_cat_staff_at(me, rq->loc->id))
      return sc_error_set(err, SC_EINVAL, "location", "location: no active location \"%s\"", rq->loc->slug);
    *staff = me;
  }
  return SC_OK;
}

static void args_from_query(struct sc_http_req *req, struct avail_args *a, const char *location) {
  a->location = location ? location : sc_http_query(req, "location");
  a->event_type = sc_http_query(req, "event_type");
  a->staff = sc_http_query(req, "staff");
  a->from = sc_http_query(req, "from");
  a->to = sc_http_query(req, "to");
  a->tz = sc_http_query(req, "tz");
}

void sc_api_availability(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_app *app = req->app;
  struct sc_caller caller;
  if (sc_auth_request(app->auth, req, resp, &caller)) return;
  snprintf(resp->org, sizeof resp->org, "%s", *caller.org_slug ? caller.org_slug : "*");
  struct sc_error err = {0};
  if (!*caller.org_id) {
    sc_error_set(&err, SC_EINVAL, "org", "org: a platform admin names the organization with ?org=SLUG");
    return sc_http_from_error(resp, &err);
  }
  const struct sc_catalog *cat = sc_catalog_acquire(app->catalog);
  const struct sc_cat_org *org = sc_cat_org_by_id(cat, caller.org_id);
  struct avail_args a;
  struct sc_avail_request rq = {0};
  const struct sc_cat_staff *staff = NULL;
  char *out = NULL;
  args_from_query(req, &a, NULL);
  int rc = org ? resolve(org, &a, 0, &rq, &staff, &err)
               : sc_error_set(&err, SC_ENOTFOUND, "org", "no such organization");
  if (!rc) rc = check_scope(&caller, &rq, &staff, org, &err);
  if (!rc) rc = compute(app, &rq, staff, &out, &err);
  sc_catalog_release(app->catalog, cat);
  if (rc) return sc_http_from_error(resp, &err);
  send_json_text(resp, out);
}

void sc_api_public_availability(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_app *app = req->app;
  struct sc_error err = {0};
  const struct sc_catalog *cat = sc_catalog_acquire(app->catalog);
  const struct sc_cat_org *org = sc_cat_org_by_slug(cat, req->params[0]);
  struct avail_args a;
  struct sc_avail_request rq = {0};
  const struct sc_cat_staff *staff = NULL;
  char *out = NULL;
  args_from_query(req, &a, req->params[1]);
  int rc;
  if (!org || !org->active || !sc_cat_location(org, req->params[1]) ||
      !sc_cat_location(org, req->params[1])->active) {
    rc = sc_error_set(&err, SC_ENOTFOUND, NULL, "no such booking page");
  } else {
    snprintf(resp->org, sizeof resp->org, "%s", org->slug);
    rc = resolve(org, &a, 1, &rq, &staff, &err);
  }
  if (!rc) rc = compute(app, &rq, staff, &out, &err);
  sc_catalog_release(app->catalog, cat);
  if (rc) return sc_http_from_error(resp, &err);
  send_json_text(resp, out);
}
