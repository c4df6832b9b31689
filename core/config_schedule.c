/*
** The schedule sections of a location (and staff-wide blocks): weekly rules,
** date overrides and calendar blocks, with their staff references checked
** against the organization's staff and where each one works.
*/
#include "config_parse.h"

#include <glib.h>
#include <string.h>

#include "config_values.h"

static const char *const rule_keys[] = {
    "day_of_week", "start", "end", "staff", "effective_from",
    "effective_until", NULL};
static const char *const override_keys[] = {"date", "staff", "intervals",
                                             NULL};
static const char *const interval_keys[] = {"start", "end", NULL};
static const char *const loc_block_keys[] = {
    "start", "end", "timezone", "rrule", "exdates", "reason", "staff", NULL};
static const char *const staff_block_keys[] = {
    "start", "end", "timezone", "rrule", "exdates", "reason", NULL};

static const char *const day_names[] = {"Sunday",   "Monday", "Tuesday",
                                        "Wednesday", "Thursday", "Friday",
                                        "Saturday"};

void sc_conf_rule_clear(struct sc_conf_rule *r) {
  g_free(r->staff);
  g_free(r->effective_from);
  g_free(r->effective_until);
  memset(r, 0, sizeof *r);
}

void sc_conf_override_clear(struct sc_conf_override *o) {
  g_free(o->staff);
  g_free(o->date);
  g_free(o->intervals);
  memset(o, 0, sizeof *o);
}

void sc_conf_block_clear(struct sc_conf_block *b) {
  g_free(b->staff);
  g_free(b->start);
  g_free(b->end);
  g_free(b->timezone);
  g_free(b->rrule);
  for (size_t i = 0; i < b->n_exdates; i++) g_free(b->exdates[i]);
  g_free(b->exdates);
  g_free(b->reason);
  memset(b, 0, sizeof *b);
}

/* Optional `staff:` of a location-scoped entry: the member must exist and
** work at this location. */
static int staff_ref(const struct sc_yreader *r, const yaml_node_t *map,
                     const char *parent, const struct sc_conf_org *org,
                     const char *location, char **out) {
  char *slug = NULL;
  int rc = sc_yget_slug(r, map, parent, "staff", false, &slug);
  if (rc || !slug) return rc;
  const struct sc_conf_staff *st = sc_config_find_staff(org, slug);
  yaml_node_t *v = sc_ymap_get(r, map, "staff");
  struct sc_ypath p = sc_ypath_key(parent, "staff");
  if (!st)
    rc = sc_yerr(r, v, p.s, "unknown staff \"%s\"", slug);
  else if (!sc_config_staff_works_at(st, location))
    rc = sc_yerr(r, v, p.s, "staff \"%s\" does not work at location \"%s\"",
                 slug, location);
  if (rc) {
    g_free(slug);
    return rc;
  }
  *out = slug;
  return SC_OK;
}

/* Start and end of a wall-clock interval; end may be 24:00. */
static int parse_span(const struct sc_yreader *r, const yaml_node_t *map,
                      const char *path, int *start, int *end) {
  int rc = sc_yget_hhmm(r, map, path, "start", false, start);
  if (!rc) rc = sc_yget_hhmm(r, map, path, "end", true, end);
  if (rc) return rc;
  if (*end <= *start) {
    yaml_node_t *e = sc_ymap_get(r, map, "end");
    yaml_node_t *s = sc_ymap_get(r, map, "start");
    return sc_yerr(r, e, sc_ypath_key(path, "end").s,
                   "end %s is not after start %s", sc_ytext(e), sc_ytext(s));
  }
  return SC_OK;
}

static int parse_day(const struct sc_yreader *r, const yaml_node_t *n,
                     const char *path, bool in_list, int *day) {
  const char *t = sc_ytext(n);
  if (!strcmp(sc_ykind(n), "an integer") && strlen(t) == 1 && t[0] >= '0' &&
      t[0] <= '6') {
    *day = t[0] - '0';
    return SC_OK;
  }
  const char *what = in_list ? "" : " or a list of them";
  if (t && n->type == YAML_SCALAR_NODE)
    return sc_yerr(r, n, path,
                   "expected a day 0 (Sunday) to 6 (Saturday)%s, got \"%s\"",
                   what, t);
  return sc_yerr(r, n, path, "expected a day 0 (Sunday) to 6 (Saturday)%s, got %s",
                 what, sc_ykind(n));
}

