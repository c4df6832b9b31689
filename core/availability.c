/*
** The availability engine (contract in availability.h): validation, block
** expansion, the busy-time index, and the per-date slot walk.
*/
#include "availability.h"

#include <libical/ical.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
/* Upper bound for every minutes field so that seconds never overflow. */
#define MAX_MINUTES (SC_AVAIL_MAX_WINDOW_DAYS * 1440)
/* Occurrences a block may produce before its window, so that a hostile
** RRULE cannot spin for minutes (an hourly block from 10 years ago is 88k). */
#define MAX_SKIPPED 1000000

/* Dates the engine accepts for windows and blocks: 1900-01-01 ..
** 2199-12-31. Outside, GDate and the tz year cache lose their footing, and
** no calendar needs them. */
#define ERA_FIRST (-25567)
#define ERA_LAST 84005
#define ERA_MSG "must be between 1900-01-01 and 2199-12-31"

struct span {
  int64_t start, end;
};

struct engine {
  const struct sc_avail_input *in;
  GTimeZone *tz;
  struct sc_tz_map map;          /* rules zone, around the window */
  int64_t win_start, win_end;    /* slot starts lie in [win_start, win_end) */
  int64_t need_start, need_end;  /* busy time outside this cannot matter */
  struct span *busy;             /* disjoint, sorted; owned or borrowed */
  size_t n_busy;
  struct span *owned;            /* g_free on exit */
  const struct sc_avail_override **ovr;  /* sorted by date */
  struct sc_avail_interval *day;  /* scratch for one date's intervals */
};

bool sc_local_time_stamp(const struct sc_local_time *t, int64_t *stamp) {
  sc_date d;
  if (!sc_date_from_ymd(t->year, t->month, t->day, &d)) return false;
  if (t->hour < 0 || t->hour > 23 || t->minute < 0 || t->minute > 59 ||
      t->second < 0 || t->second > 59)
    return false;
  *stamp = (int64_t)d * DAY + t->hour * 3600 + t->minute * 60 + t->second;
  return true;
}

/* ---- validation ---- */

static GTimeZone *zone(const char *name, const char *field,
                       struct sc_error *err) {
  GTimeZone *tz = sc_tz_get(name);
  if (!tz)
    sc_error_set(err, SC_EINVAL, field, "unknown time zone \"%s\"",
                 name ? name : "");
  return tz;
}

static int check_minutes(int v, int min, const char *field,
                         struct sc_error *err) {
  if (v < min)
    return sc_error_set(err, SC_EINVAL, field, "must be at least %d", min);
  if (v > MAX_MINUTES)
    return sc_error_set(err, SC_EINVAL, field, "must be at most %d",
                        MAX_MINUTES);
  return SC_OK;
}

static int check_span(int start, int end, const char *path,
                      struct sc_error *err) {
  char f[128];
  snprintf(f, sizeof f, "%s.start", path);
  if (start < 0 || start > 1439)
    return sc_error_set(err, SC_EINVAL, f, "must be between 00:00 and 23:59");
  snprintf(f, sizeof f, "%s.end", path);
  if (end > 1440)
    return sc_error_set(err, SC_EINVAL, f, "must be at most 24:00");
  if (end <= start)
    return sc_error_set(err, SC_EINVAL, f, "must be after start");
  return SC_OK;
}

static int validate_scalars(const struct sc_avail_input *in,
                            struct sc_error *err) {
  int rc;
  if ((rc = check_minutes(in->duration, 1, "duration", err))) return rc;
  if (in->interval != 0 &&
      (rc = check_minutes(in->interval, 1, "interval", err)))
    return rc;
  if ((rc = check_minutes(in->buffer_before, 0, "buffer_before", err)) ||
      (rc = check_minutes(in->buffer_after, 0, "buffer_after", err)) ||
      (rc = check_minutes(in->min_notice, 0, "min_notice", err)))
    return rc;
  if (in->from < ERA_FIRST || in->from > ERA_LAST)
    return sc_error_set(err, SC_EINVAL, "from", ERA_MSG);
  if (in->to < ERA_FIRST || in->to > ERA_LAST)
    return sc_error_set(err, SC_EINVAL, "to", ERA_MSG);
  if (in->from > in->to)
    return sc_error_set(err, SC_EINVAL, "to", "must not be before from");
  if ((int64_t)in->to - in->from + 1 > SC_AVAIL_MAX_WINDOW_DAYS)
    return sc_error_set(err, SC_EINVAL, "to",
                        "window is longer than %d days",
                        SC_AVAIL_MAX_WINDOW_DAYS);
  return SC_OK;
}

