/*
** Route table. Handlers live in api_<area>.c files.
*/
#include "routes.h"

#include "api_health.h"
#include "api_metrics.h"

const struct sc_http_route sc_routes[] = {
  {"GET", "/health", sc_api_health},
  {"GET", "/metrics", sc_api_metrics},
  {NULL, NULL, NULL},
};
