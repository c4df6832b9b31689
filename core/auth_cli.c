/*
** sidecalctl key create|list|revoke: argument parsing and printing around
** sc_auth_key_create/sc_auth_key_revoke. Works as the application role
** with a platform-admin tenant, like the daemon's own admin work.
*/
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_USAGE \
  "usage: sidecalctl key create --org SLUG --role ROLE [--location SLUG] [--staff SLUG]\n" \
  "                             [--expires YYYY-MM-DD|RFC3339] [--label TEXT]\n" \
  "       sidecalctl key create --platform-admin [--expires ...] [--label TEXT]\n" \
  "       sidecalctl key list [--org SLUG]\n" \
  "       sidecalctl key revoke ID\n"

struct key_opts {
  const char *org, *role, *location, *staff, *expires, *label;
  int platform_admin;
};

static int bad(const char *sub, const char *msg) {
  fprintf(stderr, "sidecalctl: key %s: %s\n", sub, msg);
  return 2;
}

/* Options as "--name VALUE" or "--name=VALUE"; allowed names by command. */
static int parse_opts(const char *sub, int argc, char **argv, const char *allowed,
                      struct key_opts *o) {
  char msg[256];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0) {
      snprintf(msg, sizeof msg, "unexpected argument \"%.64s\"", a);
      return bad(sub, msg);
    }
    char name[32];
    const char *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), a + 2);
    char pattern[40];
    snprintf(pattern, sizeof pattern, " %s ", name);
    if (!strstr(allowed, pattern)) {
      snprintf(msg, sizeof msg, "unknown option --%.32s", name);
      return bad(sub, msg);
    }
    if (!strcmp(name, "platform-admin")) {
      if (eq) return bad(sub, "--platform-admin takes no value");
      o->platform_admin = 1;
      continue;
    }
    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!v) {
      snprintf(msg, sizeof msg, "option --%s needs a value", name);
      return bad(sub, msg);
    }
    const char **slot = !strcmp(name, "org") ? &o->org : !strcmp(name, "role") ? &o->role
                        : !strcmp(name, "location") ? &o->location
                        : !strcmp(name, "staff") ? &o->staff
                        : !strcmp(name, "expires") ? &o->expires : &o->label;
    if (*slot) {
      snprintf(msg, sizeof msg, "option --%s given twice", name);
      return bad(sub, msg);
    }
    *slot = v;
  }
  return 0;
}

static int open_pool(const char *sub, struct sc_db_pool **pool) {
  const char *url = sc_db_url_from_env();
  if (!url) return bad(sub, "set SIDECAL_DATABASE_URL (scripts/pg url prints the private one)");
  struct sc_error err;
  if (sc_db_pool_open(url, 1, pool, &err)) {
    fprintf(stderr, "sidecalctl: key %s: %s\n", sub, err.message);
    return 1;
  }
  return 0;
}

/* Bad input (exit 2) versus a failure of ours or the database's (exit 1). */
static int report(const char *sub, const struct sc_error *err) {
  fprintf(stderr, "sidecalctl: key %s: %s\n", sub, err->message);
  return (err->code == SC_EINVAL || err->code == SC_ENOTFOUND) ? 2 : 1;
}

static int cmd_create(int argc, char **argv) {
  struct key_opts o = {0};
  int rc = parse_opts("create", argc, argv,
                      " org role location staff expires label platform-admin ", &o);
  if (rc) return rc;
  struct sc_key_spec spec = {.org_slug = o.org, .location_slug = o.location,
                             .staff_slug = o.staff, .expires = o.expires, .label = o.label};
  if (o.platform_admin) {
    if (o.role) return bad("create", "--platform-admin takes no --role");
    spec.role = SC_ROLE_PLATFORM_ADMIN;
  } else if (!o.role) {
    return bad("create", "needs --role ROLE (agency_owner, location_staff or staff) or --platform-admin");
  } else if (sc_role_parse(o.role, &spec.role) || spec.role == SC_ROLE_PLATFORM_ADMIN) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "unknown role \"%.32s\" (expected agency_owner, location_staff or staff)", o.role);
    return bad("create", msg);
  }
  struct sc_db_pool *pool;
  if ((rc = open_pool("create", &pool))) return rc;
  struct sc_key_created k;
  struct sc_error err;
  rc = sc_auth_key_create(pool, &spec, &k, &err);
  sc_db_pool_close(pool);
  if (rc) return report("create", &err);
  printf("%s\n", k.key);
  fflush(stdout);
  fprintf(stderr, "created API key %s (prefix sck_%s, role %s%s%s); it is shown only once\n",
          k.id, k.prefix, sc_role_name(spec.role), o.org ? ", organization " : "",
          o.org ? o.org : "");
  memset(k.key, 0, sizeof k.key);
  return 0;
}

