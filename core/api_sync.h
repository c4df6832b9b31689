/*
** Sync API routes (authenticated like every /v1 route):
**   GET  /v1/sync/conflicts[?status=open|resolved|all]
**   POST /v1/sync/conflicts/{id}/resolve   {"keep":"ours"|"theirs"}
** Rules and messages: core/sync_conflicts.h.
*/
#ifndef SC_API_SYNC_H
#define SC_API_SYNC_H

#include "http.h"

void sc_api_conflicts_list(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_conflict_resolve(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
