/*
** The YAML reader under the configuration parser: loading a document with
** libyaml, positioned error messages, key paths, and typed accessors for
** scalars, lists and mappings, plus YAML-to-JSON for opaque settings.
*/
#include "config_yaml.h"

#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Opaque settings may nest, but an alias cycle or an alias bomb must not
** take the daemon down: both limits are far above any real plugin config. */
#define SC_YJSON_MAX_DEPTH 32
#define SC_YJSON_MAX_NODES 100000

struct sc_ypath sc_ypath_key(const char *parent, const char *key) {
  struct sc_ypath p;
  if (parent && *parent)
    snprintf(p.s, sizeof p.s, "%s.%s", parent, key);
  else
    snprintf(p.s, sizeof p.s, "%s", key);
  return p;
}

struct sc_ypath sc_ypath_idx(const char *parent, size_t index) {
  struct sc_ypath p;
  snprintf(p.s, sizeof p.s, "%s[%zu]", parent ? parent : "", index);
  return p;
}

static int err_at_mark(const struct sc_yreader *r, yaml_mark_t mark,
                       const char *msg) {
  return sc_error_set(r->err, SC_EINVAL, "", "%s:%zu:%zu: %s", r->file,
                      mark.line + 1, mark.column + 1, msg);
}

/* Line and column (0-based, in bytes) of a byte offset into text. */
static yaml_mark_t mark_of_offset(const char *text, size_t len, size_t off) {
  yaml_mark_t m = {off, 0, 0};
  for (size_t i = 0; i < off && i < len; i++) {
    if (text[i] == '\n') {
      m.line++;
      m.column = 0;
    } else {
      m.column++;
    }
  }
  return m;
}

static int syntax_error(const struct sc_yreader *r, const yaml_parser_t *p,
                        const char *text, size_t len) {
  char msg[512];
  const char *problem = p->problem ? p->problem : "unreadable input";
  if (p->error == YAML_READER_ERROR) {
    /* The reader fails before the scanner has a mark (bad UTF-8, control
    ** characters) and reports a byte offset instead. */
    snprintf(msg, sizeof msg, "YAML syntax error: %s", problem);
    return err_at_mark(r, mark_of_offset(text, len, p->problem_offset), msg);
  }
  if (p->context)
    snprintf(msg, sizeof msg,
             "YAML syntax error: %s (%s that starts at line %zu, column %zu)",
             problem, p->context, p->context_mark.line + 1,
             p->context_mark.column + 1);
  else
    snprintf(msg, sizeof msg, "YAML syntax error: %s", problem);
  return err_at_mark(r, p->problem_mark, msg);
}

int sc_yreader_load(struct sc_yreader *r, const char *text, size_t len,
                    yaml_node_t **root) {
  yaml_parser_t parser;
  int rc = SC_OK;
  *root = NULL;
  if (!yaml_parser_initialize(&parser))
    return sc_error_set(r->err, SC_ENOMEM, "", "%s: out of memory", r->file);
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &r->doc)) {
    rc = syntax_error(r, &parser, text, len);
    yaml_parser_delete(&parser);
    return rc;
  }
  r->loaded = true;
  yaml_node_t *top = yaml_document_get_root_node(&r->doc);
  if (top && !sc_yis_null(top)) *root = top;
  if (!top) goto done; /* stream ended: no second document to look for */

  yaml_document_t second;
  if (!yaml_parser_load(&parser, &second)) {
    rc = syntax_error(r, &parser, text, len);
    goto done;
  }
  yaml_node_t *extra = yaml_document_get_root_node(&second);
  if (extra)
    rc = err_at_mark(r, extra->start_mark,
                     "a second YAML document; write one organization per file");
  yaml_document_delete(&second);
done:
  yaml_parser_delete(&parser);
  return rc;
}

void sc_yreader_done(struct sc_yreader *r) {
  if (r->loaded) yaml_document_delete(&r->doc);
  r->loaded = false;
}

