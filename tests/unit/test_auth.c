/* Tests for core/auth.c, core/auth_keys.c and core/auth_cli.c against a real
** database and a real HTTP server on port 0: every 401 message, the role
** bindings, ?org=, revocation and expiry, batched last_used_at, the CLI
** (in process), and that a cached key costs no database round trip. */
#include <curl/curl.h>
#include <glib.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_metrics.h"
#include "app.h"
#include "auth.h"
#include "crypto.h"
#include "http.h"
#include "metrics.h"
#include "testdb.h"

#define ACME "aaaaaaaa-0000-0000-0000-000000000001"
#define GLOBEX "bbbbbbbb-0000-0000-0000-000000000002"
#define MIAMI "aaaaaaaa-1111-0000-0000-000000000001"
#define LONDON "aaaaaaaa-1111-0000-0000-000000000002"
#define ANN "aaaaaaaa-2222-0000-0000-000000000001"
#define BOB "aaaaaaaa-2222-0000-0000-000000000002"
#define WHOAMI "/t/whoami"

struct fixture {
  struct sc_test_db db;
  PGconn *owner;
  struct sc_app app;
  struct sc_http_server *srv;
  char base[64];
};

static void seed(PGconn *c) {
  g_free(sc_test_db_value(c,
      "INSERT INTO organizations (organization_id, slug, name) VALUES"
      " ('" ACME "', 'acme', 'Acme'), ('" GLOBEX "', 'globex', 'Globex');"
      "INSERT INTO locations (organization_id, id, slug, name, timezone) VALUES"
      " ('" ACME "', '" MIAMI "', 'miami', 'Miami', 'America/New_York'),"
      " ('" ACME "', '" LONDON "', 'london', 'London', 'Europe/London'),"
      " ('" GLOBEX "', 'bbbbbbbb-1111-0000-0000-000000000001', 'hq', 'HQ', 'UTC');"
      "INSERT INTO staff (organization_id, id, slug, name) VALUES"
      " ('" ACME "', '" ANN "', 'ann', 'Ann'), ('" ACME "', '" BOB "', 'bob', 'Bob'),"
      " ('" GLOBEX "', 'bbbbbbbb-2222-0000-0000-000000000001', 'zed', 'Zed');"
      "INSERT INTO staff_locations VALUES ('" ACME "', '" ANN "', '" MIAMI "'),"
      " ('" ACME "', '" BOB "', '" LONDON "')"));
}

/* ---- the test route: who does the server think is calling? ------------ */

static void whoami(struct sc_http_req *req, struct sc_http_resp *resp) {
  struct sc_app *app = req->app;
  struct sc_caller c;
  if (sc_auth_request(app->auth, req, resp, &c)) return;
  struct sc_tenant t;
  sc_auth_tenant(&c, &t);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "role", json_object_new_string(sc_role_name(c.role)));
  json_object_object_add(o, "key_id", json_object_new_string(c.key_id));
  json_object_object_add(o, "org_id", json_object_new_string(c.org_id));
  json_object_object_add(o, "org_slug", json_object_new_string(c.org_slug));
  json_object_object_add(o, "location_id", json_object_new_string(c.location_id));
  json_object_object_add(o, "staff_id", json_object_new_string(c.staff_id));
  json_object_object_add(o, "tenant_org", json_object_new_string(t.org_id));
  json_object_object_add(o, "tenant_admin", json_object_new_boolean(t.platform_admin));
  sc_http_json(resp, 200, o);
}

static const struct sc_http_route test_routes[] = {
  {"GET", WHOAMI, whoami},
  {"GET", "/metrics", sc_api_metrics},
  {NULL, NULL, NULL},
};

static void setup(struct fixture *f, gconstpointer data) {
  (void)data;
  sc_test_db_create_migrated(&f->db);
  f->owner = sc_test_db_connect(&f->db);
  seed(f->owner);
  struct sc_error err;
  g_assert_cmpint(sc_db_pool_open(f->db.url, 4, &f->app.pool, &err), ==, SC_OK);
  g_assert_cmpint(sc_auth_open(f->app.pool, &f->app.auth, &err), ==, SC_OK);
  struct sc_http_config hc = {.listen = "127.0.0.1:0", .threads = 4,
                              .routes = test_routes, .app = &f->app};
  g_assert_cmpint(sc_http_start(&hc, &f->srv, &err), ==, SC_OK);
  snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", sc_http_port(f->srv));
  g_setenv("SIDECAL_DATABASE_URL", f->db.url, TRUE);
}

static void teardown(struct fixture *f, gconstpointer data) {
  (void)data;
  sc_http_stop(f->srv);
  sc_auth_close(f->app.auth);
  sc_db_pool_close(f->app.pool);
  PQfinish(f->owner);
  sc_test_db_drop(&f->db);
}

/* ---- HTTP client ------------------------------------------------------- */

struct reply {
  long status;
  GString *body;
  GString *headers;
  json_object *json;  /* parsed body when JSON */
};

static size_t gather(char *p, size_t sz, size_t n, void *ud) {
  g_string_append_len(ud, p, (gssize)(sz * n));
  return sz * n;
}

