/*
** Local calendar dates and time-zone conversion, on GLib's GTimeZone.
**
** Contract:
** - A date is an sc_date: days since 1970-01-01 (proleptic Gregorian), so
**   date arithmetic is integer arithmetic. A local wall-clock time is a
**   "local stamp": seconds since 1970-01-01 00:00 as if the local clock were
**   UTC (date * 86400 + seconds of the day; 24:00 is the next date's 0).
** - sc_tz_get() returns a GTimeZone for an IANA name, or NULL when GLib does
**   not know it. The object is owned by a process-wide cache (thread-safe)
**   and lives until exit: never unref it. The process TZ is never read.
**   Zones from sc_tz_get also get a per-year transition cache (years
**   1900-2200), which makes sc_tz_map_init cost no GLib lookups; any other
**   GTimeZone works too but is probed with GLib on every map.
** - Local stamp -> instant follows RFC 5545 section 3.3.5: an ambiguous time
**   (autumn fold) is its first occurrence; a nonexistent time (spring gap)
**   is read with the offset in force before the gap (02:30 on the New York
**   spring date is 03:30 EDT).
** - An sc_tz_map holds the offset transitions of one zone over a range of
**   local stamps so that many conversions in that range cost a few integer
**   compares. It assumes zones change offset at most once in any 24 hours,
**   which holds for every zone in tzdata since 1970. Conversions outside
**   the range of sc_tz_map_init are still exact while no transition lies
**   between the range and the converted time.
*/
#ifndef SC_TZ_H
#define SC_TZ_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef int32_t sc_date;

#define SC_TZ_MAX_TRANSITIONS 32

struct sc_tz_transition {
  int64_t at;      /* instant (UTC epoch seconds) the new offset starts */
  int32_t before;  /* UTC offset in seconds before `at` */
  int32_t after;   /* and from `at` on */
};

struct sc_tz_map {
  GTimeZone *tz;
  int32_t offset0;  /* offset before the first transition */
  int n;
  struct sc_tz_transition t[SC_TZ_MAX_TRANSITIONS];
};

/* Calendar dates. from_ymd returns false for an impossible date or a year
** outside 1..9999. weekday: 0 = Sunday ... 6 = Saturday. */
bool sc_date_from_ymd(int year, int month, int day, sc_date *out);
void sc_date_to_ymd(sc_date date, int *year, int *month, int *day);
int sc_date_weekday(sc_date date);

GTimeZone *sc_tz_get(const char *name);

/* UTC offset in seconds in force at an instant. */
int32_t sc_tz_offset(GTimeZone *tz, int64_t instant);

/* Fills map with the transitions of tz that can affect local stamps in
** [local_from, local_to]. SC_EINTERNAL if there are more than
** SC_TZ_MAX_TRANSITIONS of them (keep ranges to a few years). */
int sc_tz_map_init(struct sc_tz_map *map, GTimeZone *tz, int64_t local_from,
                   int64_t local_to, struct sc_error *err);
int64_t sc_tz_map_to_instant(const struct sc_tz_map *map, int64_t local);
int64_t sc_tz_map_to_local(const struct sc_tz_map *map, int64_t instant);

/* One-off conversion (builds a tiny map): for times far from any map. */
int64_t sc_tz_to_instant(GTimeZone *tz, int64_t local);

#endif
