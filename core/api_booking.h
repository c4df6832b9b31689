/*
** POST /v1/public/{org}/{location}/bookings — a client books a published
** event type on a white-label page, without a key:
**   {"event_type":"consult","start":"2026-03-09T14:00:00Z","staff":"dr-smith"?,
**    "client_name":"…","client_email":"…","client_phone":"…"?,"notes":"…"?,
**    "timezone":"Europe/Paris"?,"metadata":{…}?}
** 201 with the booking; 409 slot_taken when the time is not free (any more);
** Idempotency-Key makes retries safe.
*/
#ifndef SC_API_BOOKING_H
#define SC_API_BOOKING_H

#include "http.h"

void sc_api_public_booking(struct sc_http_req *req, struct sc_http_resp *resp);

#endif
