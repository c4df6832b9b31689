/*
** Registry generations: the loaded connector modules, their instances and
** the parsed config they came from, swapped as one unit on reload.
**
** Contract:
** - sc_registry_acquire() returns the current generation with a reference
**   taken (never NULL: a new registry starts with an empty generation 0);
**   every acquire is paired with sc_registry_release(). A generation and
**   everything in it stays valid while referenced. Both are lock-free.
** - sc_registry_reload() builds a new generation off to the side from the
**   source: loads each plugin conf.d names (from a content-named copy),
**   validates every instance's settings, creates the instances, then swaps
**   one atomic pointer. A settings error rejects the whole reload: SC_EINVAL
**   with the file:line:col message, nothing changes. A plugin refused by its
**   stamp, or an instance whose create fails, is recorded as failed in the
**   new generation (error text kept, logged once) and everything else swaps
**   in. Only one reload runs at a time: a concurrent call gets SC_ESTATE
**   "a reload is already running" (the admin API's 409).
** - After the swap, the old generation is retired: once its last reference
**   drops it is destroyed (instance_destroy, then dlclose per the unload
**   policy; the content-named copy is deleted once no generation maps it).
**   Reload waits for that up to drain_timeout_ms; a generation still
**   referenced then has its cancel flag raised, is logged, and stays mapped
**   until a later reload or sc_registry_collect() finds it drained.
** - Unload policy: dlclose is off under AddressSanitizer (LeakSanitizer
**   cannot symbolize frames of unloaded code) or when disabled by option.
*/
#ifndef SC_REGISTRY_H
#define SC_REGISTRY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "error.h"
#include "plugin_host.h"

enum sc_registry_unload {
  SC_REGISTRY_UNLOAD_AUTO = 0,  /* on, except under AddressSanitizer */
  SC_REGISTRY_UNLOAD_NEVER,
  SC_REGISTRY_UNLOAD_ALWAYS,    /* on even under ASan (tests) */
};

struct sc_registry_options {
  int64_t drain_timeout_ms;     /* 0 = 5000 */
  enum sc_registry_unload unload;
};

struct sc_generation;

struct sc_registry_source {
  const char *plugin_dirs;      /* ':'-separated; first holding <name>.so wins */
  const char *cache_dir;        /* content-named copies live here */
  const struct sc_config *config;
  /* The generation owns config_owner on success (config_free is called
  ** when the generation is destroyed); on error the caller keeps it. */
  void *config_owner;
  void (*config_free)(void *config_owner);
  const struct sc_plugin_secrets *secrets; /* may be NULL; must outlive the registry */
  /* Called with the new generation built and validated, just before the
  ** swap (the daemon applies conf.d/ to the database here). Nonzero rejects
  ** the reload: the new generation is destroyed, nothing changes, the
  ** caller keeps config_owner and the error is returned. May be NULL. */
  int (*before_swap)(void *ud, const struct sc_generation *next, struct sc_error *err);
  void *before_swap_ud;
};

struct sc_gen_plugin {
  char *name;
  struct sc_plugin *plugin;     /* NULL when it failed to load */
  char *error;                  /* the refusal line, or NULL */
  int64_t load_us;              /* time spent loading it (copy, dlopen, checks) */
};

struct sc_gen_instance {
  char *name;                   /* "acme.miami.ghl" */
  char *plugin;                 /* plugin name */
  struct sc_plugin_instance *inst; /* NULL when it failed */
  char *error;                  /* why it failed, or NULL */
};

struct sc_generation {
  uint64_t number;              /* 0 for the initial empty one */
  atomic_long refs;
  volatile int32_t cancel;      /* raised when draining overstays */
  int64_t created_ms;           /* monotonic */
  struct sc_gen_plugin *plugins;
  size_t n_plugins;
  struct sc_gen_instance *instances;
  size_t n_instances;
  void *config_owner;
  void (*config_free)(void *);
  const struct sc_config *config;
  int unload;                   /* dlclose when destroyed */
  struct sc_generation *next_retired;
  void *index;                  /* name -> instance lookup */
};

struct sc_registry;

struct sc_registry *sc_registry_new(const struct sc_registry_options *opts);
/* Destroys every generation; the caller guarantees no references remain. */
void sc_registry_free(struct sc_registry *reg);

int sc_registry_reload(struct sc_registry *reg, const struct sc_registry_source *src,
                       struct sc_error *err);

struct sc_generation *sc_registry_acquire(struct sc_registry *reg);
void sc_registry_release(struct sc_generation *gen);

/* Running (non-failed) instance by name, or NULL. */
struct sc_plugin_instance *sc_generation_instance(const struct sc_generation *gen,
                                                  const char *name);
const struct sc_gen_instance *sc_generation_instance_entry(const struct sc_generation *gen,
                                                           const char *name);

/* What `sidecalctl plugins` shows: per plugin its path, content hash, ABI,
** version and capabilities (or why it failed), per instance its plugin,
** state (ok / failed / the last call's result), last error and call counts. */
void sc_generation_describe(const struct sc_generation *gen, FILE *out);

/* Destroys retired generations that have drained, waiting up to wait_ms;
** returns how many are still retired. */
size_t sc_registry_collect(struct sc_registry *reg, int64_t wait_ms);
int sc_registry_unload_enabled(const struct sc_registry *reg);
uint64_t sc_registry_generation_number(struct sc_registry *reg);

#endif
