/*
** One CalDAV resource's iCalendar data to the occurrences in a window
** (libical: parsing, VTIMEZONE resolution, RRULE/RDATE expansion).
*/
#include "ics_read.h"

#include <glib.h>
#include <libical/ical.h>
#include <sidecal/event.h>
#include <string.h>

/* Original starts (UTC) that the master must not report: EXDATEs resolved
** against the resource's VTIMEZONEs, and the RECURRENCE-IDs of overrides. */
struct skip_set {
  GArray *times; /* int64 */
};

struct expand {
  const char *href;
  int series;             /* ids carry the original start */
  int is_override;
  const struct skip_set *skip;
  int64_t win_start, win_end;
  size_t max_occ;
  struct cd_occs *out;
};

static int64_t utc_of(struct icaltimetype t) {
  return (int64_t)icaltime_as_timet_with_zone(t, t.zone ? t.zone : icaltimezone_get_utc_timezone());
}

static int64_t prop_time(icalcomponent *c, icalproperty_kind kind) {
  icalproperty *p = icalcomponent_get_first_property(c, kind);
  if (!p) return 0;
  struct icaltimetype t = icalproperty_get_datetime_with_component(p, c);
  return icaltime_is_null_time(t) ? 0 : utc_of(t);
}

static uint32_t status_of(icalcomponent *c) {
  switch (icalcomponent_get_status(c)) {
  case ICAL_STATUS_CANCELLED: return SIDECAL_EVENT_CANCELLED;
  case ICAL_STATUS_TENTATIVE: return SIDECAL_EVENT_TENTATIVE;
  default: return SIDECAL_EVENT_CONFIRMED;
  }
}

static int is_transparent(icalcomponent *c) {
  icalproperty *p = icalcomponent_get_first_property(c, ICAL_TRANSP_PROPERTY);
  if (!p) return 0;
  icalproperty_transp t = icalproperty_get_transp(p);
  return t == ICAL_TRANSP_TRANSPARENT || t == ICAL_TRANSP_TRANSPARENTNOCONFLICT;
}

static char *tzid_of(icalcomponent *c) {
  icalproperty *p = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY);
  icalparameter *tz = p ? icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER) : NULL;
  return tz ? g_strdup(icalparameter_get_tzid(tz)) : NULL;
}

static int skipped(const struct skip_set *s, int64_t t) {
  for (guint i = 0; i < s->times->len; i++)
    if (g_array_index(s->times, int64_t, i) == t) return 1;
  return 0;
}

static void push(struct cd_occs *o, const struct cd_occ *occ) {
  if (o->n == o->cap) {
    o->cap = o->cap ? o->cap * 2 : 8;
    o->v = g_renew(struct cd_occ, o->v, o->cap);
  }
  o->v[o->n++] = *occ;
}

static void on_occurrence(icalcomponent *c, struct icaltime_span *span, void *data) {
  struct expand *x = data;
  int64_t start = span->start;
  if (x->out->n >= x->max_occ) return;
  if (!x->is_override && x->series && skipped(x->skip, start)) return;
  int all_day = icalcomponent_get_dtstart(c).is_date;
  /* libical ends a date span at 23:59:59; the SDK wants an exclusive end. */
  int64_t end = span->end > span->start ? span->end : span->start + 1;
  if (all_day) {
    int dur = icaldurationtype_as_int(icalcomponent_get_duration(c));
    end = start + (dur > 0 ? dur : 86400);
  }
  if (!(start < x->win_end && end > x->win_start)) return;
  struct cd_occ occ = {
    .start = start, .end = end, .all_day = all_day ? 1u : 0u, .status = status_of(c),
    .transparent = is_transparent(c), .tzid = tzid_of(c),
    .title = g_strdup(icalcomponent_get_summary(c)),
    .description = g_strdup(icalcomponent_get_description(c)),
    .location = g_strdup(icalcomponent_get_location(c)),
  };
  occ.last_modified = prop_time(c, ICAL_LASTMODIFIED_PROPERTY);
  if (!occ.last_modified) occ.last_modified = prop_time(c, ICAL_DTSTAMP_PROPERTY);
  if (x->series) {
    int64_t original = x->is_override ? prop_time(c, ICAL_RECURRENCEID_PROPERTY) : start;
    struct icaltimetype t =
        icaltime_from_timet_with_zone((time_t)original, 0, icaltimezone_get_utc_timezone());
    char *stamp = icaltime_as_ical_string_r(t);
    occ.id = g_strdup_printf("%s#%s", x->href, stamp);
    icalmemory_free_buffer(stamp);
  } else {
    occ.id = g_strdup(x->href);
  }
  push(x->out, &occ);
}

