/*
** API keys and request authentication.
**
** A key is shown once at creation ("sck_<prefix>_<secret>"); only its
** SHA-256 is stored (api_keys.key_hash). Requests carry
** `Authorization: Bearer KEY`. Key checks cost no database round trip in the
** steady state: verified keys are cached in process by hash; a revoke
** invalidates the cache here at once and in other daemons through
** sc_auth_invalidate() (called by the NOTIFY listener). last_used_at is
** recorded in batches, not per request.
**
** The organization of every caller comes from the key, never from the
** request, except for platform admins, who name one with ?org=SLUG (the only
** place a request may name an organization).
*/
#ifndef SC_AUTH_H
#define SC_AUTH_H

#include "db.h"
#include "http.h"

struct sc_app;

enum sc_role {
  SC_ROLE_PLATFORM_ADMIN,
  SC_ROLE_AGENCY_OWNER,
  SC_ROLE_LOCATION_STAFF,  /* bound to a location (and optionally a staff member) */
  SC_ROLE_STAFF,           /* bound to a staff member */
};

struct sc_caller {
  enum sc_role role;
  char key_id[37];
  char org_id[37];      /* "" for a platform admin without ?org= */
  char org_slug[64];
  char location_id[37]; /* location_staff: their location; else "" */
  char staff_id[37];    /* staff: themselves; location_staff: optional; else "" */
};

struct sc_auth;  /* the cache */

int sc_auth_open(struct sc_db_pool *pool, struct sc_auth **out, struct sc_error *err);
void sc_auth_close(struct sc_auth *auth);  /* flushes last_used_at */

/* Authenticates a request. On success fills *caller and returns SC_OK. On
** failure fills resp (401 unauthorized: missing, malformed, unknown, revoked
** or expired key — the message says which, without echoing the key; 404 for
** an unknown ?org=; 422 when a non-admin passes ?org=) and returns an
** SC_E* code; the handler must then return at once. */
int sc_auth_request(struct sc_auth *auth, struct sc_http_req *req,
                    struct sc_http_resp *resp, struct sc_caller *caller);

/* The row-level-security tenant for the caller's transactions: the key's
** organization, or the platform-admin flag when no organization is named. */
void sc_auth_tenant(const struct sc_caller *caller, struct sc_tenant *t);

/* Drops every cached key (after a revoke anywhere). Thread-safe. */
void sc_auth_invalidate(struct sc_auth *auth);

/* Writes batched last_used_at times; the daemon calls it periodically. */
int sc_auth_flush_usage(struct sc_auth *auth, struct sc_error *err);

const char *sc_role_name(enum sc_role role);

/* sidecalctl key create|list|revoke (argv[0] = "key"). */
int sc_cmd_key(int argc, char **argv);

#endif
