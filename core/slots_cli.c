/*
** JSON front end of the availability engine: read, validate and convert the
** request document, run sc_avail_compute, print the slots.
*/
#include "slots_cli.h"

#include <json-c/json.h>
#include <limits.h>
#include <string.h>

#include "availability.h"

#define SLOTS_MAX_INPUT (64u << 20)

/* Everything the request owns, freed in one place. */
struct request {
  struct sc_avail_input in;
  struct sc_avail_rule *rules;
  struct sc_avail_override *overrides;
  struct sc_avail_busy *busy;
  struct sc_avail_block *blocks;
};

static void request_free(struct request *r) {
  for (size_t i = 0; i < r->in.n_overrides; i++)
    g_free((void *)r->overrides[i].intervals);
  for (size_t i = 0; i < r->in.n_blocks; i++)
    g_free((void *)r->blocks[i].exdates);
  g_free(r->rules);
  g_free(r->overrides);
  g_free(r->busy);
  g_free(r->blocks);
}

static int bad(struct sc_error *err, const char *path, const char *msg) {
  return sc_error_set(err, SC_EINVAL, path, "%s", msg);
}

/* ---- scalar parsers ---- */

static bool digits(const char *s, int n) {
  for (int i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

static int num(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
  return v;
}

/* "YYYY-MM-DD" at the start of s. */
static bool date_prefix(const char *s, int *y, int *m, int *d) {
  if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
      !digits(s + 8, 2))
    return false;
  *y = num(s, 4);
  *m = num(s + 5, 2);
  *d = num(s + 8, 2);
  return true;
}

static const char *string_of(json_object *v) {
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                  : NULL;
}

static int get_date(json_object *v, const char *path, sc_date *out,
                    struct sc_error *err) {
  const char *s = string_of(v);
  int y, m, d;
  if (!s || strlen(s) != 10 || !date_prefix(s, &y, &m, &d))
    return bad(err, path, "expected a date YYYY-MM-DD");
  if (!sc_date_from_ymd(y, m, d, out)) return bad(err, path, "no such date");
  return SC_OK;
}

static int get_hhmm(json_object *v, const char *path, int *minutes,
                    struct sc_error *err) {
  const char *s = string_of(v);
  if (!s || strlen(s) != 5 || !digits(s, 2) || s[2] != ':' ||
      !digits(s + 3, 2))
    return bad(err, path, "expected HH:MM");
  int h = num(s, 2), m = num(s + 3, 2);
  if (h > 24 || m > 59 || (h == 24 && m != 0))
    return bad(err, path, "expected HH:MM");
  *minutes = h * 60 + m;
  return SC_OK;
}

/* Local date-time "YYYY-MM-DDTHH:MM[:SS]", no offset. */
static int get_local(json_object *v, const char *path, struct sc_local_time *t,
                     struct sc_error *err) {
  const char *s = string_of(v);
  const char *msg = "expected a local date-time YYYY-MM-DDTHH:MM:SS";
  size_t n = s ? strlen(s) : 0;
  if (!s || (n != 16 && n != 19) || !date_prefix(s, &t->year, &t->month,
                                                 &t->day) ||
      s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2))
    return bad(err, path, msg);
  t->hour = num(s + 11, 2);
  t->minute = num(s + 14, 2);
  t->second = 0;
  if (n == 19) {
    if (s[16] != ':' || !digits(s + 17, 2)) return bad(err, path, msg);
    t->second = num(s + 17, 2);
  }
  int64_t stamp;
  if (!sc_local_time_stamp(t, &stamp)) return bad(err, path, "no such date-time");
  return SC_OK;
}

