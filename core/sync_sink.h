/*
** A connector sink (struct sidecal_sink) that applies every reported
** change at once through core/sync_apply.h, in the caller's transaction.
**
** Contract: the first database error stops the connector (the sink answers
** "no more") and is kept in rc/err for the caller, who must then roll back.
** The cursor a connector reports is copied (at most 4096 bytes).
*/
#ifndef SC_SYNC_SINK_H
#define SC_SYNC_SINK_H

#include <glib.h>
#include <sidecal/connector.h>

#include "sync_apply.h"

struct sc_apply_sink {
  struct sidecal_sink sink;    /* hand &s.sink to the connector */
  PGconn *conn;
  const struct sc_sync_target *target;
  struct sc_sync_counts counts;
  int rc;
  struct sc_error err;
  char cursor[4097];
  int has_cursor;
  GHashTable *seen;            /* when non-NULL: every external id reported */
};

void sc_apply_sink_init(struct sc_apply_sink *s, PGconn *conn, const struct sc_sync_target *t);

#endif
