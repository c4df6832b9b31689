/*
** example: a read-only calendar served from a local .ics file.
**
** The smallest complete sidecal connector, written to be read. It shows the
** parts every connector has:
**   - one exported function, sidecal_connector_entry(), returning a static
**     descriptor stamped with SIDECAL_CONNECTOR_STAMP;
**   - a typed settings map the host validates before anything runs;
**   - instance_create / instance_destroy holding per-instance state;
**   - list_events with an opaque cursor, reporting normalized events.
** Recurring events (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) are
** expanded with libical; nothing here does date arithmetic by hand.
**
** Cursor: "<mtime ns>-<size>" of the file. If the file is unchanged since the
** cursor, nothing is reported; if it changed, the connector cannot tell
** what changed, so it answers SIDECAL_CURSOR_EXPIRED and the host runs a
** full sync (cursor NULL) - the same protocol a provider with sync tokens
** uses when its token has expired.
*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup, st_mtim, strncasecmp */
#endif
#include <sidecal/connector.h>

#include <errno.h>
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_ATTENDEES 64
#define MAX_ICS_BYTES (32L * 1024 * 1024)

/* Kept from the entry call: the host table outlives every instance. */
static const struct sidecal_host_api *host;

static const struct sidecal_setting_def settings[] = {
  {"path", SIDECAL_SETTING_STRING, SIDECAL_SETTING_REQUIRED, NULL,
   "Absolute path of the .ics file to serve. It is re-read on every sync, "
   "so edits show up at the next sync."},
};

struct example {
  char *path;
};

/* ---- instances ------------------------------------------------------ */

static int32_t example_create(const struct sidecal_call_ctx *ctx,
                              const struct sidecal_settings *s, void **instance,
                              struct sidecal_result *res) {
  const char *path = host->setting_string(s, "path");
  char msg[SIDECAL_MESSAGE_MAX];
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(msg, sizeof msg, "cannot read %s: %s", path, strerror(errno));
    return sidecal_error(res, msg);
  }
  struct example *ex = calloc(1, sizeof *ex);
  if (!ex || !(ex->path = strdup(path))) {
    free(ex);
    return sidecal_retry(res, 0, "out of memory");
  }
  host->log(ctx->host_instance, SIDECAL_LOG_INFO, "serving %s", path);
  *instance = ex;
  return sidecal_ok(res);
}

static void example_destroy(void *instance) {
  struct example *ex = instance;
  if (!ex) return;
  free(ex->path);
  free(ex);
}

/* ---- reading the file ----------------------------------------------- */

static char *read_file(const char *path, char *msg, size_t msg_size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(msg, msg_size, "cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[8192];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      char *p = cap > (size_t)MAX_ICS_BYTES ? NULL : realloc(buf, cap);
      if (!p) {
        free(buf);
        fclose(f);
        snprintf(msg, msg_size, "%s is too large or memory ran out", path);
        return NULL;
      }
      buf = p;
    }
    memcpy(buf + len, chunk, n);
    len += n;
  }
  fclose(f);
  if (!buf) buf = calloc(1, 1);
  else buf[len] = '\0';
  return buf;
}

static void cursor_of(const struct stat *st, char *buf, size_t size) {
  snprintf(buf, size, "%lld.%09ld-%lld", (long long)st->st_mtim.tv_sec,
           st->st_mtim.tv_nsec, (long long)st->st_size);
}

/* ---- one VEVENT to a normalized event ------------------------------- */

struct expand {
  const struct sidecal_sink *sink;
  const char *uid;
  int recurring;
  icalcomponent *root;     /* to look for RECURRENCE-ID overrides */
  int is_override;
  int stop;
};

static uint32_t status_of(icalcomponent *c) {
  switch (icalcomponent_get_status(c)) {
  case ICAL_STATUS_CANCELLED: return SIDECAL_EVENT_CANCELLED;
  case ICAL_STATUS_TENTATIVE: return SIDECAL_EVENT_TENTATIVE;
  default: return SIDECAL_EVENT_CONFIRMED;
  }
}