static int validate_lists(const struct sc_avail_input *in,
                          struct sc_error *err) {
  char path[96], f[128];
  int rc;
  for (size_t i = 0; i < in->n_rules; i++) {
    const struct sc_avail_rule *r = &in->rules[i];
    snprintf(path, sizeof path, "rules[%zu]", i);
    if (r->day_of_week < 0 || r->day_of_week > 6) {
      snprintf(f, sizeof f, "%s.day_of_week", path);
      return sc_error_set(err, SC_EINVAL, f, "must be 0 (Sunday) to 6");
    }
    if ((rc = check_span(r->start_min, r->end_min, path, err))) return rc;
  }
  for (size_t i = 0; i < in->n_overrides; i++) {
    const struct sc_avail_override *o = &in->overrides[i];
    for (size_t j = 0; j < o->n_intervals; j++) {
      snprintf(path, sizeof path, "overrides[%zu].intervals[%zu]", i, j);
      if ((rc = check_span(o->intervals[j].start_min, o->intervals[j].end_min,
                           path, err)))
        return rc;
    }
  }
  for (size_t i = 0; i < in->n_busy; i++)
    if (in->busy[i].end <= in->busy[i].start) {
      snprintf(f, sizeof f, "busy[%zu].end", i);
      return sc_error_set(err, SC_EINVAL, f, "must be after start");
    }
  return SC_OK;
}

/* ---- overrides ---- */

static int cmp_override(const void *a, const void *b) {
  sc_date x = (*(const struct sc_avail_override *const *)a)->date;
  sc_date y = (*(const struct sc_avail_override *const *)b)->date;
  return (x > y) - (x < y);
}

static int index_overrides(struct engine *e, struct sc_error *err) {
  const struct sc_avail_input *in = e->in;
  if (!in->n_overrides) return SC_OK;
  e->ovr = g_new(const struct sc_avail_override *, in->n_overrides);
  for (size_t i = 0; i < in->n_overrides; i++) e->ovr[i] = &in->overrides[i];
  qsort(e->ovr, in->n_overrides, sizeof *e->ovr, cmp_override);
  for (size_t i = 1; i < in->n_overrides; i++)
    if (e->ovr[i]->date == e->ovr[i - 1]->date) {
      /* Name the later one in input order, as a reader scanning would. */
      size_t a = (size_t)(e->ovr[i] - in->overrides);
      size_t b = (size_t)(e->ovr[i - 1] - in->overrides);
      char f[64];
      snprintf(f, sizeof f, "overrides[%zu].date", a > b ? a : b);
      int y, m, d;
      sc_date_to_ymd(e->ovr[i]->date, &y, &m, &d);
      return sc_error_set(err, SC_EINVAL, f,
                          "duplicate override date %04d-%02d-%02d", y, m, d);
    }
  return SC_OK;
}

static const struct sc_avail_override *find_override(const struct engine *e,
                                                     sc_date d) {
  size_t lo = 0, hi = e->in->n_overrides;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (e->ovr[mid]->date < d) lo = mid + 1;
    else hi = mid;
  }
  return lo < e->in->n_overrides && e->ovr[lo]->date == d ? e->ovr[lo] : NULL;
}

/* ---- blocks ---- */

struct span_list {
  struct span *v;
  size_t n, cap;
};

static void span_push(struct span_list *l, int64_t start, int64_t end) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->v = g_renew(struct span, l->v, l->cap);
  }
  l->v[l->n].start = start;
  l->v[l->n].end = end;
  l->n++;
}