/* GET path with an Authorization header value (NULL = none). */
static void get(struct fixture *f, const char *path, const char *authz, struct reply *r) {
  CURL *c = curl_easy_init();
  char *url = g_strconcat(f->base, path, NULL);
  struct curl_slist *h = NULL;
  char *line = authz ? g_strconcat("Authorization: ", authz, NULL) : NULL;
  if (line) h = curl_slist_append(h, line);
  r->body = g_string_new(NULL);
  r->headers = g_string_new(NULL);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gather);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r->body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, gather);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r->headers);
  g_assert_cmpint(curl_easy_perform(c), ==, CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  r->json = json_tokener_parse(r->body->str);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  g_free(url);
  g_free(line);
}

static void reply_free(struct reply *r) {
  g_string_free(r->body, TRUE);
  g_string_free(r->headers, TRUE);
  json_object_put(r->json);
}

static const char *jstr(json_object *o, const char *a, const char *b) {
  json_object *v;
  if (!json_object_object_get_ex(o, a, &v)) return NULL;
  if (b && !json_object_object_get_ex(v, b, &v)) return NULL;
  return json_object_get_string(v);
}

static char *bearer(const char *key) { return g_strconcat("Bearer ", key, NULL); }

/* Asserts a 401 with exactly this message; returns nothing. */
static void expect_401(struct fixture *f, const char *authz, const char *message) {
  struct reply r;
  get(f, WHOAMI, authz, &r);
  g_assert_cmpint(r.status, ==, 401);
  g_assert_cmpstr(jstr(r.json, "error", "code"), ==, "unauthorized");
  g_assert_cmpstr(jstr(r.json, "error", "message"), ==, message);
  g_assert_nonnull(strstr(r.headers->str, "WWW-Authenticate: Bearer"));
  /* The key never comes back, in whole or as its secret part. */
  if (authz && strlen(authz) > 20) g_assert_null(strstr(r.body->str, authz + 20));
  reply_free(&r);
}

/* Authenticates and returns the whoami JSON (caller frees with reply_free). */
static void expect_200(struct fixture *f, const char *path, const char *key, struct reply *r) {
  char *a = bearer(key);
  get(f, path, a, r);
  g_free(a);
  if (r->status != 200) g_printerr("unexpected reply: %s\n", r->body->str);
  g_assert_cmpint(r->status, ==, 200);
}

static void create(struct fixture *f, const struct sc_key_spec *spec, struct sc_key_created *k) {
  struct sc_error err;
  int rc = sc_auth_key_create(f->app.pool, spec, k, &err);
  if (rc) g_printerr("create: %s\n", err.message);
  g_assert_cmpint(rc, ==, SC_OK);
}