/* day_of_week: one day or a list; days[d] set for each day named. */
static int parse_days(const struct sc_yreader *r, const yaml_node_t *map,
                      const char *parent, bool days[7]) {
  yaml_node_t *v;
  struct sc_ypath p = sc_ypath_key(parent, "day_of_week");
  int rc = sc_ymap_need(r, map, parent, "day_of_week", &v);
  if (rc) return rc;
  int d;
  if (v->type != YAML_SEQUENCE_NODE) {
    rc = parse_day(r, v, p.s, false, &d);
    if (!rc) days[d] = true;
    return rc;
  }
  yaml_node_item_t *items;
  size_t n;
  sc_yseq(r, v, p.s, &items, &n);
  if (n == 0) return sc_yerr(r, v, p.s, "empty list; name at least one day");
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *it = sc_yitem(r, items[i]);
    struct sc_ypath ip = sc_ypath_idx(p.s, i);
    if ((rc = parse_day(r, it, ip.s, true, &d))) return rc;
    if (days[d])
      return sc_yerr(r, it, ip.s, "%s (%d) is listed twice", day_names[d], d);
    days[d] = true;
  }
  return SC_OK;
}

static int parse_effective(const struct sc_yreader *r, const yaml_node_t *map,
                           const char *path, struct sc_conf_rule *t) {
  int rc = sc_yget_date(r, map, path, "effective_from", false,
                        &t->effective_from);
  if (!rc)
    rc = sc_yget_date(r, map, path, "effective_until", false,
                      &t->effective_until);
  if (rc || !t->effective_from || !t->effective_until) return rc;
  if (strcmp(t->effective_until, t->effective_from) < 0)
    return sc_yerr(r, sc_ymap_get(r, map, "effective_until"),
                   sc_ypath_key(path, "effective_until").s,
                   "%s is before effective_from %s", t->effective_until,
                   t->effective_from);
  return SC_OK;
}

static void append_rules(struct sc_conf_location *loc,
                         const struct sc_conf_rule *t, const bool days[7]) {
  for (int d = 0; d < 7; d++) {
    if (!days[d]) continue;
    loc->rules = g_renew(struct sc_conf_rule, loc->rules, loc->n_rules + 1);
    struct sc_conf_rule *x = &loc->rules[loc->n_rules++];
    *x = *t;
    x->day_of_week = d;
    x->staff = g_strdup(t->staff);
    x->effective_from = g_strdup(t->effective_from);
    x->effective_until = g_strdup(t->effective_until);
  }
}

static int parse_rule(const struct sc_yreader *r, const yaml_node_t *map,
                      const char *path, const struct sc_conf_org *org,
                      struct sc_conf_location *loc) {
  struct sc_conf_rule t = {0};
  bool days[7] = {false};
  int rc = sc_ymap_check(r, map, path, rule_keys);
  if (!rc) rc = parse_days(r, map, path, days);
  if (!rc) rc = parse_span(r, map, path, &t.start_min, &t.end_min);
  if (!rc) rc = staff_ref(r, map, path, org, loc->slug, &t.staff);
  if (!rc) rc = parse_effective(r, map, path, &t);
  if (!rc) {
    t.pos = sc_ypos(map);
    append_rules(loc, &t, days);
  }
  sc_conf_rule_clear(&t);
  return rc;
}

int sc_conf_parse_rules(const struct sc_yreader *r, const yaml_node_t *seq,
                        const char *path, const struct sc_conf_org *org,
                        struct sc_conf_location *loc) {
  yaml_node_item_t *items;
  size_t n;
  int rc = sc_yseq(r, seq, path, &items, &n);
  for (size_t i = 0; !rc && i < n; i++)
    rc = parse_rule(r, sc_yitem(r, items[i]), sc_ypath_idx(path, i).s, org,
                    loc);
  return rc;
}

