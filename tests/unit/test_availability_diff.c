/*
** Differential test of core/availability.c against a deliberately naive
** reference written here: minute-resolution arrays, a linear scan for every
** local -> UTC conversion, and its own time-zone path (glibc localtime_r
** under TZ=zone, tabulated once per zone for every UTC minute of 2026),
** never the engine's GTimeZone code.
**
** 10,000 random inputs (times env SIDECAL_TEST_SCALE, a float), each from
** a fixed seed; a mismatch prints the seed. SIDECAL_DIFF_SEED=N runs one.
*/
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "availability.h"

#define BASE_SEED 20260301u
#define CASES 10000

static const char *const zones[] = {
    "America/New_York", "Europe/London",   "Australia/Lord_Howe",
    "America/Santiago", "Pacific/Chatham", "Asia/Kolkata",
    "America/St_Johns", "Africa/Casablanca", "UTC"};
#define NZONES ((int)G_N_ELEMENTS(zones))

/* ---- the reference's time zones: one UTC offset per UTC minute ---- */

static int64_t tab_base;  /* UTC minute of index 0 */
static int64_t tab_len;
static int32_t *tab[NZONES]; /* offset in minutes */
/* Dates (days since 1970) on which each zone's offset changes. */
static GArray *transitions[NZONES];

static int64_t ymd_days(int y, int m, int d) {
  struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
  return (int64_t)timegm(&tm) / 86400;
}

static int weekday(int64_t days) {
  time_t t = (time_t)(days * 86400);
  struct tm tm;
  gmtime_r(&t, &tm);
  return tm.tm_wday;
}

static void build_tables(void) {
  tab_base = ymd_days(2025, 12, 20) * 1440;
  tab_len = (ymd_days(2027, 1, 20) * 1440) - tab_base;
  for (int z = 0; z < NZONES; z++) {
    setenv("TZ", zones[z], 1);
    tzset();
    tab[z] = g_new(int32_t, tab_len);
    transitions[z] = g_array_new(FALSE, FALSE, sizeof(int64_t));
    for (int64_t i = 0; i < tab_len; i++) {
      time_t t = (time_t)((tab_base + i) * 60);
      struct tm tm;
      localtime_r(&t, &tm);
      g_assert_cmpint(tm.tm_gmtoff % 60, ==, 0);
      tab[z][i] = (int32_t)(tm.tm_gmtoff / 60);
      if (i && tab[z][i] != tab[z][i - 1]) {
        int64_t day = (tab_base + i + tab[z][i]) / 1440;
        g_array_append_val(transitions[z], day);
      }
    }
  }
  unsetenv("TZ");
  tzset();
}

static int32_t off_at(int z, int64_t u) {
  g_assert_cmpint(u, >=, tab_base);
  g_assert_cmpint(u, <, tab_base + tab_len);
  return tab[z][u - tab_base];
}

static int64_t local_of(int z, int64_t u) { return u + off_at(z, u); }

/* RFC 5545 by brute force: the first UTC minute whose local reading is L;
** in a gap, L read with the offset of the minute before the jump. */
static int64_t ref_instant(int z, int64_t L) {
  for (int64_t u = L - 15 * 60; u <= L + 15 * 60; u++)
    if (local_of(z, u) == L) return u;
  for (int64_t u = L - 15 * 60; u <= L + 15 * 60; u++)
    if (local_of(z, u) > L) return L - off_at(z, u - 1);
  g_assert_not_reached();
}

/* ---- random cases ---- */

enum { NONE, DAILY, WEEKLY };

struct rblock {
  int64_t start, end;  /* local minutes */
  int zone;
  int kind, every, count, bydays; /* bydays: bit per weekday */
  int64_t ex[2];
  int n_ex;
};

struct rcase {
  int zr, zw;
  int64_t from, to;   /* days */
  int duration, interval, bb, ba, notice;
  int64_t now;        /* minutes */
  struct sc_avail_rule rules[8];
  int n_rules;
  int64_t ovr_date[3];
  struct sc_avail_interval ovr_iv[3][3];
  int ovr_n[3];
  int n_ovr;
  struct sc_avail_busy busy[10];  /* seconds */
  int n_busy;
  struct rblock blocks[2];
  int n_blocks;
};

