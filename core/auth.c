/*
** Request authentication: Bearer key parsing, the in-process key cache
** (SHA-256 of the key → what it grants), ?org= for platform admins, and
** batched last_used_at writes.
**
** The cache is a hash table under a rwlock: a hit takes the read lock only.
** A miss asks the database (sc_api_key_lookup, migration 002) without any
** lock held and inserts the answer only if no invalidation happened
** meanwhile (generation counter), so a revoke can never be undone by a
** lookup that started before it. Unknown and revoked keys are cached too,
** so a client hammering with a dead key costs no database round trips.
*/
#include "auth.h"

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "log.h"

/* Past this many cached keys the cache starts over (bounds memory when a
** client sprays well-formed random keys). */
#define SC_AUTH_CACHE_MAX 100000
#define SC_AUTH_ORG_CACHE_MAX 10000

enum key_state { KEY_OK, KEY_UNKNOWN, KEY_REVOKED };

struct entry {
  unsigned char hash[SC_CRYPTO_HASH_LEN];
  enum key_state state;
  struct sc_caller caller;
  int64_t expires;          /* unix seconds; 0 = never */
  int64_t cached_at;        /* monotonic seconds */
  _Atomic int64_t used;     /* unix seconds of the last accepted request */
  _Atomic int64_t flushed;  /* the value of used last handed to the database */
};

struct org_entry {
  char id[37];
  int64_t cached_at;
};

struct sc_auth {
  struct sc_db_pool *pool;
  pthread_rwlock_t lock;      /* guards keys, orgs, gen */
  GHashTable *keys;           /* entry->hash → struct entry */
  GHashTable *orgs;           /* slug → struct org_entry */
  uint64_t gen;
  pthread_mutex_t usage_mu;   /* guards pending */
  GHashTable *pending;        /* key id → int64_t*: usage of dropped entries */
  pthread_mutex_t stop_mu;
  pthread_cond_t stop_cv;
  int stopping;
  int flusher_running;
  int interval_s;
  pthread_t flusher;
};

static const char *const role_names[] = {
  [SC_ROLE_PLATFORM_ADMIN] = "platform_admin",
  [SC_ROLE_AGENCY_OWNER] = "agency_owner",
  [SC_ROLE_LOCATION_STAFF] = "location_staff",
  [SC_ROLE_STAFF] = "staff",
};

const char *sc_role_name(enum sc_role role) {
  if ((unsigned)role >= sizeof role_names / sizeof role_names[0]) return "?";
  return role_names[role];
}

int sc_role_parse(const char *name, enum sc_role *role) {
  for (size_t i = 0; name && i < sizeof role_names / sizeof role_names[0]; i++) {
    if (!strcmp(name, role_names[i])) {
      *role = (enum sc_role)i;
      return SC_OK;
    }
  }
  return SC_EINVAL;
}

static int64_t mono_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec;
}

static guint hash_bytes(gconstpointer p) {
  guint h;
  memcpy(&h, p, sizeof h);  /* a SHA-256 is already uniformly spread */
  return h;
}

static gboolean hash_equal(gconstpointer a, gconstpointer b) {
  return memcmp(a, b, SC_CRYPTO_HASH_LEN) == 0;
}

/* ---- life cycle -------------------------------------------------------- */

int sc_auth_open(struct sc_db_pool *pool, struct sc_auth **out, struct sc_error *err) {
  struct sc_auth *a = calloc(1, sizeof *a);
  if (!a) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  a->pool = pool;
  pthread_rwlock_init(&a->lock, NULL);
  pthread_mutex_init(&a->usage_mu, NULL);
  pthread_mutex_init(&a->stop_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&a->stop_cv, &ca);
  pthread_condattr_destroy(&ca);
  a->keys = g_hash_table_new_full(hash_bytes, hash_equal, NULL, free);
  a->orgs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free);
  a->pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  *out = a;
  return SC_OK;
}

static void stop_flusher(struct sc_auth *a) {
  if (!a->flusher_running) return;
  pthread_mutex_lock(&a->stop_mu);
  a->stopping = 1;
  pthread_cond_signal(&a->stop_cv);
  pthread_mutex_unlock(&a->stop_mu);
  pthread_join(a->flusher, NULL);
  a->flusher_running = 0;
}

