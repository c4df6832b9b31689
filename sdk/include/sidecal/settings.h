/*
** sidecal connector SDK: the typed settings map a connector declares.
**
** The host validates every instance's `settings:` block from conf.d against
** this table before any callback runs (unknown keys, missing required keys,
** wrong types, secrets written inline), fills defaults, and prints the table
** as documentation (`sidecalctl plugins describe NAME`). A connector then
** reads its values through the host table (sidecal/host.h), typed.
**
** Secret settings are never written inline in conf.d: the admin writes a
** reference (env:NAME or file:PATH) and the connector reads the value with
** host->secret_read(), so tokens never pass through the settings object.
*/
#ifndef SIDECAL_SETTINGS_H
#define SIDECAL_SETTINGS_H

#include <stdint.h>

/* sidecal_setting_def.type */
#define SIDECAL_SETTING_STRING      1u
#define SIDECAL_SETTING_INT         2u  /* 64-bit signed integer */
#define SIDECAL_SETTING_BOOL        3u
#define SIDECAL_SETTING_STRING_LIST 4u  /* YAML sequence of strings */
#define SIDECAL_SETTING_MAP         5u  /* YAML mapping of string -> string */

/* sidecal_setting_def.flags */
#define SIDECAL_SETTING_REQUIRED 0x1u
#define SIDECAL_SETTING_SECRET   0x2u  /* must be given as env:NAME / file:PATH */

struct sidecal_setting_def {
  const char *name;          /* [a-z0-9_]+, unique within the connector */
  uint32_t type;             /* SIDECAL_SETTING_* */
  uint32_t flags;            /* SIDECAL_SETTING_REQUIRED | _SECRET */
  const char *default_json;  /* default as JSON text ("\"x\"", "30", "true",
                                "[]", "{}"), or NULL for none; must match
                                type, and is not allowed for secrets */
  const char *description;   /* one or more sentences, shown by describe */
};

/* Opaque: the validated settings of one instance, owned by the host and
** valid until the instance is destroyed. Read with host->setting_*(). */
struct sidecal_settings;

#endif