int sc_yerr(const struct sc_yreader *r, const yaml_node_t *node,
            const char *path, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct sc_conf_pos pos = sc_ypos(node);
  if (path && *path)
    return sc_error_set(r->err, SC_EINVAL, path, "%s:%d:%d: %s: %s", r->file,
                        pos.line, pos.col, path, msg);
  return sc_error_set(r->err, SC_EINVAL, "", "%s:%d:%d: %s", r->file, pos.line,
                      pos.col, msg);
}

struct sc_conf_pos sc_ypos(const yaml_node_t *node) {
  struct sc_conf_pos pos = {1, 1};
  if (node) {
    pos.line = (int)node->start_mark.line + 1;
    pos.col = (int)node->start_mark.column + 1;
  }
  return pos;
}

static bool is_plain(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE &&
         n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

const char *sc_ytext(const yaml_node_t *node) {
  if (!node || node->type != YAML_SCALAR_NODE) return NULL;
  return (const char *)node->data.scalar.value;
}

bool sc_yis_null(const yaml_node_t *node) {
  if (!node) return true;
  if (!is_plain(node)) return false;
  const char *t = sc_ytext(node);
  return !strcmp(t, "") || !strcmp(t, "~") || !strcmp(t, "null") ||
         !strcmp(t, "Null") || !strcmp(t, "NULL");
}

/* 1 true, 0 false, -1 not a YAML boolean (YAML 1.2 core schema spellings). */
static int plain_bool(const yaml_node_t *n) {
  if (!is_plain(n)) return -1;
  const char *t = sc_ytext(n);
  if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE")) return 1;
  if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE"))
    return 0;
  return -1;
}

static bool plain_int(const yaml_node_t *n) {
  if (!is_plain(n)) return false;
  const char *t = sc_ytext(n);
  if (*t == '-' || *t == '+') t++;
  if (!*t) return false;
  for (; *t; t++)
    if (*t < '0' || *t > '9') return false;
  return true;
}

static bool plain_float(const yaml_node_t *n) {
  if (!is_plain(n)) return false;
  const char *t = sc_ytext(n);
  char *end;
  errno = 0;
  (void)strtod(t, &end);
  /* strtod also takes "inf", "nan" and hex; YAML floats start with a digit,
  ** a sign or a point. */
  return *t && !*end && errno == 0 && strchr("+-.0123456789", *t) &&
         !strpbrk(t, "xXnN");
}

const char *sc_ykind(const yaml_node_t *node) {
  if (!node || sc_yis_null(node)) return "null";
  if (node->type == YAML_MAPPING_NODE) return "a mapping";
  if (node->type == YAML_SEQUENCE_NODE) return "a list";
  if (plain_bool(node) >= 0) return "a boolean";
  if (plain_int(node)) return "an integer";
  return "a string";
}

yaml_node_t *sc_yitem(const struct sc_yreader *r, yaml_node_item_t item) {
  return yaml_document_get_node((yaml_document_t *)&r->doc, item);
}

static char *join_keys(const char *const *allowed) {
  GString *s = g_string_new(NULL);
  for (const char *const *k = allowed; *k; k++)
    g_string_append_printf(s, "%s%s", k == allowed ? "" : ", ", *k);
  return g_string_free(s, FALSE);
}

static bool key_allowed(const char *key, const char *const *allowed) {
  for (const char *const *k = allowed; *k; k++)
    if (!strcmp(key, *k)) return true;
  return false;
}

int sc_ymap_check(const struct sc_yreader *r, const yaml_node_t *node,
                  const char *path, const char *const *allowed) {
  if (!node || node->type != YAML_MAPPING_NODE)
    return sc_yerr(r, node, path, "expected a mapping, got %s",
                   sc_ykind(node));
  yaml_node_pair_t *b = node->data.mapping.pairs.start;
  yaml_node_pair_t *e = node->data.mapping.pairs.top;
  for (yaml_node_pair_t *p = b; p < e; p++) {
    yaml_node_t *k = sc_yitem(r, p->key);
    const char *key = sc_ytext(k);
    if (!key)
      return sc_yerr(r, k, path, "mapping keys must be plain names, got %s",
                     sc_ykind(k));
    struct sc_ypath kp = sc_ypath_key(path, key);
    if (!key_allowed(key, allowed)) {
      char *valid = join_keys(allowed);
      int rc = sc_yerr(r, k, kp.s, "unknown key; valid keys: %s", valid);
      g_free(valid);
      return rc;
    }
    for (yaml_node_pair_t *q = b; q < p; q++)
      if (!strcmp(sc_ytext(sc_yitem(r, q->key)), key))
        return sc_yerr(r, k, kp.s, "duplicate key (first at line %d)",
                       sc_ypos(sc_yitem(r, q->key)).line);
  }
  return SC_OK;
}

static yaml_node_t *map_lookup(const struct sc_yreader *r,
                               const yaml_node_t *map, const char *key) {
  yaml_node_pair_t *e = map->data.mapping.pairs.top;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < e; p++) {
    const char *k = sc_ytext(sc_yitem(r, p->key));
    if (k && !strcmp(k, key)) return sc_yitem(r, p->value);
  }
  return NULL;
}

