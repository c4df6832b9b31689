/*
** Request-body reading helpers over json-c (see json_input.h).
*/
#include "json_input.h"

#include <string.h>

int sc_json_parse_object(const char *body, size_t len, json_object **out,
                         struct sc_error *err) {
  json_tokener *tok = json_tokener_new();
  json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t offset = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  /* Trailing bytes after one complete value are malformed too. */
  while (jerr == json_tokener_success && offset < len &&
         strchr(" \t\r\n", body[offset]))
    offset++;
  if (jerr != json_tokener_success || !obj || offset < len) {
    json_object_put(obj);
    sc_error_set(err, SC_EINVAL, "$", "$: invalid JSON at byte %zu", offset);
    return sc_error_kind(err, "malformed_json");
  }
  if (!json_object_is_type(obj, json_type_object)) {
    json_object_put(obj);
    return sc_error_set(err, SC_EINVAL, "$", "$: expected a JSON object");
  }
  *out = obj;
  return SC_OK;
}

int sc_json_only_keys(json_object *obj, const char *const *allowed,
                      struct sc_error *err) {
  json_object_object_foreach(obj, key, val) {
    (void)val;
    int ok = 0;
    for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, key) == 0;
    if (ok) continue;
    char list[768] = "";
    for (const char *const *a = allowed; *a; a++) {
      if (*list) strncat(list, ", ", sizeof list - strlen(list) - 1);
      strncat(list, *a, sizeof list - strlen(list) - 1);
    }
    return sc_error_set(err, SC_EINVAL, key, "%s: unknown field; valid fields: %s", key, list);
  }
  return SC_OK;
}

static json_object *lookup(json_object *obj, const char *key, enum sc_json_has *has) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(obj, key, &v)) {
    *has = SC_JSON_ABSENT;
    return NULL;
  }
  *has = v ? SC_JSON_VALUE : SC_JSON_NULL;
  return v;
}

int sc_json_string(json_object *obj, const char *key, enum sc_json_has *has,
                   const char **out, size_t max_len, struct sc_error *err) {
  json_object *v = lookup(obj, key, has);
  *out = NULL;
  if (*has != SC_JSON_VALUE) return SC_OK;
  if (!json_object_is_type(v, json_type_string))
    return sc_error_set(err, SC_EINVAL, key, "%s: expected a string", key);
  size_t n = (size_t)json_object_get_string_len(v);
  if (n > (max_len ? max_len : 10000))
    return sc_error_set(err, SC_EINVAL, key, "%s: longer than %zu characters", key,
                        max_len ? max_len : 10000);
  if (strlen(json_object_get_string(v)) != n)
    return sc_error_set(err, SC_EINVAL, key, "%s: contains a NUL character", key);
  *out = json_object_get_string(v);
  return SC_OK;
}

int sc_json_bool(json_object *obj, const char *key, enum sc_json_has *has,
                 int *out, struct sc_error *err) {
  json_object *v = lookup(obj, key, has);
  if (*has != SC_JSON_VALUE) return SC_OK;
  if (!json_object_is_type(v, json_type_boolean))
    return sc_error_set(err, SC_EINVAL, key, "%s: expected true or false", key);
  *out = json_object_get_boolean(v);
  return SC_OK;
}

int sc_json_int(json_object *obj, const char *key, enum sc_json_has *has,
                long *out, long min, long max, struct sc_error *err) {
  json_object *v = lookup(obj, key, has);
  if (*has != SC_JSON_VALUE) return SC_OK;
  if (!json_object_is_type(v, json_type_int))
    return sc_error_set(err, SC_EINVAL, key, "%s: expected a whole number", key);
  int64_t n = json_object_get_int64(v);
  if (n < min || n > max)
    return sc_error_set(err, SC_EINVAL, key, "%s: must be between %ld and %ld", key, min, max);
  *out = (long)n;
  return SC_OK;
}

int sc_json_object(json_object *obj, const char *key, enum sc_json_has *has,
                   json_object **out, struct sc_error *err) {
  json_object *v = lookup(obj, key, has);
  *out = NULL;
  if (*has != SC_JSON_VALUE) return SC_OK;
  if (!json_object_is_type(v, json_type_object))
    return sc_error_set(err, SC_EINVAL, key, "%s: expected a JSON object", key);
  *out = v;
  return SC_OK;
}

void sc_json_merge_patch(json_object *target, json_object *patch) {
  json_object_object_foreach(patch, key, val) {
    json_object *cur = NULL;
    if (!val) {
      json_object_object_del(target, key);
    } else if (json_object_is_type(val, json_type_object) &&
               json_object_object_get_ex(target, key, &cur) && cur &&
               json_object_is_type(cur, json_type_object)) {
      sc_json_merge_patch(cur, val);
    } else if (json_object_is_type(val, json_type_object)) {
      json_object *fresh = json_object_new_object();
      sc_json_merge_patch(fresh, val);
      json_object_object_add(target, key, fresh);
    } else {
      json_object_object_add(target, key, json_object_get(val));
    }
  }
}
