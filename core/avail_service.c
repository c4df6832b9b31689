/*
** Availability for staff members from the database, through the cache
** (see avail_service.h). One cache miss costs one transaction with four
** queries, sent in one round trip, for all missing days of that staff member.
*/
#include "avail_service.h"

#include <glib.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "availability.h"
#include "sqlbuf.h"

struct inputs {
  struct sc_avail_rule *rules;
  size_t n_rules;
  struct sc_avail_override *ovr;
  size_t n_ovr;
  struct sc_avail_block *blocks;
  size_t n_blocks;
  struct sc_avail_busy *busy;
  size_t n_busy;
  sc_date *typed_dates;  /* local dates of active appointments of this type */
  size_t n_typed;
  GPtrArray *owned;      /* everything above points into these allocations */
};

static void inputs_free(struct inputs *in) {
  if (in->owned) g_ptr_array_free(in->owned, TRUE);
  free(in->rules);
  free(in->ovr);
  free(in->blocks);
  free(in->busy);
  free(in->typed_dates);
  memset(in, 0, sizeof *in);
}

static void *keep(struct inputs *in, void *p) {
  g_ptr_array_add(in->owned, p);
  return p;
}

static int parse_date(const char *s, sc_date *d) {
  int y, m, dd;
  return sscanf(s, "%d-%d-%d", &y, &m, &dd) == 3 && sc_date_from_ymd(y, m, dd, d);
}

static void date_text(sc_date d, char *buf, size_t n) {
  int y, m, dd;
  sc_date_to_ymd(d, &y, &m, &dd);
  snprintf(buf, n, "%04d-%02d-%02d", y, m, dd);
}

static int minutes_of(const char *hhmm) {
  int h = 0, m = 0;
  sscanf(hhmm, "%d:%d", &h, &m);
  return h * 60 + m;
}

static int parse_local(const char *s, struct sc_local_time *t) {
  memset(t, 0, sizeof *t);
  return sscanf(s, "%d-%d-%d%*[ T]%d:%d:%d", &t->year, &t->month, &t->day, &t->hour,
                &t->minute, &t->second) >= 5;
}

/* ---- loading ------------------------------------------------------------ */

/* The four loads go to PostgreSQL in one round trip (load_inputs). */
static const char SQL_RULES[] =
    "SELECT day_of_week, to_char(start_time, 'HH24:MI'), to_char(end_time, 'HH24:MI'),"
    " coalesce(effective_from::text, ''), coalesce(effective_until::text, ''),"
    " staff_id IS NOT NULL FROM availability_rules WHERE active AND location_id = $1::uuid"
    " AND (staff_id = $2::uuid OR staff_id IS NULL)";

/* Staff rows sort first, so the first row per date is the one to use. */
static const char SQL_OVERRIDES[] =
    "SELECT DISTINCT ON (date) date::text, intervals::text FROM date_overrides"
    " WHERE location_id = $1::uuid AND (staff_id = $2::uuid OR staff_id IS NULL)"
    " AND date BETWEEN $3::date AND $4::date ORDER BY date, staff_id IS NULL";

static const char SQL_BLOCKS[] =
    "SELECT starts_local::text, ends_local::text, timezone, coalesce(rrule, ''), exdates::text"
    " FROM calendar_blocks WHERE (staff_id = $2::uuid AND (location_id = $1::uuid OR location_id IS NULL))"
    " OR (staff_id IS NULL AND location_id = $1::uuid)";

