/*
** Connector settings: validation against the declared map, defaults,
** typed getters for connectors, and the describe text.
*/
#include "plugin_settings.h"

#include <stdlib.h>
#include <string.h>

const char *sc_setting_type_name(uint32_t type) {
  switch (type) {
  case SIDECAL_SETTING_STRING: return "string";
  case SIDECAL_SETTING_INT: return "int";
  case SIDECAL_SETTING_BOOL: return "bool";
  case SIDECAL_SETTING_STRING_LIST: return "string_list";
  case SIDECAL_SETTING_MAP: return "map";
  default: return NULL;
  }
}

static const char *json_kind(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null: return "null";
  case json_type_boolean: return "a boolean";
  case json_type_double: return "a decimal number";
  case json_type_int: return "an integer";
  case json_type_object: return "a map";
  case json_type_array: return "a list";
  case json_type_string: return "a string";
  }
  return "unknown";
}

static const char *expected_kind(uint32_t type) {
  switch (type) {
  case SIDECAL_SETTING_STRING: return "a string";
  case SIDECAL_SETTING_INT: return "an integer";
  case SIDECAL_SETTING_BOOL: return "a boolean (true or false)";
  case SIDECAL_SETTING_STRING_LIST: return "a list of strings";
  default: return "a map of strings";
  }
}

int sc_setting_value_ok(uint32_t type, json_object *v, char *why, size_t why_size) {
  json_type want = type == SIDECAL_SETTING_STRING ? json_type_string
                 : type == SIDECAL_SETTING_INT ? json_type_int
                 : type == SIDECAL_SETTING_BOOL ? json_type_boolean
                 : type == SIDECAL_SETTING_STRING_LIST ? json_type_array
                 : json_type_object;
  if (!json_object_is_type(v, want)) {
    snprintf(why, why_size, "expected %s, got %s", expected_kind(type), json_kind(v));
    return 0;
  }
  if (type == SIDECAL_SETTING_STRING_LIST) {
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
      json_object *item = json_object_array_get_idx(v, i);
      if (!json_object_is_type(item, json_type_string)) {
        snprintf(why, why_size, "expected a list of strings; item %zu is %s", i,
                 json_kind(item));
        return 0;
      }
    }
  } else if (type == SIDECAL_SETTING_MAP) {
    json_object_object_foreach(v, k, item) {
      if (!json_object_is_type(item, json_type_string)) {
        snprintf(why, why_size, "expected a map of strings; \"%s\" is %s", k,
                 json_kind(item));
        return 0;
      }
    }
  }
  return 1;
}

static int name_ok(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

int sc_setting_defs_check(const struct sidecal_setting_def *defs, size_t n,
                          char *why, size_t why_size) {
  for (size_t i = 0; i < n; i++) {
    const struct sidecal_setting_def *d = &defs[i];
    if (!name_ok(d->name)) {
      snprintf(why, why_size, "setting %zu has an invalid name (want [a-z0-9_]+)", i);
      return SC_EINVAL;
    }
    for (size_t j = 0; j < i; j++)
      if (!strcmp(defs[j].name, d->name)) {
        snprintf(why, why_size, "setting \"%s\" is declared twice", d->name);
        return SC_EINVAL;
      }
    if (!sc_setting_type_name(d->type)) {
      snprintf(why, why_size, "setting \"%s\" has unknown type %u", d->name, d->type);
      return SC_EINVAL;
    }
    if (d->flags & ~(SIDECAL_SETTING_REQUIRED | SIDECAL_SETTING_SECRET)) {
      snprintf(why, why_size, "setting \"%s\" has unknown flags 0x%x", d->name, d->flags);
      return SC_EINVAL;
    }
    if ((d->flags & SIDECAL_SETTING_SECRET) && d->type != SIDECAL_SETTING_STRING) {
      snprintf(why, why_size, "secret setting \"%s\" must be a string", d->name);
      return SC_EINVAL;
    }
    if (!d->default_json) continue;
    if (d->flags & SIDECAL_SETTING_SECRET) {
      snprintf(why, why_size, "secret setting \"%s\" must not have a default", d->name);
      return SC_EINVAL;
    }
    json_object *v = json_tokener_parse(d->default_json);
    char reason[160];
    int ok = v && sc_setting_value_ok(d->type, v, reason, sizeof reason);
    json_object_put(v);
    if (!ok) {
      snprintf(why, why_size, "setting \"%s\": default %s is not valid %s", d->name,
               d->default_json, sc_setting_type_name(d->type));
      return SC_EINVAL;
    }
  }
  return SC_OK;
}

static const struct sidecal_setting_def *find_def(const struct sidecal_setting_def *defs,
                                                  size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(defs[i].name, key)) return &defs[i];
  return NULL;
}