void sc_auth_close(struct sc_auth *a) {
  if (!a) return;
  stop_flusher(a);
  struct sc_error err;
  if (sc_auth_flush_usage(a, &err))
    sc_log_warn("event=auth_usage_flush_failed error=\"%s\"", err.message);
  g_hash_table_destroy(a->keys);
  g_hash_table_destroy(a->orgs);
  g_hash_table_destroy(a->pending);
  pthread_rwlock_destroy(&a->lock);
  pthread_mutex_destroy(&a->usage_mu);
  pthread_mutex_destroy(&a->stop_mu);
  pthread_cond_destroy(&a->stop_cv);
  free(a);
}

/* ---- usage bookkeeping ------------------------------------------------- */

static void pending_put(struct sc_auth *a, const char *key_id, int64_t t) {
  pthread_mutex_lock(&a->usage_mu);
  int64_t *have = g_hash_table_lookup(a->pending, key_id);
  if (!have) {
    int64_t *v = g_new(int64_t, 1);
    *v = t;
    g_hash_table_insert(a->pending, g_strdup(key_id), v);
  } else if (*have < t) {
    *have = t;
  }
  pthread_mutex_unlock(&a->usage_mu);
}

/* Before an entry is dropped, its unwritten usage moves to pending. */
static void keep_usage(struct sc_auth *a, struct entry *e) {
  int64_t used = atomic_load(&e->used);
  if (e->state == KEY_OK && used > atomic_load(&e->flushed))
    pending_put(a, e->caller.key_id, used);
}

static void drop_all_locked(struct sc_auth *a) {
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, a->keys);
  while (g_hash_table_iter_next(&it, NULL, &v)) keep_usage(a, v);
  g_hash_table_remove_all(a->keys);
  g_hash_table_remove_all(a->orgs);
}

void sc_auth_invalidate(struct sc_auth *a) {
  pthread_rwlock_wrlock(&a->lock);
  drop_all_locked(a);
  a->gen++;
  pthread_rwlock_unlock(&a->lock);
}

struct usage {
  char id[37];
  int64_t t;
};

static void collect_pending(struct sc_auth *a, GArray *out) {
  pthread_mutex_lock(&a->usage_mu);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, a->pending);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    struct usage u = {.t = *(int64_t *)v};
    snprintf(u.id, sizeof u.id, "%s", (const char *)k);
    g_array_append_val(out, u);
  }
  g_hash_table_remove_all(a->pending);
  pthread_mutex_unlock(&a->usage_mu);
}

static void collect_cached(struct sc_auth *a, GArray *out) {
  pthread_rwlock_rdlock(&a->lock);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, a->keys);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    struct entry *e = v;
    int64_t used = atomic_load(&e->used);
    if (e->state != KEY_OK || used <= atomic_load(&e->flushed)) continue;
    struct usage u = {.t = used};
    snprintf(u.id, sizeof u.id, "%s", e->caller.key_id);
    g_array_append_val(out, u);
    atomic_store(&e->flushed, used);
  }
  pthread_rwlock_unlock(&a->lock);
}

static int write_usage(struct sc_auth *a, GArray *u, struct sc_error *err) {
  GString *ids = g_string_new("{"), *times = g_string_new("{");
  for (guint i = 0; i < u->len; i++) {
    const struct usage *x = &g_array_index(u, struct usage, i);
    g_string_append_printf(ids, "%s%s", i ? "," : "", x->id);
    g_string_append_printf(times, "%s%lld", i ? "," : "", (long long)x->t);
  }
  g_string_append_c(ids, '}');
  g_string_append_c(times, '}');
  const char *params[2] = {ids->str, times->str};
  struct sc_tenant admin = {.platform_admin = 1};
  PGconn *c = sc_db_acquire(a->pool);
  int rc = sc_db_begin(c, &admin, err);
  if (!rc)
    rc = sc_db_exec(c,
        "UPDATE api_keys k SET last_used_at ="
        "   GREATEST(k.last_used_at, to_timestamp(v.t))"
        " FROM (SELECT id, max(t) AS t FROM unnest($1::uuid[], $2::bigint[]) u(id, t)"
        "       GROUP BY id) v"
        " WHERE k.id = v.id", 2, params, NULL, err);
  rc = sc_db_end(c, rc, err);
  sc_db_release(a->pool, c);
  g_string_free(ids, TRUE);
  g_string_free(times, TRUE);
  return rc;
}

