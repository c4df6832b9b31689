/*
** Idempotency-Key for POST requests, per organization, kept 24 hours.
**
** Inside the request's transaction, sc_idem_claim() inserts the key with a
** hash of the request (method, path, body). The row lock makes a concurrent
** retry with the same key wait for the first request's commit. Then:
** - nothing stored yet: the request runs, and sc_idem_store() saves its
**   response in the same transaction (a failed request rolls back, leaving
**   no trace, so a retry runs again);
** - a stored response with the same hash: replay it (*replay = 1), create
**   nothing;
** - the same key with a different request: SC_EINVAL, kind
**   "idempotency_key_reused".
*/
#ifndef SC_IDEMPOTENCY_H
#define SC_IDEMPOTENCY_H

#include <libpq-fe.h>
#include <stddef.h>

#include "error.h"

struct sc_idem_replay {
  int replay;
  int status;
  char *body;  /* malloc'd when replay */
};

int sc_idem_claim(PGconn *conn, const char *org_id, const char *key, const char *method,
                  const char *path, const char *body, size_t body_len,
                  struct sc_idem_replay *out, struct sc_error *err);
int sc_idem_store(PGconn *conn, const char *org_id, const char *key, int status,
                  const char *body, struct sc_error *err);

#endif