static const struct sc_conf_secret *find_secret(const struct sc_conf_connector *c,
                                                const char *key) {
  for (size_t i = 0; i < c->n_secrets; i++)
    if (!strcmp(c->secrets[i].name, key)) return &c->secrets[i];
  return NULL;
}

static int key_listed(const struct sc_conf_connector *c, const char *key) {
  for (size_t i = 0; i < c->n_setting_pos; i++)
    if (!strcmp(c->setting_keys[i], key)) return 1;
  return 0;
}

struct vctx {
  const struct sidecal_setting_def *defs;
  size_t n_defs;
  const char *file;
  const char *path;
  const struct sc_conf_connector *conf;
  struct sc_error *err;
};

static int fail(const struct vctx *v, struct sc_conf_pos pos, const char *key,
                const char *msg) {
  char field[128];
  snprintf(field, sizeof field, "%s.settings.%s", v->path, key);
  return sc_error_set(v->err, SC_EINVAL, field, "%s:%d:%d: %s.settings.%s: %s",
                      v->file, pos.line, pos.col, v->path, key, msg);
}

static void valid_keys(const struct vctx *v, char *buf, size_t size) {
  if (!v->n_defs) {
    snprintf(buf, size, "unknown setting; this connector takes no settings");
    return;
  }
  size_t len = (size_t)snprintf(buf, size, "unknown setting; valid keys: ");
  for (size_t i = 0; i < v->n_defs && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                            v->defs[i].name);
}

/* The per-key checks, shared by keys with and without a known position. */
static int check_key(const struct vctx *v, const char *key, struct sc_conf_pos pos) {
  const struct sidecal_setting_def *d = find_def(v->defs, v->n_defs, key);
  char msg[900];
  if (!d) {
    valid_keys(v, msg, sizeof msg);
    return fail(v, pos, key, msg);
  }
  json_object *val = NULL;
  int inline_given = v->conf->settings &&
                     json_object_object_get_ex(v->conf->settings, key, &val);
  int secret = (d->flags & SIDECAL_SETTING_SECRET) != 0;
  if (inline_given && secret)
    return fail(v, pos, key,
                "is a secret: write a reference (env:NAME or file:PATH), not the value");
  if (!inline_given && !secret && find_secret(v->conf, key))
    return fail(v, pos, key,
                "is not a secret: write the value itself, not an env:/file: reference");
  if (inline_given && !sc_setting_value_ok(d->type, val, msg, sizeof msg))
    return fail(v, pos, key, msg);
  return SC_OK;
}

static int check_all(const struct vctx *v) {
  const struct sc_conf_connector *c = v->conf;
  for (size_t i = 0; i < c->n_setting_pos; i++) {
    int rc = check_key(v, c->setting_keys[i], c->setting_pos[i]);
    if (rc) return rc;
  }
  if (c->settings) {
    json_object_object_foreach(c->settings, key, val) {
      (void)val;
      if (key_listed(c, key)) continue;
      int rc = check_key(v, key, c->pos);
      if (rc) return rc;
    }
  }
  for (size_t i = 0; i < c->n_secrets; i++) {
    if (key_listed(c, c->secrets[i].name)) continue;
    int rc = check_key(v, c->secrets[i].name, c->pos);
    if (rc) return rc;
  }
  for (size_t i = 0; i < v->n_defs; i++) {
    const struct sidecal_setting_def *d = &v->defs[i];
    if (!(d->flags & SIDECAL_SETTING_REQUIRED)) continue;
    int given = (c->settings && json_object_object_get_ex(c->settings, d->name, NULL)) ||
                find_secret(c, d->name);
    if (!given) {
      char msg[300];
      snprintf(msg, sizeof msg, "required %s%s setting is missing",
               (d->flags & SIDECAL_SETTING_SECRET) ? "secret " : "",
               sc_setting_type_name(d->type));
      return fail(v, c->pos, d->name, msg);
    }
  }
  return SC_OK;
}