/* Plain comparisons, not range &&: see core/sql/008. */
static const char SQL_BUSY[] =
    "SELECT extract(epoch FROM starts_at)::bigint, extract(epoch FROM ends_at)::bigint,"
    "  CASE WHEN event_type_id = $4::uuid THEN (starts_at AT TIME ZONE $5)::date::text END"
    " FROM appointments WHERE organization_id = sc_current_org() AND staff_id = $1::uuid"
    "  AND status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS')"
    "  AND starts_at < to_timestamp($3::bigint) AND ends_at > to_timestamp($2::bigint)"
    " UNION ALL"
    " SELECT extract(epoch FROM x.starts_at)::bigint, extract(epoch FROM x.ends_at)::bigint, NULL"
    " FROM external_busy x JOIN connector_instances ci"
    "  ON ci.organization_id = x.organization_id AND ci.id = x.instance_id"
    " WHERE ci.active AND ci.staff_id = $1::uuid"
    "  AND x.starts_at < to_timestamp($3::bigint) AND x.ends_at > to_timestamp($2::bigint)"
    " ORDER BY 1";

static void read_rules(PGresult *r, struct inputs *in) {
  int n = PQntuples(r), own = 0;
  for (int i = 0; i < n; i++) own |= PQgetvalue(r, i, 5)[0] == 't';
  in->rules = calloc((size_t)n + 1, sizeof *in->rules);
  for (int i = 0; i < n; i++) {
    /* The staff member's own rules replace the location's entirely. */
    if ((PQgetvalue(r, i, 5)[0] == 't') != own) continue;
    struct sc_avail_rule *ru = &in->rules[in->n_rules++];
    ru->day_of_week = atoi(PQgetvalue(r, i, 0));
    ru->start_min = minutes_of(PQgetvalue(r, i, 1));
    const char *end = PQgetvalue(r, i, 2);
    ru->end_min = !strcmp(end, "24:00") ? 1440 : minutes_of(end);
    ru->effective_from = ru->effective_until = SC_AVAIL_NO_DATE;
    if (*PQgetvalue(r, i, 3)) parse_date(PQgetvalue(r, i, 3), &ru->effective_from);
    if (*PQgetvalue(r, i, 4)) parse_date(PQgetvalue(r, i, 4), &ru->effective_until);
  }
}

static void add_override(struct inputs *in, sc_date date, const char *intervals_json) {
  json_object *arr = json_tokener_parse(intervals_json);
  size_t k = arr ? json_object_array_length(arr) : 0;
  struct sc_avail_interval *iv = keep(in, g_new0(struct sc_avail_interval, k + 1));
  for (size_t j = 0; j < k; j++) {
    json_object *o = json_object_array_get_idx(arr, j), *s, *e;
    if (!json_object_object_get_ex(o, "start", &s) || !json_object_object_get_ex(o, "end", &e)) continue;
    iv[j].start_min = minutes_of(json_object_get_string(s));
    const char *end = json_object_get_string(e);
    iv[j].end_min = !strcmp(end, "24:00") ? 1440 : minutes_of(end);
  }
  json_object_put(arr);
  struct sc_avail_override *o = &in->ovr[in->n_ovr++];
  o->date = date;
  o->intervals = iv;
  o->n_intervals = k;
}

static void read_overrides(PGresult *r, struct inputs *in) {
  in->ovr = calloc((size_t)PQntuples(r) + 1, sizeof *in->ovr);
  for (int i = 0; i < PQntuples(r); i++) {
    sc_date d;
    if (parse_date(PQgetvalue(r, i, 0), &d)) add_override(in, d, PQgetvalue(r, i, 1));
  }
}

/* PostgreSQL array text {"2026-03-11 12:00:00",...} → local times. */
static size_t parse_exdates(struct inputs *in, const char *text, const struct sc_local_time **out) {
  size_t cap = 1;
  for (const char *p = text; *p; p++) cap += *p == ',';
  struct sc_local_time *t = keep(in, g_new0(struct sc_local_time, cap));
  size_t n = 0;
  const char *p = text;
  while (*p && n < cap) {
    while (*p == '{' || *p == ',' || *p == '"') p++;
    if (!*p || *p == '}') break;
    if (parse_local(p, &t[n])) n++;
    while (*p && *p != ',' && *p != '}') p++;
  }
  *out = t;
  return n;
}