yaml_node_t *sc_ymap_get(const struct sc_yreader *r, const yaml_node_t *map,
                         const char *key) {
  yaml_node_t *v = map_lookup(r, map, key);
  return sc_yis_null(v) ? NULL : v;
}

int sc_ymap_need(const struct sc_yreader *r, const yaml_node_t *map,
                 const char *path, const char *key, yaml_node_t **out) {
  struct sc_ypath kp = sc_ypath_key(path, key);
  yaml_node_t *v = map_lookup(r, map, key);
  if (!v) return sc_yerr(r, map, kp.s, "required key missing");
  if (sc_yis_null(v)) return sc_yerr(r, v, kp.s, "required value is empty");
  *out = v;
  return SC_OK;
}

int sc_yseq(const struct sc_yreader *r, const yaml_node_t *node,
            const char *path, yaml_node_item_t **items, size_t *n) {
  if (!node || node->type != YAML_SEQUENCE_NODE)
    return sc_yerr(r, node, path, "expected a list, got %s", sc_ykind(node));
  *items = node->data.sequence.items.start;
  *n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
  return SC_OK;
}

int sc_yscalar_str(const struct sc_yreader *r, const yaml_node_t *node,
                   const char *path, char **out) {
  if (!node || node->type != YAML_SCALAR_NODE || sc_yis_null(node))
    return sc_yerr(r, node, path, "expected a string, got %s", sc_ykind(node));
  if (!*sc_ytext(node)) return sc_yerr(r, node, path, "must not be empty");
  *out = g_strdup(sc_ytext(node));
  return SC_OK;
}

static int get_value(const struct sc_yreader *r, const yaml_node_t *map,
                     const char *parent, const char *key, bool required,
                     yaml_node_t **v) {
  if (required) return sc_ymap_need(r, map, parent, key, v);
  *v = sc_ymap_get(r, map, key);
  return SC_OK;
}

int sc_ystr(const struct sc_yreader *r, const yaml_node_t *map,
            const char *parent, const char *key, bool required, char **out,
            yaml_node_t **node_out) {
  yaml_node_t *v;
  int rc = get_value(r, map, parent, key, required, &v);
  if (node_out) *node_out = v;
  if (rc || !v) return rc;
  return sc_yscalar_str(r, v, sc_ypath_key(parent, key).s, out);
}

int sc_yint(const struct sc_yreader *r, const yaml_node_t *map,
            const char *parent, const char *key, bool required, int min,
            int max, int *out) {
  yaml_node_t *v;
  int rc = get_value(r, map, parent, key, required, &v);
  if (rc || !v) return rc;
  struct sc_ypath kp = sc_ypath_key(parent, key);
  if (!plain_int(v)) {
    if (v->type == YAML_SCALAR_NODE)
      return sc_yerr(r, v, kp.s, "expected an integer, got \"%s\"",
                     sc_ytext(v));
    return sc_yerr(r, v, kp.s, "expected an integer, got %s", sc_ykind(v));
  }
  errno = 0;
  long long x = strtoll(sc_ytext(v), NULL, 10);
  if (errno || x < min || x > max) {
    if (max == INT_MAX)
      return sc_yerr(r, v, kp.s, "must be at least %d, got %s", min,
                     sc_ytext(v));
    return sc_yerr(r, v, kp.s, "must be from %d to %d, got %s", min, max,
                   sc_ytext(v));
  }
  *out = (int)x;
  return SC_OK;
}

