/*
** One organization file: organization, locations, staff and event types.
**
** Sections are read in dependency order, not file order: location heads
** (slug, zone, branding) first, then staff (who name locations), then the
** location schedules and connectors (which name staff), then event types.
** So a reference is always checked against a complete list.
*/
#include "config_parse.h"

#include <glib.h>
#include <string.h>

#include "config_values.h"

static const char *const top_keys[] = {"organization", "locations", "staff",
                                       "event_types", NULL};
static const char *const org_keys[] = {"slug", "name", NULL};
static const char *const location_keys[] = {
    "slug",  "name",      "timezone", "branding", "rules",
    "overrides", "blocks", "connectors", NULL};
static const char *const branding_keys[] = {"display_name", "primary_color",
                                            "logo_url", NULL};
static const char *const staff_keys[] = {"slug",      "name",   "email",
                                         "role",      "locations", "blocks",
                                         "connectors", NULL};
static const char *const event_type_keys[] = {
    "slug",       "title",        "duration",  "interval",  "buffer_before",
    "buffer_after", "min_notice", "horizon_days", "daily_cap", "published",
    "price",      "staff",        NULL};

/* Minutes in a day and a year: generous ceilings that still catch typos
** such as a duration given in seconds. */
#define DAY_MIN 1440
#define YEAR_MIN 525600

typedef bool (*str_pred)(const char *);

static int optional_checked(const struct sc_yreader *r, const yaml_node_t *map,
                            const char *parent, const char *key, str_pred ok,
                            const char *what, char **out) {
  yaml_node_t *v;
  char *s = NULL;
  int rc = sc_ystr(r, map, parent, key, false, &s, &v);
  if (rc || !s) return rc;
  if (!ok(s)) {
    rc = sc_yerr(r, v, sc_ypath_key(parent, key).s, "expected %s, got \"%s\"",
                 what, s);
    g_free(s);
    return rc;
  }
  *out = s;
  return SC_OK;
}

static int parse_branding(const struct sc_yreader *r, const yaml_node_t *map,
                          const char *parent, struct sc_conf_location *loc) {
  static const struct {
    const char *key;
    str_pred ok;
    const char *what;
  } fields[] = {
      {"display_name", NULL, NULL},
      {"primary_color", sc_conf_color_ok, "a colour #RRGGBB"},
      {"logo_url", sc_conf_url_ok, "an http:// or https:// URL"},
  };
  loc->branding = json_object_new_object();
  yaml_node_t *b = sc_ymap_get(r, map, "branding");
  if (!b) return SC_OK;
  struct sc_ypath p = sc_ypath_key(parent, "branding");
  int rc = sc_ymap_check(r, b, p.s, branding_keys);
  for (size_t i = 0; !rc && i < G_N_ELEMENTS(fields); i++) {
    char *s = NULL;
    rc = fields[i].ok ? optional_checked(r, b, p.s, fields[i].key, fields[i].ok,
                                         fields[i].what, &s)
                      : sc_ystr(r, b, p.s, fields[i].key, false, &s, NULL);
    if (s)
      json_object_object_add(loc->branding, fields[i].key,
                             json_object_new_string(s));
    g_free(s);
  }
  return rc;
}

static int parse_org_head(const struct sc_yreader *r, const yaml_node_t *root,
                          struct sc_conf_org *org) {
  yaml_node_t *o;
  int rc = sc_ymap_need(r, root, "", "organization", &o);
  if (!rc) rc = sc_ymap_check(r, o, "organization", org_keys);
  if (!rc) rc = sc_yget_slug(r, o, "organization", "slug", true, &org->slug);
  if (!rc) org->pos = sc_ypos(sc_ymap_get(r, o, "slug"));
  if (!rc) rc = sc_ystr(r, o, "organization", "name", true, &org->name, NULL);
  return rc;
}

