/*
** Platform-admin routes for connector plugins. Any other valid key gets
** 404, as if the route were not there for it (like GET /metrics).
**
**   POST /v1/admin/reload      run the daemon's one reload (plugin_runtime.h)
**                              in this daemon: 200 with the new generation,
**                              per-plugin and per-instance results and
**                              timings; 422 validation_failed with the
**                              file:line:col message when conf.d/ is wrong
**                              (nothing changed); 409 conflict while another
**                              reload runs.
**   GET  /v1/admin/plugins     the generation this daemon serves, with live
**                              per-instance health and call counts.
**   GET  /v1/admin/instances/{name}/events?from=DATE&to=DATE
**                              calls the instance's list_events for the
**                              window (ISO 8601 dates or instants, UTC) and
**                              returns what the connector reported: a probe
**                              for operators and tests; nothing is stored.
**   POST /v1/admin/instances/{name}/refresh
**                              calls refresh_credentials now; a rotated
**                              token is stored encrypted (connector_secrets).
**   Both answer 404 for an unknown instance, 409 instance_failed (with the
**   reason) for one that failed to load or create.
*/
#ifndef SC_API_ADMIN_H
#define SC_API_ADMIN_H

#include "http.h"

void sc_api_admin_reload(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_admin_plugins(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_admin_instance_events(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_admin_instance_refresh(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