static int pick_minute(GRand *r) {
  switch (g_rand_int_range(r, 0, 4)) {
  case 0: return g_rand_int_range(r, 0, 5 * 60) / 15 * 15; /* DST hours */
  case 1: return g_rand_int_range(r, 0, 1440);
  default: return g_rand_int_range(r, 0, 1440) / 15 * 15;
  }
}

static void pick_span(GRand *r, int *start, int *end) {
  *start = pick_minute(r);
  int len = g_rand_int_range(r, 1, 9) * 30 + g_rand_int_range(r, 0, 2) * 7;
  if (g_rand_int_range(r, 0, 4) == 0) len = g_rand_int_range(r, 1, 240);
  *end = *start + len > 1440 ? 1440 : *start + len;
}

static int64_t pick_date(GRand *r, const struct rcase *c, int margin) {
  return g_rand_int_range(r, (gint32)(c->from - margin),
                          (gint32)(c->to + margin + 1));
}

static void gen_window(GRand *r, struct rcase *c) {
  int64_t day;
  int z = g_rand_int_range(r, 0, NZONES);
  if (transitions[z]->len && g_rand_int_range(r, 0, 10) < 7)
    day = g_array_index(transitions[z], int64_t,
                        g_rand_int_range(r, 0, (gint32)transitions[z]->len));
  else
    day = ymd_days(2026, 1, 5) + g_rand_int_range(r, 0, 345);
  c->zr = g_rand_int_range(r, 0, 10) < 7 ? z : g_rand_int_range(r, 0, NZONES);
  c->zw = g_rand_int_range(r, 0, 10) < 6 ? c->zr
                                         : g_rand_int_range(r, 0, NZONES);
  c->from = day - g_rand_int_range(r, 0, 3);
  c->to = c->from + g_rand_int_range(r, 0, 5);
}

static void gen_settings(GRand *r, struct rcase *c) {
  static const int durations[] = {15, 25, 30, 45, 60, 90, 120};
  static const int intervals[] = {0, 0, 5, 10, 15, 30, 60};
  c->duration = durations[g_rand_int_range(r, 0, G_N_ELEMENTS(durations))];
  c->interval = intervals[g_rand_int_range(r, 0, G_N_ELEMENTS(intervals))];
  c->bb = g_rand_int_range(r, 0, 3) ? 0 : g_rand_int_range(r, 1, 31);
  c->ba = g_rand_int_range(r, 0, 3) ? 0 : g_rand_int_range(r, 1, 31);
  c->notice = g_rand_int_range(r, 0, 2) ? 0 : g_rand_int_range(r, 0, 2880);
  c->now = (c->from + g_rand_int_range(r, -3, 3)) * 1440 +
           g_rand_int_range(r, 0, 1440);
}

static void gen_rules(GRand *r, struct rcase *c) {
  c->n_rules = g_rand_int_range(r, 0, 8);
  for (int i = 0; i < c->n_rules; i++) {
    struct sc_avail_rule *x = &c->rules[i];
    /* Half the rules fall on a weekday of the window, which is often a
    ** transition date. */
    x->day_of_week = g_rand_int_range(r, 0, 2)
                         ? weekday(pick_date(r, c, 0))
                         : g_rand_int_range(r, 0, 7);
    pick_span(r, &x->start_min, &x->end_min);
    x->effective_from = g_rand_int_range(r, 0, 4) ? SC_AVAIL_NO_DATE
                                                  : (sc_date)pick_date(r, c, 2);
    x->effective_until = g_rand_int_range(r, 0, 4)
                             ? SC_AVAIL_NO_DATE
                             : (sc_date)pick_date(r, c, 2);
  }
  c->n_ovr = g_rand_int_range(r, 0, 3) ? 0 : g_rand_int_range(r, 1, 4);
  for (int i = 0; i < c->n_ovr; i++) {
    c->ovr_date[i] = c->from - 2 + i * 2 + g_rand_int_range(r, 0, 2);
    c->ovr_n[i] = g_rand_int_range(r, 0, 4);
    for (int j = 0; j < c->ovr_n[i]; j++)
      pick_span(r, &c->ovr_iv[i][j].start_min, &c->ovr_iv[i][j].end_min);
  }
}

