/*
** GHL appointments as sidecal events: listing a window, create (contact
** upsert, then a dedupe-key lookup, then POST), update, delete, and the
** small memory that lets list_events report the host's marker back.
*/
#include "ghl.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ghl_status.h"

static const char *str_of(json_object *o, const char *key) {
  json_object *v;
  return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v) : NULL;
}

/* ---- markers ---------------------------------------------------------- */

void ghl_dedupe_key(const char *calendar, const char *user, int64_t start, const char *contact,
                    char *buf, size_t size) {
  snprintf(buf, size, "%s|%s|%lld|%s", calendar ? calendar : "", user ? user : "",
           (long long)start, contact ? contact : "");
}

static void remember_marker(struct ghl *g, const char *key, const char *marker) {
  pthread_mutex_lock(&g->lock);
  uint32_t i = 0;
  while (i < GHL_MARKERS && strcmp(g->markers[i].key, key)) i++;
  if (i == GHL_MARKERS) i = g->next_marker++ % GHL_MARKERS;
  snprintf(g->markers[i].key, sizeof g->markers[i].key, "%s", key);
  snprintf(g->markers[i].marker, sizeof g->markers[i].marker, "%s", marker);
  pthread_mutex_unlock(&g->lock);
}

static int recall_marker(struct ghl *g, const char *key, char *buf, size_t size) {
  int found = 0;
  pthread_mutex_lock(&g->lock);
  for (uint32_t i = 0; i < GHL_MARKERS && !found; i++)
    if (g->markers[i].key[0] && !strcmp(g->markers[i].key, key)) {
      snprintf(buf, size, "%s", g->markers[i].marker);
      found = 1;
    }
  pthread_mutex_unlock(&g->lock);
  return found;
}

/* ---- reading ---------------------------------------------------------- */

