/*
** Idempotency keys (see idempotency.h).
*/
#include "idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytea.h"
#include "crypto.h"
#include "db.h"

static char *request_hash(const char *method, const char *path, const char *body,
                          size_t len) {
  size_t ml = strlen(method), pl = strlen(path);
  char *buf = malloc(ml + pl + len + 3);
  memcpy(buf, method, ml);
  buf[ml] = '\n';
  memcpy(buf + ml + 1, path, pl);
  buf[ml + 1 + pl] = '\n';
  if (len) memcpy(buf + ml + pl + 2, body, len);
  unsigned char h[SC_CRYPTO_HASH_LEN];
  sc_crypto_sha256(buf, ml + pl + len + 2, h);
  free(buf);
  return sc_bytea_hex(h, sizeof h);
}

int sc_idem_claim(PGconn *conn, const char *org_id, const char *key, const char *method,
                  const char *path, const char *body, size_t body_len,
                  struct sc_idem_replay *out, struct sc_error *err) {
  memset(out, 0, sizeof *out);
  if (strlen(key) > 255 || !*key)
    return sc_error_set(err, SC_EINVAL, "Idempotency-Key",
                        "Idempotency-Key: must be 1 to 255 characters");
  char *hex = request_hash(method, path, body, body_len);
  const char *p[3] = {org_id, key, hex};
  /* Keys older than a day are forgotten, as documented. */
  int rc = sc_db_exec_prep(conn, "DELETE FROM idempotency_keys WHERE organization_id = $1::uuid"
                      " AND key = $2 AND created_at < now() - interval '24 hours'", 2, p, NULL, err);
  if (!rc)
    rc = sc_db_exec_prep(conn, "INSERT INTO idempotency_keys (organization_id, key, request_hash)"
                    " VALUES ($1::uuid, $2, $3::bytea) ON CONFLICT DO NOTHING", 3, p, NULL, err);
  PGresult *r;
  if (!rc)
    rc = sc_db_exec_prep(conn, "SELECT request_hash = $3::bytea, response_status, response_body"
                    " FROM idempotency_keys WHERE organization_id = $1::uuid AND key = $2",
                    3, p, &r, err);
  free(hex);
  if (rc) return rc;
  int same = PQntuples(r) && PQgetvalue(r, 0, 0)[0] == 't';
  int stored = PQntuples(r) && !PQgetisnull(r, 0, 1);
  if (!same) {
    PQclear(r);
    sc_error_set(err, SC_EINVAL, "Idempotency-Key",
                 "Idempotency-Key \"%s\" was already used for a different request", key);
    return sc_error_kind(err, "idempotency_key_reused");
  }
  if (stored) {
    out->replay = 1;
    out->status = atoi(PQgetvalue(r, 0, 1));
    out->body = strdup(PQgetvalue(r, 0, 2));
  }
  PQclear(r);
  return SC_OK;
}

int sc_idem_store(PGconn *conn, const char *org_id, const char *key, int status,
                  const char *body, struct sc_error *err) {
  char st[16];
  snprintf(st, sizeof st, "%d", status);
  const char *p[4] = {org_id, key, st, body};
  return sc_db_exec_prep(conn, "UPDATE idempotency_keys SET response_status = $3::int,"
                    " response_body = $4 WHERE organization_id = $1::uuid AND key = $2",
                    4, p, NULL, err);
}