static void gen_busy(GRand *r, struct rcase *c) {
  c->n_busy = g_rand_int_range(r, 0, 11);
  for (int i = 0; i < c->n_busy; i++) {
    int64_t s = pick_date(r, c, 1) * 1440 + g_rand_int_range(r, 0, 1440);
    int64_t len = g_rand_int_range(r, 1, 300);
    c->busy[i].start = s * 60;
    c->busy[i].end = (s + len) * 60;
  }
  c->n_blocks = g_rand_int_range(r, 0, 3);
  for (int i = 0; i < c->n_blocks; i++) {
    struct rblock *b = &c->blocks[i];
    b->zone = g_rand_int_range(r, 0, 2) ? c->zr : g_rand_int_range(r, 0, NZONES);
    b->start = (c->from - g_rand_int_range(r, 0, 5)) * 1440 + pick_minute(r);
    b->end = b->start + g_rand_int_range(r, 5, 240);
    b->kind = g_rand_int_range(r, 0, 3);
    b->every = g_rand_int_range(r, 1, 4);
    b->count = g_rand_int_range(r, 1, 12);
    b->bydays = (1 << weekday(b->start / 1440)) | g_rand_int_range(r, 0, 128);
    b->n_ex = g_rand_int_range(r, 0, 3);
    for (int k = 0; k < b->n_ex; k++)
      b->ex[k] = b->start + g_rand_int_range(r, 0, 4) * 1440 +
                 (g_rand_int_range(r, 0, 3) ? 0 : 30);
  }
}

static void gen(guint32 seed, struct rcase *c) {
  GRand *r = g_rand_new_with_seed(seed);
  memset(c, 0, sizeof *c);
  gen_window(r, c);
  gen_settings(r, c);
  gen_rules(r, c);
  gen_busy(r, c);
  g_rand_free(r);
}

/* ---- the reference ---- */

struct rslot {
  int64_t start; /* minutes */
  int64_t date;
};

static bool block_hits(const struct rblock *b, int64_t occ) {
  for (int k = 0; k < b->n_ex; k++)
    if (b->ex[k] == occ) return false;
  return true;
}

/* Local starts of a block's occurrences up to day `last`. */
static GArray *ref_occurrences(const struct rblock *b, int64_t last) {
  GArray *a = g_array_new(FALSE, FALSE, sizeof(int64_t));
  int64_t day0 = b->start / 1440, tod = b->start % 1440;
  for (int64_t d = day0, n = 0; d <= last; d++) {
    bool on = b->kind == NONE    ? d == day0
              : b->kind == DAILY ? (d - day0) % b->every == 0 && n < b->count
                                 : (b->bydays >> weekday(d)) & 1;
    if (!on) continue;
    n++;
    int64_t occ = d * 1440 + tod;
    if (block_hits(b, occ)) g_array_append_val(a, occ);
  }
  return a;
}

