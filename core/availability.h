/*
** The availability engine: rules, overrides, blocks, busy intervals, event
** settings, a window and a clock in; sorted free slots out. Pure: no I/O,
** no process TZ, no global state except the read-only GTimeZone cache of
** tz.h (zone names are looked up there, once per process). Thread-safe;
** a call allocates its result (grown by doubling) and a few scratch
** buffers, never anything per slot.
**
** Semantics (docs/slots.md has the same in user terms):
** - `timezone` is the zone of rules, overrides and their dates.
**   `window_timezone` (NULL: `timezone`) only says how from/to are read:
**   a slot is returned when its start lies in [from 00:00, to+1 00:00) of
**   that zone. Both dates inclusive; at most 366 days; window and block
**   dates must lie in 1900-01-01 .. 2199-12-31.
** - A rule applies to local date D (in `timezone`) when D's weekday
**   (0 = Sunday) is day_of_week and D lies in [effective_from,
**   effective_until] (SC_AVAIL_NO_DATE: unbounded). start/end are minutes
**   after local midnight, 0 <= start < end <= 1440 (1440 = next midnight).
**   An override replaces every rule of its date; with no intervals the day
**   is off. Override dates must be unique.
** - Each date's intervals are merged (overlapping or touching ones join);
**   intervals of different dates never merge. Local times become instants
**   by RFC 5545 (see tz.h: first occurrence in a fold, offset before the
**   gap in a gap). Candidates start at each merged interval's start instant
**   and step by `interval` minutes of absolute time; a candidate s needs
**   s + duration <= the merged interval's end instant.
** - s is free when [s - buffer_before, s + duration + buffer_after)
**   overlaps no busy interval and no block occurrence (half-open: touching
**   is not overlap), and s >= now + min_notice.
** - A block is a local start/end in its zone (NULL: `timezone`), optionally
**   repeated by an RFC 5545 RRULE (expanded with libical; a UTC UNTIL is
**   honoured). Every occurrence lasts the block's own end instant minus
**   start instant. An exdate removes the occurrence whose local start equals
**   it exactly; other exdates are ignored. The start itself is the first
**   occurrence, as in RFC 5545 (but with COUNT, libical counts only the
**   occurrences that match the rule, so a DTSTART off the rule adds one).
**   At most SC_AVAIL_MAX_OCCURRENCES occurrences per block may touch the
**   window.
** - Output: slots sorted by start, each start instant once (when two dates
**   yield the same instant, the earlier date keeps it). Each slot carries
**   the local date (in `timezone`) of the rule day that produced it: use it
**   for per-day caps and caches. For "any staff" run one call per staff
**   member and merge the sorted arrays by start.
**
** Performance: busy intervals are copied once per call and radix-sorted
** unless already sorted by start (loading them ORDER BY start saves ~7 us
** per 2,000); block occurrences are expanded once per call; each candidate
** slot costs an amortised O(1) sweep step. Time-zone offsets come from a
** per-zone, per-year table cached for the life of the process. bench/
** bench_engine: 30 days, 5 rules a day, 2,000 busy, 15-minute steps in
** about 10 us (sorted) / 16 us (unsorted) on the CI machine.
**
** Errors: SC_EINVAL with err->field set to the JSON path of the offending
** input as `sidecalctl slots` names it ("timezone", "rules[2].end",
** "blocks[0].rrule", "busy[5].end", "overrides[1].date", "to", ...) and a
** message such as "unknown time zone \"Mars/Base\"". SC_EINTERNAL only if
** a zone changes offset more than SC_TZ_MAX_TRANSITIONS times around the
** window. On error *out is left empty (no free needed, but
** sc_avail_result_free is safe).
*/
#ifndef SC_AVAILABILITY_H
#define SC_AVAILABILITY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tz.h"

#define SC_AVAIL_NO_DATE INT32_MIN
#define SC_AVAIL_MAX_WINDOW_DAYS 366
#define SC_AVAIL_MAX_OCCURRENCES 100000

struct sc_avail_interval {
  int start_min;  /* minutes after local midnight, 0..1439 */
  int end_min;    /* start_min < end_min <= 1440 */
};

struct sc_avail_rule {
  int day_of_week;          /* 0 = Sunday .. 6 = Saturday */
  int start_min, end_min;   /* as sc_avail_interval */
  sc_date effective_from;   /* inclusive, or SC_AVAIL_NO_DATE */
  sc_date effective_until;  /* inclusive, or SC_AVAIL_NO_DATE */
};

struct sc_avail_override {
  sc_date date;
  const struct sc_avail_interval *intervals;
  size_t n_intervals;       /* 0: the day is off */
};

struct sc_avail_busy {
  int64_t start, end;       /* UTC epoch seconds, start < end */
};

struct sc_local_time {
  int year, month, day, hour, minute, second;
};

struct sc_avail_block {
  struct sc_local_time start, end;  /* wall clock in `timezone` */
  const char *timezone;             /* NULL: the input's timezone */
  const char *rrule;                /* NULL or "": one occurrence */
  const struct sc_local_time *exdates;
  size_t n_exdates;
};

struct sc_avail_input {
  const char *timezone;         /* IANA name, required */
  const char *window_timezone;  /* NULL: timezone */
  sc_date from, to;             /* inclusive local dates in window zone */
  int duration;                 /* minutes, >= 1 */
  int interval;                 /* minutes; 0 means duration */
  int buffer_before, buffer_after, min_notice;  /* minutes, >= 0 */
  int64_t now;                  /* UTC epoch seconds */

  const struct sc_avail_rule *rules;
  size_t n_rules;
  const struct sc_avail_override *overrides;
  size_t n_overrides;
  const struct sc_avail_busy *busy;
  size_t n_busy;
  const struct sc_avail_block *blocks;
  size_t n_blocks;
};

struct sc_avail_slot {
  int64_t start, end;  /* UTC epoch seconds; end = start + duration */
  sc_date date;        /* local date (in `timezone`) of the rule day */
};

struct sc_avail_result {
  struct sc_avail_slot *slots;  /* sorted by start, starts unique */
  size_t n;
  size_t cap;
};

/* Computes the free slots of one calendar. *out must be zeroed or freed
** before the call; it is overwritten. */
int sc_avail_compute(const struct sc_avail_input *in,
                     struct sc_avail_result *out, struct sc_error *err);
void sc_avail_result_free(struct sc_avail_result *res);

/* Local wall-clock time -> local stamp (tz.h); false if not a real
** date-time (seconds 0..59, hour 0..23). */
bool sc_local_time_stamp(const struct sc_local_time *t, int64_t *stamp);

#endif