static const char *tzid_of(icalcomponent *c) {
  icalproperty *p = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY);
  icalparameter *tz = p ? icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER) : NULL;
  return tz ? icalparameter_get_tzid(tz) : NULL;
}

static uint32_t attendees_of(icalcomponent *c, struct sidecal_attendee *out) {
  uint32_t n = 0;
  for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY);
       p && n < MAX_ATTENDEES;
       p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY)) {
    const char *v = icalproperty_get_attendee(p);
    icalparameter *cn = icalproperty_get_first_parameter(p, ICAL_CN_PARAMETER);
    out[n].name = cn ? icalparameter_get_cn(cn) : NULL;
    out[n].email = v && !strncasecmp(v, "mailto:", 7) ? v + 7 : NULL;
    out[n].phone = v && !strncasecmp(v, "tel:", 4) ? v + 4 : NULL;
    n++;
  }
  return n;
}

/* RECURRENCE-ID as UTC seconds, its TZID resolved against the file's
** VTIMEZONEs (libical does that when given the component). */
static time_t recurrence_id_utc(icalcomponent *c) {
  icalproperty *p = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY);
  struct icaltimetype t = icalproperty_get_datetime_with_component(p, c);
  return icaltime_as_timet_with_zone(t, t.zone ? t.zone : icaltimezone_get_utc_timezone());
}

/* Is this occurrence of a series replaced by a RECURRENCE-ID component?
** Uses an external iterator: the caller is itself iterating root. */
static int overridden(icalcomponent *root, const char *uid, time_t start) {
  icalcompiter it = icalcomponent_begin_component(root, ICAL_VEVENT_COMPONENT);
  for (icalcomponent *c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
    const char *u = icalcomponent_get_uid(c);
    if (u && !strcmp(u, uid) &&
        icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY) &&
        recurrence_id_utc(c) == start)
      return 1;
  }
  return 0;
}

static void on_occurrence(icalcomponent *c, struct icaltime_span *span, void *data) {
  struct expand *x = data;
  if (x->stop) return;
  /* The master's instance at an overridden time is reported by the override. */
  if (!x->is_override && x->recurring && overridden(x->root, x->uid, span->start)) return;

  char id[512], etag[64];
  if (x->recurring || x->is_override) {
    /* An occurrence is named by its original start, so moving it (an
    ** override) keeps its id. */
    icaltimezone *utc = icaltimezone_get_utc_timezone();
    time_t original = span->start;
    if (x->is_override) original = recurrence_id_utc(c);
    struct icaltimetype t = icaltime_from_timet_with_zone(original, 0, utc);
    snprintf(id, sizeof id, "%s/%s", x->uid, icaltime_as_ical_string(t));
  } else {
    snprintf(id, sizeof id, "%s", x->uid);
  }
  struct icaltimetype dtstamp = icalcomponent_get_dtstamp(c);
  snprintf(etag, sizeof etag, "%d-%lld", icalcomponent_get_sequence(c),
           icaltime_is_null_time(dtstamp) ? 0LL
               : (long long)icaltime_as_timet_with_zone(dtstamp, icaltimezone_get_utc_timezone()));
  int64_t last_modified = 0;
  icalproperty *lm = icalcomponent_get_first_property(c, ICAL_LASTMODIFIED_PROPERTY);
  if (lm) {
    struct icaltimetype t = icalproperty_get_lastmodified(lm);
    last_modified = icaltime_as_timet_with_zone(t, icaltimezone_get_utc_timezone());
  }
  /* libical's span ends a date event at 23:59:59 of its last day; the
  ** normalized event wants the exclusive end, so use the event's duration
  ** (one day when a date event has neither DTEND nor DURATION). */
  int all_day = icalcomponent_get_dtstart(c).is_date;
  int64_t end = span->end > span->start ? span->end : span->start + 1;
  if (all_day) {
    int dur = icaldurationtype_as_int(icalcomponent_get_duration(c));
    end = span->start + (dur > 0 ? dur : 86400);
  }
  struct sidecal_attendee attendees[MAX_ATTENDEES];
  struct sidecal_event ev = {
    .struct_size = sizeof ev,
    .status = status_of(c),
    .external_id = id,
    .etag = etag,
    .start_utc = span->start,
    .end_utc = end,
    .timezone = tzid_of(c),
    .all_day = all_day ? 1u : 0u,
    .n_attendees = attendees_of(c, attendees),
    .attendees = attendees,
    .title = icalcomponent_get_summary(c),
    .description = icalcomponent_get_description(c),
    .location = icalcomponent_get_location(c),
    .last_modified_utc = last_modified,
  };
  if (x->sink->event(x->sink, &ev)) x->stop = 1;
}

