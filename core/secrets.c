/*
** Connector secrets stored encrypted in connector_secrets.
*/
#include "secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytea.h"
#include "db.h"

static void make_aad(char *aad, size_t n, const char *org_id,
                     const char *instance_id, const char *name) {
  snprintf(aad, n, "%s/%s/%s", org_id, instance_id, name);
}

static int write_row(PGconn *conn, const struct sc_keyring *kr,
                     const char *org_id, const char *instance_id,
                     const char *name, const char *value,
                     const unsigned char *seed, struct sc_error *err) {
  char aad[256];
  make_aad(aad, sizeof aad, org_id, instance_id, name);
  unsigned char *blob = NULL;
  size_t blob_n = 0;
  int rc = sc_crypto_encrypt(kr, value, strlen(value), aad, strlen(aad),
                             &blob, &blob_n, err);
  if (rc) return rc;
  char *hex = sc_bytea_hex(blob, blob_n);
  char *seed_hex = seed ? sc_bytea_hex(seed, 32) : NULL;
  free(blob);
  if (!hex || (seed && !seed_hex)) {
    free(hex);
    free(seed_hex);
    return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  }
  const char *p[5] = {org_id, instance_id, name, hex, seed_hex};
  /* A NULL seed keeps the stored one (rotation by the system). */
  rc = sc_db_exec(conn,
      "INSERT INTO connector_secrets (organization_id, instance_id, name, ciphertext, seed_hash)"
      " VALUES ($1, $2, $3, $4::bytea, $5::bytea)"
      " ON CONFLICT (organization_id, instance_id, name) DO UPDATE SET"
      "  ciphertext = EXCLUDED.ciphertext,"
      "  seed_hash = coalesce(EXCLUDED.seed_hash, connector_secrets.seed_hash),"
      "  updated_at = now()",
      5, p, NULL, err);
  free(hex);
  free(seed_hex);
  return rc;
}

int sc_secret_seed(PGconn *conn, const struct sc_keyring *kr,
                   const char *org_id, const char *instance_id,
                   const char *name, const char *value, int *changed,
                   struct sc_error *err) {
  unsigned char seed[32];
  *changed = 0;
  int rc = sc_crypto_seed_hash(kr, value, strlen(value), seed);
  if (rc) return sc_error_set(err, rc, NULL, "cannot hash secret %s", name);
  char *seed_hex = sc_bytea_hex(seed, sizeof seed);
  const char *p[4] = {org_id, instance_id, name, seed_hex};
  PGresult *r;
  rc = sc_db_exec(conn,
      "SELECT 1 FROM connector_secrets WHERE organization_id = $1"
      " AND instance_id = $2 AND name = $3 AND seed_hash = $4::bytea",
      4, p, &r, err);
  free(seed_hex);
  if (rc) return rc;
  int same = PQntuples(r) > 0;
  PQclear(r);
  if (same) return SC_OK;
  rc = write_row(conn, kr, org_id, instance_id, name, value, seed, err);
  if (!rc) *changed = 1;
  return rc;
}

int sc_secret_put(PGconn *conn, const struct sc_keyring *kr,
                  const char *org_id, const char *instance_id,
                  const char *name, const char *value, struct sc_error *err) {
  return write_row(conn, kr, org_id, instance_id, name, value, NULL, err);
}

static int decrypt_value(const struct sc_keyring *kr, const char *aad,
                         PGresult *r, int row, char **value,
                         struct sc_error *err) {
  size_t n = 0;
  unsigned char *blob = PQunescapeBytea(
      (const unsigned char *)PQgetvalue(r, row, 0), &n);
  if (!blob) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  unsigned char *plain = NULL;
  size_t plain_n = 0;
  int rc = sc_crypto_decrypt(kr, blob, n, aad, strlen(aad), &plain, &plain_n, err);
  PQfreemem(blob);
  if (rc) return rc;
  /* The crypto layer NUL-terminates plaintext, so it is the string. */
  *value = (char *)plain;
  return SC_OK;
}

int sc_secret_get(PGconn *conn, const struct sc_keyring *kr,
                  const char *org_id, const char *instance_id,
                  const char *name, char **value, struct sc_error *err) {
  const char *p[3] = {org_id, instance_id, name};
  PGresult *r;
  int rc = sc_db_exec(conn,
      "SELECT ciphertext FROM connector_secrets WHERE organization_id = $1"
      " AND instance_id = $2 AND name = $3", 3, p, &r, err);
  if (rc) return rc;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return sc_error_set(err, SC_ENOTFOUND, name, "no secret \"%s\" stored", name);
  }
  char aad[256];
  make_aad(aad, sizeof aad, org_id, instance_id, name);
  rc = decrypt_value(kr, aad, r, 0, value, err);
  PQclear(r);
  if (rc == SC_ECRYPTO) {
    char inner[sizeof err->message];
    snprintf(inner, sizeof inner, "%s", err->message);
    sc_error_set(err, SC_ECRYPTO, name, "secret \"%s\" of instance %s: %s",
                 name, instance_id, inner);
  }
  return rc;
}

int sc_secrets_reencrypt_all(PGconn *conn, const struct sc_keyring *kr,
                             int *rewritten, struct sc_error *err) {
  PGresult *r;
  *rewritten = 0;
  int rc = sc_db_exec(conn,
      "SELECT ciphertext, organization_id, instance_id, name FROM connector_secrets"
      " ORDER BY 2, 3, 4 FOR UPDATE", 0, NULL, &r, err);
  if (rc) return rc;
  const char *active = sc_keyring_active_id(kr);
  for (int i = 0; i < PQntuples(r) && !rc; i++) {
    size_t n = 0;
    unsigned char *blob = PQunescapeBytea(
        (const unsigned char *)PQgetvalue(r, i, 0), &n);
    char kid[64] = "";
    int have = blob && sc_crypto_blob_key_id(blob, n, kid, sizeof kid) == SC_OK;
    PQfreemem(blob);
    if (have && strcmp(kid, active) == 0) continue;
    const char *org = PQgetvalue(r, i, 1), *inst = PQgetvalue(r, i, 2),
               *name = PQgetvalue(r, i, 3);
    char aad[256];
    make_aad(aad, sizeof aad, org, inst, name);
    char *value = NULL;
    rc = decrypt_value(kr, aad, r, i, &value, err);
    if (rc) {
      char inner[sizeof err->message];
      snprintf(inner, sizeof inner, "%s", err->message);
      sc_error_set(err, rc, NULL, "secret \"%s\" of instance %s: %s", name,
                   inst, inner);
      break;
    }
    rc = write_row(conn, kr, org, inst, name, value, NULL, err);
    free(value);
    if (!rc) (*rewritten)++;
  }
  PQclear(r);
  return rc;
}
