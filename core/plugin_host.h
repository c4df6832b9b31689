/*
** Connector plugin host: loading a connector .so, checking its ABI stamp,
** the host services table, and connector instances.
**
** Loading (sc_plugin_load): <plugin_dir>/<name>.so must be a regular file
** that is not group- or world-writable. Its bytes are hashed (SHA-256) and
** copied to <cache_dir>/<name>.<first 16 hex of sha256>.so, and that copy is
** dlopen()ed with RTLD_NOW | RTLD_LOCAL, so a rebuilt file at the same path
** always maps fresh code and old and new versions can coexist during a
** reload. The descriptor is then checked stamp first (magic, ABI major,
** minor, size, name, required callbacks; see sidecal/connector.h) and copied
** into a zeroed host-sized struct. Any refusal returns SC_EINVAL (SC_EIO for
** I/O) with ONE line in err->message:
**   <path>: connector "<name>" <version> (ABI 2.0) refused by host (ABI 1.0): <reason>
**   <path>: connector "<name>" (ABI unknown) refused by host (ABI 1.0): <reason>
** The loader does not log; whoever records the failure logs that line once.
**
** Unloading is the caller's policy: sc_plugin_free(p, 1) dlclose()s,
** sc_plugin_free(p, 0) leaves the code mapped for good.
**
** Instances: one per (location or staff member, connector), created from
** validated settings (plugin_settings.h). The host keeps per-instance
** health (last result), counters and rotated secrets; all of that is
** thread-safe.
*/
#ifndef SC_PLUGIN_HOST_H
#define SC_PLUGIN_HOST_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sidecal/connector.h>

#include "config.h"
#include "error.h"
#include "plugin_settings.h"

struct sc_plugin {
  char *name;        /* file name without ".so" == descriptor name */
  char *path;        /* <plugin_dir>/<name>.so */
  char *copy_path;   /* the content-named copy that is mapped */
  char sha256[65];   /* hex of the file's bytes */
  void *handle;      /* dlopen handle, NULL once closed */
  struct sidecal_connector desc;        /* host-sized, zero-extended copy */
  struct sidecal_setting_def *settings; /* host-sized copies */
  size_t n_settings;
};

/* Where secret references are resolved and rotated tokens kept; the daemon
** wires config's env:/file: resolver and the encrypted store here. read gets
** the reference as written in conf.d (NULL when only a rotated value could
** exist) and returns a malloc'd value; both return SC_OK or an error. */
struct sc_plugin_secrets {
  int (*read)(void *ud, const char *instance, const char *key, const char *ref,
              char **value, struct sc_error *err);
  int (*store)(void *ud, const char *instance, const char *key,
               const char *value, struct sc_error *err);
  void *ud;
};

struct sc_plugin_instance;

/* The host's definition of the SDK's opaque instance handle. */
struct sidecal_host_instance {
  struct sc_plugin_instance *inst;
};

struct sc_plugin_counter {
  char *name;
  uint64_t value;
};

struct sc_plugin_instance {
  struct sidecal_host_instance hi;
  struct sc_plugin *plugin;        /* borrowed; outlives the instance */
  char *name;                      /* e.g. "acme.miami.ghl" */
  char *organization;
  char *location;                  /* NULL for a staff instance */
  char *staff;                     /* NULL for a location instance */
  struct sidecal_settings *settings;
  struct sc_conf_secret *secrets;  /* name -> reference, copied */
  size_t n_secrets;
  const struct sc_plugin_secrets *secret_store; /* may be NULL */
  const volatile int32_t *cancel;  /* the generation's cancel flag */
  void *state;                     /* what instance_create returned */

  pthread_mutex_t lock;            /* guards everything below */
  int32_t last_code;               /* SIDECAL_OK.. of the last recorded call */
  char last_error[SIDECAL_MESSAGE_MAX]; /* "" when healthy */
  uint64_t calls;
  uint64_t failures;
  struct sc_plugin_counter *counters;
  size_t n_counters;
  struct sc_conf_secret *rotated;  /* secret_store_rotated values */
  size_t n_rotated;
};

struct sc_plugin_instance_spec {
  const char *name;
  const char *organization;
  const char *location;
  const char *staff;
  const struct sc_conf_secret *secrets;  /* copied */
  size_t n_secrets;
  const struct sc_plugin_secrets *secret_store;
  const volatile int32_t *cancel;        /* must outlive the instance */
};

/* One call's context and result, prepared by sc_plugin_call_init(). */
struct sc_plugin_call {
  struct sidecal_call_ctx ctx;
  struct sidecal_result res;
};

/* The name must be [a-z0-9_]+; cache_dir is created (0700) if missing. */
int sc_plugin_load(const char *plugin_dir, const char *name,
                   const char *cache_dir, struct sc_plugin **out,
                   struct sc_error *err);
void sc_plugin_free(struct sc_plugin *p, int do_dlclose);

/* The services table handed to every connector. */
const struct sidecal_host_api *sc_plugin_host_api(void);

/* "read_events,webhooks" (or "none") into buf; returns buf. */
char *sc_plugin_caps_string(uint64_t caps, char *buf, size_t size);

/* Header, capabilities and settings map, for sidecalctl plugins describe. */
void sc_plugin_describe(const struct sc_plugin *p, FILE *out);

/* Takes ownership of settings (also on error). Calls instance_create; a
** failing create returns SC_EIO with "<instance>: create failed: <message>". */
int sc_plugin_instance_create(struct sc_plugin *p,
                              const struct sc_plugin_instance_spec *spec,
                              struct sidecal_settings *settings,
                              struct sc_plugin_instance **out,
                              struct sc_error *err);
/* Calls instance_destroy; the caller guarantees no call is running. */
void sc_plugin_instance_destroy(struct sc_plugin_instance *inst);

void sc_plugin_call_init(struct sc_plugin_instance *inst,
                         struct sc_plugin_call *call, const char *request_id,
                         int64_t deadline_ms);
/* Records a call's outcome as the instance's health. */
void sc_plugin_instance_record(struct sc_plugin_instance *inst,
                               const struct sidecal_result *res);
/* Returns the last recorded code and copies the last error into buf. */
int32_t sc_plugin_instance_health(struct sc_plugin_instance *inst, char *buf,
                                  size_t size);
uint64_t sc_plugin_instance_counter(struct sc_plugin_instance *inst,
                                    const char *name);

int64_t sc_plugin_monotonic_ms(void);

/* sidecalctl plugins describe NAME [--plugin-dir DIR] (core/plugin_ctl.c);
** the default directory is $SIDECAL_PLUGIN_DIR, else the installed one. */
int sc_cmd_plugins(int argc, char **argv);

#endif
