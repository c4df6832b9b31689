/*
** Internal interface between the pieces of the conf.d/ parser (config.c,
** config_org.c, config_schedule.c, config_connector.c). Not for other
** modules: they use config.h.
**
** Contract: every sc_conf_parse_* function validates one YAML section under
** `path` and appends to the given arrays. On error it returns SC_EINVAL with
** the reader's error set; whatever it already appended is owned by the
** arrays (counts are kept exact), so the caller's free releases it.
*/
#ifndef SC_CONFIG_PARSE_H
#define SC_CONFIG_PARSE_H

#include "config.h"
#include "config_yaml.h"

/* Where a list of blocks lives. */
struct sc_conf_block_scope {
  const struct sc_conf_org *org;
  const char *location;   /* location slug, NULL for staff-wide blocks */
  const char *default_tz; /* NULL: each block must name its timezone */
  const char *staff;      /* staff-wide blocks: the owner; else NULL */
};

/* The whole organization file: `root` is the document's top mapping. */
int sc_conf_parse_org(const struct sc_yreader *r, const yaml_node_t *root,
                      struct sc_conf_org *org);

int sc_conf_parse_rules(const struct sc_yreader *r, const yaml_node_t *seq,
                        const char *path, const struct sc_conf_org *org,
                        struct sc_conf_location *loc);
int sc_conf_parse_overrides(const struct sc_yreader *r,
                            const yaml_node_t *seq, const char *path,
                            const struct sc_conf_org *org,
                            struct sc_conf_location *loc);
int sc_conf_parse_blocks(const struct sc_yreader *r, const yaml_node_t *seq,
                         const char *path,
                         const struct sc_conf_block_scope *scope,
                         struct sc_conf_block **blocks, size_t *n);
/* Exactly one of location / staff is set (the scope). */
int sc_conf_parse_connectors(const struct sc_yreader *r,
                             const yaml_node_t *seq, const char *path,
                             const char *org, const char *location,
                             const char *staff,
                             struct sc_conf_connector **out, size_t *n);

void sc_conf_rule_clear(struct sc_conf_rule *r);
void sc_conf_override_clear(struct sc_conf_override *o);
void sc_conf_block_clear(struct sc_conf_block *b);
void sc_conf_connector_clear(struct sc_conf_connector *c);

#endif
