/* Shared test helpers: paths and (later) per-test databases. */
#include "testdb.h"

#include <glib.h>
#include <stdlib.h>

char *sc_test_source_path(const char *rel) {
  const char *root = getenv("SIDECAL_SOURCE_ROOT");
  return g_build_filename(root ? root : ".", rel, NULL);
}

char *sc_test_build_path(const char *rel) {
  const char *root = getenv("SIDECAL_BUILD_ROOT");
  return g_build_filename(root ? root : ".", rel, NULL);
}
