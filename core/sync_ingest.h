/*
** Group commit for webhook intake: many deliveries, one transaction.
**
** Contract:
** - sc_ingest_submit() blocks until the delivery is committed to
**   sync_inbox (or its batch failed) and only then returns, so the caller
**   may acknowledge it: durability is unchanged, but concurrent deliveries
**   share one INSERT and one WAL flush.
** - One writer thread takes everything queued (up to SC_INGEST_BATCH) and
**   inserts it as one statement; *stored says the row is new, *duplicate
**   that (instance, dedupe key) was there already. An instance name not in
**   the database is SC_ENOTFOUND for that delivery alone; a failed
**   transaction fails every delivery of the batch with its error.
** - sc_ingest_recent() says whether a delivery was submitted within the
**   last ms milliseconds: while deliveries keep coming, the inbox workers
**   give way (core/sync_engine.c).
** - sc_ingest_stop() fails what is still queued with SC_ESTATE "the daemon
**   is stopping" and joins the writer.
*/
#ifndef SC_SYNC_INGEST_H
#define SC_SYNC_INGEST_H

#include "db.h"
#include "error.h"

#define SC_INGEST_BATCH 512

struct sc_ingest;

int sc_ingest_start(struct sc_db_pool *pool, struct sc_ingest **out, struct sc_error *err);
void sc_ingest_stop(struct sc_ingest *ig);

struct sc_ingest_item {
  const char *instance;
  const char *dedupe;
  const char *headers_json;
  const char *body_b64;
  const char *query;       /* may be NULL */
};

int sc_ingest_submit(struct sc_ingest *ig, const struct sc_ingest_item *item, int *stored,
                     int *duplicate, struct sc_error *err);
int sc_ingest_recent(struct sc_ingest *ig, int ms);

#endif
