/*
** Health per connector instance (sync_status), as /health/calendar and
** `sidecalctl plugins` show it.
**
** Contract: one call per outcome of a push, poll or refresh, in the
** caller's transaction.
** - OK: HEALTHY, error_count 0, last_error cleared.
** - FAILED: error_count + 1; DEGRADED, FAILING from SC_HEALTH_FAILING_AT
**   consecutive failures on; NEEDS_REAUTH stays until an OK.
** - REAUTH: NEEDS_REAUTH (credentials rejected and refresh failed).
** sync_ms >= 0 records a finished sync (last_sync_at = now, its duration);
** -1 leaves both as they were (a push is not a sync).
*/
#ifndef SC_SYNC_HEALTH_H
#define SC_SYNC_HEALTH_H

#include <libpq-fe.h>
#include <stdint.h>

#include "error.h"

#define SC_HEALTH_FAILING_AT 5

enum sc_health_event { SC_HEALTH_OK, SC_HEALTH_FAILED, SC_HEALTH_REAUTH };

int sc_sync_health_record(PGconn *conn, const char *org_id, const char *instance_id,
                          enum sc_health_event ev, const char *message, int64_t sync_ms,
                          struct sc_error *err);

#endif
