/*
** Connector secrets at rest: rows of connector_secrets, AES-256-GCM
** encrypted with the master keyring (core/crypto.h). The additional data of
** every blob is "<organization_id>/<instance_id>/<name>", so a ciphertext
** copied into another row fails authentication instead of decrypting.
**
** All functions run inside the caller's transaction (sc_db_begin) on an
** application-role connection; RLS scopes them like everything else.
*/
#ifndef SC_SECRETS_H
#define SC_SECRETS_H

#include <libpq-fe.h>

#include "crypto.h"
#include "error.h"

/* Stores value as the config-seeded secret unless the configured value is
** unchanged since the last seed (compared by keyed hash), so a token the
** system rotated itself is not overwritten by a stale file. *changed is set
** to 1 when the row was written. */
int sc_secret_seed(PGconn *conn, const struct sc_keyring *kr,
                   const char *org_id, const char *instance_id,
                   const char *name, const char *value, int *changed,
                   struct sc_error *err);

/* Stores a value the system obtained itself (e.g. a rotated refresh token);
** the seed hash is kept so the next config apply does not undo it. */
int sc_secret_put(PGconn *conn, const struct sc_keyring *kr,
                  const char *org_id, const char *instance_id,
                  const char *name, const char *value, struct sc_error *err);

/* Decrypts a secret; *value is malloc'd and NUL-terminated. SC_ENOTFOUND
** when absent, SC_ECRYPTO (message says why) when tampered. */
int sc_secret_get(PGconn *conn, const struct sc_keyring *kr,
                  const char *org_id, const char *instance_id,
                  const char *name, char **value, struct sc_error *err);

/* Re-encrypts every secret not under the keyring's active key. The caller's
** transaction must be platform-admin. *rewritten counts the rows. */
int sc_secrets_reencrypt_all(PGconn *conn, const struct sc_keyring *kr,
                             int *rewritten, struct sc_error *err);

#endif
