/*
** Helpers shared by the plugin host and registry tests: locating built
** fixture plugins, staging them in a private plugin directory, a sink that
** records what a connector reports, and hand-built conf.d connector structs
** (the YAML parser is another module; these are the structs it produces).
*/
#ifndef SC_TEST_PLUGIN_TEST_H
#define SC_TEST_PLUGIN_TEST_H

#include <glib.h>
#include <json-c/json.h>
#include <sidecal/connector.h>

#include "config.h"

/* 0 under AddressSanitizer: a dlclose()d module that allocated global
** caches (libical does) shows up as leaks from "<unknown module>", so
** tests keep such modules mapped there, as the registry does. */
int pt_may_unload(void);

/* $SIDECAL_BUILD_ROOT/<rel> (e.g. "tests/plugins/fixture_v1.so"). */
gchar *pt_build_path(const char *rel);

/* A fresh temporary directory with plugins/ and cache/ under it. */
struct pt_dirs {
  gchar *root;
  gchar *plugins;
  gchar *cache;
};
void pt_dirs_init(struct pt_dirs *d);
void pt_dirs_free(struct pt_dirs *d); /* removes the tree */

/* Copies a built module to <plugins>/<as>.so with the given mode, via a
** temporary file and rename() as an installer would. */
void pt_stage(const struct pt_dirs *d, const char *built_rel, const char *as, int mode);

/* Records sink output. */
struct pt_sink {
  struct sidecal_sink sink;
  GPtrArray *ids;       /* char* external ids */
  GPtrArray *titles;    /* char* titles ("" when NULL) */
  GArray *starts;       /* int64 start_utc */
  GArray *ends;         /* int64 end_utc */
  GArray *all_day;      /* uint32 */
  GPtrArray *tzids;     /* char* ("" when NULL) */
  GPtrArray *emails;    /* char* first attendee email, "" when none */
  gchar *cursor;
};
void pt_sink_init(struct pt_sink *s);
void pt_sink_clear(struct pt_sink *s);

/* A connector block as conf.d would give it; keys are placed on lines
** 10, 11, ... column 7 in the order given; the connector itself at 8:5. */
struct sc_conf_connector *pt_connector(const char *plugin, const char *instance,
                                       const char *settings_json,
                                       const char *const *secret_names,
                                       const char *const *secret_refs, size_t n_secrets);
void pt_connector_free(struct sc_conf_connector *c);

#endif
