/* /v1/rules, /v1/overrides and /v1/blocks routes (docs/api-schedule.md);
** the rules live in schedule*.c. DELETE answers 204 without a body. */
#ifndef SC_API_SCHEDULE_H
#define SC_API_SCHEDULE_H

#include "http.h"

void sc_api_rules_list(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_rules_get(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_rules_create(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_rules_patch(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_rules_delete(struct sc_http_req *req, struct sc_http_resp *resp);

void sc_api_overrides_list(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_overrides_get(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_overrides_create(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_overrides_patch(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_overrides_delete(struct sc_http_req *req, struct sc_http_resp *resp);

void sc_api_blocks_list(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_blocks_get(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_blocks_create(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_blocks_patch(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_blocks_delete(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
