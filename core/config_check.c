/*
** sidecalctl config check DIR: validate conf.d/ without a database and
** print what it holds, so an operator can check a change before a reload.
*/
#include <stdio.h>
#include <string.h>

#include "config.h"

static void print_summary(const struct sc_config *cfg) {
  size_t locs = 0, staff = 0, types = 0, conns = 0;
  for (size_t i = 0; i < cfg->n_orgs; i++) {
    const struct sc_conf_org *o = &cfg->orgs[i];
    locs += o->n_locations;
    staff += o->n_staff;
    types += o->n_event_types;
    for (size_t j = 0; j < o->n_locations; j++)
      conns += o->locations[j].n_connectors;
    for (size_t j = 0; j < o->n_staff; j++) conns += o->staff[j].n_connectors;
  }
  printf("ok: %zu organizations, %zu locations, %zu staff, %zu event types, "
         "%zu connectors\n",
         cfg->n_orgs, locs, staff, types, conns);
}

int sc_cmd_config_check(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    fprintf(stderr, "usage: sidecalctl config check DIR\n");
    return 2;
  }
  struct sc_config cfg;
  struct sc_error err;
  sc_error_clear(&err);
  int rc = sc_config_load_dir(argv[1], &cfg, &err);
  if (rc) {
    fprintf(stderr, "%s\n", err.message);
    return rc == SC_EINVAL || rc == SC_EIO ? 2 : 1;
  }
  print_summary(&cfg);
  sc_config_free(&cfg);
  return 0;
}

int sc_cmd_config(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "check"))
    return sc_cmd_config_check(argc - 1, argv + 1);
  fprintf(stderr, "usage: sidecalctl config check DIR\n");
  return 2;
}
