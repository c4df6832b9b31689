/*
** API key management: creating a key (validation of the role binding,
** slug resolution, the one-time key text, the stored hash) and revoking one
** (with the NOTIFY that tells every daemon to drop its cache).
*/
#include "auth.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

#define SC_LABEL_MAX 200

/* ---- validation without the database ----------------------------------- */

static int has(const char *s) { return s && *s; }

static int check_binding(const struct sc_key_spec *s, struct sc_error *err) {
  const char *role = sc_role_name(s->role);
  switch (s->role) {
  case SC_ROLE_PLATFORM_ADMIN:
    if (has(s->org_slug) || has(s->location_slug) || has(s->staff_slug))
      return sc_error_set(err, SC_EINVAL, has(s->org_slug) ? "org" : has(s->location_slug) ? "location" : "staff",
          "a platform-admin key belongs to no organization; drop --org, --location and --staff");
    return SC_OK;
  case SC_ROLE_AGENCY_OWNER:
    if (has(s->location_slug) || has(s->staff_slug))
      return sc_error_set(err, SC_EINVAL, has(s->location_slug) ? "location" : "staff",
          "role agency_owner covers the whole organization; drop --location and --staff");
    break;
  case SC_ROLE_LOCATION_STAFF:
    if (!has(s->location_slug))
      return sc_error_set(err, SC_EINVAL, "location", "role location_staff needs --location SLUG");
    break;
  case SC_ROLE_STAFF:
    if (!has(s->staff_slug))
      return sc_error_set(err, SC_EINVAL, "staff", "role staff needs --staff SLUG");
    if (has(s->location_slug))
      return sc_error_set(err, SC_EINVAL, "location",
          "role staff takes no --location (a staff key covers the staff member everywhere)");
    break;
  default:
    return sc_error_set(err, SC_EINVAL, "role", "unknown role");
  }
  if (!has(s->org_slug))
    return sc_error_set(err, SC_EINVAL, "org", "role %s needs --org SLUG", role);
  return SC_OK;
}

static int all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* "YYYY-MM-DD" (the key stops working at 00:00 UTC that day) or RFC 3339
** with an offset. Must lie in the future. */
static int parse_expires(const char *s, int64_t *out, struct sc_error *err) {
  GDateTime *dt = NULL;
  if (strlen(s) == 10 && all_digits(s, 4) && s[4] == '-' && all_digits(s + 5, 2) &&
      s[7] == '-' && all_digits(s + 8, 2)) {
    dt = g_date_time_new_utc(atoi(s), atoi(s + 5), atoi(s + 8), 0, 0, 0);
  } else if (strlen(s) > 10 && all_digits(s, 4) && s[4] == '-' &&
             (s[10] == 'T' || s[10] == 't')) {
    dt = g_date_time_new_from_iso8601(s, NULL);  /* NULL zone: offset required */
  }
  if (!dt)
    return sc_error_set(err, SC_EINVAL, "expires",
        "--expires: expected YYYY-MM-DD or an RFC 3339 time with an offset, got \"%.64s\"", s);
  *out = g_date_time_to_unix(dt);
  g_date_time_unref(dt);
  if (*out <= (int64_t)time(NULL))
    return sc_error_set(err, SC_EINVAL, "expires", "--expires: %.64s is in the past", s);
  return SC_OK;
}

static int check_label(const char *label, struct sc_error *err) {
  if (!label) return SC_OK;
  int ok = strlen(label) <= SC_LABEL_MAX && g_utf8_validate(label, -1, NULL);
  for (const unsigned char *p = (const unsigned char *)label; ok && *p; p++)
    if (*p < 0x20 || *p == 0x7f) ok = 0;
  if (!ok)
    return sc_error_set(err, SC_EINVAL, "label",
        "--label: at most %d bytes of printable UTF-8", SC_LABEL_MAX);
  return SC_OK;
}

/* ---- the key text ------------------------------------------------------ */

