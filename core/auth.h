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

/* ---- additions (auth branch) ------------------------------------------ */

/* Key text: "sck_" + 8 alphanumerics (the prefix, shown in listings) + "_" +
** 32 URL-safe base64 characters (192 random bits). */
#define SC_API_KEY_LEN 45
#define SC_API_KEY_PREFIX_LEN 8

/* Verified keys stay cached this long at most; revocations normally reach
** the cache sooner, through sc_auth_invalidate(). */
#define SC_AUTH_CACHE_TTL_S 60

/* A revoke runs `NOTIFY sidecal_auth` in its transaction. Every daemon
** LISTENs on this channel (own connection, not from the pool) and calls
** sc_auth_invalidate() on each notification — and once after any
** reconnect of that connection, since notifications sent while it was
** down are lost. */
#define SC_AUTH_NOTIFY_CHANNEL "sidecal_auth"

/* Starts a thread that calls sc_auth_flush_usage() every interval_s
** seconds until sc_auth_close(). Signals must already be blocked. */
int sc_auth_start_flusher(struct sc_auth *auth, int interval_s,
                          struct sc_error *err);

/* Parses "agency_owner", "location_staff", "staff" or "platform_admin". */
int sc_role_parse(const char *name, enum sc_role *role);

/* What a new key grants. Slugs name rows of org_slug's organization. */
struct sc_key_spec {
  enum sc_role role;
  const char *org_slug;       /* NULL for SC_ROLE_PLATFORM_ADMIN */
  const char *location_slug;  /* location_staff: required; others: NULL */
  const char *staff_slug;     /* staff: required; location_staff: optional
                              ** (must work at the location); others: NULL */
  const char *expires;        /* NULL, "YYYY-MM-DD" (00:00 UTC that day) or
                              ** RFC 3339 with an offset; must be future */
  const char *label;          /* NULL or up to 200 printable characters */
};

struct sc_key_created {
  char id[37];
  char prefix[SC_API_KEY_PREFIX_LEN + 1];
  char key[SC_API_KEY_LEN + 1];  /* shown once; never stored */
};

/* Validates spec and inserts the key (platform-admin transaction on a
** connection of pool). SC_EINVAL / SC_ENOTFOUND with an exact message for
** bad input (field = the CLI option without dashes); nothing is written
** then. */
int sc_auth_key_create(struct sc_db_pool *pool, const struct sc_key_spec *spec,
                       struct sc_key_created *out, struct sc_error *err);

/* Marks the key revoked and NOTIFYs SC_AUTH_NOTIFY_CHANNEL in the same
** transaction. *already (may be NULL) is set when it was revoked before
** (nothing changes then). SC_ENOTFOUND for an unknown or malformed id.
** auth (may be NULL, as in sidecalctl) is invalidated after the commit, so
** in this process the key fails on its very next request without waiting
** for the listener. */
int sc_auth_key_revoke(struct sc_db_pool *pool, struct sc_auth *auth,
                       const char *key_id, int *already, struct sc_error *err);

/* sidecalctl key create|list|revoke (argv[0] = "key"). */
int sc_cmd_key(int argc, char **argv);

#endif