static void read_blocks(PGresult *r, struct inputs *in) {
  in->blocks = calloc((size_t)PQntuples(r) + 1, sizeof *in->blocks);
  for (int i = 0; i < PQntuples(r); i++) {
    struct sc_avail_block *b = &in->blocks[in->n_blocks];
    if (!parse_local(PQgetvalue(r, i, 0), &b->start) || !parse_local(PQgetvalue(r, i, 1), &b->end))
      continue;
    b->timezone = keep(in, g_strdup(PQgetvalue(r, i, 2)));
    b->rrule = *PQgetvalue(r, i, 3) ? keep(in, g_strdup(PQgetvalue(r, i, 3))) : NULL;
    b->n_exdates = parse_exdates(in, PQgetvalue(r, i, 4), &b->exdates);
    in->n_blocks++;
  }
}

static void read_busy(PGresult *r, struct inputs *in) {
  int n = PQntuples(r);
  in->busy = calloc((size_t)n + 1, sizeof *in->busy);
  in->typed_dates = calloc((size_t)n + 1, sizeof *in->typed_dates);
  for (int i = 0; i < n; i++) {
    in->busy[in->n_busy].start = atoll(PQgetvalue(r, i, 0));
    in->busy[in->n_busy++].end = atoll(PQgetvalue(r, i, 1));
    sc_date d;
    if (!PQgetisnull(r, i, 2) && parse_date(PQgetvalue(r, i, 2), &d)) in->typed_dates[in->n_typed++] = d;
  }
}

static int load_inputs(PGconn *conn, const struct sc_avail_request *rq, const struct sc_cat_staff *st,
                       sc_date d0, sc_date d1, struct inputs *in, struct sc_error *err) {
  memset(in, 0, sizeof *in);
  in->owned = g_ptr_array_new_with_free_func(g_free);
  GTimeZone *tz = sc_tz_get(rq->loc->timezone);
  if (!tz) return sc_error_set(err, SC_EINTERNAL, "location", "unknown zone %s", rq->loc->timezone);
  /* Two days of margin cover any buffer and any zone offset. */
  int64_t lo = sc_tz_to_instant(tz, (int64_t)(d0 - 2) * 86400);
  int64_t hi = sc_tz_to_instant(tz, (int64_t)(d1 + 3) * 86400);
  /* A booking re-check asks about one slot: only busy time touching it (with
  ** its buffers) can take it away, and a staff member booked solid would
  ** otherwise load days of appointments per booking. The daily cap needs
  ** the whole day's appointments of the type, so it keeps the wide read. */
  if (rq->bypass_cache && rq->et->daily_cap <= 0) {
    lo = rq->probe - (int64_t)rq->et->buffer_before * 60;
    hi = rq->probe + (int64_t)(rq->et->duration + rq->et->buffer_after) * 60;
  }
  char a[16], b[16], l[24], h[24];
  date_text(d0, a, sizeof a);
  date_text(d1, b, sizeof b);
  snprintf(l, sizeof l, "%lld", (long long)lo);
  snprintf(h, sizeof h, "%lld", (long long)hi);
  const char *pl[2] = {rq->loc->id, st->id}, *po[4] = {rq->loc->id, st->id, a, b};
  const char *pb[5] = {st->id, l, h, rq->et->id, rq->loc->timezone};
  struct sc_db_stmt all[5], *q = all + 1;
  int lead = rq->bypass_cache && rq->lead;
  if (lead) all[0] = *rq->lead;
  q[0] = (struct sc_db_stmt){SQL_RULES, 2, pl, NULL};
  q[1] = (struct sc_db_stmt){SQL_OVERRIDES, 4, po, NULL};
  q[2] = (struct sc_db_stmt){SQL_BLOCKS, 2, pl, NULL};
  q[3] = (struct sc_db_stmt){SQL_BUSY, 5, pb, NULL};
  int rc = sc_db_exec_prep_many(conn, lead ? all : q, lead ? 5 : 4, err);
  if (rc) return rc;
  read_rules(q[0].res, in);
  read_overrides(q[1].res, in);
  read_blocks(q[2].res, in);
  read_busy(q[3].res, in);
  for (int i = lead ? 0 : 1; i < 5; i++) PQclear(all[i].res);
  return SC_OK;
}