static int only_alnum(const char *s) {
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
      return 0;
  return 1;
}

/* The prefix is drawn until it has no '-' or '_', so it reads as one word
** in listings; the secret keeps the full alphabet. */
static int make_key(struct sc_key_created *out, unsigned char hash[SC_CRYPTO_HASH_LEN]) {
  char secret[SC_API_KEY_LEN - 4 - SC_API_KEY_PREFIX_LEN - 1 + 1];
  int rc;
  do {
    rc = sc_crypto_random_token(out->prefix, sizeof out->prefix);
  } while (!rc && !only_alnum(out->prefix));
  if (!rc) rc = sc_crypto_random_token(secret, sizeof secret);
  if (rc) return rc;
  snprintf(out->key, sizeof out->key, "sck_%s_%s", out->prefix, secret);
  memset(secret, 0, sizeof secret);
  return sc_crypto_sha256(out->key, strlen(out->key), hash);
}

/* ---- database ---------------------------------------------------------- */

/* Runs a one-column query; SC_ENOTFOUND when it returns no row. */
static int one_value(PGconn *c, const char *sql, int n, const char *const *params,
                     char *out, size_t outlen, struct sc_error *err) {
  PGresult *r;
  int rc = sc_db_exec(c, sql, n, params, &r, err);
  if (rc) return rc;
  int found = PQntuples(r) > 0;
  if (found) snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  return found ? SC_OK : SC_ENOTFOUND;
}

struct resolved {
  char org[37], location[37], staff[37];
};

static int resolve(PGconn *c, const struct sc_key_spec *s, struct resolved *ids,
                   struct sc_error *err) {
  const char *p[3] = {s->org_slug, NULL, NULL};
  int rc = one_value(c, "SELECT organization_id FROM organizations WHERE slug = $1",
                     1, p, ids->org, sizeof ids->org, err);
  if (rc == SC_ENOTFOUND)
    return sc_error_set(err, rc, "org", "unknown organization \"%.64s\"", s->org_slug);
  if (rc) return rc;
  p[0] = ids->org;
  if (has(s->location_slug)) {
    p[1] = s->location_slug;
    rc = one_value(c, "SELECT id FROM locations WHERE organization_id = $1 AND slug = $2",
                   2, p, ids->location, sizeof ids->location, err);
    if (rc == SC_ENOTFOUND)
      return sc_error_set(err, rc, "location", "organization \"%s\" has no location \"%.64s\"",
                          s->org_slug, s->location_slug);
    if (rc) return rc;
  }
  if (has(s->staff_slug)) {
    p[1] = s->staff_slug;
    rc = one_value(c, "SELECT id FROM staff WHERE organization_id = $1 AND slug = $2",
                   2, p, ids->staff, sizeof ids->staff, err);
    if (rc == SC_ENOTFOUND)
      return sc_error_set(err, rc, "staff", "organization \"%s\" has no staff member \"%.64s\"",
                          s->org_slug, s->staff_slug);
    if (rc) return rc;
  }
  if (*ids->location && *ids->staff) {
    char one[8];
    const char *q[3] = {ids->org, ids->staff, ids->location};
    rc = one_value(c, "SELECT 1 FROM staff_locations WHERE organization_id = $1"
                      " AND staff_id = $2 AND location_id = $3", 3, q, one, sizeof one, err);
    if (rc == SC_ENOTFOUND)
      return sc_error_set(err, SC_EINVAL, "staff", "staff member \"%.64s\" does not work at location \"%.64s\"",
                          s->staff_slug, s->location_slug);
    if (rc) return rc;
  }
  return SC_OK;
}

static const char *or_null(const char *s) { return (s && *s) ? s : NULL; }