int32_t ghl_fetch_contact(struct ghl *g, const struct sidecal_call_ctx *ctx, const char *contact_id,
                          json_object **contact, struct sidecal_result *res) {
  *contact = NULL;
  if (!contact_id || !*contact_id) return sidecal_ok(res);
  char *esc = g_uri_escape_string(contact_id, NULL, FALSE);
  char path[600];
  snprintf(path, sizeof path, "/contacts/%s", esc);
  g_free(esc);
  struct sidecal_http_response resp;
  uint32_t status;
  int32_t rc = ghl_api_call(g, ctx, "GET", path, GHL_CONTACTS_VERSION, NULL, &resp, &status, res);
  if (rc != SIDECAL_OK && status == 404) return sidecal_ok(res);  /* a deleted contact */
  if (rc != SIDECAL_OK && status == 403) {
    /* What an agency can act on: polling reads each appointment's client. */
    char msg[SIDECAL_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%.300s (the GHL app needs the contacts.readonly scope to read"
             " a polled appointment's client)", res->message);
    return sidecal_error(res, msg);
  }
  if (rc != SIDECAL_OK) return rc;
  json_object *answer = NULL, *c;
  rc = ghl_parse_body(&resp, path, &answer, res);
  ghl_host->http_response_free(&resp);
  if (rc != SIDECAL_OK) return rc;
  /* {"contact":{...}} per the v2 docs; a bare contact object too. */
  if (json_object_object_get_ex(answer, "contact", &c) && json_object_is_type(c, json_type_object))
    *contact = json_object_get(c);
  else
    *contact = json_object_get(answer);
  json_object_put(answer);
  return sidecal_ok(res);
}

/* Our staff slug for a GHL user id, from the staff_users map (ABI 1.3). */
static const char *staff_of_user(struct ghl *g, const char *user) {
  if (!user) return NULL;
  uint32_t n = ghl_host->setting_map_len(g->settings, "staff_users");
  for (uint32_t i = 0; i < n; i++) {
    const char *k = ghl_host->setting_map_key(g->settings, "staff_users", i);
    const char *v = ghl_host->setting_map_value(g->settings, "staff_users", k);
    if (v && !strcmp(v, user)) return k;
  }
  return NULL;
}

int32_t ghl_report_appointment(struct ghl *g, json_object *a, json_object *contact,
                               const struct sidecal_sink *sink) {
  json_object *v;
  const char *id = str_of(a, "id");
  int64_t start, end, updated = 0;
  if (!id || ghl_time_parse(json_object_object_get_ex(a, "startTime", &v) ? v : NULL, &start) ||
      ghl_time_parse(json_object_object_get_ex(a, "endTime", &v) ? v : NULL, &end))
    return -1;
  if (json_object_object_get_ex(a, "dateUpdated", &v)) ghl_time_parse(v, &updated);
  const char *description = str_of(a, "description");
  char key[320], marker[80];
  ghl_dedupe_key(str_of(a, "calendarId"), str_of(a, "assignedUserId"), start, str_of(a, "contactId"),
                 key, sizeof key);
  char name[300] = "";
  if (contact && str_of(contact, "name")) {
    snprintf(name, sizeof name, "%s", str_of(contact, "name"));
  } else if (contact) {
    const char *first = str_of(contact, "firstName"), *last = str_of(contact, "lastName");
    snprintf(name, sizeof name, "%s%s%s", first ? first : "", first && last ? " " : "",
             last ? last : "");
  }
  struct sidecal_attendee client = {*name ? name : NULL, contact ? str_of(contact, "email") : NULL,
                                    contact ? str_of(contact, "phone") : NULL};
  struct sidecal_event ev = {
    .struct_size = sizeof ev,
    .status = ghl_status_to_event(str_of(a, "appointmentStatus")),
    .n_attendees = (client.name || client.email || client.phone) ? 1 : 0,
    .attendees = &client,
    .external_id = id,
    .etag = str_of(a, "dateUpdated"),
    .start_utc = start,
    .end_utc = end > start ? end : start + 1,
    .title = str_of(a, "title"),
    .description = description ? description : str_of(a, "notes"),
    .location = str_of(a, "address"),
    .last_modified_utc = updated,
    .raw_json = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
    .marker = recall_marker(g, key, marker, sizeof marker) ? marker : NULL,
    .staff = staff_of_user(g, str_of(a, "assignedUserId")),
    .appointment_status = ghl_status_to_ours(str_of(a, "appointmentStatus")),
  };
  return sink->event(sink, &ev) ? 1 : 0;
}

/* GET /calendars/events for one calendar; each appointment goes to on_one,
** which answers 0 (go on), 1 (the caller wants no more: *stopped, OK) or -1
** (failed with res set: the listing stops with that result, never OK, since
** a full listing that answers OK must have reported the whole window). */
static int32_t fetch_window(struct ghl *g, const struct sidecal_call_ctx *ctx, const char *calendar,
                            int64_t start_ms, int64_t end_ms,
                            int (*on_one)(struct ghl *, json_object *, void *), void *data,
                            int *stopped, struct sidecal_result *res) {
  char *loc = g_uri_escape_string(g->location_id, NULL, FALSE);
  char *cal = g_uri_escape_string(calendar, NULL, FALSE);
  char path[1024];
  snprintf(path, sizeof path, "/calendars/events?locationId=%s&calendarId=%s&startTime=%lld&endTime=%lld",
           loc, cal, (long long)start_ms, (long long)end_ms);
  g_free(loc);
  g_free(cal);
  struct sidecal_http_response resp;
  uint32_t status;
  if (ghl_api_call(g, ctx, "GET", path, GHL_CALENDAR_VERSION, NULL, &resp, &status, res) != SIDECAL_OK)
    return res->code;
  json_object *o, *events;
  int32_t rc = ghl_parse_body(&resp, "the events listing", &o, res);
  ghl_host->http_response_free(&resp);
  if (rc != SIDECAL_OK) return rc;
  if (!json_object_object_get_ex(o, "events", &events) || !json_object_is_type(events, json_type_array)) {
    json_object_put(o);
    return sidecal_retry(res, 0, "GHL's events listing has no \"events\" array");
  }
  size_t n = json_object_array_length(events);
  int one = 0;
  for (size_t i = 0; i < n && !*stopped && one >= 0; i++) {
    one = on_one(g, json_object_array_get_idx(events, i), data);
    if (one > 0) *stopped = 1;
  }
  json_object_put(o);
  return one < 0 ? res->code : sidecal_ok(res);
}

static void contact_free(gpointer c) { json_object_put(c); }

struct list_state {
  const struct sidecal_sink *sink;
  const struct sidecal_call_ctx *ctx;
  struct sidecal_result *res;
  /* This listing's contacts by contactId; a NULL value is one GHL no
  ** longer has (404): no client, and not asked again. */
  GHashTable *contacts;
  uint64_t reported, skipped, contacts_fetched;
};

/* The client of an appointment: from this listing's cache, else GET
** /contacts/{id} once. -1 with st->res set when GHL did not answer with the
** contact or a 404 (429, 5xx, no response, 401, another 4xx): the listing
** fails rather than report the appointment without its client, because an
** import keeps the client it was first given. */
static int contact_of(struct ghl *g, struct list_state *st, const char *id, json_object **contact) {
  *contact = NULL;
  if (!id || !*id) return 0;
  gpointer cached;
  if (g_hash_table_lookup_extended(st->contacts, id, NULL, &cached)) {
    *contact = cached;
    return 0;
  }
  if (ghl_fetch_contact(g, st->ctx, id, contact, st->res) != SIDECAL_OK) return -1;
  st->contacts_fetched++;
  g_hash_table_insert(st->contacts, g_strdup(id), *contact);
  return 0;
}

static int list_one(struct ghl *g, json_object *a, void *data) {
  struct list_state *st = data;
  json_object *contact, *v;
  const char *contact_id = json_object_object_get_ex(a, "contactId", &v) &&
                           json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
  if (contact_of(g, st, contact_id, &contact) < 0) return -1;
  int32_t rc = ghl_report_appointment(g, a, contact, st->sink);
  if (rc < 0) {
    st->skipped++;
    ghl_host->log(st->ctx->host_instance, SIDECAL_LOG_WARN,
                  "request=%s skipped a GHL event without id or readable times: %.200s",
                  st->ctx->request_id, json_object_to_json_string(a));
    return 0;
  }
  st->reported++;
  return rc;
}

int32_t ghl_list_events(void *instance, const struct sidecal_call_ctx *ctx,
                        const struct sidecal_window *window, const char *cursor,
                        const struct sidecal_sink *sink, struct sidecal_result *res) {
  struct ghl *g = instance;
  if (cursor)
    return sidecal_result_set(res, SIDECAL_CURSOR_EXPIRED, 0,
                              "GHL has no change cursor; list the whole window");
  struct list_state st = {.sink = sink, .ctx = ctx, .res = res,
                          .contacts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, contact_free)};
  int stopped = 0;
  int32_t rc = SIDECAL_OK;
  for (uint32_t i = 0; i < g->n_calendars && !stopped && rc == SIDECAL_OK; i++) {
    const char *cal = ghl_host->setting_list_item(g->settings, "calendar_ids", i);
    rc = *ctx->cancel ? sidecal_retry(res, 0, "cancelled")
                      : fetch_window(g, ctx, cal, window->start_utc * 1000, window->end_utc * 1000,
                                     list_one, &st, &stopped, res);
  }
  g_hash_table_destroy(st.contacts);
  ghl_host->counter_add(ctx->host_instance, "ghl_events_listed", st.reported);
  ghl_host->counter_add(ctx->host_instance, "ghl_contacts_fetched", st.contacts_fetched);
  return rc == SIDECAL_OK ? sidecal_ok(res) : rc;
}

