/*
** The webhook inbox: durable intake of provider deliveries and their
** asynchronous, exactly-once application.
**
** Contract, intake (sc_inbox_receive, called by POST /v1/webhooks/...):
** - The instance is named in the URL, or (one URL per app) found by the
**   connector's webhook_route key matched against each running instance's
**   instance_key. A key no instance has is acknowledged (200) and logged.
** - The connector verifies the delivery; failure answers 401, is logged,
**   and stores nothing.
** - The raw delivery (headers, body, query) is committed to sync_inbox, and
**   only then is 200 answered. A delivery seen before (same instance, same
**   SHA-256 of the body) is acknowledged and not stored again.
** - When the inbox cannot commit, the answer is the status the provider
**   retries on: 429 for providers that retry only on it (GoHighLevel), 503
**   otherwise.
** - Unknown plugin or instance, or an instance of another plugin: 404.
**   An instance that is configured but not running: 503.
**
** Contract, processing (sc_inbox_run_once, the inbox worker):
** - Claims the oldest due row with FOR UPDATE SKIP LOCKED and keeps the
**   transaction open while the connector parses the delivery (no network)
**   and the changes are applied (core/sync_apply.h); processed_at is set in
**   the same transaction, so a delivery is applied exactly once, also
**   across crashes and several daemons.
** - A connector ERROR marks the row processed with the error (it would fail
**   the same way forever); a RETRY, a database error or an instance that is
**   not running leaves it for later (attempts + 1, backoff).
*/
#ifndef SC_SYNC_INBOX_H
#define SC_SYNC_INBOX_H

#include <sidecal/host.h>
#include <stddef.h>

#include "db.h"
#include "error.h"
#include "sync_apply.h"

struct sc_registry;

struct sc_webhook_in {
  const char *plugin;
  const char *instance;   /* NULL: route by the connector's key */
  const struct sidecal_http_header *headers; /* names lower-cased */
  size_t n_headers;
  const char *body;       /* NUL-terminated */
  size_t body_len;
  const char *query;      /* raw query string or NULL */
};

struct sc_webhook_out {
  int status;             /* HTTP status to answer */
  int duplicate;          /* acknowledged, seen before */
  int stored;             /* committed to the inbox */
  char instance[256];     /* the instance it was routed to, or "" */
  char message[512];      /* for the response body and the log */
};

/* ingest: the daemon's group-commit writer (core/sync_ingest.h), or NULL
** to commit this delivery in a transaction of its own. */
struct sc_ingest;
void sc_inbox_receive(struct sc_db_pool *pool, struct sc_registry *reg, struct sc_ingest *ingest,
                      const struct sc_webhook_in *in, struct sc_webhook_out *out);

enum sc_inbox_outcome {
  SC_INBOX_IDLE,       /* nothing due */
  SC_INBOX_APPLIED,
  SC_INBOX_FAILED,     /* marked processed with an error */
  SC_INBOX_LATER,      /* left for a later attempt */
};

/* Processes at most one delivery. counts (may be NULL) gets what was
** applied. Returns database errors only. */
int sc_inbox_run_once(struct sc_db_pool *pool, struct sc_registry *reg,
                      enum sc_inbox_outcome *outcome, struct sc_sync_counts *counts,
                      struct sc_error *err);

/* Up to max deliveries in one transaction (each under its own savepoint, so
** one bad delivery does not undo the others); *n gets how many were taken.
** The engine's inbox workers use this. */
int sc_inbox_run_batch(struct sc_db_pool *pool, struct sc_registry *reg, int max, int *n,
                       struct sc_error *err);

#endif
