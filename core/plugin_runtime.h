/*
** The daemon's connector runtime: the registry of plugin generations wired
** to conf.d/, the database and the encrypted secret store, and the ONE
** reload function that SIGHUP, `sidecalctl reload` (NOTIFY sidecal_reload)
** and POST /v1/admin/reload all run.
**
** Contract:
** - sc_plugin_runtime_start() builds generation 1 from app->config exactly
**   as a reload does (plugins, settings, instances), then applies the config
**   to the database, then swaps it in; it takes ownership of app->config:
**   from then on app->config is a read-only view of the current
**   generation's config, swapped under app->cfg_lock. A settings error
**   refuses the start before anything is applied (SC_EINVAL,
**   file:line:col); a missing or refused plugin and a failing
**   instance_create are recorded as failed and do not stop the daemon.
** - sc_plugin_runtime_reload() re-reads conf.d/, validates every instance's
**   settings against its plugin, builds the new generation off to the side,
**   applies the config to the database, then swaps, reloads the catalog,
**   drops the availability cache and records the generation in the database
**   (sidecal_daemons, plugin_modules, plugin_instance_state; migration 004).
**   A config error (YAML, settings, or a failed apply) rejects the whole
**   reload: SC_EINVAL (or the apply's code) with the file:line:col message,
**   one log line `event=reload_rejected`, nothing changes. Only one reload
**   runs at a time: with wait = 0 a concurrent call gets SC_ESTATE
**   "a reload is already running" (the admin API's 409); with wait = 1 it
**   queues behind the running one (SIGHUP on the main thread).
** - On success *report (may be NULL) receives a JSON object: generation,
**   failed_plugins, failed_instances, trigger, daemon, timings_ms
**   {read_config, build, apply (of which
**   apply_pool_wait), swap_and_drain, total},
**   plugins [{name, status loaded|failed, version, abi, sha256, path,
**   capabilities, load_ms, error}] and instances [{name, plugin, status
**   running|failed, error}].
** - Secrets: a connector's secret_read returns the value stored encrypted
**   in connector_secrets (seeded from conf.d/ by config apply, or rotated),
**   falling back to resolving the conf.d/ reference (env:/file:) while the
**   instance is not in the database yet; secret_store_rotated writes it
**   encrypted with sc_secret_put. Both borrow a pool connection for their
**   own transaction: do not call into a connector while holding one.
** - Daemon id = "<hostname>:<pid>". Rows of dead daemons on this host are
**   removed at start; the daemon's own rows are removed at a clean stop.
*/
#ifndef SC_PLUGIN_RUNTIME_H
#define SC_PLUGIN_RUNTIME_H

#include <json-c/json.h>

#include "error.h"

struct sc_app;
struct sc_generation;
struct sc_plugin_runtime;

struct sc_plugin_runtime_options {
  const char *plugin_dirs;  /* ':'-separated */
  const char *state_dir;    /* plugin copies go to <state_dir>/plugin-cache */
  int64_t drain_timeout_ms; /* 0 = registry default (5 s) */
  int no_unload;            /* never dlclose (also automatic under ASan) */
};

int sc_plugin_runtime_start(struct sc_app *app, const struct sc_plugin_runtime_options *o,
                            struct sc_error *err);
/* Removes this daemon's rows, destroys every generation; app->config is
** left zeroed (the generation owned it). Safe when start never ran. */
void sc_plugin_runtime_stop(struct sc_app *app);

int sc_plugin_runtime_reload(struct sc_app *app, int wait, const char *trigger,
                             json_object **report, struct sc_error *err);

/* The current generation (reference taken; release with
** sc_plugin_runtime_release), or NULL before start. */
struct sc_generation *sc_plugin_runtime_acquire(struct sc_app *app);
void sc_plugin_runtime_release(struct sc_generation *gen);

/* The current generation as JSON with live per-instance health and call
** counts (GET /v1/admin/plugins). */
json_object *sc_plugin_runtime_describe(struct sc_app *app);

const char *sc_plugin_runtime_daemon_id(struct sc_app *app);

/* sidecalctl reload [--timeout SECONDS] and sidecalctl plugins [list]
** (core/plugin_ctl.c): NOTIFY every daemon and wait for each to answer;
** print what every daemon on the database runs. */
int sc_cmd_reload(int argc, char **argv);

#endif