static int parse_location_head(const struct sc_yreader *r,
                               const yaml_node_t *map, const char *path,
                               struct sc_conf_org *org, size_t idx) {
  struct sc_conf_location *loc = &org->locations[idx];
  loc->pos = sc_ypos(map);
  int rc = sc_ymap_check(r, map, path, location_keys);
  if (!rc) rc = sc_yget_slug(r, map, path, "slug", true, &loc->slug);
  for (size_t i = 0; !rc && i < idx; i++)
    if (!strcmp(org->locations[i].slug, loc->slug))
      rc = sc_yerr(r, sc_ymap_get(r, map, "slug"), sc_ypath_key(path, "slug").s,
                   "duplicate location \"%s\" (first at line %d)", loc->slug,
                   org->locations[i].pos.line);
  if (!rc) rc = sc_ystr(r, map, path, "name", true, &loc->name, NULL);
  if (!rc)
    rc = sc_yget_timezone(r, map, path, "timezone", true, &loc->timezone);
  if (!rc) rc = parse_branding(r, map, path, loc);
  return rc;
}

static int parse_location_body(const struct sc_yreader *r,
                               const yaml_node_t *map, const char *path,
                               struct sc_conf_org *org,
                               struct sc_conf_location *loc) {
  yaml_node_t *v;
  int rc = SC_OK;
  if ((v = sc_ymap_get(r, map, "rules")))
    rc = sc_conf_parse_rules(r, v, sc_ypath_key(path, "rules").s, org, loc);
  if (!rc && (v = sc_ymap_get(r, map, "overrides")))
    rc = sc_conf_parse_overrides(r, v, sc_ypath_key(path, "overrides").s, org,
                                 loc);
  struct sc_conf_block_scope scope = {org, loc->slug, loc->timezone, NULL};
  if (!rc && (v = sc_ymap_get(r, map, "blocks")))
    rc = sc_conf_parse_blocks(r, v, sc_ypath_key(path, "blocks").s, &scope,
                              &loc->blocks, &loc->n_blocks);
  if (!rc && (v = sc_ymap_get(r, map, "connectors")))
    rc = sc_conf_parse_connectors(r, v, sc_ypath_key(path, "connectors").s,
                                  org->slug, loc->slug, NULL, &loc->connectors,
                                  &loc->n_connectors);
  return rc;
}

/* A list of slugs that must each name an existing entry, without repeats. */
typedef bool (*slug_exists)(const struct sc_conf_org *org, const char *slug);

static bool location_exists(const struct sc_conf_org *org, const char *s) {
  return sc_config_find_location(org, s) != NULL;
}

static bool staff_exists(const struct sc_conf_org *org, const char *s) {
  return sc_config_find_staff(org, s) != NULL;
}

static int parse_slug_list(const struct sc_yreader *r, const yaml_node_t *v,
                           const char *path, const struct sc_conf_org *org,
                           slug_exists exists, const char *what, char ***out,
                           size_t *n_out) {
  yaml_node_item_t *items;
  size_t n;
  int rc = sc_yseq(r, v, path, &items, &n);
  if (rc || n == 0) return rc;
  *out = g_new0(char *, n);
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *it = sc_yitem(r, items[i]);
    struct sc_ypath ip = sc_ypath_idx(path, i);
    char *s = NULL;
    if ((rc = sc_yitem_slug(r, it, ip.s, &s))) return rc;
    (*out)[(*n_out)++] = s;
    if (!exists(org, s))
      return sc_yerr(r, it, ip.s, "unknown %s \"%s\"", what, s);
    for (size_t j = 0; j < i; j++)
      if (!strcmp((*out)[j], s))
        return sc_yerr(r, it, ip.s, "%s \"%s\" is listed twice", what, s);
  }
  return SC_OK;
}

