/*
** Initial and periodic sync of connector instances (polling), under
** per-instance leases.
**
** Contract:
** - Every active instance has a sync_leases row. A run claims the instance
**   whose next sync is due and whose lease is free or lapsed (FOR UPDATE
**   SKIP LOCKED, then holder + expires_at), so two daemons never sync one
**   instance at the same time and a killed daemon's lease is taken over
**   once it expires.
** - First sync of an instance (initial_sync_at NULL): a full sync over
**   initial_back_days back .. initial_ahead_days ahead (30 / 90). Later:
**   back_days back .. horizon_days ahead (1 / 62) from the stored cursor; no
**   cursor means a full sync. SIDECAL_CURSOR_EXPIRED → the cursor is
**   dropped and a full sync runs at once. Re-syncing is idempotent on
**   external ids (core/sync_apply.h).
** - A full sync of a staff calendar also removes external busy times in the
**   window that the provider no longer reports.
** - Each change the connector reports is applied at once, in a short
**   transaction of its own (core/sync_sink.h); the connector lists holding
**   no pool connection or transaction. When the listing succeeds, the
**   sweep, the new cursor, next_sync_at = now + interval and the instance's
**   health (sync_status: last sync, duration, errors) commit in one
**   transaction. On failure the cursor stays, the error is counted and the
**   next attempt is due after the connector's retry_after or interval / 5
**   (changes applied before the failure stay: each was the provider's
**   state). UNAUTHORIZED → refresh (core/sync_auth.h) and one more try; a
**   failed refresh → NEEDS_REAUTH.
** - An instance not running in this daemon's registry is left to others
**   (lease released, due again after a minute).
** - While the connector keeps reporting, the lease is renewed every third
**   of its length; a listing that lost it is stopped. The sync is finished
**   (sweep, cursor, health) only if the lease is still this holder's (the
**   row locked until the commit); otherwise SC_SCHED_LOST. Holders must be
**   unique per thread (the engine appends /s<N>).
*/
#ifndef SC_SYNC_SCHEDULER_H
#define SC_SYNC_SCHEDULER_H

#include <stdint.h>

#include "db.h"
#include "error.h"

struct sc_registry;

struct sc_sched_options {
  int64_t interval_ms;      /* 0 = 300000 (5 minutes) */
  int back_days;            /* 0 = 1 */
  int horizon_days;         /* 0 = 62 */
  int initial_back_days;    /* 0 = 30 */
  int initial_ahead_days;   /* 0 = 90 */
  int64_t lease_ms;         /* 0 = 600000 */
  const char *holder;       /* NULL = host:pid */
};

enum sc_sched_outcome {
  SC_SCHED_IDLE,        /* nothing due */
  SC_SCHED_SYNCED,
  SC_SCHED_FAILED,      /* error counted, retried later */
  SC_SCHED_SKIPPED,     /* not running here, or cannot read */
  SC_SCHED_LOST,        /* the lease lapsed during the listing and another
                           holder took the instance: nothing applied */
};

struct sc_sched_report {
  enum sc_sched_outcome outcome;
  char instance[256];
  int full;                 /* a full window sync ran */
  int cursor_expired;       /* the stored cursor was refused */
  int events, deleted, busy_swept;
  char error[512];
};

int sc_sched_run_once(struct sc_db_pool *pool, struct sc_registry *reg,
                      const struct sc_sched_options *opts, struct sc_sched_report *rep,
                      struct sc_error *err);

#endif
