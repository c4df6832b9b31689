/*
** The transactional outbox's run side: worker threads that push
** appointment changes to connector instances (jobs written by
** core/sync_enqueue.h).
**
** Contract:
** - Claiming: a worker takes the oldest due job with FOR UPDATE SKIP LOCKED
**   and marks it running under a lease (locked_by, locked_until) in its own
**   short transaction, then calls the connector with no transaction open.
**   Jobs of one (appointment, instance) pair run one at a time, in order.
**   Each worker claims under its own holder name; a worker whose lease
**   lapsed during a call (its job was taken over) records nothing. Calls
**   get a deadline of half the lease (at most 2 minutes).
**   A job whose claimer died is taken again once its lease lapses; several
**   daemons on one database never run one job at the same time.
** - A job converges the instance to the appointment as it is NOW: active
**   and in scope with no link → create_event (marker "sidecal:<id>"); with a
**   link → update_event (if_match = the stored etag); cancelled or out of
**   scope with a link → delete_event; otherwise nothing. The external id and
**   etag returned are stored in appointment_links.
** - Idempotent creates: from the second attempt on, before creating, the
**   worker lists the provider's events around the appointment and adopts an
**   event carrying our marker (ABI 1.1), so a create that answered 500
**   after it took effect is not written twice.
** - Outcomes: OK → done. RETRY / CONFLICT → pending again after
**   min(max_backoff, base * 2^(attempts-1)) with jitter (half to full), or
**   after the connector's retry_after_ms (never sooner); ERROR → dead at once
**   (permanent for this input). After max_attempts failed attempts the job
**   is dead: state 'dead', dead_at set, last_error kept. UNAUTHORIZED → the
**   instance's credentials are refreshed under a per-instance advisory lock
**   and the call is made once more; a failed refresh marks the instance
**   NEEDS_REAUTH in sync_status and the job retries later.
** - An instance that is not running in the current registry generation
**   (not loaded, failed) is a RETRY with its error as last_error.
** - sc_outbox_retry() makes a dead (or pending) job due now with attempts
**   reset; `sidecalctl jobs [--dead]` and `sidecalctl jobs retry ID`.
*/
#ifndef SC_SYNC_OUTBOX_H
#define SC_SYNC_OUTBOX_H

#include <stdint.h>

#include "db.h"
#include "error.h"

struct sc_registry;

struct sc_outbox_options {
  int workers;              /* threads; 0 = 2 */
  int max_attempts;         /* dead-letter after this many; 0 = 8 */
  int64_t base_backoff_ms;  /* 0 = 1000 */
  int64_t max_backoff_ms;   /* 0 = 3600000 */
  int64_t lease_ms;         /* a claim's lease; 0 = 300000 */
  int64_t poll_ms;          /* idle wait between claims; 0 = 1000 */
  const char *holder;       /* names this daemon in locked_by; NULL = host:pid */
};

/* What one run did, for tests and logs. */
enum sc_outbox_outcome {
  SC_OUTBOX_IDLE,     /* no job was due */
  SC_OUTBOX_DONE,
  SC_OUTBOX_RETRY,    /* scheduled again */
  SC_OUTBOX_DEAD,     /* dead-lettered */
  SC_OUTBOX_LOST,     /* the lease lapsed during the call and another worker
                         took the job; this outcome was not recorded */
};

/* Claims and runs at most one due job on the calling thread. *job_id (may
** be NULL) gets the job's id. Errors are database errors only; a failed
** push is an outcome, not an error. */
int sc_outbox_run_once(struct sc_db_pool *pool, struct sc_registry *reg,
                       const struct sc_outbox_options *opts,
                       enum sc_outbox_outcome *outcome, int64_t *job_id,
                       struct sc_error *err);

/* Makes job id due now with attempts reset (dead or pending; a running or
** done job is SC_ESTATE "job N is running|done"; unknown SC_ENOTFOUND). */
int sc_outbox_retry(PGconn *conn, int64_t id, struct sc_error *err);

struct sc_outbox;

/* Starts opts->workers threads; they run until sc_outbox_stop(). */
int sc_outbox_start(struct sc_db_pool *pool, struct sc_registry *reg,
                    const struct sc_outbox_options *opts, struct sc_outbox **out,
                    struct sc_error *err);
/* A job was queued: wake an idle worker now (NOTIFY sidecal_jobs). */
void sc_outbox_wake(struct sc_outbox *ob);
/* Finishes the calls in flight, then joins the threads. NULL is fine. */
void sc_outbox_stop(struct sc_outbox *ob);

/* sidecalctl jobs [--dead] | jobs retry ID (core/sync_jobs_ctl.c) */
int sc_cmd_jobs(int argc, char **argv);
/* sidecalctl sync-status: health per instance (core/sync_status_ctl.c) */
int sc_cmd_sync_status(int argc, char **argv);

#endif
