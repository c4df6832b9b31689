/*
** Typed connector settings: validation of an instance's `settings:` block
** from conf.d against the map its connector declares (sidecal/settings.h),
** the host side of the settings getters, and the map printed as docs.
**
** Contract: sc_plugin_settings_validate() checks every key and either
** returns SC_OK with *out set to a new settings object (given values plus
** defaults; secrets are not in it, they stay references), or SC_EINVAL with
** err->message
**   <file>:<line>:<col>: <path>.settings.<key>: <message>
** for the first problem in document order: an unknown key (the message
** lists the valid keys), a secret written inline, a reference (env:/file:)
** for a setting that is not a secret, a value of the wrong type, then a
** missing required key (at the connector's position). *out is untouched on
** error.
*/
#ifndef SC_PLUGIN_SETTINGS_H
#define SC_PLUGIN_SETTINGS_H

#include <stdio.h>
#include <json-c/json.h>
#include <sidecal/settings.h>

#include "config.h"
#include "error.h"

/* The host's definition of the SDK's opaque settings handle. */
struct sidecal_settings {
  json_object *values;                      /* owned */
  const struct sidecal_setting_def *defs;   /* the plugin's (host copy) */
  size_t n_defs;
};

const char *sc_setting_type_name(uint32_t type);

/* Checks one value against a declared type; on mismatch writes a short
** reason ("expected an integer, got a string") into why. */
int sc_setting_value_ok(uint32_t type, json_object *v, char *why, size_t why_size);

/* Checks a connector's own table (called at load): names, types, defaults.
** On error writes the reason into why and returns SC_EINVAL. */
int sc_setting_defs_check(const struct sidecal_setting_def *defs, size_t n,
                          char *why, size_t why_size);

/* file: the conf.d file; path: the connector's key path in it, e.g.
** "locations[0].connectors[1]". */
int sc_plugin_settings_validate(const struct sidecal_setting_def *defs,
                                size_t n_defs, const char *file,
                                const char *path,
                                const struct sc_conf_connector *conf,
                                struct sidecal_settings **out,
                                struct sc_error *err);
void sc_plugin_settings_free(struct sidecal_settings *s);

/* The settings map as human documentation (sidecalctl plugins describe). */
void sc_plugin_settings_describe(const struct sidecal_setting_def *defs,
                                 size_t n_defs, FILE *out);

/* Host-table getters (sidecal/host.h). */
const char *sc_setting_string(const struct sidecal_settings *s, const char *key);
int32_t sc_setting_int(const struct sidecal_settings *s, const char *key, int64_t *out);
int32_t sc_setting_bool(const struct sidecal_settings *s, const char *key, int32_t *out);
uint32_t sc_setting_list_len(const struct sidecal_settings *s, const char *key);
const char *sc_setting_list_item(const struct sidecal_settings *s, const char *key,
                                 uint32_t i);
uint32_t sc_setting_map_len(const struct sidecal_settings *s, const char *key);
const char *sc_setting_map_key(const struct sidecal_settings *s, const char *key,
                               uint32_t i);
const char *sc_setting_map_value(const struct sidecal_settings *s, const char *key,
                                 const char *map_key);

#endif