static int parse_intervals(const struct sc_yreader *r, const yaml_node_t *map,
                           const char *parent, struct sc_conf_override *o) {
  yaml_node_t *v = NULL;
  yaml_node_item_t *items;
  size_t n;
  struct sc_ypath p = sc_ypath_key(parent, "intervals");
  /* "intervals: []" is a day off, but the key itself must be written so a
  ** forgotten list does not silently close the day. */
  for (yaml_node_pair_t *q = map->data.mapping.pairs.start;
       q < map->data.mapping.pairs.top; q++)
    if (!strcmp(sc_ytext(sc_yitem(r, q->key)), "intervals"))
      v = sc_yitem(r, q->value);
  if (!v)
    return sc_yerr(r, map, p.s,
                   "required key missing (write [] for a day off)");
  int rc = sc_yseq(r, v, p.s, &items, &n);
  if (rc) return rc;
  o->intervals = g_new0(struct sc_conf_interval, n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *it = sc_yitem(r, items[i]);
    struct sc_ypath ip = sc_ypath_idx(p.s, i);
    struct sc_conf_interval *iv = &o->intervals[i];
    if ((rc = sc_ymap_check(r, it, ip.s, interval_keys))) return rc;
    if ((rc = parse_span(r, it, ip.s, &iv->start_min, &iv->end_min)))
      return rc;
    if (i > 0 && iv->start_min < o->intervals[i - 1].end_min)
      return sc_yerr(r, it, ip.s,
                     "overlaps or precedes intervals[%zu]; list intervals in "
                     "order without overlap",
                     i - 1);
    o->n_intervals = i + 1;
  }
  return SC_OK;
}

static int check_override_unique(const struct sc_yreader *r,
                                 const yaml_node_t *map, const char *path,
                                 const struct sc_conf_location *loc,
                                 const struct sc_conf_override *o) {
  for (size_t i = 0; i < loc->n_overrides; i++) {
    const struct sc_conf_override *p = &loc->overrides[i];
    if (p == o || strcmp(p->date, o->date) ||
        g_strcmp0(p->staff, o->staff))
      continue;
    yaml_node_t *d = sc_ymap_get(r, map, "date");
    struct sc_ypath dp = sc_ypath_key(path, "date");
    if (o->staff)
      return sc_yerr(r, d, dp.s,
                     "duplicate override for staff \"%s\" on %s (first at "
                     "line %d)",
                     o->staff, o->date, p->pos.line);
    return sc_yerr(r, d, dp.s,
                   "duplicate location-wide override on %s (first at line %d)",
                   o->date, p->pos.line);
  }
  return SC_OK;
}

static int parse_override(const struct sc_yreader *r, const yaml_node_t *map,
                          const char *path, const struct sc_conf_org *org,
                          struct sc_conf_location *loc,
                          struct sc_conf_override *o) {
  int rc = sc_ymap_check(r, map, path, override_keys);
  if (!rc) rc = sc_yget_date(r, map, path, "date", true, &o->date);
  if (!rc) rc = staff_ref(r, map, path, org, loc->slug, &o->staff);
  if (!rc) rc = parse_intervals(r, map, path, o);
  o->pos = sc_ypos(map);
  if (!rc) rc = check_override_unique(r, map, path, loc, o);
  return rc;
}

int sc_conf_parse_overrides(const struct sc_yreader *r,
                            const yaml_node_t *seq, const char *path,
                            const struct sc_conf_org *org,
                            struct sc_conf_location *loc) {
  yaml_node_item_t *items;
  size_t n;
  int rc = sc_yseq(r, seq, path, &items, &n);
  if (rc || n == 0) return rc;
  loc->overrides = g_new0(struct sc_conf_override, n);
  for (size_t i = 0; !rc && i < n; i++) {
    struct sc_conf_override *o = &loc->overrides[loc->n_overrides++];
    rc = parse_override(r, sc_yitem(r, items[i]), sc_ypath_idx(path, i).s,
                        org, loc, o);
  }
  return rc;
}