int sc_auth_flush_usage(struct sc_auth *a, struct sc_error *err) {
  GArray *u = g_array_new(FALSE, FALSE, sizeof(struct usage));
  collect_pending(a, u);
  collect_cached(a, u);
  int rc = SC_OK;
  if (u->len) {
    rc = write_usage(a, u, err);
    /* Keep what could not be written for the next flush. */
    for (guint i = 0; rc && i < u->len; i++) {
      const struct usage *x = &g_array_index(u, struct usage, i);
      pending_put(a, x->id, x->t);
    }
  }
  g_array_free(u, TRUE);
  return rc;
}

static void *flusher_main(void *arg) {
  struct sc_auth *a = arg;
  pthread_mutex_lock(&a->stop_mu);
  while (!a->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += a->interval_s;
    while (!a->stopping &&
           pthread_cond_timedwait(&a->stop_cv, &a->stop_mu, &until) == 0) {
    }
    if (a->stopping) break;
    pthread_mutex_unlock(&a->stop_mu);
    struct sc_error err;
    if (sc_auth_flush_usage(a, &err))
      sc_log_warn("event=auth_usage_flush_failed error=\"%s\"", err.message);
    pthread_mutex_lock(&a->stop_mu);
  }
  pthread_mutex_unlock(&a->stop_mu);
  return NULL;
}

int sc_auth_start_flusher(struct sc_auth *a, int interval_s, struct sc_error *err) {
  if (interval_s < 1)
    return sc_error_set(err, SC_EINVAL, NULL, "usage flush interval must be at least 1 s");
  if (a->flusher_running) return SC_OK;
  a->interval_s = interval_s;
  if (pthread_create(&a->flusher, NULL, flusher_main, a) != 0)
    return sc_error_set(err, SC_EINTERNAL, NULL, "cannot start the usage flush thread");
  a->flusher_running = 1;
  return SC_OK;
}

/* ---- key lookup -------------------------------------------------------- */

static void copy_text(char *dst, size_t n, PGresult *r, int col) {
  snprintf(dst, n, "%s", PQgetisnull(r, 0, col) ? "" : PQgetvalue(r, 0, col));
}

/* One database round trip: what does the key with this hash grant? */
static int fetch_key(struct sc_auth *a, const unsigned char *hash,
                     struct entry *e, struct sc_error *err) {
  char hex[2 + 2 * SC_CRYPTO_HASH_LEN + 1] = "\\x";
  for (int i = 0; i < SC_CRYPTO_HASH_LEN; i++)
    snprintf(hex + 2 + 2 * i, 3, "%02x", hash[i]);
  const char *params[1] = {hex};
  PGresult *r;
  PGconn *c = sc_db_acquire(a->pool);
  int rc = sc_db_exec(c,
      "SELECT key_id, role, organization_id, org_slug, location_id, staff_id,"
      " extract(epoch FROM expires_at)::bigint, revoked"
      " FROM sc_api_key_lookup($1::bytea)", 1, params, &r, err);
  sc_db_release(a->pool, c);
  if (rc) return rc;
  memset(e, 0, sizeof *e);
  memcpy(e->hash, hash, SC_CRYPTO_HASH_LEN);
  e->cached_at = mono_now();
  e->state = KEY_UNKNOWN;
  if (PQntuples(r) == 1) {
    e->state = PQgetvalue(r, 0, 7)[0] == 't' ? KEY_REVOKED : KEY_OK;
    copy_text(e->caller.key_id, sizeof e->caller.key_id, r, 0);
    if (sc_role_parse(PQgetvalue(r, 0, 1), &e->caller.role))
      e->state = KEY_UNKNOWN;  /* a role this build does not know grants nothing */
    copy_text(e->caller.org_id, sizeof e->caller.org_id, r, 2);
    copy_text(e->caller.org_slug, sizeof e->caller.org_slug, r, 3);
    copy_text(e->caller.location_id, sizeof e->caller.location_id, r, 4);
    copy_text(e->caller.staff_id, sizeof e->caller.staff_id, r, 5);
    e->expires = PQgetisnull(r, 0, 6) ? 0 : strtoll(PQgetvalue(r, 0, 6), NULL, 10);
  }
  PQclear(r);
  return SC_OK;
}

