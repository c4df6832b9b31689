/*
** sidecalctl migrate and rotate-master-key.
*/
#include "ctl_db.h"

#include <stdio.h>
#include <stdlib.h>

#include "crypto.h"
#include "db.h"
#include "migrate.h"
#include "secrets.h"

static const char *need_url(void) {
  const char *url = sc_db_url_from_env();
  if (!url) fprintf(stderr, "sidecalctl: set SIDECAL_DATABASE_URL (scripts/pg url prints the private one)\n");
  return url;
}

static const char *keyring_path(void) {
  const char *p = getenv("SIDECAL_MASTER_KEY_FILE");
  return (p && *p) ? p : "var/master.keyring";
}

int sc_cmd_migrate(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fprintf(stderr, "usage: sidecalctl migrate\n");
    return 2;
  }
  const char *url = need_url();
  if (!url) return 2;
  PGconn *c;
  struct sc_error err;
  int applied = 0, version = 0;
  int rc = sc_db_connect_owner(url, &c, &err);
  if (!rc) {
    rc = sc_migrate(c, &applied, &err);
    if (!rc) rc = sc_schema_version(c, &version, &err);
    PQfinish(c);
  }
  if (rc) {
    fprintf(stderr, "sidecalctl: %s\n", err.message);
    return 1;
  }
  printf("schema at version %d (%d applied)\n", version, applied);
  return 0;
}

/* The new key is written to the keyring first: if re-encryption then
** fails, every secret still decrypts (old keys stay) and a rerun finishes. */
int sc_cmd_rotate_master_key(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fprintf(stderr, "usage: sidecalctl rotate-master-key\n");
    return 2;
  }
  const char *url = need_url();
  if (!url) return 2;
  struct sc_error err;
  char id[SC_CRYPTO_KEY_ID_MAX];
  struct sc_keyring *kr = NULL;
  struct sc_db_pool *pool = NULL;
  int rewritten = 0;
  int rc = sc_keyring_add_key(keyring_path(), id, sizeof id, &err);
  if (!rc) rc = sc_keyring_load(keyring_path(), &kr, &err);
  if (!rc) rc = sc_db_pool_open(url, 1, &pool, &err);
  if (!rc) {
    PGconn *c = sc_db_acquire(pool);
    struct sc_tenant admin = {.platform_admin = 1};
    rc = sc_db_begin(c, &admin, &err);
    if (!rc) rc = sc_secrets_reencrypt_all(c, kr, &rewritten, &err);
    rc = sc_db_end(c, rc, &err);
    sc_db_release(pool, c);
  }
  sc_db_pool_close(pool);
  sc_keyring_free(kr);
  if (rc) {
    fprintf(stderr, "sidecalctl: rotate-master-key: %s\n", err.message);
    return 1;
  }
  printf("active key %s; %d secrets re-encrypted\n", id, rewritten);
  return 0;
}
