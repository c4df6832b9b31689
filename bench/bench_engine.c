/*
** Benchmark (a): the availability engine in process. 30-day window in
** America/New_York across the spring DST change, 5 rules a day, 2,000 busy
** intervals, 30-minute slots every 15 minutes. Prints the median and p90
** of many runs, for busy intervals sorted by start (as the daemon loads
** them, ORDER BY start) and unsorted. Target: median <= 50 us.
*/
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "availability.h"

#define RUNS 3000
#define BUSY 2000

static const int shifts[5][2] = {
    {8 * 60, 9 * 60 + 30},  {10 * 60, 12 * 60},      {12 * 60 + 30, 14 * 60},
    {14 * 60 + 30, 16 * 60 + 30}, {17 * 60, 19 * 60}};

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_busy(const void *a, const void *b) {
  const struct sc_avail_busy *x = a, *y = b;
  return (x->start > y->start) - (x->start < y->start);
}

static void measure(const char *label, const struct sc_avail_input *in) {
  static double t[RUNS];
  size_t slots = 0;
  for (int i = 0; i < RUNS; i++) {
    struct sc_avail_result res = {0};
    struct sc_error err;
    double t0 = now_us();
    if (sc_avail_compute(in, &res, &err)) {
      fprintf(stderr, "bench: %s: %s\n", err.field, err.message);
      exit(1);
    }
    t[i] = now_us() - t0;
    slots = res.n;
    sc_avail_result_free(&res);
  }
  qsort(t, RUNS, sizeof *t, cmp_double);
  printf("engine %-14s median %7.1f us  p90 %7.1f us  min %7.1f us  "
         "(%d runs, %zu slots)\n",
         label, t[RUNS / 2], t[RUNS * 9 / 10], t[0], RUNS, slots);
}

int main(void) {
  struct sc_avail_rule rules[35];
  for (int d = 0; d < 7; d++)
    for (int k = 0; k < 5; k++)
      rules[d * 5 + k] = (struct sc_avail_rule){d, shifts[k][0], shifts[k][1],
                                                SC_AVAIL_NO_DATE,
                                                SC_AVAIL_NO_DATE};
  sc_date from;
  sc_date_from_ymd(2026, 3, 1, &from);
  int64_t start = (int64_t)from * 86400;
  GRand *r = g_rand_new_with_seed(42);
  struct sc_avail_busy *busy = g_new(struct sc_avail_busy, BUSY);
  for (int i = 0; i < BUSY; i++) {
    int64_t s = start + g_rand_int_range(r, 0, 30 * 1440) * 60;
    busy[i].start = s;
    busy[i].end = s + g_rand_int_range(r, 1, 7) * 15 * 60;
  }
  g_rand_free(r);
  struct sc_avail_input in = {
      .timezone = "America/New_York", .from = from, .to = from + 29,
      .duration = 30, .interval = 15, .now = start - 86400,
      .rules = rules, .n_rules = 35, .busy = busy, .n_busy = BUSY};
  /* The first call fills the per-zone, per-year offset cache. */
  struct sc_avail_result res = {0};
  struct sc_error err;
  double t0 = now_us();
  if (sc_avail_compute(&in, &res, &err)) return 1;
  printf("engine %-14s %7.1f us (fills the time-zone cache)\n", "first call",
         now_us() - t0);
  sc_avail_result_free(&res);
  measure("busy unsorted", &in);
  qsort(busy, BUSY, sizeof *busy, cmp_busy);
  measure("busy sorted", &in);
  /* Light day: same window, 200 busy intervals. */
  in.n_busy = 200;
  measure("200 busy", &in);
  g_free(busy);
  return 0;
}