static char *owner_value(struct fixture *f, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static char *owner_value(struct fixture *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *sql = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *v = sc_test_db_value(f->owner, sql);
  g_free(sql);
  return v;
}

static void assert_value(struct fixture *f, const char *want, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void assert_value(struct fixture *f, const char *want, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *sql = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  char *v = sc_test_db_value(f->owner, sql);
  g_assert_cmpstr(v, ==, want);
  g_free(v);
  g_free(sql);
}

/* An RFC 3339 time `secs` from now, with a +02:00 offset. */
static char *rfc3339_in(int secs) {
  GTimeZone *tz = g_time_zone_new_offset(2 * 3600);
  GDateTime *now = g_date_time_new_now(tz);
  GDateTime *t = g_date_time_add_seconds(now, secs);
  char *s = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S%:z");
  g_date_time_unref(t);
  g_date_time_unref(now);
  g_time_zone_unref(tz);
  return s;
}

/* ---- tests ------------------------------------------------------------- */

static void test_401_messages(struct fixture *f, gconstpointer data) {
  (void)data;
  expect_401(f, NULL, "missing Authorization header (expected: Authorization: Bearer KEY)");
  expect_401(f, "Basic dXNlcjpwYXNz",
             "Authorization header is not a Bearer token (expected: Authorization: Bearer KEY)");
  expect_401(f, "Bearertoken",
             "Authorization header is not a Bearer token (expected: Authorization: Bearer KEY)");
  const char *malformed = "malformed API key (expected sck_<prefix>_<secret>)";
  expect_401(f, "Bearer", malformed);
  expect_401(f, "Bearer sck_short", malformed);
  expect_401(f, "Bearer abc_ABCDEFGH_0123456789abcdefghijklmnopqrstuv", malformed);
  expect_401(f, "Bearer sck_ABC-EFGH_0123456789abcdefghijklmnopqrstuv", malformed);
  expect_401(f, "Bearer sck_ABCDEFGH_0123456789abcdefghijklmnopqrstu!", malformed);
  expect_401(f, "Bearer sck_ABCDEFGH_0123456789abcdefghijklmnopqrstuvw", malformed);

  struct sc_key_created k;
  struct sc_key_spec owner = {.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme"};
  create(f, &owner, &k);
  /* Same shape, one secret character changed: a key nobody issued. */
  char forged[SC_API_KEY_LEN + 1];
  strcpy(forged, k.key);
  forged[SC_API_KEY_LEN - 1] = forged[SC_API_KEY_LEN - 1] == 'A' ? 'B' : 'A';
  char *a = bearer(forged);
  expect_401(f, a, "unknown API key");
  g_free(a);

  struct sc_error err;
  g_assert_cmpint(sc_auth_key_revoke(f->app.pool, f->app.auth, k.id, NULL, &err), ==, SC_OK);
  a = bearer(k.key);
  expect_401(f, a, "API key has been revoked");
  g_free(a);

  create(f, &owner, &k);
  g_free(owner_value(f, "UPDATE api_keys SET expires_at = now() - interval '1 s' WHERE id = '%s'", k.id));
  a = bearer(k.key);
  expect_401(f, a, "API key has expired");
  /* The scheme is case-insensitive (RFC 7235) and blanks around the key are ignored. */
  char *lower = g_strconcat("bearer   ", k.key, "  ", NULL);
  expect_401(f, lower, "API key has expired");
  g_free(lower);
  g_free(a);
}

static void test_roles_and_bindings(struct fixture *f, gconstpointer data) {
  (void)data;
  struct {
    struct sc_key_spec spec;
    const char *role, *org, *location, *staff;
  } cases[] = {
    {{.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme", .label = "owner"},
     "agency_owner", ACME, "", ""},
    {{.role = SC_ROLE_LOCATION_STAFF, .org_slug = "acme", .location_slug = "miami"},
     "location_staff", ACME, MIAMI, ""},
    {{.role = SC_ROLE_LOCATION_STAFF, .org_slug = "acme", .location_slug = "london", .staff_slug = "bob"},
     "location_staff", ACME, LONDON, BOB},
    {{.role = SC_ROLE_STAFF, .org_slug = "acme", .staff_slug = "ann"},
     "staff", ACME, "", ANN},
    {{.role = SC_ROLE_PLATFORM_ADMIN}, "platform_admin", "", "", ""},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    struct sc_key_created k;
    create(f, &cases[i].spec, &k);
    g_assert_cmpuint(strlen(k.key), ==, SC_API_KEY_LEN);
    g_assert_true(g_str_has_prefix(k.key, "sck_"));
    g_assert_cmpint(strncmp(k.key + 4, k.prefix, SC_API_KEY_PREFIX_LEN), ==, 0);
    /* Only the SHA-256 and the prefix are stored. */
    unsigned char h[SC_CRYPTO_HASH_LEN];
    g_assert_cmpint(sc_crypto_sha256(k.key, strlen(k.key), h), ==, SC_OK);
    char hex[2 * SC_CRYPTO_HASH_LEN + 1];
    for (int j = 0; j < SC_CRYPTO_HASH_LEN; j++) snprintf(hex + 2 * j, 3, "%02x", h[j]);
    assert_value(f, hex, "SELECT encode(key_hash, 'hex') FROM api_keys WHERE id = '%s'", k.id);
    assert_value(f, k.prefix, "SELECT prefix FROM api_keys WHERE id = '%s'", k.id);
    assert_value(f, "0", "SELECT count(*) FROM api_keys WHERE row_to_json(api_keys)::text LIKE '%%%s%%'",
                 k.key + 13);

    struct reply r;
    expect_200(f, WHOAMI, k.key, &r);
    g_assert_cmpstr(jstr(r.json, "role", NULL), ==, cases[i].role);
    g_assert_cmpstr(jstr(r.json, "key_id", NULL), ==, k.id);
    g_assert_cmpstr(jstr(r.json, "org_id", NULL), ==, cases[i].org);
    g_assert_cmpstr(jstr(r.json, "org_slug", NULL), ==, *cases[i].org ? "acme" : "");
    g_assert_cmpstr(jstr(r.json, "location_id", NULL), ==, cases[i].location);
    g_assert_cmpstr(jstr(r.json, "staff_id", NULL), ==, cases[i].staff);
    /* The RLS tenant: the key's organization, else the platform-admin flag. */
    g_assert_cmpstr(jstr(r.json, "tenant_org", NULL), ==, cases[i].org);
    g_assert_cmpstr(jstr(r.json, "tenant_admin", NULL), ==, *cases[i].org ? "false" : "true");
    reply_free(&r);
  }
  assert_value(f, "owner", "SELECT string_agg(label, ',') FROM api_keys");
}

static void expect_create_error(struct fixture *f, const struct sc_key_spec *spec, int code,
                                const char *field, const char *message) {
  struct sc_key_created k;
  struct sc_error err = {0};
  g_assert_cmpint(sc_auth_key_create(f->app.pool, spec, &k, &err), ==, code);
  g_assert_cmpstr(err.message, ==, message);
  g_assert_cmpstr(err.field, ==, field);
  g_assert_cmpstr(k.key, ==, "");
  assert_value(f, "0", "SELECT count(*) FROM api_keys");
}

static void test_create_validation(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_key_spec s;
#define SPEC(...) (s = (struct sc_key_spec){__VA_ARGS__}, &s)
  expect_create_error(f, SPEC(.role = SC_ROLE_LOCATION_STAFF, .org_slug = "acme"), SC_EINVAL,
                      "location", "role location_staff needs --location SLUG");
  expect_create_error(f, SPEC(.role = SC_ROLE_STAFF, .org_slug = "acme"), SC_EINVAL,
                      "staff", "role staff needs --staff SLUG");
  expect_create_error(f, SPEC(.role = SC_ROLE_STAFF, .org_slug = "acme", .staff_slug = "ann",
                              .location_slug = "miami"), SC_EINVAL, "location",
                      "role staff takes no --location (a staff key covers the staff member everywhere)");
  expect_create_error(f, SPEC(.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme", .location_slug = "miami"),
                      SC_EINVAL, "location",
                      "role agency_owner covers the whole organization; drop --location and --staff");
  expect_create_error(f, SPEC(.role = SC_ROLE_AGENCY_OWNER), SC_EINVAL, "org",
                      "role agency_owner needs --org SLUG");
  expect_create_error(f, SPEC(.role = SC_ROLE_PLATFORM_ADMIN, .org_slug = "acme"), SC_EINVAL, "org",
                      "a platform-admin key belongs to no organization; drop --org, --location and --staff");
  expect_create_error(f, SPEC(.role = SC_ROLE_AGENCY_OWNER, .org_slug = "nope"), SC_ENOTFOUND, "org",
                      "unknown organization \"nope\"");
  expect_create_error(f, SPEC(.role = SC_ROLE_LOCATION_STAFF, .org_slug = "acme", .location_slug = "hq"),
                      SC_ENOTFOUND, "location", "organization \"acme\" has no location \"hq\"");
  expect_create_error(f, SPEC(.role = SC_ROLE_STAFF, .org_slug = "acme", .staff_slug = "zed"),
                      SC_ENOTFOUND, "staff", "organization \"acme\" has no staff member \"zed\"");
  expect_create_error(f, SPEC(.role = SC_ROLE_LOCATION_STAFF, .org_slug = "acme",
                              .location_slug = "miami", .staff_slug = "bob"),
                      SC_EINVAL, "staff", "staff member \"bob\" does not work at location \"miami\"");
  const char *bad_dates[] = {"2026-13-01", "2027-02-30", "tomorrow", "2030-01-01T10:00:00",
                             "2030-01-01 10:00:00+00:00", "30-01-01", ""};
  for (size_t i = 0; i < G_N_ELEMENTS(bad_dates); i++) {
    char *msg = g_strdup_printf("--expires: expected YYYY-MM-DD or an RFC 3339 time with an "
                                "offset, got \"%s\"", bad_dates[i]);
    expect_create_error(f, SPEC(.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme",
                                .expires = bad_dates[i]), SC_EINVAL, "expires", msg);
    g_free(msg);
  }
  expect_create_error(f, SPEC(.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme", .expires = "2020-01-01"),
                      SC_EINVAL, "expires", "--expires: 2020-01-01 is in the past");
  expect_create_error(f, SPEC(.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme", .label = "two\nlines"),
                      SC_EINVAL, "label", "--label: at most 200 bytes of printable UTF-8");
#undef SPEC
  /* A date means 00:00 UTC that day; RFC 3339 keeps its instant. */
  struct sc_key_created k;
  create(f, &(struct sc_key_spec){.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme",
                                  .expires = "2099-12-31"}, &k);
  assert_value(f, "2099-12-31T00:00:00Z", "SELECT to_char(expires_at AT TIME ZONE 'UTC', "
               "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM api_keys WHERE id = '%s'", k.id);
  create(f, &(struct sc_key_spec){.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme",
                                  .expires = "2099-06-01T09:30:00-04:00"}, &k);
  assert_value(f, "2099-06-01T13:30:00Z", "SELECT to_char(expires_at AT TIME ZONE 'UTC', "
               "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM api_keys WHERE id = '%s'", k.id);
}

/* ---- the CLI, in process ----------------------------------------------- */

/* Waits up to ms for a notification on a LISTENing connection. */
static PGnotify *wait_notify(PGconn *c, int ms) {
  for (int waited = 0;; waited += 50) {
    g_assert_cmpint(PQconsumeInput(c), ==, 1);
    PGnotify *n = PQnotifies(c);
    if (n || waited >= ms) return n;
    struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
    poll(&p, 1, 50);
  }
}

struct cli {
  int rc;
  char *out, *err;
};

static char *slurp(FILE *fp) {
  fflush(fp);
  rewind(fp);
  GString *s = g_string_new(NULL);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, fp)) > 0) g_string_append_len(s, buf, (gssize)n);
  fclose(fp);
  return g_string_free(s, FALSE);
}

/* Runs `sidecalctl key ARGS...` in this process with stdout and stderr captured. */
static void run_cli(struct cli *c, ...) {
  char *argv[16] = {"key"};
  int argc = 1;
  va_list ap;
  va_start(ap, c);
  for (char *a; (a = va_arg(ap, char *)) && argc < 15;) argv[argc++] = a;
  va_end(ap);
  fflush(stdout);
  fflush(stderr);
  FILE *o = tmpfile(), *e = tmpfile();
  int so = dup(1), se = dup(2);
  dup2(fileno(o), 1);
  dup2(fileno(e), 2);
  c->rc = sc_cmd_key(argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(so, 1);
  dup2(se, 2);
  close(so);
  close(se);
  c->out = slurp(o);
  c->err = slurp(e);
}

static void cli_free(struct cli *c) {
  g_free(c->out);
  g_free(c->err);
}

static void expect_cli_error(struct fixture *f, const char *line, ...) {
  (void)f;
  char *argv[16] = {NULL};
  int n = 0;
  va_list ap;
  va_start(ap, line);
  for (char *a; (a = va_arg(ap, char *)) && n < 15;) argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  struct cli c;
  run_cli(&c, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
          argv[8], argv[9], NULL);
  g_assert_cmpint(c.rc, ==, 2);
  g_assert_cmpstr(c.out, ==, "");
  g_assert_cmpstr(c.err, ==, line);
  cli_free(&c);
  assert_value(f, "0", "SELECT count(*) FROM api_keys");
}

static void test_cli_errors(struct fixture *f, gconstpointer data) {
  (void)data;
  expect_cli_error(f, "sidecalctl: key create: unknown organization \"nope\"\n",
                   "create", "--org", "nope", "--role", "agency_owner", NULL);
  expect_cli_error(f, "sidecalctl: key create: organization \"acme\" has no location \"nowhere\"\n",
                   "create", "--org", "acme", "--role", "location_staff", "--location", "nowhere", NULL);
  expect_cli_error(f, "sidecalctl: key create: organization \"acme\" has no staff member \"nobody\"\n",
                   "create", "--org", "acme", "--role", "staff", "--staff=nobody", NULL);
  expect_cli_error(f, "sidecalctl: key create: unknown role \"owner\" (expected agency_owner, "
                      "location_staff or staff)\n",
                   "create", "--org", "acme", "--role", "owner", NULL);
  expect_cli_error(f, "sidecalctl: key create: unknown role \"platform_admin\" (expected "
                      "agency_owner, location_staff or staff)\n",
                   "create", "--org", "acme", "--role", "platform_admin", NULL);
  expect_cli_error(f, "sidecalctl: key create: role location_staff needs --location SLUG\n",
                   "create", "--org", "acme", "--role", "location_staff", NULL);
  expect_cli_error(f, "sidecalctl: key create: role staff needs --staff SLUG\n",
                   "create", "--org", "acme", "--role", "staff", NULL);
  expect_cli_error(f, "sidecalctl: key create: --expires: expected YYYY-MM-DD or an RFC 3339 "
                      "time with an offset, got \"next week\"\n",
                   "create", "--org", "acme", "--role", "agency_owner", "--expires", "next week", NULL);
  expect_cli_error(f, "sidecalctl: key create: needs --role ROLE (agency_owner, location_staff "
                      "or staff) or --platform-admin\n", "create", "--org", "acme", NULL);
  expect_cli_error(f, "sidecalctl: key create: --platform-admin takes no --role\n",
                   "create", "--platform-admin", "--role", "staff", NULL);
  expect_cli_error(f, "sidecalctl: key create: unknown option --colour\n",
                   "create", "--colour", "red", NULL);
  expect_cli_error(f, "sidecalctl: key create: option --org needs a value\n",
                   "create", "--role", "agency_owner", "--org", NULL);
  expect_cli_error(f, "sidecalctl: key list: unknown organization \"nope\"\n",
                   "list", "--org", "nope", NULL);
  expect_cli_error(f, "sidecalctl: key revoke: no API key with id \"12345\"\n", "revoke", "12345", NULL);
  expect_cli_error(f, "sidecalctl: key revoke: no API key with id "
                      "\"cccccccc-0000-0000-0000-000000000000\"\n",
                   "revoke", "cccccccc-0000-0000-0000-000000000000", NULL);
}

static void test_cli_lifecycle(struct fixture *f, gconstpointer data) {
  (void)data;
  struct cli c;
  run_cli(&c, "create", "--org", "acme", "--role", "location_staff", "--location", "miami",
          "--staff", "ann", "--label", "front desk", NULL);
  g_assert_cmpint(c.rc, ==, 0);
  /* stdout is the key and nothing else, so KEY=$(sidecalctl key create ...) works. */
  g_assert_cmpuint(strlen(c.out), ==, SC_API_KEY_LEN + 1);
  g_assert_cmpint(c.out[SC_API_KEY_LEN], ==, '\n');
  char key[SC_API_KEY_LEN + 1];
  memcpy(key, c.out, SC_API_KEY_LEN);
  key[SC_API_KEY_LEN] = '\0';
  char *id = owner_value(f, "SELECT id FROM api_keys");
  char *want = g_strdup_printf("created API key %s (prefix %.12s, role location_staff, "
                               "organization acme); it is shown only once\n", id, key);
  g_assert_cmpstr(c.err, ==, want);
  g_free(want);
  cli_free(&c);
  struct reply r;
  expect_200(f, WHOAMI, key, &r);
  g_assert_cmpstr(jstr(r.json, "location_id", NULL), ==, MIAMI);
  g_assert_cmpstr(jstr(r.json, "staff_id", NULL), ==, ANN);
  reply_free(&r);

  run_cli(&c, "create", "--platform-admin", "--label=ops", "--expires", "2099-01-01", NULL);
  g_assert_cmpint(c.rc, ==, 0);
  cli_free(&c);

  run_cli(&c, "list", NULL);
  g_assert_cmpint(c.rc, ==, 0);
  gchar **lines = g_strsplit(c.out, "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, 4);  /* header, two keys, "" */
  gchar **head = g_regex_split_simple(" +", lines[0], 0, 0);
  gchar *joined = g_strjoinv(",", head);
  g_assert_cmpstr(joined, ==, "ID,PREFIX,ROLE,SCOPE,LABEL,CREATED,EXPIRES,LAST_USED,REVOKED");
  g_free(joined);
  g_strfreev(head);
  g_assert_true(g_str_has_prefix(lines[1], id));
  g_assert_nonnull(strstr(lines[1], "location_staff  acme/miami/staff:ann  front desk"));
  char prefix[13];
  snprintf(prefix, sizeof prefix, "%.12s", key);
  g_assert_nonnull(strstr(lines[1], prefix));
  g_assert_nonnull(strstr(lines[2], "platform_admin  (platform)"));
  g_assert_nonnull(strstr(lines[2], "2099-01-01T00:00:00Z"));
  /* Never the key itself. */
  g_assert_null(strstr(c.out, key + 13));
  g_strfreev(lines);
  cli_free(&c);

  run_cli(&c, "list", "--org", "acme", NULL);
  g_assert_cmpint(c.rc, ==, 0);
  g_assert_null(strstr(c.out, "(platform)"));
  g_assert_nonnull(strstr(c.out, "acme/miami/staff:ann"));
  cli_free(&c);

  /* A revoke NOTIFYs sidecal_auth with the key id, for other daemons. */
  g_free(sc_test_db_value(f->owner, "LISTEN " SC_AUTH_NOTIFY_CHANNEL));
  run_cli(&c, "revoke", id, NULL);
  g_assert_cmpint(c.rc, ==, 0);
  want = g_strdup_printf("revoked API key %s\n", id);
  g_assert_cmpstr(c.out, ==, want);
  g_free(want);
  cli_free(&c);
  PGnotify *n = wait_notify(f->owner, 5000);
  g_assert_nonnull(n);
  g_assert_cmpstr(n->relname, ==, SC_AUTH_NOTIFY_CHANNEL);
  g_assert_cmpstr(n->extra, ==, id);
  PQfreemem(n);
  g_assert_null(PQnotifies(f->owner));

  /* The listener's job, done by hand here: then the key fails at once. */
  sc_auth_invalidate(f->app.auth);
  char *a = bearer(key);
  expect_401(f, a, "API key has been revoked");
  g_free(a);

  run_cli(&c, "revoke", id, NULL);
  g_assert_cmpint(c.rc, ==, 0);
  want = g_strdup_printf("API key %s was already revoked\n", id);
  g_assert_cmpstr(c.out, ==, want);
  g_free(want);
  cli_free(&c);
  g_assert_null(wait_notify(f->owner, 300));  /* nothing changed, nothing sent */

  run_cli(&c, "list", NULL);
  gchar **l2 = g_strsplit(c.out, "\n", -1);
  char *revoked_at = owner_value(f, "SELECT to_char(revoked_at AT TIME ZONE 'UTC', "
                                    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM api_keys WHERE id = '%s'", id);
  g_assert_true(g_str_has_suffix(l2[1], revoked_at));
  g_free(revoked_at);
  g_strfreev(l2);
  cli_free(&c);
  g_free(id);
}

/* ---- cache behaviour --------------------------------------------------- */

static void test_revoke_in_process(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_key_created k;
  create(f, &(struct sc_key_spec){.role = SC_ROLE_STAFF, .org_slug = "acme", .staff_slug = "bob"}, &k);
  struct reply r;
  expect_200(f, WHOAMI, k.key, &r);
  reply_free(&r);
  struct sc_error err;
  int already = -1;
  /* Revoked in this process: the very next request fails, no listener needed. */
  g_assert_cmpint(sc_auth_key_revoke(f->app.pool, f->app.auth, k.id, &already, &err), ==, SC_OK);
  g_assert_cmpint(already, ==, 0);
  char *a = bearer(k.key);
  expect_401(f, a, "API key has been revoked");
  g_free(a);
  assert_value(f, "t", "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = '%s'", k.id);
  g_assert_cmpint(sc_auth_key_revoke(f->app.pool, f->app.auth, k.id, &already, &err), ==, SC_OK);
  g_assert_cmpint(already, ==, 1);
}

/* A cached key's expiry is checked on every request, without the database. */
static void test_expiry_while_cached(struct fixture *f, gconstpointer data) {
  (void)data;
  char *soon = rfc3339_in(2);
  struct sc_key_created k;
  create(f, &(struct sc_key_spec){.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme", .expires = soon}, &k);
  g_free(soon);
  struct reply r;
  expect_200(f, WHOAMI, k.key, &r);
  reply_free(&r);
  long before = sc_metrics_queries_for(WHOAMI);
  char *expires = owner_value(f, "SELECT extract(epoch FROM expires_at)::bigint FROM api_keys");
  while ((long long)time(NULL) < atoll(expires)) g_usleep(100 * 1000);
  g_free(expires);
  char *a = bearer(k.key);
  expect_401(f, a, "API key has expired");
  g_free(a);
  g_assert_cmpint(sc_metrics_queries_for(WHOAMI), ==, before);
}

static void test_platform_admin_org(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_key_created admin, owner;
  create(f, &(struct sc_key_spec){.role = SC_ROLE_PLATFORM_ADMIN}, &admin);
  create(f, &(struct sc_key_spec){.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme"}, &owner);
  struct reply r;
  expect_200(f, WHOAMI, admin.key, &r);
  g_assert_cmpstr(jstr(r.json, "org_id", NULL), ==, "");
  g_assert_cmpstr(jstr(r.json, "tenant_admin", NULL), ==, "true");
  reply_free(&r);
  expect_200(f, WHOAMI "?org=globex", admin.key, &r);
  g_assert_cmpstr(jstr(r.json, "role", NULL), ==, "platform_admin");
  g_assert_cmpstr(jstr(r.json, "org_id", NULL), ==, GLOBEX);
  g_assert_cmpstr(jstr(r.json, "org_slug", NULL), ==, "globex");
  /* Named organization: the transaction is scoped to it, not to everything. */
  g_assert_cmpstr(jstr(r.json, "tenant_org", NULL), ==, GLOBEX);
  g_assert_cmpstr(jstr(r.json, "tenant_admin", NULL), ==, "false");
  reply_free(&r);

  char *a = bearer(admin.key);
  get(f, WHOAMI "?org=nope", a, &r);
  g_assert_cmpint(r.status, ==, 404);
  g_assert_cmpstr(jstr(r.json, "error", "code"), ==, "not_found");
  g_assert_cmpstr(jstr(r.json, "error", "field"), ==, "org");
  g_assert_cmpstr(jstr(r.json, "error", "message"), ==, "no organization \"nope\"");
  reply_free(&r);
  g_free(a);

  /* Anyone else may not name an organization, not even their own. */
  a = bearer(owner.key);
  const char *paths[] = {WHOAMI "?org=globex", WHOAMI "?org=acme"};
  for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
    get(f, paths[i], a, &r);
    g_assert_cmpint(r.status, ==, 422);
    g_assert_cmpstr(jstr(r.json, "error", "code"), ==, "validation_failed");
    g_assert_cmpstr(jstr(r.json, "error", "field"), ==, "org");
    g_assert_cmpstr(jstr(r.json, "error", "message"), ==,
                    "only platform-admin keys may name an organization; "
                    "this key's organization comes from the key");
    reply_free(&r);
  }
  g_free(a);
}

static void test_usage_flush(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_key_created k1, k2, unused;
  struct sc_key_spec s = {.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme"};
  create(f, &s, &k1);
  create(f, &s, &k2);
  create(f, &s, &unused);
  struct reply r;
  expect_200(f, WHOAMI, k1.key, &r);
  reply_free(&r);
  expect_200(f, WHOAMI, k2.key, &r);
  reply_free(&r);
  /* Recorded in memory only, until the flush. */
  assert_value(f, "0", "SELECT count(last_used_at) FROM api_keys");
  /* k2's cache entry is dropped before the flush; its use must survive. */
  sc_auth_invalidate(f->app.auth);
  expect_200(f, WHOAMI, k1.key, &r);
  reply_free(&r);
  struct sc_error err;
  g_assert_cmpint(sc_auth_flush_usage(f->app.auth, &err), ==, SC_OK);
  assert_value(f, "2", "SELECT count(*) FROM api_keys WHERE last_used_at > now() - interval '1 min'"
                       " AND last_used_at <= now()");
  assert_value(f, NULL, "SELECT last_used_at FROM api_keys WHERE id = '%s'", unused.id);
  /* Nothing new: a second flush writes nothing (and does not fail). */
  g_free(owner_value(f, "UPDATE api_keys SET last_used_at = '2000-01-01Z' WHERE last_used_at IS NOT NULL"));
  g_assert_cmpint(sc_auth_flush_usage(f->app.auth, &err), ==, SC_OK);
  assert_value(f, "2", "SELECT count(*) FROM api_keys WHERE last_used_at = '2000-01-01Z'");
  /* A failed request is not a use. */
  g_free(owner_value(f, "UPDATE api_keys SET revoked_at = now() WHERE id = '%s'", unused.id));
  sc_auth_invalidate(f->app.auth);
  char *a = bearer(unused.key);
  expect_401(f, a, "API key has been revoked");
  g_free(a);
  g_assert_cmpint(sc_auth_flush_usage(f->app.auth, &err), ==, SC_OK);
  assert_value(f, NULL, "SELECT last_used_at FROM api_keys WHERE id = '%s'", unused.id);
}

/* The steady state costs no database round trip: the route does no query
** itself, so every query counted against it would be a key lookup. */
static void test_no_round_trip_when_cached(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_key_created k, admin;
  create(f, &(struct sc_key_spec){.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme"}, &k);
  create(f, &(struct sc_key_spec){.role = SC_ROLE_PLATFORM_ADMIN}, &admin);
  long q0 = sc_metrics_queries_for(WHOAMI);
  struct reply r;
  expect_200(f, WHOAMI, k.key, &r);
  reply_free(&r);
  long q1 = sc_metrics_queries_for(WHOAMI);
  g_assert_cmpint(q1, >, q0);  /* the first sight of a key asks the database */
  for (int i = 0; i < 20; i++) {
    expect_200(f, WHOAMI, k.key, &r);
    reply_free(&r);
  }
  g_assert_cmpint(sc_metrics_queries_for(WHOAMI), ==, q1);

  /* Unknown keys are remembered too. */
  char forged[SC_API_KEY_LEN + 1];
  strcpy(forged, k.key);
  forged[20] = forged[20] == 'x' ? 'y' : 'x';
  char *a = bearer(forged);
  expect_401(f, a, "unknown API key");
  long q2 = sc_metrics_queries_for(WHOAMI);
  for (int i = 0; i < 5; i++) expect_401(f, a, "unknown API key");
  g_assert_cmpint(sc_metrics_queries_for(WHOAMI), ==, q2);
  g_free(a);

  /* And ?org= for platform admins. */
  expect_200(f, WHOAMI "?org=acme", admin.key, &r);
  reply_free(&r);
  long q3 = sc_metrics_queries_for(WHOAMI);
  for (int i = 0; i < 5; i++) {
    expect_200(f, WHOAMI "?org=acme", admin.key, &r);
    g_assert_cmpstr(jstr(r.json, "org_id", NULL), ==, ACME);
    reply_free(&r);
  }
  g_assert_cmpint(sc_metrics_queries_for(WHOAMI), ==, q3);

  /* After an invalidation the key is looked up again, once. */
  sc_auth_invalidate(f->app.auth);
  expect_200(f, WHOAMI, k.key, &r);
  reply_free(&r);
  long q4 = sc_metrics_queries_for(WHOAMI);
  g_assert_cmpint(q4, >, q3);
  expect_200(f, WHOAMI, k.key, &r);
  reply_free(&r);
  g_assert_cmpint(sc_metrics_queries_for(WHOAMI), ==, q4);
}

struct hammer {
  struct fixture *f;
  const char *key;
  int failures;
};

static void *hammer_main(void *arg) {
  struct hammer *h = arg;
  for (int i = 0; i < 40; i++) {
    struct reply r;
    char *a = bearer(h->key);
    get(h->f, WHOAMI, a, &r);
    if (r.status != 200) h->failures++;
    reply_free(&r);
    g_free(a);
  }
  return NULL;
}

/* Concurrent requests while the cache is dropped over and over. */
static void test_concurrent_invalidate(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_key_created k;
  create(f, &(struct sc_key_spec){.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme"}, &k);
  pthread_t t[4];
  struct hammer h[4];
  for (int i = 0; i < 4; i++) {
    h[i] = (struct hammer){f, k.key, 0};
    pthread_create(&t[i], NULL, hammer_main, &h[i]);
  }
  for (int i = 0; i < 50; i++) {
    sc_auth_invalidate(f->app.auth);
    g_usleep(1000);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    g_assert_cmpint(h[i].failures, ==, 0);
  }
  struct sc_error err;
  g_assert_cmpint(sc_auth_flush_usage(f->app.auth, &err), ==, SC_OK);
  assert_value(f, "1", "SELECT count(last_used_at) FROM api_keys");
}

static void test_flusher_thread(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_key_created k;
  create(f, &(struct sc_key_spec){.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme"}, &k);
  struct sc_error err;
  g_assert_cmpint(sc_auth_start_flusher(f->app.auth, 0, &err), ==, SC_EINVAL);
  g_assert_cmpint(sc_auth_start_flusher(f->app.auth, 1, &err), ==, SC_OK);
  struct reply r;
  expect_200(f, WHOAMI, k.key, &r);
  reply_free(&r);
  char *v = NULL;
  for (int i = 0; i < 40 && !v; i++) {
    g_usleep(100 * 1000);
    v = owner_value(f, "SELECT last_used_at FROM api_keys");
  }
  g_assert_nonnull(v);
  g_free(v);
}

static void test_metrics_route(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_key_created admin, owner;
  create(f, &(struct sc_key_spec){.role = SC_ROLE_PLATFORM_ADMIN}, &admin);
  create(f, &(struct sc_key_spec){.role = SC_ROLE_AGENCY_OWNER, .org_slug = "acme"}, &owner);
  struct reply r;
  expect_200(f, WHOAMI, owner.key, &r);
  reply_free(&r);
  expect_200(f, "/metrics", admin.key, &r);
  g_assert_nonnull(strstr(r.headers->str, "Content-Type: text/plain; version=0.0.4"));
  g_assert_nonnull(strstr(r.body->str, "\nsidecal_http_requests_total{route=\"" WHOAMI
                                       "\",method=\"GET\",status=\"200\"} "));
  g_assert_nonnull(strstr(r.body->str, "# TYPE sidecal_db_pool_in_use gauge\nsidecal_db_pool_in_use 0\n"));
  g_assert_nonnull(strstr(r.body->str, "\nsidecal_db_queries_total{route=\"" WHOAMI "\"} "));
  g_assert_nonnull(strstr(r.body->str, "\nsidecal_http_request_duration_seconds_bucket{route=\""
                                       WHOAMI "\",le=\"+Inf\"} "));
  reply_free(&r);
  char *a = bearer(owner.key);
  get(f, "/metrics", a, &r);
  g_assert_cmpint(r.status, ==, 404);
  g_assert_cmpstr(jstr(r.json, "error", "code"), ==, "not_found");
  reply_free(&r);
  g_free(a);
  get(f, "/metrics", NULL, &r);
  g_assert_cmpint(r.status, ==, 401);
  reply_free(&r);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  sc_metrics_init();
#define T(name, fn) g_test_add("/auth/" name, struct fixture, NULL, setup, fn, teardown)
  T("401_messages", test_401_messages);
  T("roles_and_bindings", test_roles_and_bindings);
  T("create_validation", test_create_validation);
  T("cli_errors", test_cli_errors);
  T("cli_lifecycle", test_cli_lifecycle);
  T("revoke_in_process", test_revoke_in_process);
  T("expiry_while_cached", test_expiry_while_cached);
  T("platform_admin_org", test_platform_admin_org);
  T("usage_flush", test_usage_flush);
  T("no_round_trip_when_cached", test_no_round_trip_when_cached);
  T("concurrent_invalidate", test_concurrent_invalidate);
  T("flusher_thread", test_flusher_thread);
  T("metrics_route", test_metrics_route);
#undef T
  int rc = g_test_run();
  sc_metrics_shutdown();
  curl_global_cleanup();
  return rc;
}
