/*
** Calendar dates, the process-wide GTimeZone cache, and local <-> instant
** conversion by RFC 5545 rules over a small table of offset transitions.
*/
#include "tz.h"

#include <string.h>

/* GDate's Julian day of 1970-01-01 (day 1 is 0001-01-01). */
#define EPOCH_JULIAN 719163
/* Wider than any UTC offset (-12h .. +14h), so a probe this far before or
** after a local stamp is certainly before or after its instant. */
#define PROBE_MARGIN (15 * 3600)

bool sc_date_from_ymd(int year, int month, int day, sc_date *out) {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31)
    return false;
  if (!g_date_valid_dmy((GDateDay)day, (GDateMonth)month, (GDateYear)year))
    return false;
  GDate d;
  g_date_clear(&d, 1);
  g_date_set_dmy(&d, (GDateDay)day, (GDateMonth)month, (GDateYear)year);
  *out = (sc_date)((int64_t)g_date_get_julian(&d) - EPOCH_JULIAN);
  return true;
}

void sc_date_to_ymd(sc_date date, int *year, int *month, int *day) {
  GDate d;
  g_date_clear(&d, 1);
  g_date_set_julian(&d, (guint32)(date + EPOCH_JULIAN));
  *year = g_date_get_year(&d);
  *month = g_date_get_month(&d);
  *day = g_date_get_day(&d);
}

int sc_date_weekday(sc_date date) {
  /* 1970-01-01 was a Thursday (4). */
  return (int)(((date % 7) + 7 + 4) % 7);
}

static GMutex cache_lock;
static GHashTable *cache;

GTimeZone *sc_tz_get(const char *name) {
  if (!name || !*name) return NULL;
  g_mutex_lock(&cache_lock);
  if (!cache) cache = g_hash_table_new(g_str_hash, g_str_equal);
  GTimeZone *tz = g_hash_table_lookup(cache, name);
  if (!tz) {
    tz = g_time_zone_new_identifier(name);
    if (tz) g_hash_table_insert(cache, g_strdup(name), tz);
  }
  g_mutex_unlock(&cache_lock);
  return tz;
}

int32_t sc_tz_offset(GTimeZone *tz, int64_t instant) {
  int i = g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL, instant);
  return g_time_zone_get_offset(tz, i);
}

/* The first instant in (lo, hi] whose offset differs from lo's. */
static int64_t find_transition(GTimeZone *tz, int64_t lo, int64_t hi,
                               int32_t off_lo) {
  while (hi - lo > 1) {
    int64_t mid = lo + (hi - lo) / 2;
    if (sc_tz_offset(tz, mid) == off_lo) lo = mid;
    else hi = mid;
  }
  return hi;
}

int sc_tz_map_init(struct sc_tz_map *map, GTimeZone *tz, int64_t local_from,
                   int64_t local_to, struct sc_error *err) {
  map->tz = tz;
  map->n = 0;
  int64_t at = local_from - PROBE_MARGIN, end = local_to + PROBE_MARGIN;
  int32_t off = sc_tz_offset(tz, at);
  map->offset0 = off;
  while (at < end) {
    int64_t next = at + 86400 < end ? at + 86400 : end;
    int32_t off_next = sc_tz_offset(tz, next);
    if (off_next != off) {
      if (map->n == SC_TZ_MAX_TRANSITIONS)
        return sc_error_set(err, SC_EINTERNAL, "",
                            "time zone %s changes offset too often in range",
                            g_time_zone_get_identifier(tz));
      struct sc_tz_transition *t = &map->t[map->n++];
      t->at = find_transition(tz, at, next, off);
      t->before = off;
      t->after = off_next;
    }
    at = next;
    off = off_next;
  }
  return SC_OK;
}

int64_t sc_tz_map_to_instant(const struct sc_tz_map *map, int64_t local) {
  /* Local clock readings up to the later of the two readings at a
  ** transition belong to the old offset: that puts a gap time on the offset
  ** before the gap and an ambiguous time on its first occurrence. */
  for (int i = 0; i < map->n; i++) {
    const struct sc_tz_transition *t = &map->t[i];
    int32_t hi = t->before > t->after ? t->before : t->after;
    if (local < t->at + hi) return local - t->before;
  }
  return local - (map->n ? map->t[map->n - 1].after : map->offset0);
}

int64_t sc_tz_map_to_local(const struct sc_tz_map *map, int64_t instant) {
  for (int i = 0; i < map->n; i++)
    if (instant < map->t[i].at) return instant + map->t[i].before;
  return instant + (map->n ? map->t[map->n - 1].after : map->offset0);
}

int64_t sc_tz_to_instant(GTimeZone *tz, int64_t local) {
  struct sc_tz_map map;
  /* A 30-hour range cannot hold more than two transitions. */
  sc_tz_map_init(&map, tz, local, local, NULL);
  return sc_tz_map_to_instant(&map, local);
}