static struct icaltimetype ical_from_stamp(int64_t stamp) {
  struct icaltimetype t = icaltime_null_time();
  int64_t days = stamp >= 0 ? stamp / DAY : -((-stamp + DAY - 1) / DAY);
  int secs = (int)(stamp - days * DAY);
  sc_date_to_ymd((sc_date)days, &t.year, &t.month, &t.day);
  t.hour = secs / 3600;
  t.minute = secs / 60 % 60;
  t.second = secs % 60;
  return t;
}

static int64_t stamp_from_ical(struct icaltimetype t) {
  struct sc_local_time lt = {t.year, t.month, t.day, t.hour, t.minute,
                             t.second};
  int64_t s = 0;
  sc_local_time_stamp(&lt, &s);
  return s;
}

struct block_ctx {
  const struct sc_avail_block *b;
  size_t idx;
  GTimeZone *tz;
  int64_t start_stamp, dur;
  int64_t *exdates;
};

static bool excluded(const struct block_ctx *c, int64_t stamp) {
  for (size_t i = 0; i < c->b->n_exdates; i++)
    if (c->exdates[i] == stamp) return true;
  return false;
}

static int block_error(const struct block_ctx *c, const char *key,
                       struct sc_error *err, const char *msg) {
  char f[128];
  snprintf(f, sizeof f, "blocks[%zu].%s", c->idx, key);
  return sc_error_set(err, SC_EINVAL, f, "%s", msg);
}

/* Parses the block's RRULE into an iterator from its start; NULL (with
** err set) when libical rejects it. */
static icalrecur_iterator *rrule_iterator(const struct block_ctx *c,
                                          struct sc_error *err) {
  icalerror_clear_errno();
  struct icalrecurrencetype rule = icalrecurrencetype_from_string(c->b->rrule);
  if (rule.freq == ICAL_NO_RECURRENCE) {
    block_error(c, "rrule", err, "invalid RRULE");
    return NULL;
  }
  if (!icaltime_is_null_time(rule.until) && icaltime_is_utc(rule.until)) {
    /* A UTC UNTIL bounds instants; our iteration is in local time. */
    int64_t u = icaltime_as_timet(rule.until);
    rule.until = ical_from_stamp(u + sc_tz_offset(c->tz, u));
  }
  /* No icalrecur_iterator_set_start to skip ahead: in libical 3.0 it
  ** restarts the INTERVAL phase at the new start, so we walk from DTSTART. */
  icalrecur_iterator *it =
      icalrecur_iterator_new(rule, ical_from_stamp(c->start_stamp));
  if (!it) block_error(c, "rrule", err, "invalid RRULE");
  return it;
}

/* Adds the occurrence starting at local stamp when it can matter. */
static int add_occurrence(const struct engine *e, const struct block_ctx *c,
                          const struct sc_tz_map *map, int64_t stamp,
                          size_t *kept, struct span_list *out,
                          struct sc_error *err) {
  if (excluded(c, stamp)) return SC_OK;
  int64_t o = sc_tz_map_to_instant(map, stamp);
  if (o >= e->need_end || o + c->dur <= e->need_start) return SC_OK;
  if (++*kept > SC_AVAIL_MAX_OCCURRENCES) {
    char msg[96];
    snprintf(msg, sizeof msg, "more than %d occurrences in the window",
             SC_AVAIL_MAX_OCCURRENCES);
    return block_error(c, "rrule", err, msg);
  }
  span_push(out, o, o + c->dur);
  return SC_OK;
}

static int expand_rrule(const struct engine *e, struct block_ctx *c,
                        struct span_list *out, struct sc_error *err) {
  /* Local bounds around the needed instants, wide enough for any offset. */
  int64_t lo = e->need_start - c->dur - 2 * DAY;
  int64_t hi = e->need_end + 2 * DAY;
  struct sc_tz_map map;
  int rc = sc_tz_map_init(&map, c->tz, lo, hi, err);
  if (rc) return rc;
  icalrecur_iterator *it = rrule_iterator(c, err);
  if (!it) return SC_EINVAL;
  size_t kept = 0, seen = 0;
  /* RFC 5545: DTSTART is an occurrence even when the rule skips it;
  ** libical returns it only when it matches, and never anything before. */
  if (c->start_stamp >= lo && c->start_stamp <= hi)
    rc = add_occurrence(e, c, &map, c->start_stamp, &kept, out, err);
  while (!rc) {
    struct icaltimetype t = icalrecur_iterator_next(it);
    if (icaltime_is_null_time(t)) break;
    int64_t stamp = stamp_from_ical(t);
    if (stamp > hi) break;
    if (++seen > MAX_SKIPPED)
      rc = block_error(c, "rrule", err, "too many occurrences to expand");
    else if (stamp >= lo && stamp != c->start_stamp)
      rc = add_occurrence(e, c, &map, stamp, &kept, out, err);
  }
  icalrecur_iterator_free(it);
  return rc;
}

