/*
** Typed access to a libyaml document for the configuration parser.
**
** Contract: a reader owns one loaded YAML document and knows the file name
** used in messages. Every accessor either succeeds or fills the reader's
** sc_error with "<file>:<line>:<col>: <key path>: <message>" (1-based line and
** column of the offending node) and returns SC_EINVAL. Key paths are built by
** the caller with sc_ypath_key()/sc_ypath_idx() ("locations[1].timezone").
** A key whose value is YAML null ("email:" or "email: ~") counts as absent.
*/
#ifndef SC_CONFIG_YAML_H
#define SC_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <yaml.h>

#include "config.h"
#include "error.h"

struct sc_yreader {
  yaml_document_t doc;
  bool loaded;
  const char *file;
  struct sc_error *err;
};

/* A key path; long enough for any path a config can reasonably have, and
** truncated (never overflowed) beyond that. */
struct sc_ypath {
  char s[256];
};

struct sc_ypath sc_ypath_key(const char *parent, const char *key);
struct sc_ypath sc_ypath_idx(const char *parent, size_t index);

/* Parse `len` bytes of YAML. An empty document leaves root NULL (SC_OK).
** Syntax errors and a second document are reported with their position. */
int sc_yreader_load(struct sc_yreader *r, const char *text, size_t len,
                    yaml_node_t **root);
void sc_yreader_done(struct sc_yreader *r);

int sc_yerr(const struct sc_yreader *r, const yaml_node_t *node,
            const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
struct sc_conf_pos sc_ypos(const yaml_node_t *node);
/* "a mapping", "a list", "null", "an integer", "a boolean", "a string". */
const char *sc_ykind(const yaml_node_t *node);
bool sc_yis_null(const yaml_node_t *node);
/* Scalar text, or NULL for non-scalars. */
const char *sc_ytext(const yaml_node_t *node);
yaml_node_t *sc_yitem(const struct sc_yreader *r, yaml_node_item_t item);

/* node must be a mapping whose keys are unique scalars from `allowed`
** (NULL-terminated). */
int sc_ymap_check(const struct sc_yreader *r, const yaml_node_t *node,
                  const char *path, const char *const *allowed);
/* Value of key in a checked mapping; NULL when absent or null. */
yaml_node_t *sc_ymap_get(const struct sc_yreader *r, const yaml_node_t *map,
                         const char *key);
/* Like sc_ymap_get, but a missing key is an error at the mapping. */
int sc_ymap_need(const struct sc_yreader *r, const yaml_node_t *map,
                 const char *path, const char *key, yaml_node_t **out);

/* node must be a list; *items points into the document. */
int sc_yseq(const struct sc_yreader *r, const yaml_node_t *node,
            const char *path, yaml_node_item_t **items, size_t *n);

/* Non-empty scalar text of node, g_strdup'ed into *out. */
int sc_yscalar_str(const struct sc_yreader *r, const yaml_node_t *node,
                   const char *path, char **out);
/* map[key] as a non-empty string; when absent: error if required, else
** *out stays NULL. *node_out (may be NULL) receives the value node. */
int sc_ystr(const struct sc_yreader *r, const yaml_node_t *map,
            const char *parent, const char *key, bool required, char **out,
            yaml_node_t **node_out);
/* map[key] as an integer in [min, max]; *out is left as is when absent. */
int sc_yint(const struct sc_yreader *r, const yaml_node_t *map,
            const char *parent, const char *key, bool required, int min,
            int max, int *out);
/* map[key] as true/false; *out is left as is when absent. */
int sc_ybool(const struct sc_yreader *r, const yaml_node_t *map,
             const char *parent, const char *key, int *out);

/* Any YAML value as JSON: plain scalars become null, booleans, integers or
** numbers; quoted scalars stay strings. Mapping keys must be unique. */
int sc_yjson(const struct sc_yreader *r, const yaml_node_t *node,
             const char *path, json_object **out);

#endif