static const char *dash(const char *s) { return (s && *s) ? s : "-"; }

#define LIST_COLS 9

static void print_table(PGresult *r) {
  static const char *const head[LIST_COLS] = {"ID", "PREFIX", "ROLE", "SCOPE", "LABEL",
                                              "CREATED", "EXPIRES", "LAST_USED", "REVOKED"};
  size_t w[LIST_COLS];
  int rows = PQntuples(r);
  for (int c = 0; c < LIST_COLS; c++) {
    w[c] = strlen(head[c]);
    for (int i = 0; i < rows; i++) {
      size_t n = strlen(dash(PQgetvalue(r, i, c)));
      if (n > w[c]) w[c] = n;
    }
  }
  for (int i = -1; i < rows; i++) {
    for (int c = 0; c < LIST_COLS; c++) {
      const char *v = i < 0 ? head[c] : dash(PQgetvalue(r, i, c));
      if (c == LIST_COLS - 1) printf("%s\n", v);
      else printf("%-*s  ", (int)w[c], v);
    }
  }
}

static int cmd_list(int argc, char **argv) {
  struct key_opts o = {0};
  int rc = parse_opts("list", argc, argv, " org ", &o);
  if (rc) return rc;
  struct sc_db_pool *pool;
  if ((rc = open_pool("list", &pool))) return rc;
  struct sc_error err;
  struct sc_tenant admin = {.platform_admin = 1};
  const char *p[1] = {o.org ? o.org : ""};
  PGresult *r = NULL;
  PGconn *c = sc_db_acquire(pool);
  rc = sc_db_begin(c, &admin, &err);
  if (!rc && o.org) {
    rc = sc_db_exec(c, "SELECT 1 FROM organizations WHERE slug = $1", 1, p, &r, &err);
    if (!rc && PQntuples(r) == 0)
      rc = sc_error_set(&err, SC_ENOTFOUND, "org", "unknown organization \"%.64s\"", o.org);
    PQclear(r);
    r = NULL;
  }
#define UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
  if (!rc)
    rc = sc_db_exec(c,
        "SELECT k.id, 'sck_' || k.prefix, k.role,"
        " CASE WHEN k.organization_id IS NULL THEN '(platform)'"
        "  ELSE concat_ws('/', o.slug, l.slug, 'staff:' || s.slug) END,"
        " k.label, " UTC("k.created_at") ", " UTC("k.expires_at") ","
        " " UTC("k.last_used_at") ", " UTC("k.revoked_at")
        " FROM api_keys k"
        " LEFT JOIN organizations o ON o.organization_id = k.organization_id"
        " LEFT JOIN locations l ON l.organization_id = k.organization_id AND l.id = k.location_id"
        " LEFT JOIN staff s ON s.organization_id = k.organization_id AND s.id = k.staff_id"
        " WHERE $1 = '' OR o.slug = $1"
        " ORDER BY k.created_at, k.id", 1, p, &r, &err);
#undef UTC
  rc = sc_db_end(c, rc, &err);
  sc_db_release(pool, c);
  sc_db_pool_close(pool);
  if (rc) {
    PQclear(r);
    return report("list", &err);
  }
  print_table(r);
  PQclear(r);
  return 0;
}

static int cmd_revoke(int argc, char **argv) {
  if (argc != 3 || !strncmp(argv[2], "--", 2)) {
    fprintf(stderr, "usage: sidecalctl key revoke ID\n");
    return 2;
  }
  struct sc_db_pool *pool;
  int rc = open_pool("revoke", &pool);
  if (rc) return rc;
  struct sc_error err;
  int already = 0;
  rc = sc_auth_key_revoke(pool, NULL, argv[2], &already, &err);
  sc_db_pool_close(pool);
  if (rc) return report("revoke", &err);
  printf(already ? "API key %s was already revoked\n" : "revoked API key %s\n", argv[2]);
  return 0;
}

int sc_cmd_key(int argc, char **argv) {
  if (argc < 2) {
    fputs(KEY_USAGE, stderr);
    return 2;
  }
  if (!strcmp(argv[1], "create")) return cmd_create(argc, argv);
  if (!strcmp(argv[1], "list")) return cmd_list(argc, argv);
  if (!strcmp(argv[1], "revoke")) return cmd_revoke(argc, argv);
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(KEY_USAGE, stdout);
    return 0;
  }
  fprintf(stderr, "sidecalctl: key: unknown subcommand \"%.32s\"\n" KEY_USAGE, argv[1]);
  return 2;
}
