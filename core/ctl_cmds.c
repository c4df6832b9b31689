/*
** sidecalctl command table. A command is one function in the module it
** belongs to; this file only routes argv to it.
*/
#include "ctl_cmds.h"
#include "plugin_host.h"

#include <stdio.h>
#include <string.h>

struct sc_cmd {
  const char *name;
  const char *usage;
  int (*run)(int argc, char **argv);
};

static const struct sc_cmd commands[] = {
  /* -- commands -- */
  {"plugins", "plugins describe NAME [--plugin-dir DIR]  print a connector's settings map", sc_cmd_plugins},
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