/* ---- writing ---------------------------------------------------------- */

/* The GHL user for a write: the appointment's staff member (ABI 1.3), else
** the staff instance's mapping, else the only user of the map; NULL lets
** GHL assign by the calendar's rules. */
static const char *assigned_user(struct ghl *g, const struct sidecal_call_ctx *ctx,
                                 const struct sidecal_event *ev) {
  if (SIDECAL_EVENT_HAS(ev, staff) && ev->staff) {
    const char *u = ghl_host->setting_map_value(g->settings, "staff_users", ev->staff);
    if (u) return u;
  }
  if (ctx->staff) {
    const char *u = ghl_host->setting_map_value(g->settings, "staff_users", ctx->staff);
    if (u) return u;
  }
  if (ghl_host->setting_map_len(g->settings, "staff_users") == 1) {
    const char *k = ghl_host->setting_map_key(g->settings, "staff_users", 0);
    return ghl_host->setting_map_value(g->settings, "staff_users", k);
  }
  return NULL;
}

static void add_str(json_object *o, const char *key, const char *v) {
  if (v && *v) json_object_object_add(o, key, json_object_new_string(v));
}

static json_object *appointment_body(struct ghl *g, const struct sidecal_event *ev,
                                     const char *calendar, const char *user) {
  char start[40], end[40];
  ghl_time_format(ev->start_utc, ev->timezone, start, sizeof start);
  ghl_time_format(ev->end_utc, ev->timezone, end, sizeof end);
  json_object *o = json_object_new_object();
  add_str(o, "calendarId", calendar);
  add_str(o, "startTime", start);
  add_str(o, "endTime", end);
  add_str(o, "title", ev->title);
  const char *ours = SIDECAL_EVENT_HAS(ev, appointment_status) ? ev->appointment_status : NULL;
  const char *mapped = ours ? ghl_status_from_ours(ours) : NULL;
  add_str(o, "appointmentStatus", mapped ? mapped : ghl_status_from_event(ev->status));
  add_str(o, "assignedUserId", user);
  add_str(o, "address", ev->location);
  add_str(o, "description", ev->description);
  /* Our availability already decided the slot; GHL's free-slot check would
  ** refuse bookings made against our schedule rules. No GHL automations. */
  json_object_object_add(o, "ignoreFreeSlotValidation", json_object_new_boolean(1));
  json_object_object_add(o, "toNotify", json_object_new_boolean(0));
  (void)g;
  return o;
}

