/* GET /metrics: Prometheus text format (core/metrics.h lists the series).
** Needs a platform-admin key: connector counters carry instance names,
** which name organizations. Any other valid key gets 404, as if the route
** were not there for it. */
#ifndef SC_API_METRICS_H
#define SC_API_METRICS_H

#include "http.h"

void sc_api_metrics(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
