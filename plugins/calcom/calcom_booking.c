/*
** calcom_booking: Cal.com bookings as sidecal events (both the API v2 shape
** and the webhook payload shape), the tenant check on booking metadata,
** event type mapping and ISO-8601 time conversion (GLib does the parsing).
*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "calcom.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *cc_str(json_object *o, const char *key) {
  json_object *v = NULL;
  if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
      !v || json_object_is_type(v, json_type_null))
    return NULL;
  return json_object_get_string(v);
}

static const char *str2(json_object *o, const char *a, const char *b) {
  const char *s = cc_str(o, a);
  return s ? s : cc_str(o, b);
}

int cc_parse_time(const char *iso, int64_t *out_s, int64_t *out_us) {
  if (!iso) return -1;
  GDateTime *dt = g_date_time_new_from_iso8601(iso, NULL);
  if (!dt) return -1;
  int64_t s = g_date_time_to_unix(dt);
  if (out_s) *out_s = s;
  if (out_us) *out_us = s * 1000000 + g_date_time_get_microsecond(dt);
  g_date_time_unref(dt);
  return 0;
}

void cc_format_time(int64_t t, char *buf, size_t size) {
  GDateTime *dt = g_date_time_new_from_unix_utc(t);
  gchar *s = dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
  snprintf(buf, size, "%s", s ? s : "1970-01-01T00:00:00Z");
  g_free(s);
  if (dt) g_date_time_unref(dt);
}

const char *cc_slug_for(const struct cc *c, int64_t type_id) {
  for (size_t i = 0; i < c->n_types; i++)
    if (c->types[i].id == type_id) return c->types[i].slug;
  return NULL;
}

int64_t cc_type_for(const struct cc *c, const char *slug) {
  for (size_t i = 0; slug && i < c->n_types; i++)
    if (!strcmp(c->types[i].slug, slug)) return c->types[i].id;
  return 0;
}

static int32_t check_one(const char *uid, json_object *metadata, const char *key,
                         const char *expect, const char *what, int required,
                         struct sidecal_result *res) {
  const char *got = cc_str(metadata, key);
  if (got && !strcmp(got, expect)) return SIDECAL_OK;
  if (got)
    return cc_fail(res, SIDECAL_ERROR, 0,
                   "booking %s: metadata %s names %s \"%s\", but this instance belongs to \"%s\"; refused",
                   uid, key, what, got, expect);
  if (!required) return SIDECAL_OK;
  return cc_fail(res, SIDECAL_ERROR, 0,
                 "booking %s: metadata has no %s; this instance only accepts bookings of %s \"%s\" "
                 "(require_tenant_metadata: false accepts bookings without it)",
                 uid, key, what, expect);
}

int32_t cc_tenant_check(const struct cc *c, json_object *metadata, const char *uid,
                        struct sidecal_result *res) {
  if (!uid) uid = "(no uid)";
  if (check_one(uid, metadata, c->org_key, c->org_expect, "organization", c->require_tenant,
                res) != SIDECAL_OK)
    return res->code;
  if (c->loc_expect && check_one(uid, metadata, c->loc_key, c->loc_expect, "location",
                                 c->require_tenant, res) != SIDECAL_OK)
    return res->code;
  return sidecal_ok(res);
}

/* API v2: accepted, pending, cancelled, rejected; webhooks: the same in
** upper case. */
static uint32_t map_status(const char *s) {
  if (!s) return SIDECAL_EVENT_CONFIRMED;
  if (!strcasecmp(s, "pending") || !strcasecmp(s, "awaiting_host")) return SIDECAL_EVENT_TENTATIVE;
  if (!strcasecmp(s, "cancelled") || !strcasecmp(s, "rejected")) return SIDECAL_EVENT_CANCELLED;
  return SIDECAL_EVENT_CONFIRMED;
}

static void fill_attendees(json_object *b, struct cc_event *out, int *any_absent) {
  json_object *arr = NULL;
  *any_absent = 0;
  if (!json_object_object_get_ex(b, "attendees", &arr) || !json_object_is_type(arr, json_type_array))
    return;
  size_t n = json_object_array_length(arr);
  uint32_t k = 0;
  for (size_t i = 0; i < n && k < CC_MAX_ATTENDEES; i++) {
    json_object *a = json_object_array_get_idx(arr, i), *absent = NULL;
    if (!json_object_is_type(a, json_type_object)) continue;
    out->att[k++] = (struct sidecal_attendee){cc_str(a, "name"), cc_str(a, "email"),
                                              cc_str(a, "phoneNumber")};
    if (json_object_object_get_ex(a, "absent", &absent) && json_object_get_boolean(absent))
      *any_absent = 1;
  }
  out->ev.n_attendees = k;
  out->ev.attendees = k ? out->att : NULL;
}

static const char *zone_of(json_object *b, const struct cc_event *out) {
  json_object *arr = NULL, *organizer = NULL;
  if (json_object_object_get_ex(b, "attendees", &arr) && json_object_array_length(arr) > 0) {
    const char *tz = cc_str(json_object_array_get_idx(arr, 0), "timeZone");
    if (tz) return tz;
  }
  if (json_object_object_get_ex(b, "organizer", &organizer)) return cc_str(organizer, "timeZone");
  if (json_object_object_get_ex(b, "hosts", &arr) && json_object_array_length(arr) > 0)
    return cc_str(json_object_array_get_idx(arr, 0), "timeZone");
  (void)out;
  return NULL;
}

const char *cc_booking_etag(json_object *b) {
  const char *u = cc_str(b, "updatedAt");
  return u && *u ? u : cc_str(b, "createdAt");
}

int32_t cc_booking_event(const struct cc *c, json_object *b, int64_t fallback_modified,
                         struct cc_event *out, struct sidecal_result *res) {
  memset(out, 0, sizeof *out);
  struct sidecal_event *ev = &out->ev;
  const char *uid = cc_str(b, "uid");
  if (!uid || !*uid) return sidecal_error(res, "Cal.com booking without a uid");
  const char *start = str2(b, "start", "startTime"), *end = str2(b, "end", "endTime");
  if (cc_parse_time(start, &ev->start_utc, NULL) || cc_parse_time(end, &ev->end_utc, NULL) ||
      ev->end_utc <= ev->start_utc)
    return cc_fail(res, SIDECAL_ERROR, 0, "booking %s: start \"%s\" / end \"%s\" are not a valid time range",
                   uid, start ? start : "", end ? end : "");
  json_object *metadata = NULL, *type = NULL;
  json_object_object_get_ex(b, "metadata", &metadata);
  ev->struct_size = sizeof *ev;
  ev->external_id = uid;
  ev->status = map_status(cc_str(b, "status"));
  ev->timezone = zone_of(b, out);
  ev->title = cc_str(b, "title");
  ev->description = cc_str(b, "description");
  ev->location = cc_str(b, "location");
  ev->raw_json = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);
  ev->marker = cc_str(metadata, CC_MARKER_KEY);
  ev->replaces_external_id = str2(b, "rescheduledFromUid", "rescheduleUid");
  if (json_object_object_get_ex(b, "eventTypeId", &type) && type)
    ev->event_type = cc_slug_for(c, json_object_get_int64(type));
  int64_t modified = 0;
  ev->last_modified_utc =
      cc_parse_time(cc_str(b, "updatedAt"), &modified, NULL) == 0 ? modified : fallback_modified;
  int absent = 0;
  fill_attendees(b, out, &absent);
  if (absent) ev->appointment_status = "NO_SHOW";
  return sidecal_ok(res);
}