/* ---- list_events ---------------------------------------------------- */

static int32_t example_list_events(void *instance, const struct sidecal_call_ctx *ctx,
                                   const struct sidecal_window *window, const char *cursor,
                                   const struct sidecal_sink *sink,
                                   struct sidecal_result *res) {
  struct example *ex = instance;
  char msg[SIDECAL_MESSAGE_MAX], now_cursor[96];
  struct stat st;
  if (stat(ex->path, &st) != 0) {
    snprintf(msg, sizeof msg, "cannot read %s: %s", ex->path, strerror(errno));
    return sidecal_retry(res, 60000, msg); /* the file may come back */
  }
  cursor_of(&st, now_cursor, sizeof now_cursor);
  if (cursor && !strcmp(cursor, now_cursor)) {
    sink->cursor(sink, now_cursor);
    return sidecal_ok(res); /* unchanged: nothing to report */
  }
  if (cursor)
    return sidecal_result_set(res, SIDECAL_CURSOR_EXPIRED, 0,
                              "the file changed since the cursor; do a full sync");

  char *text = read_file(ex->path, msg, sizeof msg);
  if (!text) return sidecal_retry(res, 60000, msg);
  icalcomponent *root = icalparser_parse_string(text);
  free(text);
  if (!root) {
    snprintf(msg, sizeof msg, "%s is not valid iCalendar", ex->path);
    return sidecal_error(res, msg);
  }
  icaltimezone *utc = icaltimezone_get_utc_timezone();
  struct icaltimetype from = icaltime_from_timet_with_zone(window->start_utc, 0, utc);
  struct icaltimetype to = icaltime_from_timet_with_zone(window->end_utc, 0, utc);
  uint64_t seen = 0;
  int stop = 0;
  icalcompiter it = icalcomponent_begin_component(root, ICAL_VEVENT_COMPONENT);
  for (icalcomponent *c = icalcompiter_deref(&it); c && !stop && !*ctx->cancel;
       c = icalcompiter_next(&it)) {
    const char *uid = icalcomponent_get_uid(c);
    if (!uid) continue; /* RFC 5545 requires UID; without one there is no stable id */
    struct expand x = {
      .sink = sink, .uid = uid, .root = root,
      .recurring = icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY) ||
                   icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY),
      .is_override = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY) != NULL,
    };
    icalcomponent_foreach_recurrence(c, from, to, on_occurrence, &x);
    stop = x.stop;
    seen++;
  }
  icalcomponent_free(root);
  if (*ctx->cancel) return sidecal_retry(res, 0, "cancelled");
  host->counter_add(ctx->host_instance, "vevents_read", seen);
  sink->cursor(sink, now_cursor);
  return sidecal_ok(res);
}

/* ---- the descriptor and the entry point ----------------------------- */

static const struct sidecal_connector descriptor = {
  SIDECAL_CONNECTOR_STAMP,
  .name = "example",
  .version = "1.0.0",
  .description = "Read-only calendar from a local .ics file (libical)",
  .capabilities = SIDECAL_CAP_READ_EVENTS,
  .settings = settings,
  .n_settings = sizeof settings / sizeof settings[0],
  .instance_create = example_create,
  .instance_destroy = example_destroy,
  .list_events = example_list_events,
};

const struct sidecal_connector *sidecal_connector_entry(const struct sidecal_host_api *h) {
  host = h;
  return &descriptor;
}
