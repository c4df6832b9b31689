/* /v1/appointments routes (docs/api.md). */
#ifndef SC_API_APPOINTMENTS_H
#define SC_API_APPOINTMENTS_H

#include "http.h"

void sc_api_appointments_list(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_appointments_get(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_appointments_create(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_appointments_patch(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_appointments_cancel(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