static bool in_era(int64_t stamp) {
  return stamp >= (int64_t)ERA_FIRST * DAY && stamp < ((int64_t)ERA_LAST + 1) * DAY;
}

static int expand_block(const struct engine *e, size_t idx,
                        struct span_list *out, struct sc_error *err) {
  const struct sc_avail_block *b = &e->in->blocks[idx];
  struct block_ctx c = {.b = b, .idx = idx};
  char f[64];
  snprintf(f, sizeof f, "blocks[%zu].timezone", idx);
  c.tz = b->timezone ? zone(b->timezone, f, err) : e->tz;
  if (!c.tz) return SC_EINVAL;
  int64_t end_stamp;
  if (!sc_local_time_stamp(&b->start, &c.start_stamp))
    return block_error(&c, "start", err, "not a valid date-time");
  if (!in_era(c.start_stamp)) return block_error(&c, "start", err, ERA_MSG);
  if (!sc_local_time_stamp(&b->end, &end_stamp))
    return block_error(&c, "end", err, "not a valid date-time");
  if (!in_era(end_stamp)) return block_error(&c, "end", err, ERA_MSG);
  int64_t s0 = sc_tz_to_instant(c.tz, c.start_stamp);
  c.dur = sc_tz_to_instant(c.tz, end_stamp) - s0;
  if (c.dur <= 0) return block_error(&c, "end", err, "must be after start");
  c.exdates = g_new(int64_t, b->n_exdates ? b->n_exdates : 1);
  int rc = SC_OK;
  for (size_t i = 0; i < b->n_exdates && !rc; i++)
    if (!sc_local_time_stamp(&b->exdates[i], &c.exdates[i])) {
      snprintf(f, sizeof f, "exdates[%zu]", i);
      rc = block_error(&c, f, err, "not a valid date-time");
    }
  if (!rc && b->rrule && *b->rrule) rc = expand_rrule(e, &c, out, err);
  else if (!rc && !excluded(&c, c.start_stamp))
    span_push(out, s0, s0 + c.dur);
  g_free(c.exdates);
  return rc;
}

/* ---- busy index ---- */

/* LSD radix sort by start, 11 bits a pass over (start - min): a 30-day
** range takes two passes, several times faster than qsort for the
** thousands of busy intervals a month can hold. tmp holds n spans. */
static void sort_spans(struct span *v, struct span *tmp, size_t n) {
  if (n < 2) return;
  int64_t lo = v[0].start, hi = v[0].start;
  for (size_t i = 1; i < n; i++) {
    if (v[i].start < lo) lo = v[i].start;
    if (v[i].start > hi) hi = v[i].start;
  }
  uint64_t range = (uint64_t)hi - (uint64_t)lo;
  for (int shift = 0; shift < 64 && (range >> shift); shift += 11) {
    size_t count[2049] = {0};
    for (size_t i = 0; i < n; i++)
      count[(((uint64_t)v[i].start - (uint64_t)lo) >> shift & 2047) + 1]++;
    for (int b = 0; b < 2048; b++) count[b + 1] += count[b];
    for (size_t i = 0; i < n; i++)
      tmp[count[((uint64_t)v[i].start - (uint64_t)lo) >> shift & 2047]++] = v[i];
    memcpy(v, tmp, n * sizeof *v);
  }
}

static bool sorted(const struct span *v, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (v[i].start < v[i - 1].start) return false;
  return true;
}