/* ---- computing one day -------------------------------------------------- */

static int capped(const struct inputs *in, const struct sc_cat_event_type *et, sc_date d) {
  if (et->daily_cap <= 0) return 0;
  int n = 0;
  for (size_t i = 0; i < in->n_typed; i++) n += in->typed_dates[i] == d;
  return n >= et->daily_cap;
}

static int compute_day(const struct sc_avail_request *rq, const struct inputs *in, sc_date d,
                       int64_t **starts, size_t *n, struct sc_error *err) {
  *starts = NULL;
  *n = 0;
  if (capped(in, rq->et, d)) return SC_OK;
  struct sc_avail_input ai = {
    .timezone = rq->loc->timezone, .from = d, .to = d,
    .duration = rq->et->duration, .interval = rq->et->interval,
    .buffer_before = rq->et->buffer_before, .buffer_after = rq->et->buffer_after,
    .min_notice = 0, .now = 0,
    .rules = in->rules, .n_rules = in->n_rules, .overrides = in->ovr, .n_overrides = in->n_ovr,
    .busy = in->busy, .n_busy = in->n_busy, .blocks = in->blocks, .n_blocks = in->n_blocks};
  struct sc_avail_result res = {0};
  int rc = sc_avail_compute(&ai, &res, err);
  if (rc) return rc;
  *starts = malloc((res.n ? res.n : 1) * sizeof **starts);
  for (size_t i = 0; i < res.n; i++) (*starts)[i] = res.slots[i].start;
  *n = res.n;
  sc_avail_result_free(&res);
  return SC_OK;
}

/* ---- the window ----------------------------------------------------------- */

struct window {
  sc_date d0, d1;        /* local dates (location zone) to compute */
  int64_t lo, hi;        /* slot starts must lie in [lo, hi) */
};

static int window_of(const struct sc_avail_request *rq, struct window *w, struct sc_error *err) {
  const char *wz = rq->window_tz ? rq->window_tz : rq->loc->timezone;
  GTimeZone *tz = sc_tz_get(wz);
  if (!tz) return sc_error_set(err, SC_EINVAL, "tz", "tz: unknown time zone \"%s\"", wz);
  w->lo = sc_tz_to_instant(tz, (int64_t)rq->from * 86400);
  w->hi = sc_tz_to_instant(tz, (int64_t)(rq->to + 1) * 86400);
  int same = !rq->window_tz || !strcmp(rq->window_tz, rq->loc->timezone);
  /* Another zone can be up to 26 hours away: look one day further each way. */
  w->d0 = same ? rq->from : rq->from - 2;
  w->d1 = same ? rq->to : rq->to + 2;
  return SC_OK;
}

static void day_key(char *buf, size_t n, const struct sc_avail_request *rq,
                    const struct sc_cat_staff *st, sc_date d) {
  snprintf(buf, n, "%s/%s/%s/%s/%d", rq->org->id, rq->loc->id, st->id, rq->et->id, (int)d);
}

static void append(GArray *acc, const int64_t *s, size_t n) {
  g_array_append_vals(acc, s, (guint)n);
}