/* RFC 3339 instant with an offset. Fractions widen busy time, never shrink
** it: round_up rounds an end up to the next second. */
static int get_instant(json_object *v, const char *path, bool round_up,
                       int64_t *out, struct sc_error *err) {
  const char *s = string_of(v);
  const char *msg = "expected an RFC 3339 date-time like 2026-03-09T13:00:00Z";
  int y, m, d;
  if (!s || strlen(s) < 20 || !date_prefix(s, &y, &m, &d) ||
      (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
    return bad(err, path, msg);
  GDateTime *dt = g_date_time_new_from_iso8601(s, NULL);
  if (!dt) return bad(err, path, msg);
  *out = g_date_time_to_unix(dt);
  if (round_up && g_date_time_get_microsecond(dt) > 0) (*out)++;
  g_date_time_unref(dt);
  return SC_OK;
}

static int get_int(json_object *v, const char *path, int *out,
                   struct sc_error *err) {
  if (!json_object_is_type(v, json_type_int))
    return bad(err, path, "expected an integer");
  int64_t x = json_object_get_int64(v);
  /* Out-of-range values are clamped so the engine names the limit. */
  *out = x > INT_MAX ? INT_MAX : x < INT_MIN ? INT_MIN : (int)x;
  return SC_OK;
}

/* ---- objects ---- */

/* Rejects keys outside `known` (NULL-terminated), naming the first one. */
static int check_keys(json_object *o, const char *path,
                      const char *const *known, struct sc_error *err) {
  json_object_object_foreach(o, key, val) {
    (void)val;
    bool ok = false;
    for (const char *const *k = known; *k && !ok; k++) ok = !strcmp(*k, key);
    if (!ok) {
      char f[160];
      if (*path) snprintf(f, sizeof f, "%s.%s", path, key);
      else snprintf(f, sizeof f, "%s", key);
      return bad(err, f, "unknown key");
    }
  }
  return SC_OK;
}

static json_object *member(json_object *o, const char *key) {
  json_object *v = NULL;
  json_object_object_get_ex(o, key, &v);
  return v;
}

static int need_object(json_object *v, const char *path, struct sc_error *err) {
  return json_object_is_type(v, json_type_object)
             ? SC_OK
             : bad(err, path, "expected an object");
}

/* NULL-or-absent lists are empty; anything else must be an array. */
static int list_of(json_object *o, const char *key, json_object **arr,
                   size_t *n, struct sc_error *err) {
  *arr = member(o, key);
  *n = 0;
  if (!*arr) return SC_OK;
  if (!json_object_is_type(*arr, json_type_array))
    return bad(err, key, "expected an array");
  *n = json_object_array_length(*arr);
  return SC_OK;
}

#define PATH(buf, ...) snprintf(buf, sizeof buf, __VA_ARGS__)

static int required(json_object *o, const char *key, const char *base,
                    json_object **v, struct sc_error *err) {
  char f[160];
  *v = member(o, key);
  if (*v) return SC_OK;
  if (*base) PATH(f, "%s.%s", base, key);
  else PATH(f, "%s", key);
  return bad(err, f, "required");
}

/* The start/end pair of a rule or an override interval; the caller has
** checked that o is an object with no unknown keys. */
static int parse_span(json_object *o, const char *path, int *start, int *end,
                      struct sc_error *err) {
  char f[160];
  json_object *v;
  int rc;
  PATH(f, "%s.start", path);
  if ((rc = required(o, "start", path, &v, err)) ||
      (rc = get_hhmm(v, f, start, err)))
    return rc;
  PATH(f, "%s.end", path);
  if ((rc = required(o, "end", path, &v, err)) || (rc = get_hhmm(v, f, end, err)))
    return rc;
  return SC_OK;
}

static int optional_date(json_object *o, const char *key, const char *path,
                         sc_date *out, struct sc_error *err) {
  char f[160];
  json_object *v = member(o, key);
  *out = SC_AVAIL_NO_DATE;
  if (!v) return SC_OK;
  PATH(f, "%s.%s", path, key);
  return get_date(v, f, out, err);
}

static int parse_rules(json_object *doc, struct request *r,
                       struct sc_error *err) {
  static const char *const keys[] = {"day_of_week", "start", "end",
                                     "effective_from", "effective_until", NULL};
  json_object *arr, *v;
  size_t n;
  int rc;
  if ((rc = list_of(doc, "rules", &arr, &n, err))) return rc;
  r->rules = g_new0(struct sc_avail_rule, n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    struct sc_avail_rule *rule = &r->rules[i];
    json_object *o = json_object_array_get_idx(arr, i);
    char p[64], f[160];
    PATH(p, "rules[%zu]", i);
    if ((rc = need_object(o, p, err)) || (rc = check_keys(o, p, keys, err)))
      return rc;
    PATH(f, "%s.day_of_week", p);
    if ((rc = required(o, "day_of_week", p, &v, err)) ||
        (rc = get_int(v, f, &rule->day_of_week, err)))
      return rc;
    if ((rc = parse_span(o, p, &rule->start_min, &rule->end_min, err)) ||
        (rc = optional_date(o, "effective_from", p, &rule->effective_from,
                            err)) ||
        (rc = optional_date(o, "effective_until", p, &rule->effective_until,
                            err)))
      return rc;
    r->in.n_rules = i + 1;
  }
  return SC_OK;
}

static int parse_overrides(json_object *doc, struct request *r,
                           struct sc_error *err) {
  static const char *const keys[] = {"date", "intervals", NULL};
  json_object *arr, *v;
  size_t n;
  int rc;
  if ((rc = list_of(doc, "overrides", &arr, &n, err))) return rc;
  r->overrides = g_new0(struct sc_avail_override, n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    struct sc_avail_override *ov = &r->overrides[i];
    json_object *o = json_object_array_get_idx(arr, i);
    char p[64], f[160];
    PATH(p, "overrides[%zu]", i);
    if ((rc = need_object(o, p, err)) || (rc = check_keys(o, p, keys, err)))
      return rc;
    PATH(f, "%s.date", p);
    if ((rc = required(o, "date", p, &v, err)) ||
        (rc = get_date(v, f, &ov->date, err)) ||
        (rc = required(o, "intervals", p, &v, err)))
      return rc;
    r->in.n_overrides = i + 1;
    PATH(f, "%s.intervals", p);
    if (!json_object_is_type(v, json_type_array))
      return bad(err, f, "expected an array");
    size_t m = json_object_array_length(v);
    struct sc_avail_interval *iv = g_new0(struct sc_avail_interval, m ? m : 1);
    ov->intervals = iv;
    static const char *const span_keys[] = {"start", "end", NULL};
    for (size_t j = 0; j < m; j++) {
      json_object *s = json_object_array_get_idx(v, j);
      PATH(f, "%s.intervals[%zu]", p, j);
      if ((rc = need_object(s, f, err)) ||
          (rc = check_keys(s, f, span_keys, err)) ||
          (rc = parse_span(s, f, &iv[j].start_min, &iv[j].end_min, err)))
        return rc;
    }
    ov->n_intervals = m;
  }
  return SC_OK;
}

static int parse_busy(json_object *doc, struct request *r,
                      struct sc_error *err) {
  static const char *const keys[] = {"start", "end", NULL};
  json_object *arr, *v;
  size_t n;
  int rc;
  if ((rc = list_of(doc, "busy", &arr, &n, err))) return rc;
  r->busy = g_new0(struct sc_avail_busy, n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    char p[64], f[160];
    PATH(p, "busy[%zu]", i);
    if ((rc = need_object(o, p, err)) || (rc = check_keys(o, p, keys, err)))
      return rc;
    PATH(f, "%s.start", p);
    if ((rc = required(o, "start", p, &v, err)) ||
        (rc = get_instant(v, f, false, &r->busy[i].start, err)))
      return rc;
    PATH(f, "%s.end", p);
    if ((rc = required(o, "end", p, &v, err)) ||
        (rc = get_instant(v, f, true, &r->busy[i].end, err)))
      return rc;
    r->in.n_busy = i + 1;
  }
  return SC_OK;
}

static int parse_block(json_object *o, const char *p, struct sc_avail_block *b,
                       struct sc_error *err) {
  static const char *const keys[] = {"start", "end", "timezone", "rrule",
                                     "exdates", NULL};
  json_object *v;
  char f[160];
  int rc;
  if ((rc = need_object(o, p, err)) || (rc = check_keys(o, p, keys, err)))
    return rc;
  PATH(f, "%s.start", p);
  if ((rc = required(o, "start", p, &v, err)) ||
      (rc = get_local(v, f, &b->start, err)))
    return rc;
  PATH(f, "%s.end", p);
  if ((rc = required(o, "end", p, &v, err)) ||
      (rc = get_local(v, f, &b->end, err)))
    return rc;
  const char *keys2[] = {"timezone", "rrule"};
  const char **dst[] = {&b->timezone, &b->rrule};
  for (int k = 0; k < 2; k++) {
    v = member(o, keys2[k]);
    PATH(f, "%s.%s", p, keys2[k]);
    if (v && !string_of(v)) return bad(err, f, "expected a string");
    *dst[k] = v ? json_object_get_string(v) : NULL;
  }
  v = member(o, "exdates");
  if (!v) return SC_OK;
  PATH(f, "%s.exdates", p);
  if (!json_object_is_type(v, json_type_array))
    return bad(err, f, "expected an array");
  size_t m = json_object_array_length(v);
  struct sc_local_time *ex = g_new0(struct sc_local_time, m ? m : 1);
  b->exdates = ex;
  for (size_t j = 0; j < m; j++) {
    PATH(f, "%s.exdates[%zu]", p, j);
    if ((rc = get_local(json_object_array_get_idx(v, j), f, &ex[j], err)))
      return rc;
  }
  b->n_exdates = m;
  return SC_OK;
}

static int parse_blocks(json_object *doc, struct request *r,
                        struct sc_error *err) {
  json_object *arr;
  size_t n;
  int rc;
  if ((rc = list_of(doc, "blocks", &arr, &n, err))) return rc;
  r->blocks = g_new0(struct sc_avail_block, n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    char p[64];
    PATH(p, "blocks[%zu]", i);
    r->in.n_blocks = i + 1;
    if ((rc = parse_block(json_object_array_get_idx(arr, i), p, &r->blocks[i],
                          err)))
      return rc;
  }
  return SC_OK;
}

static int optional_int(json_object *doc, const char *key, int dflt, int *out,
                        struct sc_error *err) {
  json_object *v = member(doc, key);
  *out = dflt;
  return v ? get_int(v, key, out, err) : SC_OK;
}

static int parse_top(json_object *doc, struct request *r,
                     struct sc_error *err) {
  static const char *const keys[] = {
      "timezone", "window_timezone", "from", "to", "duration", "interval",
      "buffer_before", "buffer_after", "min_notice", "now", "rules",
      "overrides", "busy", "blocks", NULL};
  struct sc_avail_input *in = &r->in;
  json_object *v;
  int rc;
  if (!json_object_is_type(doc, json_type_object))
    return bad(err, "$", "expected an object");
  if ((rc = check_keys(doc, "", keys, err))) return rc;
  if ((rc = required(doc, "timezone", "", &v, err))) return rc;
  if (!(in->timezone = string_of(v)))
    return bad(err, "timezone", "expected a string");
  v = member(doc, "window_timezone");
  if (v && !json_object_is_type(v, json_type_null) &&
      !(in->window_timezone = string_of(v)))
    return bad(err, "window_timezone", "expected a string");
  if ((rc = required(doc, "from", "", &v, err)) ||
      (rc = get_date(v, "from", &in->from, err)) ||
      (rc = required(doc, "to", "", &v, err)) ||
      (rc = get_date(v, "to", &in->to, err)) ||
      (rc = required(doc, "duration", "", &v, err)) ||
      (rc = get_int(v, "duration", &in->duration, err)) ||
      (rc = optional_int(doc, "interval", 0, &in->interval, err)))
    return rc;
  /* The engine reads interval 0 as "duration"; given here, it is an error. */
  if (member(doc, "interval") && in->interval < 1)
    return bad(err, "interval", "must be at least 1");
  if ((rc = optional_int(doc, "buffer_before", 0, &in->buffer_before, err)) ||
      (rc = optional_int(doc, "buffer_after", 0, &in->buffer_after, err)) ||
      (rc = optional_int(doc, "min_notice", 0, &in->min_notice, err)))
    return rc;
  in->now = g_get_real_time() / G_USEC_PER_SEC;
  if ((v = member(doc, "now")) &&
      (rc = get_instant(v, "now", false, &in->now, err)))
    return rc;
  if ((rc = parse_rules(doc, r, err)) || (rc = parse_overrides(doc, r, err)) ||
      (rc = parse_busy(doc, r, err)) || (rc = parse_blocks(doc, r, err)))
    return rc;
  in->rules = r->rules;
  in->overrides = r->overrides;
  in->busy = r->busy;
  in->blocks = r->blocks;
  return SC_OK;
}

/* ---- I/O ---- */

static char *read_all(FILE *in, size_t *len, struct sc_error *err) {
  GString *s = g_string_new(NULL);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
    g_string_append_len(s, buf, (gssize)n);
    if (s->len > SLOTS_MAX_INPUT) {
      g_string_free(s, TRUE);
      sc_error_set(err, SC_EINVAL, "$", "input larger than %u bytes",
                   SLOTS_MAX_INPUT);
      return NULL;
    }
  }
  if (ferror(in)) {
    g_string_free(s, TRUE);
    sc_error_set(err, SC_EIO, "", "cannot read standard input");
    return NULL;
  }
  *len = s->len;
  return g_string_free(s, FALSE);
}

static json_object *parse_json(const char *text, size_t len,
                               struct sc_error *err) {
  json_tokener *tok = json_tokener_new();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *doc = NULL;
  size_t at = len;
  if (len <= INT_MAX) {
    doc = json_tokener_parse_ex(tok, text, (int)len);
    at = json_tokener_get_parse_end(tok);
    if (json_tokener_get_error(tok) != json_tokener_success) {
      json_object_put(doc);
      doc = NULL;
    }
  }
  json_tokener_free(tok);
  /* Anything but whitespace after the document is an error too. */
  for (size_t i = at; doc && i < len; i++)
    if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' &&
        text[i] != '\n') {
      json_object_put(doc);
      doc = NULL;
      at = i;
    }
  if (!doc) sc_error_set(err, SC_EINVAL, "$", "invalid JSON at byte %zu", at);
  return doc;
}

