/* GHL wire times: ISO-8601 with offset in bodies, epoch ms in queries. */
#include "ghl.h"

#include <glib.h>
#include <stdio.h>

int ghl_time_parse(json_object *v, int64_t *out) {
  if (!v) return -1;
  if (json_object_is_type(v, json_type_int)) {
    *out = json_object_get_int64(v) / 1000;
    return 0;
  }
  if (!json_object_is_type(v, json_type_string)) return -1;
  GTimeZone *utc = g_time_zone_new_utc();
  GDateTime *dt = g_date_time_new_from_iso8601(json_object_get_string(v), utc);
  g_time_zone_unref(utc);
  if (!dt) return -1;
  *out = g_date_time_to_unix(dt);
  g_date_time_unref(dt);
  return 0;
}

void ghl_time_format(int64_t t, const char *tzid, char *buf, size_t size) {
  GTimeZone *tz = tzid ? g_time_zone_new_identifier(tzid) : NULL;
  if (!tz) tz = g_time_zone_new_utc();
  GDateTime *utc = g_date_time_new_from_unix_utc(t);
  GDateTime *local = utc ? g_date_time_to_timezone(utc, tz) : NULL;
  gchar *s = local ? g_date_time_format(local, "%Y-%m-%dT%H:%M:%S%:z") : NULL;
  snprintf(buf, size, "%s", s ? s : "");
  g_free(s);
  if (local) g_date_time_unref(local);
  if (utc) g_date_time_unref(utc);
  g_time_zone_unref(tz);
}
