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

/* Process-wide caches, under one lock: zones by name, and each zone's
** transitions per UTC year, so that building a map costs no GLib lookups
** once a year has been seen. Only years in [CACHE_FIRST_YEAR,
** CACHE_LAST_YEAR] are kept, which bounds the memory a caller can make us
** hold; other years are probed on every use. */
#define CACHE_FIRST_YEAR 1900
#define CACHE_LAST_YEAR 2200
#define YEAR_MAX_TRANSITIONS 16

struct year_table {
  int32_t offset0;  /* offset at the year's first instant */
  int n;
  struct sc_tz_transition t[YEAR_MAX_TRANSITIONS];
};

static GMutex cache_lock;
static GHashTable *zones_by_name;  /* char* -> GTimeZone* */
static GHashTable *years_by_zone;  /* GTimeZone* -> GHashTable(year -> table) */

GTimeZone *sc_tz_get(const char *name) {
  if (!name || !*name) return NULL;
  g_mutex_lock(&cache_lock);
  if (!zones_by_name) {
    zones_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    years_by_zone = g_hash_table_new(g_direct_hash, g_direct_equal);
  }
  GTimeZone *tz = g_hash_table_lookup(zones_by_name, name);
  if (!tz) {
    tz = g_time_zone_new_identifier(name);
    if (tz) {
      g_hash_table_insert(zones_by_name, g_strdup(name), tz);
      g_hash_table_insert(years_by_zone, tz,
                          g_hash_table_new_full(g_direct_hash, g_direct_equal,
                                                NULL, g_free));
    }
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

/* Transitions in (from, to], found by probing once a day. */
static int probe(GTimeZone *tz, int64_t from, int64_t to, int32_t *offset0,
                 struct sc_tz_transition *out, int max) {
  int n = 0;
  int32_t off = sc_tz_offset(tz, from);
  *offset0 = off;
  for (int64_t at = from; at < to;) {
    int64_t next = at + 86400 < to ? at + 86400 : to;
    int32_t off_next = sc_tz_offset(tz, next);
    if (off_next != off) {
      if (n == max) return -1;
      out[n].at = find_transition(tz, at, next, off);
      out[n].before = off;
      out[n++].after = off_next;
    }
    at = next;
    off = off_next;
  }
  return n;
}

static int year_of(int64_t instant) {
  int y, m, d;
  int64_t days = instant >= 0 ? instant / 86400 : -((-instant + 86399) / 86400);
  sc_date_to_ymd((sc_date)days, &y, &m, &d);
  return y;
}

static int64_t year_start(int year) {
  sc_date d;
  sc_date_from_ymd(year, 1, 1, &d);
  return (int64_t)d * 86400;
}

/* Caller holds cache_lock. NULL when the year is not cacheable. */
static const struct year_table *year_table(GTimeZone *tz, int year) {
  if (year < CACHE_FIRST_YEAR || year > CACHE_LAST_YEAR) return NULL;
  GHashTable *years = years_by_zone ? g_hash_table_lookup(years_by_zone, tz)
                                    : NULL;
  if (!years) return NULL;
  struct year_table *t = g_hash_table_lookup(years, GINT_TO_POINTER(year));
  if (t) return t;
  t = g_new0(struct year_table, 1);
  /* A transition exactly at the year's first instant belongs to it. */
  t->n = probe(tz, year_start(year) - 1, year_start(year + 1) - 1, &t->offset0,
               t->t, YEAR_MAX_TRANSITIONS);
  if (t->n < 0) {
    g_free(t);
    return NULL;
  }
  g_hash_table_insert(years, GINT_TO_POINTER(year), t);
  return t;
}

static int map_error(GTimeZone *tz, struct sc_error *err) {
  return sc_error_set(err, SC_EINTERNAL, "",
                      "time zone %s changes offset too often in range",
                      g_time_zone_get_identifier(tz));
}

/* Builds the map from cached years; false when a year is not cacheable. */
static bool map_from_cache(struct sc_tz_map *map, GTimeZone *tz, int64_t lo,
                           int64_t hi, bool *overflow) {
  bool ok = true;
  g_mutex_lock(&cache_lock);
  for (int y = year_of(lo); ok && y <= year_of(hi); y++) {
    const struct year_table *t = year_table(tz, y);
    if (!t) {
      ok = false;
      break;
    }
    if (y == year_of(lo)) map->offset0 = t->offset0;
    for (int i = 0; i < t->n; i++) {
      if (t->t[i].at <= lo) map->offset0 = t->t[i].after;
      else if (t->t[i].at <= hi) {
        if (map->n == SC_TZ_MAX_TRANSITIONS) {
          *overflow = true;
          ok = false;
          break;
        }
        map->t[map->n++] = t->t[i];
      }
    }
  }
  g_mutex_unlock(&cache_lock);
  return ok;
}

int sc_tz_map_init(struct sc_tz_map *map, GTimeZone *tz, int64_t local_from,
                   int64_t local_to, struct sc_error *err) {
  int64_t lo = local_from - PROBE_MARGIN, hi = local_to + PROBE_MARGIN;
  bool overflow = false;
  map->tz = tz;
  map->n = 0;
  if (map_from_cache(map, tz, lo, hi, &overflow)) return SC_OK;
  if (overflow) return map_error(tz, err);
  map->n = probe(tz, lo, hi, &map->offset0, map->t, SC_TZ_MAX_TRANSITIONS);
  if (map->n < 0) {
    map->n = 0;
    return map_error(tz, err);
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
