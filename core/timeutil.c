/*
** RFC 3339 parsing and UTC formatting for API input and output. Format is
** checked strictly here; GLib does the calendar arithmetic.
*/
#include "timeutil.h"

#include <ctype.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
static int shape_ok(const char *s) {
  static const char pat[] = "dddd-dd-ddTdd:dd:dd";
  size_t i;
  for (i = 0; i < sizeof pat - 1; i++) {
    char p = pat[i], c = s[i];
    if (p == 'd' ? !isdigit((unsigned char)c) : (p == 'T' ? (c != 'T' && c != 't') : c != p))
      return 0;
  }
  const char *r = s + i;
  if (*r == '.') {
    r++;
    if (!isdigit((unsigned char)*r)) return 0;
    while (isdigit((unsigned char)*r)) r++;
  }
  if ((*r == 'Z' || *r == 'z') && r[1] == '\0') return 1;
  if ((*r == '+' || *r == '-') && isdigit((unsigned char)r[1]) && isdigit((unsigned char)r[2]) &&
      r[3] == ':' && isdigit((unsigned char)r[4]) && isdigit((unsigned char)r[5]) && r[6] == '\0')
    return 1;
  return 0;
}

int sc_time_parse_rfc3339(const char *text, const char *field, int64_t *secs,
                          int *usec, struct sc_error *err) {
  if (!text || !shape_ok(text))
    return sc_error_set(err, SC_EINVAL, field,
        "%s: expected an RFC 3339 timestamp with offset, e.g. 2026-03-09T14:00:00Z or "
        "2026-03-09T09:00:00-05:00", field);
  GDateTime *dt = g_date_time_new_from_iso8601(text, NULL);
  if (!dt)
    return sc_error_set(err, SC_EINVAL, field, "%s: not a valid date and time: \"%s\"", field, text);
  *secs = g_date_time_to_unix(dt);
  if (usec) *usec = g_date_time_get_microsecond(dt);
  g_date_time_unref(dt);
  return SC_OK;
}

void sc_time_format_utc(int64_t secs, char *buf, size_t n) {
  GDateTime *dt = g_date_time_new_from_unix_utc(secs);
  if (!dt) {
    snprintf(buf, n, "invalid");
    return;
  }
  gchar *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
  snprintf(buf, n, "%s", s);
  g_free(s);
  g_date_time_unref(dt);
}

int sc_tz_valid(const char *name) {
  /* GLib accepts "+05:00" style offsets as identifiers; an appointment
  ** needs a real zone with rules, so those are refused. */
  if (!name || !*name || name[0] == '+' || name[0] == '-' || isdigit((unsigned char)name[0]))
    return 0;
  GTimeZone *tz = g_time_zone_new_identifier(name);
  if (!tz) return 0;
  g_time_zone_unref(tz);
  return 1;
}