static int32_t write_result(json_object *o, struct sidecal_write_result *out,
                            struct sidecal_result *res) {
  json_object *inner;
  /* Documented: the appointment at top level; tolerate {"appointment":{..}}. */
  if (json_object_object_get_ex(o, "appointment", &inner) && json_object_is_type(inner, json_type_object))
    o = inner;
  const char *id = str_of(o, "id"), *updated = str_of(o, "dateUpdated");
  if (!id || strlen(id) >= sizeof out->external_id)
    return sidecal_retry(res, 0, "GHL's appointment answer has no id");
  snprintf(out->external_id, sizeof out->external_id, "%s", id);
  snprintf(out->etag, sizeof out->etag, "%s", updated ? updated : "");
  return sidecal_ok(res);
}

static int32_t send_json(struct ghl *g, const struct sidecal_call_ctx *ctx, const char *method,
                         const char *path, const char *version, json_object *body,
                         json_object **answer, uint32_t *status, struct sidecal_result *res) {
  struct sidecal_http_response resp;
  const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
  int32_t rc = ghl_api_call(g, ctx, method, path, version, text, &resp, status, res);
  if (rc != SIDECAL_OK) return rc;
  rc = ghl_parse_body(&resp, path, answer, res);
  ghl_host->http_response_free(&resp);
  return rc;
}

/* POST /contacts/upsert by email/phone; the id into buf. */
static int32_t upsert_contact(struct ghl *g, const struct sidecal_call_ctx *ctx,
                              const struct sidecal_event *ev, char *buf, size_t size,
                              struct sidecal_result *res) {
  const struct sidecal_attendee *a = ev->n_attendees ? &ev->attendees[0] : NULL;
  if (!a || (!(a->email && *a->email) && !(a->phone && *a->phone)))
    return sidecal_error(res, "a GHL appointment needs a contact: the client has neither email nor phone");
  json_object *body = json_object_new_object(), *answer = NULL, *c;
  add_str(body, "locationId", g->location_id);
  add_str(body, "name", a->name);
  add_str(body, "email", a->email);
  add_str(body, "phone", a->phone);
  add_str(body, "source", "sidecal");
  uint32_t status;
  int32_t rc = send_json(g, ctx, "POST", "/contacts/upsert", GHL_CONTACTS_VERSION, body, &answer,
                         &status, res);
  json_object_put(body);
  if (rc != SIDECAL_OK) return rc;
  /* {"new":..,"contact":{"id":..}} per the v2 docs; a flat {"id":..} too. */
  const char *id = json_object_object_get_ex(answer, "contact", &c) ? str_of(c, "id") : str_of(answer, "id");
  if (id) snprintf(buf, size, "%s", id);
  json_object_put(answer);
  return id ? sidecal_ok(res) : sidecal_retry(res, 0, "GHL's contact upsert answer has no contact id");
}

struct find_state {
  const char *user, *contact;
  int64_t start;
  char id[256];
};

static int find_one(struct ghl *g, json_object *a, void *data) {
  (void)g;
  struct find_state *f = data;
  json_object *v;
  int64_t start;
  const char *id = str_of(a, "id"), *status = str_of(a, "appointmentStatus");
  const char *user = str_of(a, "assignedUserId"), *contact = str_of(a, "contactId");
  if (!id || ghl_time_parse(json_object_object_get_ex(a, "startTime", &v) ? v : NULL, &start) ||
      start != f->start || !contact || strcmp(contact, f->contact) ||
      (status && !strcmp(status, "cancelled")) || (f->user && (!user || strcmp(user, f->user))))
    return 0;
  snprintf(f->id, sizeof f->id, "%s", id);
  return 1;
}

