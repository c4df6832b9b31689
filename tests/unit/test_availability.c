/*
** Tests for core/availability.c: named cases whose expected slots are
** derived by hand in the comments (offsets from the 2026 tzdata rules).
**
** 2026 transitions used below:
**   America/New_York    Mar 8 02:00 EST->EDT (-5 -> -4); Nov 1 02:00 EDT->EST
**   Europe/London       Mar 29 01:00 GMT->BST (0 -> +1); Oct 25 02:00 BST->GMT
**   Australia/Lord_Howe Apr 5 02:00 +11 -> 01:30 +10:30; Oct 4 02:00 +10:30
**                       -> 02:30 +11
** 2026-03-02 is a Monday.
*/
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "availability.h"

#define HM(h, m) ((h) * 60 + (m))
#define NO SC_AVAIL_NO_DATE

static sc_date D(const char *s) {
  int y, m, d;
  g_assert_cmpint(sscanf(s, "%d-%d-%d", &y, &m, &d), ==, 3);
  sc_date out;
  g_assert_true(sc_date_from_ymd(y, m, d, &out));
  return out;
}

static int64_t T(const char *s) {
  GDateTime *dt = g_date_time_new_from_iso8601(s, NULL);
  g_assert_nonnull(dt);
  int64_t t = g_date_time_to_unix(dt);
  g_date_time_unref(dt);
  return t;
}

static struct sc_avail_input input(const char *tz, const char *from,
                                   const char *to, int duration) {
  struct sc_avail_input in = {0};
  in.timezone = tz;
  in.from = D(from);
  in.to = D(to);
  in.duration = duration;
  in.now = T("2020-01-01T00:00:00Z");
  return in;
}

/* Seven rules, one per weekday, all start..end. */
static void every_day(struct sc_avail_rule *r, int start, int end) {
  for (int i = 0; i < 7; i++)
    r[i] = (struct sc_avail_rule){i, start, end, NO, NO};
}

static char *fmt(int64_t t) {
  GDateTime *dt = g_date_time_new_from_unix_utc(t);
  char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
  g_date_time_unref(dt);
  return s;
}

/* Asserts the slot starts equal the NULL-terminated list, and that every
** slot is `duration` long. Returns the result for further checks. */
static struct sc_avail_result expect(const struct sc_avail_input *in, ...) {
  struct sc_avail_result res = {0};
  struct sc_error err;
  int rc = sc_avail_compute(in, &res, &err);
  if (rc) g_error("unexpected error %s: %s", err.field, err.message);
  GString *got = g_string_new(NULL), *want = g_string_new(NULL);
  for (size_t i = 0; i < res.n; i++) {
    char *s = fmt(res.slots[i].start);
    g_string_append_printf(got, "%s ", s);
    g_free(s);
    g_assert_cmpint(res.slots[i].end - res.slots[i].start, ==,
                    (int64_t)in->duration * 60);
  }
  va_list ap;
  va_start(ap, in);
  for (const char *s; (s = va_arg(ap, const char *));)
    g_string_append_printf(want, "%s ", s);
  va_end(ap);
  g_assert_cmpstr(got->str, ==, want->str);
  g_string_free(got, TRUE);
  g_string_free(want, TRUE);
  return res;
}

static void expect_error(const struct sc_avail_input *in, const char *field,
                         const char *message) {
  struct sc_avail_result res = {0};
  struct sc_error err;
  sc_error_clear(&err);
  g_assert_cmpint(sc_avail_compute(in, &res, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.field, ==, field);
  g_assert_cmpstr(err.message, ==, message);
  g_assert_cmpuint(res.n, ==, 0);
  g_assert_null(res.slots);
}

/* Monday 2026-03-02 09:00-12:00 UTC, 60-minute slots: 09, 10, 11. */
static struct sc_avail_input monday(struct sc_avail_rule *r) {
  struct sc_avail_input in = input("UTC", "2026-03-02", "2026-03-02", 60);
  r[0] = (struct sc_avail_rule){1, HM(9, 0), HM(12, 0), NO, NO};
  in.rules = r;
  in.n_rules = 1;
  return in;
}

static void drop(struct sc_avail_result res) { sc_avail_result_free(&res); }
#define FREE(res) drop(res)

/* ---- overlap shapes ---- */

static void test_no_busy(void) {
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_result res =
      expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z",
             "2026-03-02T11:00:00Z", NULL);
  g_assert_cmpint(res.slots[0].date, ==, D("2026-03-02"));
  FREE(res);
}