static void collect_skips(icalcomponent *root, struct skip_set *s) {
  icalcompiter it = icalcomponent_begin_component(root, ICAL_VEVENT_COMPONENT);
  for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
    if (icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY)) {
      int64_t t = prop_time(c, ICAL_RECURRENCEID_PROPERTY);
      g_array_append_val(s->times, t);
      continue;
    }
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_EXDATE_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_EXDATE_PROPERTY)) {
      struct icaltimetype t = icalproperty_get_datetime_with_component(p, c);
      if (icaltime_is_null_time(t)) continue;
      int64_t u = utc_of(t);
      g_array_append_val(s->times, u);
    }
  }
}

static char *marker_of(icalcomponent *root) {
  icalcompiter it = icalcomponent_begin_component(root, ICAL_VEVENT_COMPONENT);
  for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_X_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_X_PROPERTY)) {
      const char *name = icalproperty_get_x_name(p);
      const char *v = icalproperty_get_x(p);
      if (name && v && !strcmp(name, CD_MARKER_PROPERTY) && !strncmp(v, "sidecal:", 8))
        return g_strdup(v);
    }
  }
  return NULL;
}

int cd_ics_expand(const char *href, const char *ics, int64_t win_start, int64_t win_end,
                  size_t max_occ, struct cd_occs *out, char *why, size_t why_size) {
  icalcomponent *root = ics ? icalparser_parse_string(ics) : NULL;
  if (!root || icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
    g_strlcpy(why, "calendar data is not an iCalendar VCALENDAR", why_size);
    if (root) icalcomponent_free(root);
    return -1;
  }
  size_t n_events = 0;
  int series = 0;
  icalcompiter it = icalcomponent_begin_component(root, ICAL_VEVENT_COMPONENT);
  for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
    n_events++;
    if (icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY) ||
        icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY) ||
        icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY))
      series = 1;
  }
  if (n_events > 1) series = 1;
  g_free(out->marker);
  out->marker = marker_of(root);
  struct skip_set skip = {g_array_new(FALSE, FALSE, sizeof(int64_t))};
  collect_skips(root, &skip);
  icaltimezone *utc = icaltimezone_get_utc_timezone();
  struct icaltimetype from = icaltime_from_timet_with_zone((time_t)win_start, 0, utc);
  struct icaltimetype to = icaltime_from_timet_with_zone((time_t)win_end, 0, utc);
  it = icalcomponent_begin_component(root, ICAL_VEVENT_COMPONENT);
  for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
    struct expand x = {
      .href = href, .series = series, .skip = &skip, .win_start = win_start,
      .win_end = win_end, .max_occ = max_occ, .out = out,
      .is_override = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY) != NULL,
    };
    if (x.is_override) {
      /* An override is one occurrence; its RRULE, if any, is not expanded. */
      struct icaltime_span span = icaltime_span_new(icalcomponent_get_dtstart(c),
                                                    icalcomponent_get_dtend(c), 1);
      on_occurrence(c, &span, &x);
    } else {
      icalcomponent_foreach_recurrence(c, from, to, on_occurrence, &x);
    }
  }
  g_array_unref(skip.times);
  icalcomponent_free(root);
  return 0;
}

void cd_occs_clear(struct cd_occs *o) {
  for (size_t i = 0; i < o->n; i++) {
    g_free(o->v[i].id);
    g_free(o->v[i].tzid);
    g_free(o->v[i].title);
    g_free(o->v[i].description);
    g_free(o->v[i].location);
  }
  g_free(o->v);
  g_free(o->marker);
  memset(o, 0, sizeof *o);
}

char *cd_ics_marker(const char *ics) {
  icalcomponent *root = ics ? icalparser_parse_string(ics) : NULL;
  if (!root) return NULL;
  char *m = marker_of(root);
  icalcomponent_free(root);
  return m;
}
