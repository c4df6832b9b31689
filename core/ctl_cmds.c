/*
** sidecalctl command table. A command is one function in the module it
** belongs to; this file only routes argv to it.
*/
#include "ctl_cmds.h"
#include "auth.h"
#include "crypto.h"
#include "ctl_db.h"
#include "config.h"
#include "slots_cli.h"
#include "plugin_host.h"
#include "sync_outbox.h"
#include "plugin_runtime.h"

#include <stdio.h>
#include <string.h>

struct sc_cmd {
  const char *name;
  const char *usage;
  int (*run)(int argc, char **argv);
};

static const struct sc_cmd commands[] = {
  /* -- commands -- */
  {"jobs", "jobs [--dead] | jobs retry ID  list outbox sync jobs (not done, or dead letters); "
   "make a job due now", sc_cmd_jobs},
  {"sync-status", "sync-status  sync health per connector instance (NEEDS_REAUTH shows here)",
   sc_cmd_sync_status},
  {"key", "key create --org SLUG --role ROLE [--location SLUG] [--staff SLUG] "
   "[--expires DATE] [--label TEXT] | key create --platform-admin [--label TEXT] | "
   "key list [--org SLUG] | key revoke ID  manage API keys", sc_cmd_key},
  {"create-master-key", "create-master-key [--if-missing] [PATH]  create the "
   "master keyring (default $SIDECAL_MASTER_KEY_FILE)", sc_cmd_create_master_key},
  {"migrate", "migrate  apply missing schema migrations ($SIDECAL_DATABASE_URL)", sc_cmd_migrate},
  {"rotate-master-key", "rotate-master-key  add a master key and re-encrypt every stored secret",
   sc_cmd_rotate_master_key},
  {"config", "config check DIR  validate conf.d/ YAML without a database", sc_cmd_config},
  {"slots", "slots  read an availability request (JSON) on stdin, print free slots", sc_cmd_slots},
  {"plugins", "plugins [list] | plugins describe NAME [--plugin-dir DIR]  what every daemon "
   "runs (plugins, instances, health) | a connector's settings map", sc_cmd_plugins},
  {"reload", "reload [--timeout SECONDS]  make every daemon on the database reload conf.d/ "
   "and plugins; waits for each answer", sc_cmd_reload},
  {NULL, NULL, NULL},
};

static int usage(FILE *f) {
  fprintf(f, "usage: sidecalctl COMMAND [ARGS]\n\ncommands:\n");
  for (const struct sc_cmd *c = commands; c->name; c++)
    fprintf(f, "  %s\n", c->usage);
  return f == stdout ? 0 : 2;
}

int sc_cmd_dispatch(int argc, char **argv) {
  if (argc < 2) return usage(stderr);
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return usage(stdout);
  for (const struct sc_cmd *c = commands; c->name; c++)
    if (!strcmp(argv[1], c->name)) return c->run(argc - 1, argv + 1);
  fprintf(stderr, "sidecalctl: unknown command \"%s\" (see sidecalctl --help)\n", argv[1]);
  return 2;
}