/* Merges sorted spans in place into disjoint ones: ends become sorted too,
** so one binary search answers "does [a, b) overlap anything?". Touching
** spans may join: a slot overlaps their union iff it overlaps one. */
static size_t merge_spans(struct span *v, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (k && v[i].start <= v[k - 1].end) {
      if (v[i].end > v[k - 1].end) v[k - 1].end = v[i].end;
    } else {
      v[k++] = v[i];
    }
  }
  return k;
}

static int build_busy(struct engine *e, struct sc_error *err) {
  const struct sc_avail_input *in = e->in;
  struct span_list occ = {0};
  for (size_t i = 0; i < in->n_blocks; i++) {
    int rc = expand_block(e, i, &occ, err);
    if (rc) {
      g_free(occ.v);
      return rc;
    }
  }
  size_t n = in->n_busy + occ.n;
  /* Twice n: the second half is the radix sort's buffer. */
  e->owned = g_new(struct span, n ? 2 * n : 1);
  /* sc_avail_busy and span share a layout; copy only what can matter. */
  size_t k = 0;
  for (size_t i = 0; i < in->n_busy; i++)
    if (in->busy[i].end > e->need_start && in->busy[i].start < e->need_end) {
      e->owned[k].start = in->busy[i].start;
      e->owned[k++].end = in->busy[i].end;
    }
  bool was_sorted = sorted(e->owned, k);
  if (occ.n) {
    memcpy(e->owned + k, occ.v, occ.n * sizeof *occ.v);
    k += occ.n;
    was_sorted = false;
  }
  g_free(occ.v);
  if (!was_sorted) sort_spans(e->owned, e->owned + n, k);
  e->busy = e->owned;
  e->n_busy = merge_spans(e->owned, k);
  return SC_OK;
}

