/*
** Health endpoints.
**   GET /health           liveness: the process serves and the database answers.
**   GET /health/calendar  the design's calendar health. Without a key: only
**                         the overall status and counts across every tenant
**                         (no names). With a key: the same, scoped to the
**                         caller, plus per-connector-instance detail.
*/
#ifndef SC_API_HEALTH_H
#define SC_API_HEALTH_H

#include "http.h"

void sc_api_health(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_health_calendar(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
