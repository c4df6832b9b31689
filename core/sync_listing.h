/*
** A connector's listing recorded in memory, to be applied afterwards.
**
** The scheduler lets a connector page through list_events (network, as
** slow as the provider) without holding a pool connection or an open
** transaction, then replays what it reported into the applying sink
** (sync_sink.h) in one short transaction.
**
** Contract:
** - sc_listing_sink() is the sink to hand the connector; it copies every
**   event (all the fields its writer's struct_size covers, attendees
**   included), deletion and cursor, in order, before the callback returns.
** - sc_listing_on_progress(): fn(arg) runs after each recorded event or
**   deletion; when it returns nonzero the sink answers "no more" (the
**   scheduler renews its lease there and stops a listing that lost it).
** - sc_listing_replay() feeds them, in the same order, to another sink
**   (the cursor last); it stops when that sink asks for no more.
*/
#ifndef SC_SYNC_LISTING_H
#define SC_SYNC_LISTING_H

#include <sidecal/connector.h>
#include <stddef.h>

struct sc_listing;

struct sc_listing *sc_listing_new(void);
const struct sidecal_sink *sc_listing_sink(struct sc_listing *l);
void sc_listing_on_progress(struct sc_listing *l, int (*fn)(void *arg), void *arg);
size_t sc_listing_count(const struct sc_listing *l);
void sc_listing_replay(const struct sc_listing *l, const struct sidecal_sink *to);
void sc_listing_free(struct sc_listing *l);

#endif
