/*
** Value formats of conf.d/: slugs, plugin names, HH:MM times, dates, local
** date-times, IANA time zones, RRULEs, colours, URLs, e-mail addresses and
** prices.
**
** Contract: the sc_conf_*_ok predicates only answer yes/no. The sc_yget_*
** readers fetch map[key] through the YAML reader, validate it and report a
** positioned error naming the expected format and the value found; when an
** optional key is absent they succeed and leave *out unchanged.
*/
#ifndef SC_CONFIG_VALUES_H
#define SC_CONFIG_VALUES_H

#include <stdbool.h>

#include "config_yaml.h"

/* Length of a normalized local date-time "YYYY-MM-DDTHH:MM:SS" plus NUL. */
#define SC_CONF_DATETIME_LEN 20

bool sc_conf_slug_ok(const char *s);   /* [a-z0-9][a-z0-9-]{0,62} */
bool sc_conf_plugin_ok(const char *s); /* [a-z0-9_]{1,63} */
bool sc_conf_env_name_ok(const char *s); /* [A-Za-z_][A-Za-z0-9_]* */
bool sc_conf_date_ok(const char *s);   /* YYYY-MM-DD, a real calendar day */
/* "HH:MM" 00:00..23:59, or "24:00" when allow_24; minutes after midnight. */
bool sc_conf_hhmm(const char *s, bool allow_24, int *minutes);
/* "YYYY-MM-DDTHH:MM" or "...:SS" into "YYYY-MM-DDTHH:MM:SS". */
bool sc_conf_datetime(const char *s, char out[SC_CONF_DATETIME_LEN]);
bool sc_conf_timezone_ok(const char *s);
bool sc_conf_color_ok(const char *s);  /* #RRGGBB */
bool sc_conf_url_ok(const char *s);    /* http(s)://host... */
bool sc_conf_email_ok(const char *s);
bool sc_conf_price_ok(const char *s);  /* fits numeric(10,2) */
/* NULL when libical accepts rule starting at the local date-time dtstart,
** else a short reason. */
const char *sc_conf_rrule_problem(const char *rule, const char *dtstart);

int sc_yget_slug(const struct sc_yreader *r, const yaml_node_t *map,
                 const char *parent, const char *key, bool required,
                 char **out);
int sc_yget_timezone(const struct sc_yreader *r, const yaml_node_t *map,
                     const char *parent, const char *key, bool required,
                     char **out);
int sc_yget_date(const struct sc_yreader *r, const yaml_node_t *map,
                 const char *parent, const char *key, bool required,
                 char **out);
int sc_yget_hhmm(const struct sc_yreader *r, const yaml_node_t *map,
                 const char *parent, const char *key, bool allow_24,
                 int *minutes);
int sc_yget_datetime(const struct sc_yreader *r, const yaml_node_t *node,
                     const char *path, char **out);
/* A scalar list item that must name a slug. */
int sc_yitem_slug(const struct sc_yreader *r, const yaml_node_t *node,
                  const char *path, char **out);

#endif