/* Index of the first busy span ending after t. */
static size_t busy_after(const struct engine *e, int64_t t) {
  size_t lo = 0, hi = e->n_busy;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (e->busy[mid].end <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* ---- slot walk ---- */

static void slot_push(struct sc_avail_result *r, int64_t s, int64_t end,
                      sc_date d) {
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 256;
    r->slots = g_renew(struct sc_avail_slot, r->slots, r->cap);
  }
  r->slots[r->n].start = s;
  r->slots[r->n].end = end;
  r->slots[r->n].date = d;
  r->n++;
}

static size_t day_intervals(const struct engine *e, sc_date d) {
  const struct sc_avail_override *o = find_override(e, d);
  size_t n = 0;
  if (o) {
    n = o->n_intervals;
    if (n) memcpy(e->day, o->intervals, n * sizeof *e->day);
  } else {
    int dow = sc_date_weekday(d);
    for (size_t i = 0; i < e->in->n_rules; i++) {
      const struct sc_avail_rule *r = &e->in->rules[i];
      if (r->day_of_week != dow) continue;
      if (r->effective_from != SC_AVAIL_NO_DATE && d < r->effective_from)
        continue;
      if (r->effective_until != SC_AVAIL_NO_DATE && d > r->effective_until)
        continue;
      e->day[n].start_min = r->start_min;
      e->day[n++].end_min = r->end_min;
    }
  }
  /* Insertion sort: a day has a handful of intervals. */
  for (size_t i = 1; i < n; i++) {
    struct sc_avail_interval x = e->day[i];
    size_t j = i;
    for (; j > 0 && e->day[j - 1].start_min > x.start_min; j--)
      e->day[j] = e->day[j - 1];
    e->day[j] = x;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (k && e->day[i].start_min <= e->day[k - 1].end_min) {
      if (e->day[i].end_min > e->day[k - 1].end_min)
        e->day[k - 1].end_min = e->day[i].end_min;
    } else {
      e->day[k++] = e->day[i];
    }
  }
  return k;
}

static void walk_interval(const struct engine *e, sc_date d,
                          const struct sc_avail_interval *iv,
                          struct sc_avail_result *out) {
  const struct sc_avail_input *in = e->in;
  int64_t base = (int64_t)d * DAY;
  int64_t s = sc_tz_map_to_instant(&e->map, base + iv->start_min * 60);
  int64_t end = sc_tz_map_to_instant(&e->map, base + iv->end_min * 60);
  int64_t step = (int64_t)(in->interval ? in->interval : in->duration) * 60;
  int64_t dur = (int64_t)in->duration * 60;
  int64_t before = (int64_t)in->buffer_before * 60;
  int64_t after = (int64_t)in->buffer_after * 60;
  int64_t earliest = in->now + (int64_t)in->min_notice * 60;
  if (earliest < e->win_start) earliest = e->win_start;
  if (s < earliest) s += (earliest - s + step - 1) / step * step;
  size_t b = busy_after(e, s - before);
  for (; s + dur <= end && s < e->win_end; s += step) {
    int64_t lo = s - before, hi = s + dur + after;
    while (b < e->n_busy && e->busy[b].end <= lo) b++;
    if (b < e->n_busy && e->busy[b].start < hi) continue;
    slot_push(out, s, s + dur, d);
  }
}

static int cmp_slot(const void *a, const void *b) {
  const struct sc_avail_slot *x = a, *y = b;
  if (x->start != y->start) return (x->start > y->start) - (x->start < y->start);
  return (x->date > y->date) - (x->date < y->date);
}

static void finish_slots(struct sc_avail_result *r) {
  bool in_order = true;
  for (size_t i = 1; i < r->n && in_order; i++)
    if (cmp_slot(&r->slots[i - 1], &r->slots[i]) > 0) in_order = false;
  if (!in_order) qsort(r->slots, r->n, sizeof *r->slots, cmp_slot);
  size_t k = 0;
  for (size_t i = 0; i < r->n; i++)
    if (!k || r->slots[i].start != r->slots[k - 1].start)
      r->slots[k++] = r->slots[i];
  r->n = k;
}

/* ---- entry ---- */

static int setup_window(struct engine *e, struct sc_error *err) {
  const struct sc_avail_input *in = e->in;
  GTimeZone *wtz = e->tz;
  if (in->window_timezone &&
      !(wtz = zone(in->window_timezone, "window_timezone", err)))
    return SC_EINVAL;
  int64_t from = (int64_t)in->from * DAY, to = ((int64_t)in->to + 1) * DAY;
  struct sc_tz_map wmap;
  int rc = sc_tz_map_init(&wmap, wtz, from, to, err);
  if (rc) return rc;
  e->win_start = sc_tz_map_to_instant(&wmap, from);
  e->win_end = sc_tz_map_to_instant(&wmap, to);
  e->need_start = e->win_start - (int64_t)in->buffer_before * 60;
  e->need_end = e->win_end + (int64_t)(in->duration + in->buffer_after) * 60;
  /* Rule dates whose slots can start in the window: zones differ by at
  ** most 26 hours, so two days either side suffice. */
  return sc_tz_map_init(&e->map, e->tz, from - 3 * DAY, to + 3 * DAY, err);
}

static size_t max_day_intervals(const struct sc_avail_input *in) {
  size_t m = in->n_rules;
  for (size_t i = 0; i < in->n_overrides; i++)
    if (in->overrides[i].n_intervals > m) m = in->overrides[i].n_intervals;
  return m ? m : 1;
}

int sc_avail_compute(const struct sc_avail_input *in,
                     struct sc_avail_result *out, struct sc_error *err) {
  memset(out, 0, sizeof *out);
  struct engine e = {.in = in};
  int rc;
  if (!(e.tz = zone(in->timezone, "timezone", err))) return SC_EINVAL;
  if ((rc = validate_scalars(in, err)) || (rc = validate_lists(in, err)) ||
      (rc = setup_window(&e, err)) || (rc = index_overrides(&e, err)) ||
      (rc = build_busy(&e, err)))
    goto done;
  e.day = g_new(struct sc_avail_interval, max_day_intervals(in));
  for (sc_date d = in->from - 2; d <= in->to + 2; d++) {
    size_t n = day_intervals(&e, d);
    for (size_t i = 0; i < n; i++) walk_interval(&e, d, &e.day[i], out);
  }
  finish_slots(out);
done:
  g_free(e.day);
  g_free(e.owned);
  g_free(e.ovr);
  if (rc) sc_avail_result_free(out);
  return rc;
}

void sc_avail_result_free(struct sc_avail_result *res) {
  if (!res) return;
  g_free(res->slots);
  memset(res, 0, sizeof *res);
}