static void put_instant(GString *o, int64_t t) {
  int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int secs = (int)(t - days * 86400);
  int y, m, d;
  sc_date_to_ymd((sc_date)days, &y, &m, &d);
  g_string_append_printf(o, "\"%04d-%02d-%02dT%02d:%02d:%02dZ\"", y, m, d,
                         secs / 3600, secs / 60 % 60, secs % 60);
}

static char *format_slots(const struct sc_avail_result *res) {
  GString *o = g_string_sized_new(32 + res->n * 56);
  g_string_append(o, "{\"slots\":[");
  for (size_t i = 0; i < res->n; i++) {
    g_string_append(o, i ? ",{\"start\":" : "{\"start\":");
    put_instant(o, res->slots[i].start);
    g_string_append(o, ",\"end\":");
    put_instant(o, res->slots[i].end);
    g_string_append_c(o, '}');
  }
  g_string_append(o, "]}\n");
  return g_string_free(o, FALSE);
}

static int report(FILE *err, const struct sc_error *e) {
  if (e->code == SC_EINVAL) {
    fprintf(err, "%s: %s\n", e->field[0] ? e->field : "$", e->message);
    return 2;
  }
  fprintf(err, "slots: %s\n", e->message);
  return 1;
}

int sc_slots_run(FILE *in, FILE *out, FILE *err) {
  struct sc_error e;
  sc_error_clear(&e);
  size_t len = 0;
  char *text = read_all(in, &len, &e);
  if (!text) return report(err, &e);
  json_object *doc = parse_json(text, len, &e);
  g_free(text);
  if (!doc) return report(err, &e);
  struct request r;
  memset(&r, 0, sizeof r);
  struct sc_avail_result res = {0};
  int rc = parse_top(doc, &r, &e);
  if (!rc) rc = sc_avail_compute(&r.in, &res, &e);
  request_free(&r);
  json_object_put(doc);
  if (rc) return report(err, &e);
  char *s = format_slots(&res);
  sc_avail_result_free(&res);
  size_t n = strlen(s);
  bool ok = fwrite(s, 1, n, out) == n && fflush(out) == 0;
  g_free(s);
  if (!ok) {
    fprintf(err, "slots: cannot write standard output\n");
    return 1;
  }
  return 0;
}

int sc_cmd_slots(int argc, char **argv) {
  (void)argv;
  if (argc > 1) {
    fprintf(stderr, "slots: takes no arguments; reads one JSON document on "
                    "standard input\n");
    return 2;
  }
  return sc_slots_run(stdin, stdout, stderr);
}