static int32_t update_with(struct ghl *g, const struct sidecal_call_ctx *ctx, const char *id,
                           const struct sidecal_event *ev, const char *calendar, const char *user,
                           struct sidecal_write_result *out, struct sidecal_result *res) {
  char *esc = g_uri_escape_string(id, NULL, FALSE);
  char path[512];
  snprintf(path, sizeof path, "/calendars/events/appointments/%s", esc);
  g_free(esc);
  json_object *body = appointment_body(g, ev, calendar, user), *answer = NULL;
  uint32_t status;
  int32_t rc = send_json(g, ctx, "PUT", path, GHL_CALENDAR_VERSION, body, &answer, &status, res);
  json_object_put(body);
  if (rc == SIDECAL_OK) rc = write_result(answer, out, res);
  json_object_put(answer);
  return rc;
}

int32_t ghl_create_event(void *instance, const struct sidecal_call_ctx *ctx,
                         const struct sidecal_event *ev, struct sidecal_write_result *out,
                         struct sidecal_result *res) {
  struct ghl *g = instance;
  char contact[256];
  if (upsert_contact(g, ctx, ev, contact, sizeof contact, res) != SIDECAL_OK) return res->code;
  const char *calendar = ghl_host->setting_list_item(g->settings, "calendar_ids", 0);
  const char *user = assigned_user(g, ctx, ev);
  const char *marker = SIDECAL_EVENT_HAS(ev, marker) ? ev->marker : NULL;
  char key[320];
  ghl_dedupe_key(calendar, user, ev->start_utc, contact, key, sizeof key);
  if (marker) remember_marker(g, key, marker);

  /* GHL keeps no marker of ours: an earlier attempt that answered an error
  ** after it took effect is found by (calendar, user, start, contact). */
  struct find_state f = {.user = user, .contact = contact, .start = ev->start_utc};
  int stopped = 0;
  if (fetch_window(g, ctx, calendar, ev->start_utc * 1000, (ev->start_utc + 1) * 1000, find_one, &f,
                   &stopped, res) != SIDECAL_OK)
    return res->code;
  if (f.id[0]) {
    ghl_host->log(ctx->host_instance, SIDECAL_LOG_INFO,
                  "request=%s adopted GHL appointment %s (same calendar, user, start and contact)",
                  ctx->request_id, f.id);
    ghl_host->counter_add(ctx->host_instance, "ghl_creates_adopted", 1);
    return update_with(g, ctx, f.id, ev, calendar, user, out, res);
  }

  json_object *body = appointment_body(g, ev, calendar, user), *answer = NULL;
  add_str(body, "locationId", g->location_id);
  add_str(body, "contactId", contact);
  uint32_t status;
  int32_t rc = send_json(g, ctx, "POST", "/calendars/events/appointments", GHL_CALENDAR_VERSION, body,
                         &answer, &status, res);
  json_object_put(body);
  if (rc == SIDECAL_OK) rc = write_result(answer, out, res);
  json_object_put(answer);
  return rc;
}

int32_t ghl_update_event(void *instance, const struct sidecal_call_ctx *ctx,
                         const char *external_id, const char *if_match,
                         const struct sidecal_event *ev, struct sidecal_write_result *out,
                         struct sidecal_result *res) {
  (void)if_match; /* GHL has no preconditions; conflicts are the sync engine's diff */
  struct ghl *g = instance;
  return update_with(g, ctx, external_id, ev, NULL, assigned_user(g, ctx, ev), out, res);
}

int32_t ghl_delete_event(void *instance, const struct sidecal_call_ctx *ctx,
                         const char *external_id, const char *if_match,
                         struct sidecal_result *res) {
  (void)if_match;
  struct ghl *g = instance;
  char *esc = g_uri_escape_string(external_id, NULL, FALSE);
  char path[512];
  snprintf(path, sizeof path, "/calendars/events/%s", esc);
  g_free(esc);
  struct sidecal_http_response resp;
  uint32_t status;
  int32_t rc = ghl_api_call(g, ctx, "DELETE", path, GHL_CALENDAR_VERSION, "{}", &resp, &status, res);
  if (rc == SIDECAL_OK) {
    ghl_host->http_response_free(&resp);
    return rc;
  }
  if (status == 404) return sidecal_ok(res); /* already gone: the goal is met */
  return rc;
}
