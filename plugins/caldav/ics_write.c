/*
** An appointment to an iCalendar VCALENDAR with libical, including the
** VTIMEZONE libical generates from the system's zoneinfo.
*/
#include "ics_write.h"
#include "ics_read.h"

#include <glib.h>
#include <libical/ical.h>
#include <stdio.h>
#include <string.h>

/* libical names built-in zones "/freeassociation.sourceforge.net/<IANA>";
** clients expect the plain IANA name, so the TZID is rewritten on a copy. */
static icalcomponent *vtimezone_for(icaltimezone *zone, const char *tzid) {
  icalcomponent *vtz = icaltimezone_get_component(zone);
  if (!vtz) return NULL;
  icalcomponent *copy = icalcomponent_new_clone(vtz);
  icalproperty *p = icalcomponent_get_first_property(copy, ICAL_TZID_PROPERTY);
  if (p) icalproperty_set_tzid(p, tzid);
  else icalcomponent_add_property(copy, icalproperty_new_tzid(tzid));
  return copy;
}

static icalproperty *local_time(icalproperty *p, time_t t, icaltimezone *zone,
                                const char *tzid) {
  struct icaltimetype lt = icaltime_from_timet_with_zone(t, 0, zone);
  lt.zone = NULL; /* written as a floating local time with an explicit TZID */
  icalproperty_set_value(p, icalvalue_new_datetime(lt));
  icalproperty_add_parameter(p, icalparameter_new_tzid(tzid));
  return p;
}

static void set_times(icalcomponent *ve, const struct sidecal_event *ev, icaltimezone *zone,
                      const char *tzid) {
  icaltimezone *utc = icaltimezone_get_utc_timezone();
  if (ev->all_day) {
    struct icaltimetype s = icaltime_from_timet_with_zone((time_t)ev->start_utc, 1, utc);
    struct icaltimetype e = icaltime_from_timet_with_zone((time_t)ev->end_utc, 1, utc);
    icalcomponent_add_property(ve, icalproperty_new_dtstart(s));
    icalcomponent_add_property(ve, icalproperty_new_dtend(e));
  } else if (zone) {
    icalcomponent_add_property(
        ve, local_time(icalproperty_new(ICAL_DTSTART_PROPERTY), (time_t)ev->start_utc, zone, tzid));
    icalcomponent_add_property(
        ve, local_time(icalproperty_new(ICAL_DTEND_PROPERTY), (time_t)ev->end_utc, zone, tzid));
  } else {
    icalcomponent_add_property(
        ve, icalproperty_new_dtstart(icaltime_from_timet_with_zone((time_t)ev->start_utc, 0, utc)));
    icalcomponent_add_property(
        ve, icalproperty_new_dtend(icaltime_from_timet_with_zone((time_t)ev->end_utc, 0, utc)));
  }
}

static icalproperty_status status_for(uint32_t s) {
  return s == SIDECAL_EVENT_CANCELLED ? ICAL_STATUS_CANCELLED
         : s == SIDECAL_EVENT_TENTATIVE ? ICAL_STATUS_TENTATIVE
                                        : ICAL_STATUS_CONFIRMED;
}

char *cd_ics_build(const struct sidecal_event *ev, const char *uid, const char *marker,
                   int64_t now_utc, char *why, size_t why_size) {
  if (ev->end_utc <= ev->start_utc) {
    g_strlcpy(why, "the event ends before it starts", why_size);
    return NULL;
  }
  const char *tzid = ev->timezone;
  icaltimezone *zone = NULL;
  if (tzid && *tzid && strcmp(tzid, "UTC") && strcmp(tzid, "Etc/UTC") && !ev->all_day) {
    zone = icaltimezone_get_builtin_timezone(tzid);
    if (!zone) {
      snprintf(why, why_size, "unknown time zone \"%s\"", tzid);
      return NULL;
    }
  }
  icalcomponent *cal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
  icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
  icalcomponent_add_property(cal, icalproperty_new_prodid("-//sidecal//caldav connector 1.0//EN"));
  if (zone) {
    icalcomponent *vtz = vtimezone_for(zone, tzid);
    if (vtz) icalcomponent_add_component(cal, vtz);
  }
  icalcomponent *ve = icalcomponent_new(ICAL_VEVENT_COMPONENT);
  icaltimezone *utc = icaltimezone_get_utc_timezone();
  struct icaltimetype now = icaltime_from_timet_with_zone((time_t)now_utc, 0, utc);
  icalcomponent_add_property(ve, icalproperty_new_uid(uid));
  icalcomponent_add_property(ve, icalproperty_new_dtstamp(now));
  icalcomponent_add_property(ve, icalproperty_new_lastmodified(now));
  set_times(ve, ev, zone, tzid);
  icalcomponent_add_property(ve, icalproperty_new_summary(ev->title ? ev->title : "Appointment"));
  if (ev->description && *ev->description)
    icalcomponent_add_property(ve, icalproperty_new_description(ev->description));
  if (ev->location && *ev->location)
    icalcomponent_add_property(ve, icalproperty_new_location(ev->location));
  icalcomponent_add_property(ve, icalproperty_new_status(status_for(ev->status)));
  icalcomponent_add_property(ve, icalproperty_new_transp(ICAL_TRANSP_OPAQUE));
  if (marker) {
    icalproperty *m = icalproperty_new_x(marker);
    icalproperty_set_x_name(m, CD_MARKER_PROPERTY);
    icalcomponent_add_property(ve, m);
  }
  icalcomponent_add_component(cal, ve);
  char *raw = icalcomponent_as_ical_string_r(cal);
  char *text = g_strdup(raw);
  icalmemory_free_buffer(raw);
  icalcomponent_free(cal);
  return text;
}