static int insert_key(PGconn *c, const struct sc_key_spec *s, const struct resolved *ids,
                      int64_t expires, struct sc_key_created *out, struct sc_error *err) {
  unsigned char hash[SC_CRYPTO_HASH_LEN];
  int rc = make_key(out, hash);
  if (rc) return sc_error_set(err, SC_ECRYPTO, NULL, "cannot draw random bytes for the key");
  char hex[2 + 2 * SC_CRYPTO_HASH_LEN + 1] = "\\x", exp[24];
  for (int i = 0; i < SC_CRYPTO_HASH_LEN; i++)
    snprintf(hex + 2 + 2 * i, 3, "%02x", hash[i]);
  snprintf(exp, sizeof exp, "%lld", (long long)expires);
  const char *p[8] = {or_null(ids->org), hex, out->prefix, sc_role_name(s->role),
                      or_null(ids->location), or_null(ids->staff),
                      expires ? exp : NULL, or_null(s->label)};
  return one_value(c,
      "INSERT INTO api_keys (organization_id, key_hash, prefix, role, location_id,"
      " staff_id, expires_at, label)"
      " VALUES ($1, $2::bytea, $3, $4::api_role, $5, $6, to_timestamp($7::bigint), $8)"
      " RETURNING id", 8, p, out->id, sizeof out->id, err);
}

int sc_auth_key_create(struct sc_db_pool *pool, const struct sc_key_spec *spec,
                       struct sc_key_created *out, struct sc_error *err) {
  memset(out, 0, sizeof *out);
  int64_t expires = 0;
  int rc = check_binding(spec, err);
  if (!rc && spec->expires) rc = parse_expires(spec->expires, &expires, err);
  if (!rc) rc = check_label(spec->label, err);
  if (rc) return rc;
  struct resolved ids = {{0}, {0}, {0}};
  struct sc_tenant admin = {.platform_admin = 1};
  PGconn *c = sc_db_acquire(pool);
  rc = sc_db_begin(c, &admin, err);
  if (rc) {
    sc_db_release(pool, c);
    return rc;
  }
  if (spec->role != SC_ROLE_PLATFORM_ADMIN) rc = resolve(c, spec, &ids, err);
  if (!rc) rc = insert_key(c, spec, &ids, expires, out, err);
  rc = sc_db_end(c, rc, err);
  sc_db_release(pool, c);
  if (rc) memset(out, 0, sizeof *out);
  return rc;
}

static int is_uuid(const char *s) {
  if (strlen(s) != 36) return 0;
  for (int i = 0; i < 36; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !g_ascii_isxdigit(s[i])) return 0;
  }
  return 1;
}

int sc_auth_key_revoke(struct sc_db_pool *pool, struct sc_auth *auth,
                       const char *key_id, int *already, struct sc_error *err) {
  if (already) *already = 0;
  if (!key_id || !is_uuid(key_id))
    return sc_error_set(err, SC_ENOTFOUND, "id", "no API key with id \"%.64s\"",
                        key_id ? key_id : "");
  struct sc_tenant admin = {.platform_admin = 1};
  const char *p[1] = {key_id};
  char was[8];
  PGconn *c = sc_db_acquire(pool);
  int rc = sc_db_begin(c, &admin, err);
  if (rc) {
    sc_db_release(pool, c);
    return rc;
  }
  rc = one_value(c, "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1 FOR UPDATE",
                 1, p, was, sizeof was, err);
  if (rc == SC_ENOTFOUND)
    sc_error_set(err, rc, "id", "no API key with id \"%s\"", key_id);
  int done_before = !rc && was[0] == 't';
  if (!rc && !done_before)
    rc = sc_db_exec(c, "UPDATE api_keys SET revoked_at = now() WHERE id = $1", 1, p, NULL, err);
  /* Tells every daemon's listener to drop its cache; delivered at commit. */
  if (!rc && !done_before)
    rc = sc_db_exec(c, "SELECT pg_notify('" SC_AUTH_NOTIFY_CHANNEL "', $1)", 1, p, NULL, err);
  rc = sc_db_end(c, rc, err);
  sc_db_release(pool, c);
  if (!rc && auth) sc_auth_invalidate(auth);
  if (!rc && already) *already = done_before;
  return rc;
}
