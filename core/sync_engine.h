/*
** The sync engine as the daemon runs it: outbox workers (sync_outbox.h),
** inbox workers (sync_inbox.h), the webhook ingest writer (sync_ingest.h)
** and scheduler threads (sync_scheduler.h),
** all on the application pool and the registry's current generation.
**
** Contract:
** - sc_sync_engine_start() starts every thread; options left 0 take the
**   modules' defaults, overridden by the environment:
**     SIDECAL_SYNC_WORKERS       outbox worker threads (default 2)
**     SIDECAL_SYNC_SCHEDULERS    scheduler threads (default 2): instances
**                                syncing at once, so one slow provider
**                                does not hold up every other instance
**     SIDECAL_JOB_MAX_ATTEMPTS   dead-letter after N attempts (default 8)
**     SIDECAL_SYNC_INTERVAL_S    periodic sync interval (default 300)
**     SIDECAL_SYNC_HORIZON_DAYS  periodic window ahead (default 62)
**     SIDECAL_SYNC_POLL_MS       idle wait of every loop (default 1000)
** - sc_sync_engine_wake() wakes idle threads at once (a job or delivery
**   was queued; the daemon calls it on NOTIFY sidecal_jobs).
**   sc_sync_engine_wake_inbox() wakes the inbox threads alone: a webhook
**   stored here concerns nobody else, and waking the outbox and scheduler
**   on every delivery cost three empty claims per webhook.
** - sc_sync_engine_stop() lets calls in flight finish, then joins; work not
**   yet claimed stays in the database for the next start (or another
**   daemon). NULL is fine.
*/
#ifndef SC_SYNC_ENGINE_H
#define SC_SYNC_ENGINE_H

#include "db.h"
#include "error.h"
#include "sync_outbox.h"
#include "sync_scheduler.h"

struct sc_registry;

struct sc_sync_engine_options {
  struct sc_outbox_options outbox;
  struct sc_sched_options sched;
  int inbox_workers;        /* 0 = 2 */
  int schedulers;           /* 0 = 2 */
  int64_t poll_ms;          /* 0 = 1000 */
};

/* Fills zeroes from the environment (see above). */
void sc_sync_engine_options_from_env(struct sc_sync_engine_options *o);

struct sc_sync_engine;

int sc_sync_engine_start(struct sc_db_pool *pool, struct sc_registry *reg,
                         const struct sc_sync_engine_options *opts,
                         struct sc_sync_engine **out, struct sc_error *err);
void sc_sync_engine_wake(struct sc_sync_engine *e);
void sc_sync_engine_wake_inbox(struct sc_sync_engine *e);
/* The webhook intake's group-commit writer (core/sync_ingest.h). */
struct sc_ingest *sc_sync_engine_ingest(struct sc_sync_engine *e);
void sc_sync_engine_stop(struct sc_sync_engine *e);

#endif
