/*
** A connector sink (struct sidecal_sink) that applies every reported
** change at once through core/sync_apply.h.
**
** Two modes:
** - sc_apply_sink_init(): in the caller's transaction on conn (webhook
**   deliveries: parsing has no network, and a batch commits together).
** - sc_apply_sink_init_pool(): each change in its own short transaction on
**   a pool connection taken for just that change (a scheduler's listing:
**   the connector pages through the provider holding no connection and no
**   open transaction, and a change is applied the moment it is read, so a
**   webhook applied meanwhile is never overwritten by an older listing).
**   After each change, `each(each_arg)` runs when set; nonzero stops the
**   connector (the scheduler renews its lease there).
**
** Contract: the first database error stops the connector (the sink answers
** "no more") and is kept in rc/err; in the first mode the caller must then
** roll back. The cursor a connector reports is copied (at most 4096 bytes).
*/
#ifndef SC_SYNC_SINK_H
#define SC_SYNC_SINK_H

#include <glib.h>
#include <sidecal/connector.h>

#include "db.h"
#include "sync_apply.h"

struct sc_apply_sink {
  struct sidecal_sink sink;    /* hand &s.sink to the connector */
  PGconn *conn;                /* first mode */
  struct sc_db_pool *pool;     /* second mode */
  int (*each)(void *arg);      /* second mode, optional */
  void *each_arg;
  const struct sc_sync_target *target;
  struct sc_sync_counts counts;
  int rc;
  struct sc_error err;
  char cursor[4097];
  int has_cursor;
  GHashTable *seen;            /* when non-NULL: every external id reported */
};

void sc_apply_sink_init(struct sc_apply_sink *s, PGconn *conn, const struct sc_sync_target *t);
void sc_apply_sink_init_pool(struct sc_apply_sink *s, struct sc_db_pool *pool,
                             const struct sc_sync_target *t);

#endif