static int fill_missing(struct sc_db_pool *pool, PGconn *conn, struct sc_avail_cache *cache,
                        const struct sc_avail_request *rq, const struct sc_cat_staff *st,
                        const struct sc_avail_gens *gens, sc_date m0, sc_date m1,
                        const char *missing, GArray *acc, struct sc_error *err) {
  PGconn *own = NULL;
  int rc = SC_OK;
  if (!conn) {
    own = conn = sc_db_acquire(pool);
    struct sc_tenant t = {0};
    snprintf(t.org_id, sizeof t.org_id, "%s", rq->org->id);
    rc = sc_db_begin(conn, &t, err);
  }
  struct inputs in = {0};
  if (!rc) rc = load_inputs(conn, rq, st, m0, m1, &in, err);
  for (sc_date d = m0; !rc && d <= m1; d++) {
    if (!missing[d - m0]) continue;
    int64_t *starts;
    size_t n;
    rc = compute_day(rq, &in, d, &starts, &n, err);
    if (rc) break;
    char key[256];
    day_key(key, sizeof key, rq, st, d);
    if (!rq->bypass_cache) sc_avail_cache_put(cache, key, gens, starts, n);
    append(acc, starts, n);
    free(starts);
  }
  inputs_free(&in);
  if (own) {
    if (rc) sc_db_rollback(own);
    else sc_db_commit(own, NULL);
    sc_db_release(pool, own);
  }
  return rc;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int sc_avail_staff_slots(struct sc_db_pool *pool, PGconn *conn, struct sc_avail_cache *cache,
                         const struct sc_avail_request *rq, const struct sc_cat_staff *st,
                         struct sc_staff_slots *out, struct sc_error *err) {
  struct window w = {0};
  memset(out, 0, sizeof *out);
  out->staff = st;
  int rc = window_of(rq, &w, err);
  if (rc) return rc;
  struct sc_avail_gens gens;
  sc_avail_cache_gens(cache, rq->org->id, rq->loc->id, st->id, &gens);
  GArray *acc = g_array_new(FALSE, FALSE, sizeof(int64_t));
  size_t ndays = (size_t)(w.d1 - w.d0 + 1);
  char *missing = calloc(ndays, 1);
  sc_date m0 = w.d1 + 1, m1 = w.d0 - 1;
  for (sc_date d = w.d0; d <= w.d1; d++) {
    char key[256];
    int64_t *starts;
    size_t n;
    day_key(key, sizeof key, rq, st, d);
    if (!rq->bypass_cache && sc_avail_cache_get(cache, key, &gens, &starts, &n)) {
      append(acc, starts, n);
      free(starts);
      continue;
    }
    missing[d - w.d0] = 1;
    if (d < m0) m0 = d;
    if (d > m1) m1 = d;
  }
  if (m0 <= m1)
    rc = fill_missing(pool, conn, cache, rq, st, &gens, m0, m1, missing + (m0 - w.d0), acc, err);
  free(missing);
  if (rc) {
    g_array_free(acc, TRUE);
    return rc;
  }
  g_array_sort(acc, cmp_i64);
  /* Clock-dependent limits are applied on every read. */
  int64_t earliest = rq->now + (int64_t)rq->et->min_notice * 60;
  int64_t latest = rq->now + (int64_t)rq->et->horizon_days * 86400;
  out->starts = malloc((acc->len ? acc->len : 1) * sizeof(int64_t));
  for (guint i = 0; i < acc->len; i++) {
    int64_t s = g_array_index(acc, int64_t, i);
    if (s < w.lo || s >= w.hi || s < earliest || s >= latest) continue;
    if (out->n && out->starts[out->n - 1] == s) continue;
    out->starts[out->n++] = s;
  }
  g_array_free(acc, TRUE);
  return SC_OK;
}

void sc_staff_slots_free(struct sc_staff_slots *s) {
  free(s->starts);
  s->starts = NULL;
  s->n = 0;
}

size_t sc_avail_candidates(const struct sc_cat_org *org, const struct sc_cat_location *loc,
                           const struct sc_cat_event_type *et,
                           const struct sc_cat_staff **out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < org->n_staff && n < cap; i++) {
    const struct sc_cat_staff *s = &org->staff[i];
    if (!s->active || !sc_cat_staff_at(s, loc->id)) continue;
    for (size_t j = 0; j < et->n_staff; j++) {
      if (!strcmp(et->staff_ids[j], s->id)) {
        out[n++] = s;
        break;
      }
    }
  }
  return n;
}
