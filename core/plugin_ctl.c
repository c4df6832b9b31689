/*
** sidecalctl plugins: inspect connector plugins without a running daemon.
** `plugins describe NAME [--plugin-dir DIR]` loads the plugin exactly as the
** daemon would (same checks, from a throwaway content-named copy) and
** prints its settings map as documentation.
*/
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_host.h"
#include "sc_paths.h"

static int usage(void) {
  fprintf(stderr, "usage: sidecalctl plugins describe NAME [--plugin-dir DIR]\n");
  return 2;
}

static void remove_tree(const char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d) {
    const char *e;
    while ((e = g_dir_read_name(d))) {
      gchar *p = g_build_filename(dir, e, NULL);
      unlink(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  rmdir(dir);
}

static int describe(const char *name, const char *dir) {
  gchar *cache = g_dir_make_tmp("sidecal-describe-XXXXXX", NULL);
  if (!cache) {
    fprintf(stderr, "sidecalctl: cannot create a temporary directory\n");
    return 1;
  }
  struct sc_plugin *p = NULL;
  struct sc_error err;
  int rc = sc_plugin_load(dir, name, cache, &p, &err);
  if (rc) {
    fprintf(stderr, "sidecalctl: %s\n", err.message);
  } else {
    sc_plugin_describe(p, stdout);
    sc_plugin_free(p, 1);
  }
  remove_tree(cache);
  g_free(cache);
  if (!rc) return 0;
  return rc == SC_EINVAL || rc == SC_EIO ? 2 : 1;
}

int sc_cmd_plugins(int argc, char **argv) {
  if (argc < 3 || strcmp(argv[1], "describe")) return usage();
  const char *dir = getenv("SIDECAL_PLUGIN_DIR");
  if (!dir || !*dir) dir = SC_CONNECTOR_DIR;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--plugin-dir") && i + 1 < argc) dir = argv[++i];
    else return usage();
  }
  return describe(argv[2], dir);
}
