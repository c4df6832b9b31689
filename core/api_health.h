/* Liveness: GET /health answers while the daemon serves and its database
** answers a trivial query. No key, no tenant data. */
#ifndef SC_API_HEALTH_H
#define SC_API_HEALTH_H

#include "http.h"

void sc_api_health(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