static int usable(const struct entry *e, int64_t now) {
  return e->state == KEY_OK && (e->expires == 0 || now < e->expires);
}

static void snapshot(const struct entry *e, struct entry *out) {
  memcpy(out->hash, e->hash, sizeof out->hash);
  out->state = e->state;
  out->caller = e->caller;
  out->expires = e->expires;
  out->cached_at = e->cached_at;
}

/* Fills *out with what the key grants and records its use when accepted. */
static int lookup(struct sc_auth *a, const unsigned char *hash,
                  struct entry *out, struct sc_error *err) {
  int64_t now = (int64_t)time(NULL);
  pthread_rwlock_rdlock(&a->lock);
  struct entry *e = g_hash_table_lookup(a->keys, hash);
  if (e && mono_now() - e->cached_at < SC_AUTH_CACHE_TTL_S) {
    snapshot(e, out);
    if (usable(e, now)) atomic_store(&e->used, now);
    pthread_rwlock_unlock(&a->lock);
    return SC_OK;
  }
  uint64_t gen = a->gen;
  pthread_rwlock_unlock(&a->lock);

  struct entry *fresh = malloc(sizeof *fresh);
  if (!fresh) return sc_error_set(err, SC_ENOMEM, NULL, "out of memory");
  int rc = fetch_key(a, hash, fresh, err);
  if (rc) {
    free(fresh);
    return rc;
  }
  snapshot(fresh, out);
  if (usable(fresh, now)) atomic_store(&fresh->used, now);
  pthread_rwlock_wrlock(&a->lock);
  if (a->gen == gen) {
    if (g_hash_table_size(a->keys) >= SC_AUTH_CACHE_MAX) drop_all_locked(a);
    struct entry *old = g_hash_table_lookup(a->keys, hash);
    if (old) {
      keep_usage(a, old);
      g_hash_table_remove(a->keys, hash);
    }
    g_hash_table_insert(a->keys, fresh->hash, fresh);
    fresh = NULL;
  }
  pthread_rwlock_unlock(&a->lock);
  if (fresh) {  /* invalidated meanwhile: answer this once, cache nothing */
    keep_usage(a, fresh);
    free(fresh);
  }
  return SC_OK;
}

/* ?org=SLUG for platform admins; positive answers are cached with the keys. */
static int org_lookup(struct sc_auth *a, const char *slug, char id[37],
                      struct sc_error *err) {
  if (strlen(slug) >= sizeof ((struct sc_caller *)0)->org_slug)
    return SC_ENOTFOUND;
  pthread_rwlock_rdlock(&a->lock);
  struct org_entry *o = g_hash_table_lookup(a->orgs, slug);
  if (o && mono_now() - o->cached_at < SC_AUTH_CACHE_TTL_S) {
    memcpy(id, o->id, 37);
    pthread_rwlock_unlock(&a->lock);
    return SC_OK;
  }
  uint64_t gen = a->gen;
  pthread_rwlock_unlock(&a->lock);

  struct sc_tenant admin = {.platform_admin = 1};
  const char *params[1] = {slug};
  PGresult *r = NULL;
  PGconn *c = sc_db_acquire(a->pool);
  int rc = sc_db_begin(c, &admin, err);
  if (!rc)
    rc = sc_db_exec(c, "SELECT organization_id FROM organizations WHERE slug = $1",
                    1, params, &r, err);
  rc = sc_db_end(c, rc, err);
  sc_db_release(a->pool, c);
  if (rc) {
    PQclear(r);
    return rc;
  }
  int found = PQntuples(r) == 1;
  if (found) snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  if (!found) return SC_ENOTFOUND;
  pthread_rwlock_wrlock(&a->lock);
  if (a->gen == gen) {
    if (g_hash_table_size(a->orgs) >= SC_AUTH_ORG_CACHE_MAX)
      g_hash_table_remove_all(a->orgs);
    struct org_entry *n = malloc(sizeof *n);
    if (n) {
      memcpy(n->id, id, 37);
      n->cached_at = mono_now();
      g_hash_table_replace(a->orgs, g_strdup(slug), n);
    }
  }
  pthread_rwlock_unlock(&a->lock);
  return SC_OK;
}

