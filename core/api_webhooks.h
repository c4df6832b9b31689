/*
** Webhook endpoints (no API key: the connector verifies the delivery):
**   POST /v1/webhooks/{plugin}/{instance}
**   POST /v1/webhooks/{plugin}        one URL per app; the connector's
**                                     routing key picks the instance
** The request's headers (names lower-cased), body and query go to
** sc_inbox_receive() (core/sync_inbox.h), whose status is answered:
** 200 {"status":"accepted"|"duplicate"|"dropped"} once the delivery is
** committed (or known, or unroutable); 401/404 with the API error body;
** 429/503 with Retry-After when the inbox cannot commit or the instance is
** not running. A daemon without loaded connectors answers 503.
*/
#ifndef SC_API_WEBHOOKS_H
#define SC_API_WEBHOOKS_H

#include "http.h"

void sc_api_webhook_instance(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_webhook_app(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
