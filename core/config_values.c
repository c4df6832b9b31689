/*
** Value formats of conf.d/ and the readers that validate them in place, so
** every message names the expected format next to the value it got.
*/
#include "config_values.h"

#include <ctype.h>
#include <glib.h>
#include <libical/ical.h>
#include <stdio.h>
#include <string.h>

static bool all_chars(const char *s, const char *set) {
  return s[strspn(s, set)] == '\0';
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

bool sc_conf_slug_ok(const char *s) {
  size_t n = strlen(s);
  return n >= 1 && n <= 63 && s[0] != '-' && all_chars(s, LOWER_DIGITS "-");
}

bool sc_conf_plugin_ok(const char *s) {
  size_t n = strlen(s);
  return n >= 1 && n <= 63 && all_chars(s, LOWER_DIGITS "_");
}

bool sc_conf_env_name_ok(const char *s) {
  if (!*s || isdigit((unsigned char)*s)) return false;
  return all_chars(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789_");
}

/* n decimal digits at s, into *v. */
static bool digits(const char *s, int n, int *v) {
  *v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    *v = *v * 10 + (s[i] - '0');
  }
  return true;
}

bool sc_conf_date_ok(const char *s) {
  int y, m, d;
  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
    return false;
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 &&
         g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y);
}

bool sc_conf_hhmm(const char *s, bool allow_24, int *minutes) {
  int h, m;
  if (strlen(s) != 5 || s[2] != ':') return false;
  if (!digits(s, 2, &h) || !digits(s + 3, 2, &m) || m > 59) return false;
  if (h > 24 || (h == 24 && (!allow_24 || m != 0))) return false;
  *minutes = h * 60 + m;
  return true;
}

bool sc_conf_datetime(const char *s, char out[SC_CONF_DATETIME_LEN]) {
  size_t n = strlen(s);
  int h, m, sec = 0;
  if ((n != 16 && n != 19) || s[10] != 'T' || s[13] != ':') return false;
  char date[11];
  memcpy(date, s, 10);
  date[10] = '\0';
  if (!sc_conf_date_ok(date)) return false;
  if (!digits(s + 11, 2, &h) || !digits(s + 14, 2, &m) || h > 23 || m > 59)
    return false;
  if (n == 19 && (s[16] != ':' || !digits(s + 17, 2, &sec) || sec > 59))
    return false;
  snprintf(out, SC_CONF_DATETIME_LEN, "%.10sT%02d:%02d:%02d", date, h, m, sec);
  return true;
}

