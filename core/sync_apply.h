/*
** Applying a provider's normalized changes (from a webhook delivery or a
** poll) to the database, for one connector instance.
**
** Contract (all in the caller's transaction, platform-admin or the
** instance's organization):
** - Staff-scoped instance (the staff member's own calendar): an event that
**   sidecal did not create becomes external busy time (start, end,
**   instance, external id; nothing more); a cancelled or deleted one is
**   removed. Events that are ours (linked, or carrying a "sidecal:" marker)
**   are echoes and ignored.
** - Location-scoped instance (a system of record: GHL, Cal.com): events are
**   appointments. Unknown → imported (origin 'import', stored even when it
**   overlaps an active appointment, then flagged overlap = true; a cancelled
**   unknown event is not imported). Linked → echo suppression first: the
**   etag we stored after our own push, or identical content, changes
**   nothing (updated_at is not bumped). Otherwise the conflict rule: the
**   provider's last_modified (0 = unknown, counts as newer) against our
**   updated_at, in whole seconds: newer provider → applied (status rules of
**   the API do not bind it; a transition they forbid is logged); newer ours
**   → a job pushes ours back; equal → a sync_conflicts row with both
**   versions and a field diff, MANUAL_REVIEW_REQUIRED, nothing applied.
**   Deleted at the provider → the appointment is cancelled and unlinked.
** - Every applied change is enqueued for the OTHER instances (never back to
**   the source).
** - An event whose marker names one of our appointments but has no link
**   yet (our push crashed before recording it) is adopted as that link.
*/
#ifndef SC_SYNC_APPLY_H
#define SC_SYNC_APPLY_H

#include <libpq-fe.h>
#include <sidecal/event.h>

#include "error.h"

struct sc_sync_target {
  char org[37];
  char instance_id[37];
  char name[256];
  char location_id[37];   /* "" for a staff instance */
  char staff_id[37];      /* "" for a location instance */
  char timezone[64];      /* the location's zone (staff: "UTC") */
};

struct sc_sync_counts {
  int imported, updated, cancelled, echoes, unchanged, pushed_back, conflicts, busy,
      busy_removed, ignored;
};

/* Loads the active instance by name (SC_ENOTFOUND "no active connector
** instance NAME"). */
int sc_sync_target_load(PGconn *conn, const char *name, struct sc_sync_target *t,
                        struct sc_error *err);

int sc_sync_apply_event(PGconn *conn, const struct sc_sync_target *t,
                        const struct sidecal_event *ev, struct sc_sync_counts *n,
                        struct sc_error *err);
/* An event re-read after our If-Match write was refused (412), for any
** scope: its link's conflict rule as above (same content → the link takes
** the new etag; newer provider → applied; newer ours → pushed back over
** the new etag; equal → a sync_conflicts row, the link taking the new
** etag so that a keep-ours resolution can overwrite). No link: nothing. */
int sc_sync_apply_refetched(PGconn *conn, const struct sc_sync_target *t,
                            const struct sidecal_event *ev, struct sc_sync_counts *n,
                            struct sc_error *err);
int sc_sync_apply_deleted(PGconn *conn, const struct sc_sync_target *t,
                          const char *external_id, struct sc_sync_counts *n,
                          struct sc_error *err);

#endif
