/*
** What the sync engine reports to /metrics and /health/calendar: outbox
** jobs by state, the webhook inbox backlog and failures, and instance
** health by status.
**
** Contract: sc_sync_job_counts() runs in the caller's transaction (so RLS
** scopes it to the caller's organization, or all for a platform admin).
** sc_sync_metrics_text() borrows a pool connection for one platform-admin
** read and returns Prometheus text (malloc'd; "" plus a comment line when
** the database cannot answer).
*/
#ifndef SC_SYNC_METRICS_H
#define SC_SYNC_METRICS_H

#include <libpq-fe.h>

#include "db.h"
#include "error.h"

int sc_sync_job_counts(PGconn *conn, long *pending, long *dead, struct sc_error *err);
char *sc_sync_metrics_text(struct sc_db_pool *pool);

#endif