/* ---- the request check ------------------------------------------------- */

static int deny(struct sc_http_resp *resp, const char *message) {
  sc_http_error(resp, 401, "unauthorized", NULL, "%s", message);
  if (resp->n_extra < (int)(sizeof resp->extra_headers / sizeof resp->extra_headers[0]))
    resp->extra_headers[resp->n_extra++] = strdup("WWW-Authenticate: Bearer");
  return SC_EINVAL;
}

static int is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Shape only: "sck_" + 8 alphanumerics + "_" + 32 base64url characters. */
static int well_formed(const char *k, size_t n) {
  if (n != SC_API_KEY_LEN || strncmp(k, "sck_", 4) != 0) return 0;
  for (size_t i = 4; i < 4 + SC_API_KEY_PREFIX_LEN; i++)
    if (!is_alnum(k[i])) return 0;
  if (k[4 + SC_API_KEY_PREFIX_LEN] != '_') return 0;
  for (size_t i = 5 + SC_API_KEY_PREFIX_LEN; i < n; i++)
    if (!is_alnum(k[i]) && k[i] != '-' && k[i] != '_') return 0;
  return 1;
}

static int apply_org_param(struct sc_auth *a, struct sc_http_req *req,
                           struct sc_http_resp *resp, struct sc_caller *caller) {
  const char *slug = sc_http_query(req, "org");
  if (!slug) return SC_OK;
  if (caller->role != SC_ROLE_PLATFORM_ADMIN) {
    sc_http_error(resp, 422, "validation_failed", "org",
                  "only platform-admin keys may name an organization; "
                  "this key's organization comes from the key");
    return SC_EINVAL;
  }
  struct sc_error err = {0};
  int rc = org_lookup(a, slug, caller->org_id, &err);
  if (rc == SC_ENOTFOUND) {
    sc_http_error(resp, 404, "not_found", "org", "no organization \"%.64s\"", slug);
    return rc;
  }
  if (rc) {
    sc_http_from_error(resp, &err);
    return rc;
  }
  snprintf(caller->org_slug, sizeof caller->org_slug, "%s", slug);
  return SC_OK;
}

int sc_auth_request(struct sc_auth *a, struct sc_http_req *req,
                    struct sc_http_resp *resp, struct sc_caller *caller) {
  const char *h = sc_http_header(req, "Authorization");
  if (!h || !*h)
    return deny(resp, "missing Authorization header (expected: Authorization: Bearer KEY)");
  if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\0'))
    return deny(resp, "Authorization header is not a Bearer token (expected: Authorization: Bearer KEY)");
  const char *key = h + 6;
  while (*key == ' ') key++;
  size_t n = strlen(key);
  while (n && (key[n - 1] == ' ' || key[n - 1] == '\t')) n--;
  if (!well_formed(key, n))
    return deny(resp, "malformed API key (expected sck_<prefix>_<secret>)");

  unsigned char hash[SC_CRYPTO_HASH_LEN];
  struct sc_error err = {0};
  if (sc_crypto_sha256(key, n, hash) != SC_OK) {
    sc_error_set(&err, SC_EINTERNAL, NULL, "SHA-256 failed");
    sc_http_from_error(resp, &err);
    return SC_EINTERNAL;
  }
  struct entry e;
  memset(&e, 0, sizeof e);
  int rc = lookup(a, hash, &e, &err);
  if (rc) {
    sc_http_from_error(resp, &err);
    return rc;
  }
  if (e.state == KEY_UNKNOWN) return deny(resp, "unknown API key");
  if (e.state == KEY_REVOKED) return deny(resp, "API key has been revoked");
  if (e.expires && (int64_t)time(NULL) >= e.expires) return deny(resp, "API key has expired");
  *caller = e.caller;
  rc = apply_org_param(a, req, resp, caller);
  if (rc) return rc;
  snprintf(resp->org, sizeof resp->org, "%s", caller->org_slug);
  return SC_OK;
}

void sc_auth_tenant(const struct sc_caller *caller, struct sc_tenant *t) {
  memset(t, 0, sizeof *t);
  if (caller->org_id[0])
    snprintf(t->org_id, sizeof t->org_id, "%s", caller->org_id);
  else
    t->platform_admin = caller->role == SC_ROLE_PLATFORM_ADMIN;
}
