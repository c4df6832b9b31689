/*
** Connector entries of a location or staff member: plugin name, stable
** instance name, and `settings:` split into opaque JSON and secret
** references (env:/file:), refusing secrets written inline.
*/
#include "config_parse.h"

#include <glib.h>
#include <string.h>

#include "config_values.h"

static const char *const connector_keys[] = {"plugin", "settings", NULL};

void sc_conf_connector_clear(struct sc_conf_connector *c) {
  g_free(c->plugin);
  g_free(c->instance);
  g_free(c->location);
  g_free(c->staff);
  if (c->settings) json_object_put(c->settings);
  for (size_t i = 0; i < c->n_secrets; i++) {
    g_free(c->secrets[i].name);
    g_free(c->secrets[i].ref);
  }
  g_free(c->secrets);
  for (size_t i = 0; i < c->n_setting_pos; i++) g_free(c->setting_keys[i]);
  g_free(c->setting_keys);
  g_free(c->setting_pos);
  memset(c, 0, sizeof *c);
}

static void add_secret(struct sc_conf_connector *c, const char *name,
                       const char *ref) {
  c->secrets = g_renew(struct sc_conf_secret, c->secrets, c->n_secrets + 1);
  c->secrets[c->n_secrets].name = g_strdup(name);
  c->secrets[c->n_secrets].ref = g_strdup(ref);
  c->n_secrets++;
}

/* One top-level settings entry: a secret reference, or opaque JSON. */
static int parse_setting(const struct sc_yreader *r, const yaml_node_t *k,
                         const yaml_node_t *v, const char *parent,
                         struct sc_conf_connector *c) {
  const char *key = sc_ytext(k);
  struct sc_ypath p = sc_ypath_key(parent, key);
  const char *text = v->type == YAML_SCALAR_NODE ? sc_ytext(v) : NULL;
  if (text && sc_config_is_secret_ref(text)) {
    const char *why = sc_config_secret_ref_problem(text);
    if (why)
      return sc_yerr(r, v, p.s, "invalid secret reference \"%s\": %s", text,
                     why);
    add_secret(c, key, text);
    return SC_OK;
  }
  if (sc_config_secret_key_name(key))
    return sc_yerr(r, v, p.s, "inline secret; write env:NAME or file:PATH");
  json_object *j;
  int rc = sc_yjson(r, v, p.s, &j);
  if (!rc) json_object_object_add(c->settings, key, j);
  return rc;
}

static void add_setting_pos(struct sc_conf_connector *c, const char *key,
                            struct sc_conf_pos pos) {
  size_t n = c->n_setting_pos;
  c->setting_keys = g_renew(char *, c->setting_keys, n + 1);
  c->setting_pos = g_renew(struct sc_conf_pos, c->setting_pos, n + 1);
  c->setting_keys[n] = g_strdup(key);
  c->setting_pos[n] = pos;
  c->n_setting_pos = n + 1;
}

static int parse_settings(const struct sc_yreader *r, const yaml_node_t *map,
                          const char *parent, struct sc_conf_connector *c) {
  c->settings = json_object_new_object();
  yaml_node_t *s = sc_ymap_get(r, map, "settings");
  if (!s) return SC_OK;
  struct sc_ypath p = sc_ypath_key(parent, "settings");
  if (s->type != YAML_MAPPING_NODE)
    return sc_yerr(r, s, p.s, "expected a mapping, got %s", sc_ykind(s));
  for (yaml_node_pair_t *q = s->data.mapping.pairs.start;
       q < s->data.mapping.pairs.top; q++) {
    yaml_node_t *k = sc_yitem(r, q->key);
    const char *key = sc_ytext(k);
    if (!key || !*key)
      return sc_yerr(r, k, p.s, "settings keys must be plain names, got %s",
                     sc_ykind(k));
    for (size_t i = 0; i < c->n_setting_pos; i++)
      if (!strcmp(c->setting_keys[i], key))
        return sc_yerr(r, k, sc_ypath_key(p.s, key).s,
                       "duplicate key (first at line %d)",
                       c->setting_pos[i].line);
    add_setting_pos(c, key, sc_ypos(k));
    int rc = parse_setting(r, k, sc_yitem(r, q->value), p.s, c);
    if (rc) return rc;
  }
  return SC_OK;
}

static int parse_plugin(const struct sc_yreader *r, const yaml_node_t *map,
                        const char *path, struct sc_conf_connector *all,
                        size_t idx, bool staff_scope) {
  struct sc_conf_connector *c = &all[idx];
  yaml_node_t *v;
  int rc = sc_ystr(r, map, path, "plugin", true, &c->plugin, &v);
  if (rc) return rc;
  struct sc_ypath p = sc_ypath_key(path, "plugin");
  if (!sc_conf_plugin_ok(c->plugin))
    return sc_yerr(r, v, p.s,
                   "invalid plugin name \"%s\" (use 1-63 of a-z, 0-9 and \"_\")",
                   c->plugin);
  for (size_t i = 0; i < idx; i++)
    if (!strcmp(all[i].plugin, c->plugin))
      return sc_yerr(r, v, p.s,
                     "duplicate connector \"%s\" for this %s (first at line %d)",
                     c->plugin, staff_scope ? "staff member" : "location",
                     all[i].pos.line);
  return SC_OK;
}

static int parse_connector(const struct sc_yreader *r, const yaml_node_t *map,
                           const char *path, const char *org,
                           const char *location, const char *staff,
                           struct sc_conf_connector *all, size_t idx) {
  struct sc_conf_connector *c = &all[idx];
  c->pos = sc_ypos(map);
  int rc = sc_ymap_check(r, map, path, connector_keys);
  if (!rc) rc = parse_plugin(r, map, path, all, idx, staff != NULL);
  if (rc) return rc;
  c->location = g_strdup(location);
  c->staff = g_strdup(staff);
  c->instance = staff ? g_strdup_printf("%s.staff.%s.%s", org, staff, c->plugin)
                      : g_strdup_printf("%s.%s.%s", org, location, c->plugin);
  return parse_settings(r, map, path, c);
}

int sc_conf_parse_connectors(const struct sc_yreader *r,
                             const yaml_node_t *seq, const char *path,
                             const char *org, const char *location,
                             const char *staff,
                             struct sc_conf_connector **out, size_t *n_out) {
  yaml_node_item_t *items;
  size_t n;
  int rc = sc_yseq(r, seq, path, &items, &n);
  if (rc || n == 0) return rc;
  *out = g_new0(struct sc_conf_connector, n);
  for (size_t i = 0; !rc && i < n; i++) {
    (*n_out)++;
    rc = parse_connector(r, sc_yitem(r, items[i]), sc_ypath_idx(path, i).s,
                         org, location, staff, *out, i);
  }
  return rc;
}
