/*
** conf.d/ configuration: one YAML file per organization, parsed with libyaml
** into the plain structs below.
**
** Contract: sc_config_load_dir() reads every *.yaml in a directory (sorted by
** name), validates all of it, and either returns SC_OK with *out filled, or a
** negative code with err->message of the form
**   conf.d/acme.yaml:14:7: locations[1].timezone: unknown time zone "America/Nwe_York"
** (path as given + "/" + file name, 1-based line and column of the offending
** node, the key path, the message) and *out untouched. It touches no database.
** Everything the database needs is resolved here: slugs are checked for
** existence and uniqueness, time zones are valid IANA names, times are parsed.
**
** Secrets appear only as references (env:NAME or file:PATH); the reference is
** kept as written and resolved later by sc_config_resolve_secret(), so a
** config check does not need the secrets present.
*/
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "error.h"

/* 1-based line and column of the YAML node (as in messages). */
struct sc_conf_pos {
  int line;
  int col;
};

/* Minutes after local midnight; end_min may be 1440 ("24:00"). */
struct sc_conf_interval {
  int start_min;
  int end_min;
};

struct sc_conf_rule {
  struct sc_conf_pos pos;
  char *staff;           /* staff slug, NULL = location-wide */
  int day_of_week;       /* 0 = Sunday .. 6 = Saturday */
  int start_min;
  int end_min;           /* > start_min, <= 1440 */
  char *effective_from;  /* "YYYY-MM-DD" or NULL */
  char *effective_until; /* "YYYY-MM-DD" or NULL */
};

struct sc_conf_override {
  struct sc_conf_pos pos;
  char *staff;   /* NULL = location-wide */
  char *date;    /* "YYYY-MM-DD" */
  struct sc_conf_interval *intervals; /* n_intervals == 0: day off */
  size_t n_intervals;
};

struct sc_conf_block {
  struct sc_conf_pos pos;
  char *staff;     /* staff slug or NULL (location-wide); always set for staff[].blocks */
  char *start;     /* local "YYYY-MM-DDTHH:MM:SS" (seconds filled in when omitted) */
  char *end;       /* local, after start */
  char *timezone;  /* IANA zone; defaults to the location's (staff blocks: required) */
  char *rrule;     /* RFC 5545 RRULE value or NULL; validated with libical */
  char **exdates;  /* local "YYYY-MM-DDTHH:MM:SS" */
  size_t n_exdates;
  char *reason;    /* NULL allowed */
};

struct sc_conf_secret {
  char *name;  /* the settings key, e.g. "refresh_token" */
  char *ref;   /* "env:NAME" or "file:PATH" exactly as written */
};

struct sc_conf_connector {
  struct sc_conf_pos pos;
  char *plugin;          /* [a-z0-9_]+ */
  char *instance;        /* stable name: "acme.miami.ghl" (location scope) or
                            "acme.staff.dr-smith.google" (staff scope) */
  char *location;        /* location slug for location scope, else NULL */
  char *staff;           /* staff slug for staff scope, else NULL */
  json_object *settings; /* opaque: every non-secret key of settings: */
  struct sc_conf_secret *secrets; /* settings values written as env:/file: */
  size_t n_secrets;
  /* Position of each top-level settings key, for per-plugin validation
  ** later (connector ABI): parallel arrays, n_setting_pos entries. */
  char **setting_keys;
  struct sc_conf_pos *setting_pos;
  size_t n_setting_pos;
};

struct sc_conf_location {
  struct sc_conf_pos pos;
  char *slug;
  char *name;
  char *timezone;        /* IANA, validated with GTimeZone */
  json_object *branding; /* object: display_name, primary_color, logo_url; never NULL */
  struct sc_conf_rule *rules;
  size_t n_rules;
  struct sc_conf_override *overrides;
  size_t n_overrides;
  struct sc_conf_block *blocks;
  size_t n_blocks;
  struct sc_conf_connector *connectors;
  size_t n_connectors;
};

struct sc_conf_staff {
  struct sc_conf_pos pos;
  char *slug;
  char *name;
  char *email;  /* NULL allowed */
  char *role;   /* free text job title, e.g. "nurse"; NULL allowed */
  char **locations; /* location slugs, at least one */
  size_t n_locations;
  struct sc_conf_block *blocks;  /* staff-wide blocks (all locations) */
  size_t n_blocks;
  struct sc_conf_connector *connectors; /* staff scope */
  size_t n_connectors;
};

struct sc_conf_event_type {
  struct sc_conf_pos pos;
  char *slug;
  char *title;
  int duration;        /* minutes, >= 1 */
  int interval;        /* minutes, default = duration */
  int buffer_before;   /* minutes, default 0 */
  int buffer_after;    /* minutes, default 0 */
  int min_notice;      /* minutes, default 0 */
  int horizon_days;    /* default 62 */
  int daily_cap;       /* 0 = no cap */
  int published;       /* bool, default false */
  char *price;         /* decimal string "120.00" or NULL */
  char **staff;        /* staff slugs who serve it */
  size_t n_staff;
};

struct sc_conf_org {
  char *file;  /* path as read, used in messages */
  struct sc_conf_pos pos; /* of organization.slug */
  char *slug;
  char *name;
  struct sc_conf_location *locations;
  size_t n_locations;
  struct sc_conf_staff *staff;
  size_t n_staff;
  struct sc_conf_event_type *event_types;
  size_t n_event_types;
};

struct sc_config {
  struct sc_conf_org *orgs;
  size_t n_orgs;
};

/* Parse one file into *org (zeroed on entry; on error freed and left
** zeroed). */
int sc_config_load_file(const char *path, struct sc_conf_org *org,
                        struct sc_error *err);
/* Parse a whole directory; organization slugs must be unique across files. */
int sc_config_load_dir(const char *dir, struct sc_config *out,
                       struct sc_error *err);
void sc_config_free(struct sc_config *cfg);
void sc_config_org_free(struct sc_conf_org *org);

/* Resolve "env:NAME" / "file:PATH" to its value (malloc'd, trailing newline
** of a file stripped). Errors name the reference but never print a value. */
int sc_config_resolve_secret(const char *ref, char **value,
                             struct sc_error *err);

/* Lookups by slug in a parsed organization; NULL when absent. */
const struct sc_conf_location *sc_config_find_location(
    const struct sc_conf_org *org, const char *slug);
const struct sc_conf_staff *sc_config_find_staff(const struct sc_conf_org *org,
                                                 const char *slug);
bool sc_config_staff_works_at(const struct sc_conf_staff *st,
                              const char *location);

/* Secret references. is_secret_ref: starts with "env:" or "file:".
** secret_ref_problem: NULL when well formed, else why not (the message
** never contains anything but the reference itself). secret_key_name: the
** settings key looks like it holds a secret (token, password, ...), so an
** inline value is refused. */
bool sc_config_is_secret_ref(const char *s);
const char *sc_config_secret_ref_problem(const char *ref);
bool sc_config_secret_key_name(const char *key);

/* sidecalctl config check DIR: validate without a database. Prints
** "ok: N organizations, ..." (exit 0) or the error line on stderr (exit 2).
** sc_cmd_config routes "config SUBCOMMAND ..." (argv[0] = "config"). */
int sc_cmd_config(int argc, char **argv);
int sc_cmd_config_check(int argc, char **argv);

#endif
