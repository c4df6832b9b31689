/*
** Reading a CalDAV calendar: list_events (full and incremental sync) and
** free_busy.
**
** Contract:
** - Full sync (cursor NULL): the collection's DAV:sync-token is read
**   first, then REPORT calendar-query with a time-range filter returns
**   every resource overlapping the window with its calendar-data; each is
**   expanded (ics_read.h) and reported; cancelled occurrences are reported
**   with status CANCELLED, transparent ones not at all. The cursor is
**   "cd1:<cache id hex>:<sync-token>".
** - Incremental: REPORT sync-collection with the token (following 507
**   truncation with the returned token); members answered 404 are
**   deletions of every id reported for them; changed members whose ETag
**   differs from the one held are fetched with calendar-multiget and
**   re-expanded, and their ids that vanished are reported deleted. The
**   DAV:valid-sync-token precondition (403 or 409), a malformed cursor, or
**   changes while the cache no longer knows the cursor answer
**   SIDECAL_CURSOR_EXPIRED.
** - A server without a sync-token gets cursor token "", and each
**   incremental sync lists all members and compares ETags.
*/
#ifndef CALDAV_SYNC_H
#define CALDAV_SYNC_H

#include "caldav.h"

int32_t cd_list_events(void *instance, const struct sidecal_call_ctx *ctx,
                       const struct sidecal_window *window, const char *cursor,
                       const struct sidecal_sink *sink, struct sidecal_result *res);

int32_t cd_free_busy(void *instance, const struct sidecal_call_ctx *ctx,
                     const struct sidecal_window *window, const struct sidecal_sink *sink,
                     struct sidecal_result *res);

#endif