static GArray *reference(const struct rcase *c) {
  int64_t ws = ref_instant(c->zw, c->from * 1440);
  int64_t we = ref_instant(c->zw, (c->to + 1) * 1440);
  int64_t lo = ws - 3 * 1440, hi = we + 3 * 1440;
  guint8 *busy = g_new0(guint8, hi - lo);
  for (int i = 0; i < c->n_busy; i++)
    for (int64_t m = c->busy[i].start / 60; m < c->busy[i].end / 60; m++)
      if (m >= lo && m < hi) busy[m - lo] = 1;
  for (int i = 0; i < c->n_blocks; i++) {
    const struct rblock *b = &c->blocks[i];
    int64_t dur = ref_instant(b->zone, b->end) - ref_instant(b->zone, b->start);
    GArray *occ = ref_occurrences(b, c->to + 3);
    for (guint k = 0; k < occ->len; k++) {
      int64_t o = ref_instant(b->zone, g_array_index(occ, int64_t, k));
      for (int64_t m = o; m < o + dur; m++)
        if (m >= lo && m < hi) busy[m - lo] = 1;
    }
    g_array_free(occ, TRUE);
  }
  GArray *out = g_array_new(FALSE, FALSE, sizeof(struct rslot));
  int step = c->interval ? c->interval : c->duration;
  for (int64_t d = c->from - 3; d <= c->to + 3; d++) {
    guint8 open[1441] = {0};
    int ov = -1;
    for (int i = 0; i < c->n_ovr; i++)
      if (c->ovr_date[i] == d) ov = i;
    if (ov >= 0) {
      for (int j = 0; j < c->ovr_n[ov]; j++)
        for (int m = c->ovr_iv[ov][j].start_min; m < c->ovr_iv[ov][j].end_min; m++)
          open[m] = 1;
    } else {
      for (int i = 0; i < c->n_rules; i++) {
        const struct sc_avail_rule *x = &c->rules[i];
        if (x->day_of_week != weekday(d)) continue;
        if (x->effective_from != SC_AVAIL_NO_DATE && d < x->effective_from) continue;
        if (x->effective_until != SC_AVAIL_NO_DATE && d > x->effective_until) continue;
        for (int m = x->start_min; m < x->end_min; m++) open[m] = 1;
      }
    }
    for (int a = 0; a < 1440;) {
      if (!open[a]) { a++; continue; }
      int b = a;
      while (b < 1440 && open[b]) b++;
      int64_t s0 = ref_instant(c->zr, d * 1440 + a);
      int64_t e0 = ref_instant(c->zr, d * 1440 + b);
      for (int64_t s = s0; s + c->duration <= e0; s += step) {
        if (s < ws || s >= we || s < c->now + c->notice) continue;
        bool free_ = true;
        for (int64_t m = s - c->bb; m < s + c->duration + c->ba && free_; m++)
          if (m >= lo && m < hi && busy[m - lo]) free_ = false;
        if (free_) {
          struct rslot x = {s, d};
          g_array_append_val(out, x);
        }
      }
      a = b;
    }
  }
  g_free(busy);
  /* Sort by (start, date) naively and keep each start once. */
  for (guint i = 0; i < out->len; i++)
    for (guint j = i + 1; j < out->len; j++) {
      struct rslot *x = &g_array_index(out, struct rslot, i);
      struct rslot *y = &g_array_index(out, struct rslot, j);
      if (y->start < x->start || (y->start == x->start && y->date < x->date)) {
        struct rslot t = *x;
        *x = *y;
        *y = t;
      }
    }
  for (guint i = 1; i < out->len;)
    if (g_array_index(out, struct rslot, i).start ==
        g_array_index(out, struct rslot, i - 1).start)
      g_array_remove_index(out, i);
    else
      i++;
  return out;
}

/* ---- the engine on the same case ---- */

static struct sc_local_time local_tm(int64_t minutes) {
  time_t t = (time_t)(minutes * 60);
  struct tm tm;
  gmtime_r(&t, &tm);
  return (struct sc_local_time){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                tm.tm_hour, tm.tm_min, 0};
}

static char *rrule_of(const struct rblock *b) {
  static const char *const names[] = {"SU", "MO", "TU", "WE", "TH", "FR", "SA"};
  if (b->kind == NONE) return NULL;
  if (b->kind == DAILY)
    return g_strdup_printf("FREQ=DAILY;INTERVAL=%d;COUNT=%d", b->every, b->count);
  GString *s = g_string_new("FREQ=WEEKLY;BYDAY=");
  for (int d = 0, first = 1; d < 7; d++)
    if ((b->bydays >> d) & 1) {
      g_string_append_printf(s, "%s%s", first ? "" : ",", names[d]);
      first = 0;
    }
  return g_string_free(s, FALSE);
}