static int parse_exdates(const struct sc_yreader *r, const yaml_node_t *map,
                         const char *parent, struct sc_conf_block *b) {
  yaml_node_t *v = sc_ymap_get(r, map, "exdates");
  if (!v) return SC_OK;
  struct sc_ypath p = sc_ypath_key(parent, "exdates");
  if (!b->rrule)
    return sc_yerr(r, v, p.s, "only allowed together with rrule");
  yaml_node_item_t *items;
  size_t n;
  int rc = sc_yseq(r, v, p.s, &items, &n);
  if (rc || n == 0) return rc;
  b->exdates = g_new0(char *, n);
  for (size_t i = 0; !rc && i < n; i++) {
    rc = sc_yget_datetime(r, sc_yitem(r, items[i]), sc_ypath_idx(p.s, i).s,
                          &b->exdates[i]);
    if (!rc) b->n_exdates = i + 1;
  }
  return rc;
}

static int parse_block_times(const struct sc_yreader *r,
                             const yaml_node_t *map, const char *path,
                             struct sc_conf_block *b) {
  yaml_node_t *s, *e;
  int rc = sc_ymap_need(r, map, path, "start", &s);
  if (!rc) rc = sc_ymap_need(r, map, path, "end", &e);
  if (!rc) rc = sc_yget_datetime(r, s, sc_ypath_key(path, "start").s, &b->start);
  if (!rc) rc = sc_yget_datetime(r, e, sc_ypath_key(path, "end").s, &b->end);
  if (!rc && strcmp(b->end, b->start) <= 0)
    rc = sc_yerr(r, e, sc_ypath_key(path, "end").s,
                 "end %s is not after start %s", b->end, b->start);
  return rc;
}

static int parse_rrule(const struct sc_yreader *r, const yaml_node_t *map,
                       const char *path, struct sc_conf_block *b) {
  yaml_node_t *v;
  int rc = sc_ystr(r, map, path, "rrule", false, &b->rrule, &v);
  if (rc || !b->rrule) return rc;
  const char *why = sc_conf_rrule_problem(b->rrule, b->start);
  if (why)
    return sc_yerr(r, v, sc_ypath_key(path, "rrule").s,
                   "invalid RRULE \"%s\": %s", b->rrule, why);
  return SC_OK;
}

static int parse_block(const struct sc_yreader *r, const yaml_node_t *map,
                       const char *path,
                       const struct sc_conf_block_scope *scope,
                       struct sc_conf_block *b) {
  bool loc_scope = scope->location != NULL;
  b->pos = sc_ypos(map);
  int rc = sc_ymap_check(r, map, path,
                         loc_scope ? loc_block_keys : staff_block_keys);
  if (!rc) rc = parse_block_times(r, map, path, b);
  if (!rc)
    rc = sc_yget_timezone(r, map, path, "timezone", !scope->default_tz,
                          &b->timezone);
  if (!rc && !b->timezone) b->timezone = g_strdup(scope->default_tz);
  if (!rc) rc = parse_rrule(r, map, path, b);
  if (!rc) rc = parse_exdates(r, map, path, b);
  if (!rc) rc = sc_ystr(r, map, path, "reason", false, &b->reason, NULL);
  if (!rc && loc_scope)
    rc = staff_ref(r, map, path, scope->org, scope->location, &b->staff);
  if (!rc && !loc_scope) b->staff = g_strdup(scope->staff);
  return rc;
}

int sc_conf_parse_blocks(const struct sc_yreader *r, const yaml_node_t *seq,
                         const char *path,
                         const struct sc_conf_block_scope *scope,
                         struct sc_conf_block **blocks, size_t *n_blocks) {
  yaml_node_item_t *items;
  size_t n;
  int rc = sc_yseq(r, seq, path, &items, &n);
  if (rc || n == 0) return rc;
  *blocks = g_new0(struct sc_conf_block, n);
  for (size_t i = 0; !rc && i < n; i++) {
    struct sc_conf_block *b = &(*blocks)[(*n_blocks)++];
    rc = parse_block(r, sc_yitem(r, items[i]), sc_ypath_idx(path, i).s, scope,
                     b);
  }
  return rc;
}