static int parse_staff_refs(const struct sc_yreader *r, const yaml_node_t *map,
                            const char *path, struct sc_conf_org *org,
                            struct sc_conf_staff *st) {
  yaml_node_t *v;
  struct sc_ypath lp = sc_ypath_key(path, "locations");
  int rc = sc_ymap_need(r, map, path, "locations", &v);
  if (!rc)
    rc = parse_slug_list(r, v, lp.s, org, location_exists, "location",
                         &st->locations, &st->n_locations);
  if (!rc && st->n_locations == 0)
    rc = sc_yerr(r, v, lp.s, "empty list; name at least one location");
  struct sc_conf_block_scope scope = {org, NULL, NULL, st->slug};
  if (!rc && (v = sc_ymap_get(r, map, "blocks")))
    rc = sc_conf_parse_blocks(r, v, sc_ypath_key(path, "blocks").s, &scope,
                              &st->blocks, &st->n_blocks);
  if (!rc && (v = sc_ymap_get(r, map, "connectors")))
    rc = sc_conf_parse_connectors(r, v, sc_ypath_key(path, "connectors").s,
                                  org->slug, NULL, st->slug, &st->connectors,
                                  &st->n_connectors);
  return rc;
}

static int parse_staff(const struct sc_yreader *r, const yaml_node_t *map,
                       const char *path, struct sc_conf_org *org, size_t idx) {
  struct sc_conf_staff *st = &org->staff[idx];
  st->pos = sc_ypos(map);
  int rc = sc_ymap_check(r, map, path, staff_keys);
  if (!rc) rc = sc_yget_slug(r, map, path, "slug", true, &st->slug);
  for (size_t i = 0; !rc && i < idx; i++)
    if (!strcmp(org->staff[i].slug, st->slug))
      rc = sc_yerr(r, sc_ymap_get(r, map, "slug"), sc_ypath_key(path, "slug").s,
                   "duplicate staff \"%s\" (first at line %d)", st->slug,
                   org->staff[i].pos.line);
  if (!rc) rc = sc_ystr(r, map, path, "name", true, &st->name, NULL);
  if (!rc)
    rc = optional_checked(r, map, path, "email", sc_conf_email_ok,
                          "an e-mail address", &st->email);
  if (!rc) rc = sc_ystr(r, map, path, "role", false, &st->role, NULL);
  if (!rc) rc = parse_staff_refs(r, map, path, org, st);
  return rc;
}

static int parse_event_numbers(const struct sc_yreader *r,
                               const yaml_node_t *map, const char *path,
                               struct sc_conf_event_type *et) {
  int rc = sc_yint(r, map, path, "duration", true, 1, DAY_MIN, &et->duration);
  et->interval = et->duration;
  et->horizon_days = 62;
  if (!rc) rc = sc_yint(r, map, path, "interval", false, 1, DAY_MIN, &et->interval);
  if (!rc)
    rc = sc_yint(r, map, path, "buffer_before", false, 0, DAY_MIN,
                 &et->buffer_before);
  if (!rc)
    rc = sc_yint(r, map, path, "buffer_after", false, 0, DAY_MIN,
                 &et->buffer_after);
  if (!rc)
    rc = sc_yint(r, map, path, "min_notice", false, 0, YEAR_MIN,
                 &et->min_notice);
  if (!rc)
    rc = sc_yint(r, map, path, "horizon_days", false, 1, 3660,
                 &et->horizon_days);
  if (!rc)
    rc = sc_yint(r, map, path, "daily_cap", false, 0, 10000, &et->daily_cap);
  return rc;
}

static int parse_event_type(const struct sc_yreader *r, const yaml_node_t *map,
                            const char *path, struct sc_conf_org *org,
                            size_t idx) {
  struct sc_conf_event_type *et = &org->event_types[idx];
  et->pos = sc_ypos(map);
  yaml_node_t *v;
  int rc = sc_ymap_check(r, map, path, event_type_keys);
  if (!rc) rc = sc_yget_slug(r, map, path, "slug", true, &et->slug);
  for (size_t i = 0; !rc && i < idx; i++)
    if (!strcmp(org->event_types[i].slug, et->slug))
      rc = sc_yerr(r, sc_ymap_get(r, map, "slug"), sc_ypath_key(path, "slug").s,
                   "duplicate event type \"%s\" (first at line %d)", et->slug,
                   org->event_types[i].pos.line);
  if (!rc) rc = sc_ystr(r, map, path, "title", true, &et->title, NULL);
  if (!rc) rc = parse_event_numbers(r, map, path, et);
  if (!rc) rc = sc_ybool(r, map, path, "published", &et->published);
  if (!rc)
    rc = optional_checked(r, map, path, "price", sc_conf_price_ok,
                          "a price like \"120.00\" (at most 8 digits before "
                          "the point and 2 after)",
                          &et->price);
  if (!rc && (v = sc_ymap_get(r, map, "staff")))
    rc = parse_slug_list(r, v, sc_ypath_key(path, "staff").s, org,
                         staff_exists, "staff", &et->staff, &et->n_staff);
  return rc;
}