static int run_engine(const struct rcase *c, struct sc_avail_result *res,
                      struct sc_error *err) {
  struct sc_avail_override ovr[3];
  struct sc_avail_block blocks[2];
  struct sc_local_time ex[2][2];
  char *rr[2] = {NULL, NULL};
  for (int i = 0; i < c->n_ovr; i++)
    ovr[i] = (struct sc_avail_override){(sc_date)c->ovr_date[i], c->ovr_iv[i],
                                        (size_t)c->ovr_n[i]};
  for (int i = 0; i < c->n_blocks; i++) {
    const struct rblock *b = &c->blocks[i];
    for (int k = 0; k < b->n_ex; k++) ex[i][k] = local_tm(b->ex[k]);
    rr[i] = rrule_of(b);
    blocks[i] = (struct sc_avail_block){
        local_tm(b->start), local_tm(b->end),
        b->zone == c->zr ? NULL : zones[b->zone], rr[i], ex[i],
        (size_t)b->n_ex};
  }
  struct sc_avail_input in = {
      .timezone = zones[c->zr],
      .window_timezone = c->zw == c->zr ? NULL : zones[c->zw],
      .from = (sc_date)c->from, .to = (sc_date)c->to,
      .duration = c->duration, .interval = c->interval,
      .buffer_before = c->bb, .buffer_after = c->ba, .min_notice = c->notice,
      .now = c->now * 60,
      .rules = c->rules, .n_rules = (size_t)c->n_rules,
      .overrides = ovr, .n_overrides = (size_t)c->n_ovr,
      .busy = c->busy, .n_busy = (size_t)c->n_busy,
      .blocks = blocks, .n_blocks = (size_t)c->n_blocks};
  int rc = sc_avail_compute(&in, res, err);
  g_free(rr[0]);
  g_free(rr[1]);
  return rc;
}

static bool compare(guint32 seed, const struct rcase *c, size_t *n_slots) {
  struct sc_avail_result res = {0};
  struct sc_error err;
  if (run_engine(c, &res, &err)) {
    g_printerr("seed %u: engine error %s: %s\n", seed, err.field, err.message);
    return false;
  }
  GArray *ref = reference(c);
  bool same = ref->len == res.n;
  for (size_t i = 0; same && i < res.n; i++) {
    struct rslot x = g_array_index(ref, struct rslot, i);
    same = res.slots[i].start == x.start * 60 &&
           res.slots[i].end == (x.start + c->duration) * 60 &&
           res.slots[i].date == x.date;
    if (!same)
      g_printerr("seed %u: slot %zu engine %lld (date %d) reference %lld "
                 "(date %lld)\n", seed, i, (long long)res.slots[i].start,
                 res.slots[i].date, (long long)x.start * 60, (long long)x.date);
  }
  if (ref->len != res.n)
    g_printerr("seed %u: engine %zu slots, reference %u (zones %s/%s)\n", seed,
               res.n, ref->len, zones[c->zr], zones[c->zw]);
  *n_slots += res.n;
  g_array_free(ref, TRUE);
  sc_avail_result_free(&res);
  return same;
}

static void test_random(void) {
  const char *scale_s = g_getenv("SIDECAL_TEST_SCALE");
  const char *one = g_getenv("SIDECAL_DIFF_SEED");
  double scale = scale_s ? g_ascii_strtod(scale_s, NULL) : 1.0;
  int n = (int)(CASES * scale);
  if (n < 1) n = 1;
  build_tables();
  size_t slots = 0;
  int failed = 0;
  for (int i = 0; i < n && failed < 5; i++) {
    guint32 seed = one ? (guint32)strtoul(one, NULL, 10) : BASE_SEED + (guint32)i;
    struct rcase c;
    gen(seed, &c);
    if (!compare(seed, &c, &slots)) failed++;
    if (one) break;
  }
  g_test_message("%d cases, %zu slots compared", n, slots);
  /* Guard against a generator that produces nothing to compare. */
  if (!one) g_assert_cmpuint(slots, >, (size_t)n * 5);
  g_assert_cmpint(failed, ==, 0);
  for (int z = 0; z < NZONES; z++) {
    g_free(tab[z]);
    g_array_free(transitions[z], TRUE);
  }
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/availability_diff/random", test_random);
  return g_test_run();
}