bool sc_conf_timezone_ok(const char *s) {
  /* GLib also takes offsets ("+05:00") and absolute TZif paths; conf.d/
  ** wants IANA names, which start with a letter and have no "..". */
  if (!isalpha((unsigned char)*s) || strstr(s, "..")) return false;
  if (!all_chars(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789_+-/"))
    return false;
  GTimeZone *tz = g_time_zone_new_identifier(s);
  if (!tz) return false;
  g_time_zone_unref(tz);
  return true;
}

bool sc_conf_color_ok(const char *s) {
  return strlen(s) == 7 && s[0] == '#' &&
         all_chars(s + 1, "0123456789abcdefABCDEF");
}

bool sc_conf_url_ok(const char *s) {
  const char *rest = NULL;
  if (!strncmp(s, "https://", 8)) rest = s + 8;
  else if (!strncmp(s, "http://", 7)) rest = s + 7;
  return rest && *rest && *rest != '/' && !strpbrk(s, " \t\r\n\"<>");
}

bool sc_conf_email_ok(const char *s) {
  const char *at = strchr(s, '@');
  return at && at != s && !strchr(at + 1, '@') && strchr(at + 1, '.') &&
         at[1] != '.' && s[strlen(s) - 1] != '.' && !strpbrk(s, " \t\r\n<>,;");
}

bool sc_conf_price_ok(const char *s) {
  size_t whole = strspn(s, "0123456789");
  if (whole < 1 || whole > 8) return false;
  if (!s[whole]) return true;
  if (s[whole] != '.') return false;
  size_t frac = strspn(s + whole + 1, "0123456789");
  return frac >= 1 && frac <= 2 && !s[whole + 1 + frac];
}

const char *sc_conf_rrule_problem(const char *rule, const char *dtstart) {
  icalerror_clear_errno();
  struct icalrecurrencetype rec = icalrecurrencetype_from_string(rule);
  if (rec.freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR)
    return strstr(rule, "FREQ=") ? "libical cannot parse it"
                                 : "libical cannot parse it (FREQ= is required)";
  struct icaltimetype start = icaltime_null_time();
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  sscanf(dtstart, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s);
  start.year = y, start.month = mo, start.day = d;
  start.hour = h, start.minute = mi, start.second = s;
  icalrecur_iterator *it = icalrecur_iterator_new(rec, start);
  if (!it) return "libical cannot expand it (conflicting parts)";
  icalrecur_iterator_free(it);
  return NULL;
}

typedef bool (*str_pred)(const char *);

/* map[key] as a string that must satisfy ok(); `what` describes the format. */
static int get_checked(const struct sc_yreader *r, const yaml_node_t *map,
                       const char *parent, const char *key, bool required,
                       str_pred ok, const char *what, char **out) {
  char *s = NULL;
  yaml_node_t *v;
  int rc = sc_ystr(r, map, parent, key, required, &s, &v);
  if (rc || !s) return rc;
  if (!ok(s)) {
    rc = sc_yerr(r, v, sc_ypath_key(parent, key).s, "%s \"%s\"", what, s);
    g_free(s);
    return rc;
  }
  *out = s;
  return SC_OK;
}

#define SLUG_RULE "use 1-63 of a-z, 0-9 and \"-\", not starting with \"-\""

int sc_yget_slug(const struct sc_yreader *r, const yaml_node_t *map,
                 const char *parent, const char *key, bool required,
                 char **out) {
  return get_checked(r, map, parent, key, required, sc_conf_slug_ok,
                     "invalid slug (" SLUG_RULE "):", out);
}

int sc_yitem_slug(const struct sc_yreader *r, const yaml_node_t *node,
                  const char *path, char **out) {
  char *s = NULL;
  int rc = sc_yscalar_str(r, node, path, &s);
  if (rc) return rc;
  if (!sc_conf_slug_ok(s)) {
    rc = sc_yerr(r, node, path, "invalid slug (" SLUG_RULE "): \"%s\"", s);
    g_free(s);
    return rc;
  }
  *out = s;
  return SC_OK;
}

int sc_yget_timezone(const struct sc_yreader *r, const yaml_node_t *map,
                     const char *parent, const char *key, bool required,
                     char **out) {
  return get_checked(r, map, parent, key, required, sc_conf_timezone_ok,
                     "unknown time zone", out);
}

int sc_yget_date(const struct sc_yreader *r, const yaml_node_t *map,
                 const char *parent, const char *key, bool required,
                 char **out) {
  return get_checked(r, map, parent, key, required, sc_conf_date_ok,
                     "expected a date YYYY-MM-DD, got", out);
}

int sc_yget_hhmm(const struct sc_yreader *r, const yaml_node_t *map,
                 const char *parent, const char *key, bool allow_24,
                 int *minutes) {
  char *s = NULL;
  yaml_node_t *v;
  int rc = sc_ystr(r, map, parent, key, true, &s, &v);
  if (rc) return rc;
  if (!sc_conf_hhmm(s, allow_24, minutes))
    rc = sc_yerr(r, v, sc_ypath_key(parent, key).s,
                 "expected a time HH:MM from 00:00 to %s, got \"%s\"",
                 allow_24 ? "24:00" : "23:59", s);
  g_free(s);
  return rc;
}

int sc_yget_datetime(const struct sc_yreader *r, const yaml_node_t *node,
                     const char *path, char **out) {
  char *s = NULL;
  char norm[SC_CONF_DATETIME_LEN];
  int rc = sc_yscalar_str(r, node, path, &s);
  if (rc) return rc;
  if (!sc_conf_datetime(s, norm))
    rc = sc_yerr(r, node, path,
                 "expected a local date-time YYYY-MM-DDTHH:MM[:SS], got \"%s\"",
                 s);
  else
    *out = g_strdup(norm);
  g_free(s);
  return rc;
}