/* The list under root[key]; n = 0 when the section is absent. */
static int section(const struct sc_yreader *r, const yaml_node_t *root,
                   const char *key, yaml_node_item_t **items, size_t *n) {
  yaml_node_t *v = sc_ymap_get(r, root, key);
  *n = 0;
  return v ? sc_yseq(r, v, key, items, n) : SC_OK;
}

/* Counts are bumped before each entry is parsed so a partly parsed entry
** is still freed by sc_config_org_free(). */
static int parse_locations(const struct sc_yreader *r, const yaml_node_t *root,
                           struct sc_conf_org *org) {
  yaml_node_item_t *it;
  size_t n;
  int rc = section(r, root, "locations", &it, &n);
  if (!rc && n) org->locations = g_new0(struct sc_conf_location, n);
  for (size_t i = 0; !rc && i < n; i++) {
    org->n_locations++;
    rc = parse_location_head(r, sc_yitem(r, it[i]),
                             sc_ypath_idx("locations", i).s, org, i);
  }
  return rc;
}

/* Second pass over locations, once staff are known. */
static int parse_location_bodies(const struct sc_yreader *r,
                                 const yaml_node_t *root,
                                 struct sc_conf_org *org) {
  yaml_node_item_t *it;
  size_t n;
  int rc = section(r, root, "locations", &it, &n);
  for (size_t i = 0; !rc && i < n; i++)
    rc = parse_location_body(r, sc_yitem(r, it[i]),
                             sc_ypath_idx("locations", i).s, org,
                             &org->locations[i]);
  return rc;
}

static int parse_staff_list(const struct sc_yreader *r,
                            const yaml_node_t *root, struct sc_conf_org *org) {
  yaml_node_item_t *it;
  size_t n;
  int rc = section(r, root, "staff", &it, &n);
  if (!rc && n) org->staff = g_new0(struct sc_conf_staff, n);
  for (size_t i = 0; !rc && i < n; i++) {
    org->n_staff++;
    rc = parse_staff(r, sc_yitem(r, it[i]), sc_ypath_idx("staff", i).s, org, i);
  }
  return rc;
}

static int parse_event_types(const struct sc_yreader *r,
                             const yaml_node_t *root,
                             struct sc_conf_org *org) {
  yaml_node_item_t *it;
  size_t n;
  int rc = section(r, root, "event_types", &it, &n);
  if (!rc && n) org->event_types = g_new0(struct sc_conf_event_type, n);
  for (size_t i = 0; !rc && i < n; i++) {
    org->n_event_types++;
    rc = parse_event_type(r, sc_yitem(r, it[i]),
                          sc_ypath_idx("event_types", i).s, org, i);
  }
  return rc;
}

int sc_conf_parse_org(const struct sc_yreader *r, const yaml_node_t *root,
                      struct sc_conf_org *org) {
  int rc = sc_ymap_check(r, root, "", top_keys);
  if (!rc) rc = parse_org_head(r, root, org);
  if (!rc) rc = parse_locations(r, root, org);
  if (!rc) rc = parse_staff_list(r, root, org);
  if (!rc) rc = parse_location_bodies(r, root, org);
  if (!rc) rc = parse_event_types(r, root, org);
  return rc;
}
