/*
** The daemon's route table: every HTTP route and its handler, in one place
** (docs/api.md documents the same list).
*/
#ifndef SC_ROUTES_H
#define SC_ROUTES_H

#include "http.h"

extern const struct sc_http_route sc_routes[];

#endif
