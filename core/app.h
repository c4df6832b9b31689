/*
** The daemon's shared state, handed to every HTTP handler as req->app.
** Everything here is either immutable after start or guarded by its own
** module (the pool locks itself; config swaps under cfg_lock).
*/
#ifndef SC_APP_H
#define SC_APP_H

#include <pthread.h>

#include "config.h"
#include "crypto.h"
#include "db.h"

struct sc_auth;
struct sc_avail_cache;
struct sc_catalog_holder;
struct sc_listener;
struct sc_plugin_runtime;
struct sc_registry;
struct sc_sync_engine;

struct sc_app {
  struct sc_db_pool *pool;
  struct sc_auth *auth;          /* API key cache (core/auth.h) */
  struct sc_keyring *keyring;
  struct sc_catalog_holder *catalog;  /* slugs → ids without a query */
  struct sc_avail_cache *avail;       /* computed free slots */
  struct sc_listener *listener;       /* NOTIFY from every daemon */
  struct sc_plugin_runtime *plugins;  /* connector generations (core/plugin_runtime.h) */
  struct sc_registry *registry;       /* the runtime's registry, for the sync engine */
  struct sc_sync_engine *sync;        /* outbox, inbox, scheduler; NULL without registry */
  struct sc_config config;  /* after plugins start: a view of the current
                                generation's config, swapped under cfg_lock */
  pthread_rwlock_t cfg_lock;
  const char *config_dir;
  const char *plugin_dir;
  const char *version;
};

#endif