int sc_plugin_settings_validate(const struct sidecal_setting_def *defs,
                                size_t n_defs, const char *file,
                                const char *path,
                                const struct sc_conf_connector *conf,
                                struct sidecal_settings **out,
                                struct sc_error *err) {
  struct vctx v = {defs, n_defs, file ? file : "?", path ? path : "connector", conf, err};
  int rc = check_all(&v);
  if (rc) return rc;
  struct sidecal_settings *s = calloc(1, sizeof *s);
  if (!s || !(s->values = json_object_new_object())) {
    free(s);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  }
  s->defs = defs;
  s->n_defs = n_defs;
  for (size_t i = 0; i < n_defs; i++) {
    json_object *val = NULL;
    if (conf->settings && json_object_object_get_ex(conf->settings, defs[i].name, &val))
      json_object_object_add(s->values, defs[i].name, json_object_get(val));
    else if (defs[i].default_json)
      json_object_object_add(s->values, defs[i].name,
                             json_tokener_parse(defs[i].default_json));
  }
  *out = s;
  return SC_OK;
}

void sc_plugin_settings_free(struct sidecal_settings *s) {
  if (!s) return;
  json_object_put(s->values);
  free(s);
}

void sc_plugin_settings_describe(const struct sidecal_setting_def *defs,
                                 size_t n_defs, FILE *out) {
  if (!n_defs) {
    fprintf(out, "settings: none\n");
    return;
  }
  fprintf(out, "settings:\n");
  for (size_t i = 0; i < n_defs; i++) {
    const struct sidecal_setting_def *d = &defs[i];
    fprintf(out, "  %s (%s%s%s", d->name, sc_setting_type_name(d->type),
            (d->flags & SIDECAL_SETTING_REQUIRED) ? ", required" : ", optional",
            (d->flags & SIDECAL_SETTING_SECRET) ? ", secret: env:NAME or file:PATH" : "");
    if (d->default_json) fprintf(out, ", default %s", d->default_json);
    fprintf(out, ")\n      %s\n", d->description ? d->description : "(no description)");
  }
}

/* Getters: a key the connector did not declare with this type is absent. */
static json_object *typed(const struct sidecal_settings *s, const char *key,
                          uint32_t type) {
  if (!s || !key) return NULL;
  const struct sidecal_setting_def *d = find_def(s->defs, s->n_defs, key);
  json_object *v = NULL;
  if (!d || d->type != type || !json_object_object_get_ex(s->values, key, &v)) return NULL;
  return v;
}

const char *sc_setting_string(const struct sidecal_settings *s, const char *key) {
  json_object *v = typed(s, key, SIDECAL_SETTING_STRING);
  return v ? json_object_get_string(v) : NULL;
}

int32_t sc_setting_int(const struct sidecal_settings *s, const char *key, int64_t *out) {
  json_object *v = typed(s, key, SIDECAL_SETTING_INT);
  if (!v) return -1;
  *out = json_object_get_int64(v);
  return 0;
}

int32_t sc_setting_bool(const struct sidecal_settings *s, const char *key, int32_t *out) {
  json_object *v = typed(s, key, SIDECAL_SETTING_BOOL);
  if (!v) return -1;
  *out = json_object_get_boolean(v) ? 1 : 0;
  return 0;
}

uint32_t sc_setting_list_len(const struct sidecal_settings *s, const char *key) {
  json_object *v = typed(s, key, SIDECAL_SETTING_STRING_LIST);
  return v ? (uint32_t)json_object_array_length(v) : 0;
}

const char *sc_setting_list_item(const struct sidecal_settings *s, const char *key,
                                 uint32_t i) {
  json_object *v = typed(s, key, SIDECAL_SETTING_STRING_LIST);
  if (!v || i >= json_object_array_length(v)) return NULL;
  return json_object_get_string(json_object_array_get_idx(v, i));
}

uint32_t sc_setting_map_len(const struct sidecal_settings *s, const char *key) {
  json_object *v = typed(s, key, SIDECAL_SETTING_MAP);
  return v ? (uint32_t)json_object_object_length(v) : 0;
}

const char *sc_setting_map_key(const struct sidecal_settings *s, const char *key,
                               uint32_t i) {
  json_object *v = typed(s, key, SIDECAL_SETTING_MAP);
  if (!v) return NULL;
  uint32_t n = 0;
  json_object_object_foreach(v, k, item) {
    (void)item;
    if (n++ == i) return k;
  }
  return NULL;
}

const char *sc_setting_map_value(const struct sidecal_settings *s, const char *key,
                                 const char *map_key) {
  json_object *v = typed(s, key, SIDECAL_SETTING_MAP), *item = NULL;
  if (!v || !map_key || !json_object_object_get_ex(v, map_key, &item)) return NULL;
  return json_object_get_string(item);
}