static void test_busy_inside_slot(void) {
  /* 10:15-10:45 lies inside [10:00, 11:00) only. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_busy b[] = {{T("2026-03-02T10:15:00Z"), T("2026-03-02T10:45:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T11:00:00Z", NULL));
}

static void test_slot_inside_busy(void) {
  /* 09:00-13:00, 60 min every 30: 09:00 09:30 ... 12:00. Busy 10:00-11:30
  ** holds the 10:00 and 10:30 slots entirely; 09:30 and 11:00 overlap it;
  ** 09:00 ends at its start and 11:30 starts at its end (touching). */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  r[0].end_min = HM(13, 0);
  in.interval = 30;
  struct sc_avail_busy b[] = {{T("2026-03-02T10:00:00Z"), T("2026-03-02T11:30:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T11:30:00Z",
              "2026-03-02T12:00:00Z", NULL));
}

static void test_busy_equals_slot_edges_touch(void) {
  /* Busy exactly [10:00, 11:00): 09 ends at 10:00 and 11 starts at 11:00:
  ** touching is not overlap. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_busy b[] = {{T("2026-03-02T10:00:00Z"), T("2026-03-02T11:00:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T11:00:00Z", NULL));
}

static void test_busy_covers_slot_start(void) {
  /* 08:00-09:30 overlaps the head of the 09:00 slot. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_busy b[] = {{T("2026-03-02T08:00:00Z"), T("2026-03-02T09:30:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", NULL));
}

static void test_busy_covers_slot_end(void) {
  /* 11:30-13:00 overlaps the tail of the 11:00 slot. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_busy b[] = {{T("2026-03-02T11:30:00Z"), T("2026-03-02T13:00:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", NULL));
}

static void test_busy_touching_day_end(void) {
  /* 12:00-13:00 starts where the last slot ends: nothing blocked. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_busy b[] = {{T("2026-03-02T12:00:00Z"), T("2026-03-02T13:00:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z",
              "2026-03-02T11:00:00Z", NULL));
}

static void test_busy_unsorted_and_overlapping(void) {
  /* Given out of order: 11:00-11:30 kills 11; 09:30-10:10 and 10:05-10:20
  ** kill 09 and 10. Nothing left. Then only the first busy: 09 and 10. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_busy b[] = {
      {T("2026-03-02T11:00:00Z"), T("2026-03-02T11:30:00Z")},
      {T("2026-03-02T10:05:00Z"), T("2026-03-02T10:20:00Z")},
      {T("2026-03-02T09:30:00Z"), T("2026-03-02T10:10:00Z")}};
  in.busy = b;
  in.n_busy = 3;
  FREE(expect(&in, NULL));
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", NULL));
}

/* ---- DST: New York ---- */

static struct sc_avail_input one_day(const char *tz, const char *date,
                                     struct sc_avail_rule *r, int dow,
                                     int start, int end, int duration) {
  struct sc_avail_input in = input(tz, date, date, duration);
  r[0] = (struct sc_avail_rule){dow, start, end, NO, NO};
  in.rules = r;
  in.n_rules = 1;
  return in;
}

static void test_ny_spring_day(void) {
  /* 2026-03-08 (Sun) 00:00-05:00: 00:00 EST = 05:00Z, 05:00 EDT = 09:00Z:
  ** four hours of absolute time, slots 05 06 07 08Z (local 00 01 03 04). */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("America/New_York", "2026-03-08", r, 0, HM(0, 0), HM(5, 0), 60);
  FREE(expect(&in, "2026-03-08T05:00:00Z", "2026-03-08T06:00:00Z",
              "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z", NULL));
}

static void test_ny_spring_gap_start(void) {
  /* 02:30 does not exist; with the offset before the gap (EST) it is
  ** 07:30Z = 03:30 EDT. 04:00 EDT = 08:00Z. One 30-minute slot. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("America/New_York", "2026-03-08", r, 0, HM(2, 30), HM(4, 0), 30);
  FREE(expect(&in, "2026-03-08T07:30:00Z", NULL));
}

static void test_ny_spring_gap_end(void) {
  /* 01:00 EST = 06:00Z; end 02:30 -> 07:30Z: 06:00 06:30 07:00. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("America/New_York", "2026-03-08", r, 0, HM(1, 0), HM(2, 30), 30);
  FREE(expect(&in, "2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z",
              "2026-03-08T07:00:00Z", NULL));
}

static void test_ny_spring_gap_duplicate_instant(void) {
  /* 01:00-02:30 gives 06:00 06:30 07:00Z (end 07:30Z); 03:00-05:00 EDT
  ** gives 07:00 07:30 08:00 08:30Z. 07:00Z comes from both: listed once. */
  struct sc_avail_rule r[2];
  struct sc_avail_input in =
      one_day("America/New_York", "2026-03-08", r, 0, HM(1, 0), HM(2, 30), 30);
  r[1] = (struct sc_avail_rule){0, HM(3, 0), HM(5, 0), NO, NO};
  in.n_rules = 2;
  FREE(expect(&in, "2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z",
              "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z",
              "2026-03-08T08:00:00Z", "2026-03-08T08:30:00Z", NULL));
}

static void test_ny_autumn_day(void) {
  /* 2026-11-01 (Sun) 00:00 EDT = 04:00Z to 03:00 EST = 08:00Z: both
  ** 01:00 EDT (05Z) and 01:00 EST (06Z) are slots. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("America/New_York", "2026-11-01", r, 0, HM(0, 0), HM(3, 0), 60);
  struct sc_avail_result res =
      expect(&in, "2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z",
             "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", NULL);
  for (size_t i = 0; i < res.n; i++)
    g_assert_cmpint(res.slots[i].date, ==, D("2026-11-01"));
  FREE(res);
}

static void test_ny_autumn_ambiguous_start(void) {
  /* 01:30 is ambiguous: first occurrence, EDT = 05:30Z. 02:30 EST = 07:30Z.
  ** Two absolute hours: 05:30 06:00 06:30 07:00. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("America/New_York", "2026-11-01", r, 0, HM(1, 30), HM(2, 30), 30);
  FREE(expect(&in, "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z",
              "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z", NULL));
}

static void test_ny_autumn_ambiguous_end(void) {
  /* End 01:30 first occurrence = 05:30Z; start 00:00 EDT = 04:00Z. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("America/New_York", "2026-11-01", r, 0, HM(0, 0), HM(1, 30), 30);
  FREE(expect(&in, "2026-11-01T04:00:00Z", "2026-11-01T04:30:00Z",
              "2026-11-01T05:00:00Z", NULL));
}

/* ---- DST: London ---- */

static void test_london_spring_day(void) {
  /* 2026-03-29 00:00 GMT = 00:00Z; 03:00 BST = 02:00Z: slots 00Z, 01Z. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("Europe/London", "2026-03-29", r, 0, HM(0, 0), HM(3, 0), 60);
  FREE(expect(&in, "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", NULL));
}

static void test_london_spring_gap_interval_empty(void) {
  /* 01:30 (in the gap) reads as GMT = 01:30Z; 02:30 BST = 01:30Z too:
  ** the interval has no length, so no slot. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("Europe/London", "2026-03-29", r, 0, HM(1, 30), HM(2, 30), 30);
  FREE(expect(&in, NULL));
}

static void test_london_autumn_day(void) {
  /* 2026-10-25 00:00 BST = 10-24 23:00Z; 03:00 GMT = 03:00Z: four slots. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("Europe/London", "2026-10-25", r, 0, HM(0, 0), HM(3, 0), 60);
  FREE(expect(&in, "2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z",
              "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z", NULL));
}

static void test_london_autumn_ambiguous(void) {
  /* 01:30 first occurrence = BST = 00:30Z; 02:00 GMT = 02:00Z. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in =
      one_day("Europe/London", "2026-10-25", r, 0, HM(1, 30), HM(2, 0), 30);
  FREE(expect(&in, "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z",
              "2026-10-25T01:30:00Z", NULL));
}

/* ---- DST: Lord Howe (30-minute shift) ---- */

static void test_lord_howe_autumn_day(void) {
  /* 2026-04-05 (Sun) 00:00 +11 = 04-04 13:00Z; 03:00 +10:30 = 16:30Z:
  ** 3.5 hours, seven 30-minute slots. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = one_day("Australia/Lord_Howe", "2026-04-05", r, 0,
                                     HM(0, 0), HM(3, 0), 30);
  FREE(expect(&in, "2026-04-04T13:00:00Z", "2026-04-04T13:30:00Z",
              "2026-04-04T14:00:00Z", "2026-04-04T14:30:00Z",
              "2026-04-04T15:00:00Z", "2026-04-04T15:30:00Z",
              "2026-04-04T16:00:00Z", NULL));
}

static void test_lord_howe_autumn_ambiguous(void) {
  /* 01:30 first occurrence +11 = 14:30Z; 02:00 +10:30 = 15:30Z. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = one_day("Australia/Lord_Howe", "2026-04-05", r, 0,
                                     HM(1, 30), HM(2, 0), 30);
  FREE(expect(&in, "2026-04-04T14:30:00Z", "2026-04-04T15:00:00Z", NULL));
}

static void test_lord_howe_spring_gap(void) {
  /* 2026-10-04: 02:00-02:30 does not exist. 02:00 with the offset before
  ** (+10:30) = 10-03 15:30Z; 03:00 +11 = 16:00Z: one slot. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = one_day("Australia/Lord_Howe", "2026-10-04", r, 0,
                                     HM(2, 0), HM(3, 0), 30);
  FREE(expect(&in, "2026-10-03T15:30:00Z", NULL));
}

static void test_lord_howe_spring_gap_end(void) {
  /* 01:00 +10:30 = 14:30Z; 02:15 (gap) +10:30 = 15:45Z: 15-minute slots
  ** 14:30 14:45 15:00 15:15 15:30. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = one_day("Australia/Lord_Howe", "2026-10-04", r, 0,
                                     HM(1, 0), HM(2, 15), 15);
  FREE(expect(&in, "2026-10-03T14:30:00Z", "2026-10-03T14:45:00Z",
              "2026-10-03T15:00:00Z", "2026-10-03T15:15:00Z",
              "2026-10-03T15:30:00Z", NULL));
}

/* ---- shifts and merging ---- */

static void test_split_shift(void) {
  /* 09-10 and 13-14, 30 min: 09:00 09:30 13:00 13:30. */
  struct sc_avail_rule r[2];
  struct sc_avail_input in =
      one_day("UTC", "2026-03-02", r, 1, HM(13, 0), HM(14, 0), 30);
  r[1] = (struct sc_avail_rule){1, HM(9, 0), HM(10, 0), NO, NO};
  in.n_rules = 2;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z",
              "2026-03-02T13:00:00Z", "2026-03-02T13:30:00Z", NULL));
}

static void test_touching_rules_merge(void) {
  /* 09-10 + 10-11 join to 09-11. 60 min every 45: 09:00, 09:45 (10:45 ends
  ** in time), 10:30 ends 11:30: no. Unmerged would give 09:00 and 10:00. */
  struct sc_avail_rule r[2];
  struct sc_avail_input in =
      one_day("UTC", "2026-03-02", r, 1, HM(10, 0), HM(11, 0), 60);
  r[1] = (struct sc_avail_rule){1, HM(9, 0), HM(10, 0), NO, NO};
  in.n_rules = 2;
  in.interval = 45;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T09:45:00Z", NULL));
}

static void test_overlapping_rules_merge(void) {
  /* 08:00-09:00 + 08:45-10:00 join to 08-10: 60-minute slots 08 and 09.
  ** Unmerged would give 08:00 and 08:45. */
  struct sc_avail_rule r[2];
  struct sc_avail_input in =
      one_day("UTC", "2026-03-02", r, 1, HM(8, 0), HM(9, 0), 60);
  r[1] = (struct sc_avail_rule){1, HM(8, 45), HM(10, 0), NO, NO};
  in.n_rules = 2;
  FREE(expect(&in, "2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z", NULL));
}

static void test_dates_never_merge(void) {
  /* Mon 22-24 and Tue 00-02 touch across midnight but stay apart: no 3-hour
  ** slot; 60-minute slots 22 23 (Mon) 00 01 (Tue) carry their own date. */
  struct sc_avail_rule r[2];
  struct sc_avail_input in = input("UTC", "2026-03-02", "2026-03-03", 180);
  r[0] = (struct sc_avail_rule){1, HM(22, 0), HM(24, 0), NO, NO};
  r[1] = (struct sc_avail_rule){2, HM(0, 0), HM(2, 0), NO, NO};
  in.rules = r;
  in.n_rules = 2;
  FREE(expect(&in, NULL));
  in.duration = 60;
  struct sc_avail_result res =
      expect(&in, "2026-03-02T22:00:00Z", "2026-03-02T23:00:00Z",
             "2026-03-03T00:00:00Z", "2026-03-03T01:00:00Z", NULL);
  g_assert_cmpint(res.slots[1].date, ==, D("2026-03-02"));
  g_assert_cmpint(res.slots[2].date, ==, D("2026-03-03"));
  FREE(res);
}

static void test_end_at_24(void) {
  /* Sunday 23:00-24:00 in New York (EST, -5): 03-02 04:00Z. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = one_day("America/New_York", "2026-03-01", r, 0,
                                     HM(23, 0), HM(24, 0), 60);
  FREE(expect(&in, "2026-03-02T04:00:00Z", NULL));
}

/* ---- effective dates ---- */

static struct sc_avail_input three_mondays(struct sc_avail_rule *r) {
  struct sc_avail_input in = input("UTC", "2026-03-02", "2026-03-16", 60);
  r[0] = (struct sc_avail_rule){1, HM(9, 0), HM(10, 0), NO, NO};
  in.rules = r;
  in.n_rules = 1;
  return in;
}

static void test_effective_from(void) {
  /* From Mon 03-09 (inclusive): 03-09 and 03-16 only. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = three_mondays(r);
  r[0].effective_from = D("2026-03-09");
  FREE(expect(&in, "2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z", NULL));
}

static void test_effective_until(void) {
  /* Until Mon 03-09 (inclusive): 03-02 and 03-09. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = three_mondays(r);
  r[0].effective_until = D("2026-03-09");
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-09T09:00:00Z", NULL));
}

static void test_effective_hours_change(void) {
  /* 09-10 until Sun 03-08, 14-15 from 03-09: 03-02 09, 03-09 14, 03-16 14. */
  struct sc_avail_rule r[2];
  struct sc_avail_input in = three_mondays(r);
  r[0].effective_until = D("2026-03-08");
  r[1] = (struct sc_avail_rule){1, HM(14, 0), HM(15, 0), D("2026-03-09"), NO};
  in.n_rules = 2;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-09T14:00:00Z",
              "2026-03-16T14:00:00Z", NULL));
}

/* ---- overrides ---- */

static void test_override_replaces_rules(void) {
  /* Mon 09-12 replaced on 03-02 by 13:00-14:00: one slot at 13. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_interval iv[] = {{HM(13, 0), HM(14, 0)}};
  struct sc_avail_override o[] = {{D("2026-03-02"), iv, 1}};
  in.overrides = o;
  in.n_overrides = 1;
  FREE(expect(&in, "2026-03-02T13:00:00Z", NULL));
}

static void test_override_day_off(void) {
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_override o[] = {{D("2026-03-02"), NULL, 0}};
  in.overrides = o;
  in.n_overrides = 1;
  FREE(expect(&in, NULL));
}

static void test_override_without_rule(void) {
  /* Sunday 03-01 has no rule; the override opens 10:00-11:00 twice over
  ** (overlapping intervals merge): one slot. Monday's rule still applies. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  in.from = D("2026-03-01");
  struct sc_avail_interval iv[] = {{HM(10, 30), HM(11, 0)}, {HM(10, 0), HM(10, 45)}};
  struct sc_avail_override o[] = {{D("2026-03-01"), iv, 2}};
  in.overrides = o;
  in.n_overrides = 1;
  FREE(expect(&in, "2026-03-01T10:00:00Z", "2026-03-02T09:00:00Z",
              "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", NULL));
}

/* ---- blocks ---- */

static void test_block_single(void) {
  /* 09-13, block 10-11: 09, 11, 12. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  r[0].end_min = HM(13, 0);
  struct sc_avail_block b[] = {{.start = {2026, 3, 2, 10, 0, 0},
                                .end = {2026, 3, 2, 11, 0, 0}}};
  in.blocks = b;
  in.n_blocks = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T11:00:00Z",
              "2026-03-02T12:00:00Z", NULL));
}

static void test_block_rrule_exdate(void) {
  /* Mondays 09-11; weekly block 09-10 from 03-02 except 03-09 09:00:
  ** 03-02 10, 03-09 09 10, 03-16 10. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = three_mondays(r);
  r[0].end_min = HM(11, 0);
  struct sc_local_time ex[] = {{2026, 3, 9, 9, 0, 0}};
  struct sc_avail_block b[] = {{.start = {2026, 3, 2, 9, 0, 0},
                                .end = {2026, 3, 2, 10, 0, 0},
                                .rrule = "FREQ=WEEKLY;BYDAY=MO",
                                .exdates = ex, .n_exdates = 1}};
  in.blocks = b;
  in.n_blocks = 1;
  FREE(expect(&in, "2026-03-02T10:00:00Z", "2026-03-09T09:00:00Z",
              "2026-03-09T10:00:00Z", "2026-03-16T10:00:00Z", NULL));
  /* An exdate that is no occurrence's start (09:30) is ignored. */
  ex[0].minute = 30;
  FREE(expect(&in, "2026-03-02T10:00:00Z", "2026-03-09T10:00:00Z",
              "2026-03-16T10:00:00Z", NULL));
}

static void test_block_dtstart_off_rule(void) {
  /* DTSTART Tue 03-03 09:00 with FREQ=WEEKLY;BYDAY=MO: RFC 5545 makes the
  ** start itself an occurrence, then Mondays: 03-03 and 03-09 blocked.
  ** Daily 09-10 rules over 03-02..03-10 leave 03-02, 03-04..03-08, 03-10. */
  struct sc_avail_rule r[7];
  struct sc_avail_input in = input("UTC", "2026-03-02", "2026-03-10", 60);
  every_day(r, HM(9, 0), HM(10, 0));
  in.rules = r;
  in.n_rules = 7;
  struct sc_avail_block b[] = {{.start = {2026, 3, 3, 9, 0, 0},
                                .end = {2026, 3, 3, 10, 0, 0},
                                .rrule = "FREQ=WEEKLY;BYDAY=MO"}};
  in.blocks = b;
  in.n_blocks = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-04T09:00:00Z",
              "2026-03-05T09:00:00Z", "2026-03-06T09:00:00Z",
              "2026-03-07T09:00:00Z", "2026-03-08T09:00:00Z",
              "2026-03-10T09:00:00Z", NULL));
}

static void test_block_other_zone(void) {
  /* Block 04:00-05:00 New York (EST) = 09:00-10:00Z; rules UTC 09-11. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  r[0].end_min = HM(11, 0);
  struct sc_avail_block b[] = {{.start = {2026, 3, 2, 4, 0, 0},
                                .end = {2026, 3, 2, 5, 0, 0},
                                .timezone = "America/New_York"}};
  in.blocks = b;
  in.n_blocks = 1;
  FREE(expect(&in, "2026-03-02T10:00:00Z", NULL));
}

static void test_block_rrule_across_dst(void) {
  /* Daily 12-13 New York from 03-06: 17-18Z before 03-08, 16-17Z from it.
  ** Rules UTC 16-18: 03-06 16, 03-07 16, 03-08 17, 03-09 17. */
  struct sc_avail_rule r[7];
  struct sc_avail_input in = input("UTC", "2026-03-06", "2026-03-09", 60);
  every_day(r, HM(16, 0), HM(18, 0));
  in.rules = r;
  in.n_rules = 7;
  struct sc_avail_block b[] = {{.start = {2026, 3, 6, 12, 0, 0},
                                .end = {2026, 3, 6, 13, 0, 0},
                                .timezone = "America/New_York",
                                .rrule = "FREQ=DAILY"}};
  in.blocks = b;
  in.n_blocks = 1;
  FREE(expect(&in, "2026-03-06T16:00:00Z", "2026-03-07T16:00:00Z",
              "2026-03-08T17:00:00Z", "2026-03-09T17:00:00Z", NULL));
}

static void test_block_started_before_window(void) {
  /* One block 03-01 22:00 to 03-02 10:00 overlaps the window's start. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_block b[] = {{.start = {2026, 3, 1, 22, 0, 0},
                                .end = {2026, 3, 2, 10, 0, 0}}};
  in.blocks = b;
  in.n_blocks = 1;
  FREE(expect(&in, "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", NULL));
}

static void test_block_rrule_old_start_interval(void) {
  /* Every 2 days 00:00-23:00 from 2020-03-03: 2191 days to 2026-03-03 is
  ** odd, so 03-02 and 03-04 are occurrences; 03-03 is free all day. */
  struct sc_avail_rule r[7];
  struct sc_avail_input in = input("UTC", "2026-03-02", "2026-03-04", 60);
  every_day(r, HM(22, 0), HM(24, 0));
  in.rules = r;
  in.n_rules = 7;
  struct sc_avail_block b[] = {{.start = {2020, 3, 3, 0, 0, 0},
                                .end = {2020, 3, 3, 23, 0, 0},
                                .rrule = "FREQ=DAILY;INTERVAL=2"}};
  in.blocks = b;
  in.n_blocks = 1;
  FREE(expect(&in, "2026-03-02T23:00:00Z", "2026-03-03T22:00:00Z",
              "2026-03-03T23:00:00Z", "2026-03-04T23:00:00Z", NULL));
}

static void test_block_rrule_utc_until(void) {
  /* Daily 09-10 from 03-02 until 2026-03-03T09:00Z (inclusive): rules
  ** 09-11 over 03-02..03-04: 03-02 10, 03-03 10, 03-04 09 10. */
  struct sc_avail_rule r[7];
  struct sc_avail_input in = input("UTC", "2026-03-02", "2026-03-04", 60);
  every_day(r, HM(9, 0), HM(11, 0));
  in.rules = r;
  in.n_rules = 7;
  struct sc_avail_block b[] = {{.start = {2026, 3, 2, 9, 0, 0},
                                .end = {2026, 3, 2, 10, 0, 0},
                                .rrule = "FREQ=DAILY;UNTIL=20260303T090000Z"}};
  in.blocks = b;
  in.n_blocks = 1;
  FREE(expect(&in, "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z",
              "2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z", NULL));
}

/* ---- buffers and notice ---- */

static void test_buffer_before(void) {
  /* 15 min before: the 09 slot needs [08:45, 10:00); busy 08:30-08:50
  ** (outside the rule's hours) still blocks it. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  in.buffer_before = 15;
  struct sc_avail_busy b[] = {{T("2026-03-02T08:30:00Z"), T("2026-03-02T08:50:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", NULL));
}

static void test_buffer_after(void) {
  /* 30 min after: the 11 slot needs [11:00, 12:30); busy 12:10-12:20. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  in.buffer_after = 30;
  struct sc_avail_busy b[] = {{T("2026-03-02T12:10:00Z"), T("2026-03-02T12:20:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", NULL));
}

static void test_buffer_touching(void) {
  /* [11:00, 12:30) touches busy 12:30-13:00: still free. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  in.buffer_after = 30;
  struct sc_avail_busy b[] = {{T("2026-03-02T12:30:00Z"), T("2026-03-02T13:00:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z",
              "2026-03-02T11:00:00Z", NULL));
}

static void test_buffer_blocks_block(void) {
  /* Block 12:00-12:30 and 10 min after: the 11 slot needs [11:00, 12:10). */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  in.buffer_after = 10;
  struct sc_avail_block b[] = {{.start = {2026, 3, 2, 12, 0, 0},
                                .end = {2026, 3, 2, 12, 30, 0}}};
  in.blocks = b;
  in.n_blocks = 1;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", NULL));
}

static void test_min_notice(void) {
  /* now 09:20 + 60 min = 10:20. 09-13 every 30: the grid stays anchored at
  ** 09:00, so 10:30 11:00 11:30 12:00. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  r[0].end_min = HM(13, 0);
  in.interval = 30;
  in.now = T("2026-03-02T09:20:00Z");
  in.min_notice = 60;
  FREE(expect(&in, "2026-03-02T10:30:00Z", "2026-03-02T11:00:00Z",
              "2026-03-02T11:30:00Z", "2026-03-02T12:00:00Z", NULL));
}

static void test_now_equals_slot_start(void) {
  /* s >= now: a slot starting exactly now is offered. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  in.now = T("2026-03-02T10:00:00Z");
  FREE(expect(&in, "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", NULL));
}

/* ---- windows ---- */

static void test_window_zone_day_ahead(void) {
  /* Rules Kiritimati (+14) 09-10 daily; window 03-02 in Pago Pago (-11) =
  ** [03-02 11:00Z, 03-03 11:00Z). 09:00 +14 on D is D-1 19:00Z: only D =
  ** 03-03 fits, so the slot's rule date is a day after the window date. */
  struct sc_avail_rule r[7];
  struct sc_avail_input in =
      input("Pacific/Kiritimati", "2026-03-02", "2026-03-02", 60);
  every_day(r, HM(9, 0), HM(10, 0));
  in.rules = r;
  in.n_rules = 7;
  in.window_timezone = "Pacific/Pago_Pago";
  struct sc_avail_result res = expect(&in, "2026-03-02T19:00:00Z", NULL);
  g_assert_cmpint(res.slots[0].date, ==, D("2026-03-03"));
  FREE(res);
}

static void test_window_zone_day_behind(void) {
  /* Rules Pago Pago 09-10 (= D 20:00Z); window 03-02 in Kiritimati =
  ** [03-01 10:00Z, 03-02 10:00Z): D = 03-01. */
  struct sc_avail_rule r[7];
  struct sc_avail_input in =
      input("Pacific/Pago_Pago", "2026-03-02", "2026-03-02", 60);
  every_day(r, HM(9, 0), HM(10, 0));
  in.rules = r;
  in.n_rules = 7;
  in.window_timezone = "Pacific/Kiritimati";
  struct sc_avail_result res = expect(&in, "2026-03-01T20:00:00Z", NULL);
  g_assert_cmpint(res.slots[0].date, ==, D("2026-03-01"));
  FREE(res);
}

static void test_window_end_exclusive(void) {
  /* Window 03-02 UTC: 23:00 is in; 03-03 00:00 (the window's end) is not. */
  struct sc_avail_rule r[7];
  struct sc_avail_input in = input("UTC", "2026-03-02", "2026-03-02", 60);
  every_day(r, HM(23, 0), HM(24, 0));
  r[2].start_min = HM(0, 0);
  in.rules = r;
  in.n_rules = 7;
  FREE(expect(&in, "2026-03-02T23:00:00Z", NULL));
}

static void test_window_zone_new_york(void) {
  /* Rules UTC 04-06 daily; window 03-02 New York = [05:00Z, 03-03 05:00Z):
  ** 03-02 04Z is before it, 03-02 05Z and 03-03 04Z are in, 03-03 05Z out. */
  struct sc_avail_rule r[7];
  struct sc_avail_input in = input("UTC", "2026-03-02", "2026-03-02", 60);
  every_day(r, HM(4, 0), HM(6, 0));
  in.rules = r;
  in.n_rules = 7;
  in.window_timezone = "America/New_York";
  FREE(expect(&in, "2026-03-02T05:00:00Z", "2026-03-03T04:00:00Z", NULL));
}

static void test_interval_default_is_duration(void) {
  /* interval 0 means duration: 09-12 with 90 minutes: 09:00, 10:30. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  in.duration = 90;
  FREE(expect(&in, "2026-03-02T09:00:00Z", "2026-03-02T10:30:00Z", NULL));
}

/* ---- validation ---- */

static void test_errors(void) {
  struct sc_avail_rule r[2];
  struct sc_avail_input in = monday(r);
  in.timezone = "Mars/Base";
  expect_error(&in, "timezone", "unknown time zone \"Mars/Base\"");
  in = monday(r);
  in.window_timezone = "Nowhere/Land";
  expect_error(&in, "window_timezone", "unknown time zone \"Nowhere/Land\"");
  in = monday(r);
  in.duration = 0;
  expect_error(&in, "duration", "must be at least 1");
  in = monday(r);
  in.buffer_after = -1;
  expect_error(&in, "buffer_after", "must be at least 0");
  in = monday(r);
  in.from = D("2026-03-03");
  expect_error(&in, "to", "must not be before from");
  in = monday(r);
  in.to = in.from + 366;
  expect_error(&in, "to", "window is longer than 366 days");
  in = monday(r);
  in.from = D("1899-12-31");
  expect_error(&in, "from", "must be between 1900-01-01 and 2199-12-31");
  in = monday(r);
  in.to = D("2200-01-01");
  expect_error(&in, "to", "must be between 1900-01-01 and 2199-12-31");
  in = monday(r);
  r[0].end_min = r[0].start_min;
  expect_error(&in, "rules[0].end", "must be after start");
  in = monday(r);
  r[0].day_of_week = 7;
  expect_error(&in, "rules[0].day_of_week", "must be 0 (Sunday) to 6");
  in = monday(r);
  struct sc_avail_busy b[] = {{T("2026-03-02T10:00:00Z"), T("2026-03-02T10:00:00Z")}};
  in.busy = b;
  in.n_busy = 1;
  expect_error(&in, "busy[0].end", "must be after start");
}

static void test_duplicate_override(void) {
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_override o[] = {{D("2026-03-03"), NULL, 0},
                                  {D("2026-03-02"), NULL, 0},
                                  {D("2026-03-03"), NULL, 0}};
  in.overrides = o;
  in.n_overrides = 3;
  expect_error(&in, "overrides[2].date", "duplicate override date 2026-03-03");
}

static void test_block_errors(void) {
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  struct sc_avail_block b[] = {{.start = {2026, 3, 2, 10, 0, 0},
                                .end = {2026, 3, 2, 11, 0, 0},
                                .rrule = "FREQ=SOMETIMES"}};
  in.blocks = b;
  in.n_blocks = 1;
  expect_error(&in, "blocks[0].rrule", "invalid RRULE");
  b[0].rrule = NULL;
  b[0].timezone = "Atlantis/Capital";
  expect_error(&in, "blocks[0].timezone", "unknown time zone \"Atlantis/Capital\"");
  b[0].timezone = NULL;
  b[0].end.hour = 10;
  expect_error(&in, "blocks[0].end", "must be after start");
  b[0].end.hour = 11;
  b[0].start.year = 1899;
  expect_error(&in, "blocks[0].start", "must be between 1900-01-01 and 2199-12-31");
  b[0].start.year = 2026;
  b[0].start.day = 30;
  b[0].start.month = 2;
  expect_error(&in, "blocks[0].start", "not a valid date-time");
}

static void test_block_expansion_limits(void) {
  /* Every second from 03-02 00:00: 86,400 occurrences a day, so two days
  ** pass the 100,000 limit in the window; from 02-15, 1.3M occurrences
  ** before the window pass the 1,000,000 walk limit first. */
  struct sc_avail_rule r[1];
  struct sc_avail_input in = monday(r);
  in.to = D("2026-03-03");
  struct sc_avail_block b[] = {{.start = {2026, 3, 2, 0, 0, 0},
                                .end = {2026, 3, 2, 0, 0, 1},
                                .rrule = "FREQ=SECONDLY"}};
  in.blocks = b;
  in.n_blocks = 1;
  expect_error(&in, "blocks[0].rrule", "more than 100000 occurrences in the window");
  b[0].start.month = b[0].end.month = 2;
  b[0].start.day = b[0].end.day = 15;
  expect_error(&in, "blocks[0].rrule", "too many occurrences to expand");
}

static void test_tz_dates(void) {
  /* The date type's epoch and weekday: 1970-01-01 was a Thursday. */
  g_assert_cmpint(D("1970-01-01"), ==, 0);
  g_assert_cmpint(sc_date_weekday(D("2026-03-02")), ==, 1);
  g_assert_cmpint(sc_date_weekday(D("1969-12-28")), ==, 0);
  int y, m, d;
  sc_date_to_ymd(D("2024-02-29"), &y, &m, &d);
  g_assert_cmpint(y * 10000 + m * 100 + d, ==, 20240229);
  sc_date out;
  g_assert_false(sc_date_from_ymd(2026, 2, 29, &out));
  g_assert_null(sc_tz_get("Not/AZone"));
  g_assert_true(sc_tz_get("Europe/London") == sc_tz_get("Europe/London"));
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
#define ADD(name) g_test_add_func("/availability/" #name, test_##name)
  ADD(no_busy);
  ADD(busy_inside_slot);
  ADD(slot_inside_busy);
  ADD(busy_equals_slot_edges_touch);
  ADD(busy_covers_slot_start);
  ADD(busy_covers_slot_end);
  ADD(busy_touching_day_end);
  ADD(busy_unsorted_and_overlapping);
  ADD(ny_spring_day);
  ADD(ny_spring_gap_start);
  ADD(ny_spring_gap_end);
  ADD(ny_spring_gap_duplicate_instant);
  ADD(ny_autumn_day);
  ADD(ny_autumn_ambiguous_start);
  ADD(ny_autumn_ambiguous_end);
  ADD(london_spring_day);
  ADD(london_spring_gap_interval_empty);
  ADD(london_autumn_day);
  ADD(london_autumn_ambiguous);
  ADD(lord_howe_autumn_day);
  ADD(lord_howe_autumn_ambiguous);
  ADD(lord_howe_spring_gap);
  ADD(lord_howe_spring_gap_end);
  ADD(split_shift);
  ADD(touching_rules_merge);
  ADD(overlapping_rules_merge);
  ADD(dates_never_merge);
  ADD(end_at_24);
  ADD(effective_from);
  ADD(effective_until);
  ADD(effective_hours_change);
  ADD(override_replaces_rules);
  ADD(override_day_off);
  ADD(override_without_rule);
  ADD(block_single);
  ADD(block_rrule_exdate);
  ADD(block_dtstart_off_rule);
  ADD(block_other_zone);
  ADD(block_rrule_across_dst);
  ADD(block_started_before_window);
  ADD(block_rrule_old_start_interval);
  ADD(block_rrule_utc_until);
  ADD(buffer_before);
  ADD(buffer_after);
  ADD(buffer_touching);
  ADD(buffer_blocks_block);
  ADD(min_notice);
  ADD(now_equals_slot_start);
  ADD(window_zone_day_ahead);
  ADD(window_zone_day_behind);
  ADD(window_end_exclusive);
  ADD(window_zone_new_york);
  ADD(interval_default_is_duration);
  ADD(errors);
  ADD(duplicate_override);
  ADD(block_errors);
  ADD(block_expansion_limits);
  ADD(tz_dates);
  return g_test_run();
}
