/*
** Availability over HTTP.
**   GET /v1/availability?location=&event_type=[&staff=]&from=&to=[&tz=]   (key)
**   GET /v1/public/{org}/{location}/availability?event_type=&from=&to=[&staff=][&tz=]
**       (no key; published event types only)
** from/to are inclusive local dates in tz (default the location's zone), at
** most 62 days apart. Slots are UTC; each lists the staff free then. Served
** from the cache: a repeated request makes no database query.
*/
#ifndef SC_API_AVAILABILITY_H
#define SC_API_AVAILABILITY_H

#include "http.h"

void sc_api_availability(struct sc_http_req *req, struct sc_http_resp *resp);
void sc_api_public_availability(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