int sc_ybool(const struct sc_yreader *r, const yaml_node_t *map,
             const char *parent, const char *key, int *out) {
  yaml_node_t *v = sc_ymap_get(r, map, key);
  if (!v) return SC_OK;
  int b = plain_bool(v);
  if (b < 0) {
    struct sc_ypath kp = sc_ypath_key(parent, key);
    if (v->type == YAML_SCALAR_NODE)
      return sc_yerr(r, v, kp.s, "expected true or false, got \"%s\"",
                     sc_ytext(v));
    return sc_yerr(r, v, kp.s, "expected true or false, got %s", sc_ykind(v));
  }
  *out = b;
  return SC_OK;
}

static json_object *scalar_json(const yaml_node_t *n) {
  const char *t = sc_ytext(n);
  if (sc_yis_null(n)) return NULL;
  int b = plain_bool(n);
  if (b >= 0) return json_object_new_boolean(b);
  if (plain_int(n)) {
    errno = 0;
    long long x = strtoll(t, NULL, 10);
    /* Too large for int64: keep the digits rather than lose precision. */
    if (!errno) return json_object_new_int64(x);
    return json_object_new_string(t);
  }
  if (plain_float(n)) return json_object_new_double_s(strtod(t, NULL), t);
  return json_object_new_string(t);
}

static int yjson(const struct sc_yreader *r, const yaml_node_t *n,
                 const char *path, int depth, long *budget, json_object **out);

static int yjson_seq(const struct sc_yreader *r, const yaml_node_t *n,
                     const char *path, int depth, long *budget,
                     json_object *arr) {
  yaml_node_item_t *it = n->data.sequence.items.start;
  for (size_t i = 0; it < n->data.sequence.items.top; it++, i++) {
    json_object *v;
    int rc = yjson(r, sc_yitem(r, *it), sc_ypath_idx(path, i).s, depth + 1,
                   budget, &v);
    if (rc) return rc;
    json_object_array_add(arr, v);
  }
  return SC_OK;
}

static int yjson_map(const struct sc_yreader *r, const yaml_node_t *n,
                     const char *path, int depth, long *budget,
                     json_object *obj) {
  yaml_node_pair_t *e = n->data.mapping.pairs.top;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < e; p++) {
    yaml_node_t *k = sc_yitem(r, p->key);
    const char *key = sc_ytext(k);
    if (!key)
      return sc_yerr(r, k, path, "mapping keys must be plain names, got %s",
                     sc_ykind(k));
    struct sc_ypath kp = sc_ypath_key(path, key);
    if (json_object_object_get_ex(obj, key, NULL))
      return sc_yerr(r, k, kp.s, "duplicate key");
    json_object *v;
    int rc = yjson(r, sc_yitem(r, p->value), kp.s, depth + 1, budget, &v);
    if (rc) return rc;
    json_object_object_add(obj, key, v);
  }
  return SC_OK;
}

static int yjson(const struct sc_yreader *r, const yaml_node_t *n,
                 const char *path, int depth, long *budget, json_object **out) {
  *out = NULL;
  if (depth > SC_YJSON_MAX_DEPTH)
    return sc_yerr(r, n, path, "nested more than %d levels deep",
                   SC_YJSON_MAX_DEPTH);
  if (--*budget < 0)
    return sc_yerr(r, n, path, "more than %d values (alias expansion?)",
                   SC_YJSON_MAX_NODES);
  if (n->type == YAML_SCALAR_NODE) {
    *out = scalar_json(n);
    return SC_OK;
  }
  bool seq = n->type == YAML_SEQUENCE_NODE;
  json_object *c = seq ? json_object_new_array() : json_object_new_object();
  int rc = seq ? yjson_seq(r, n, path, depth, budget, c)
               : yjson_map(r, n, path, depth, budget, c);
  if (rc) {
    json_object_put(c);
    return rc;
  }
  *out = c;
  return SC_OK;
}

int sc_yjson(const struct sc_yreader *r, const yaml_node_t *node,
             const char *path, json_object **out) {
  long budget = SC_YJSON_MAX_NODES;
  return yjson(r, node, path, 0, &budget, out);
}
