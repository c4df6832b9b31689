/* Tests for the schedule API modules (core/schedule*.c) against a real
** database: availability rules, date overrides and calendar blocks with
** hand-built callers for every role — exact validation messages with
** nothing changed, scope per role (404 outside it), write scope,
** read-only conf.d/ rows, merge-patch, pagination, and API rows surviving
** a config re-apply. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "config.h"
#include "auth.h"
#include "config_apply.h"
#include "db.h"
#include "schedule.h"
#include "testdb.h"

static const char *YAML_ACME =
    "organization: {slug: acme, name: Acme}\n"
    "locations:\n"
    "  - slug: miami\n"
    "    name: Miami\n"
    "    timezone: America/New_York\n"
    "    rules:\n"
    "      - {day_of_week: 1, start: \"09:00\", end: \"17:00\"}\n"
    "    overrides:\n"
    "      - {date: 2026-12-24, intervals: [{start: \"09:00\", end: \"12:00\"}]}\n"
    "    blocks:\n"
    "      - {start: 2026-03-09T12:00, end: 2026-03-09T13:00, rrule: \"FREQ=WEEKLY;BYDAY=MO\", reason: Lunch}\n"
    "  - {slug: london, name: London, timezone: Europe/London}\n"
    "  - {slug: closed, name: Closed, timezone: Europe/Paris}\n"
    "staff:\n"
    "  - {slug: ann, name: Ann, locations: [miami]}\n"
    "  - {slug: bob, name: Bob, locations: [miami, london]}\n"
    "  - {slug: cat, name: Cat, locations: [london]}\n";

/* The same organization after an edit: the config rule moved to Tuesday. */
static const char *YAML_ACME_EDITED =
    "organization: {slug: acme, name: Acme}\n"
    "locations:\n"
    "  - slug: miami\n"
    "    name: Miami\n"
    "    timezone: America/New_York\n"
    "    rules:\n"
    "      - {day_of_week: 2, start: \"09:00\", end: \"17:00\"}\n"
    "  - {slug: london, name: London, timezone: Europe/London}\n"
    "  - {slug: closed, name: Closed, timezone: Europe/Paris}\n"
    "staff:\n"
    "  - {slug: ann, name: Ann, locations: [miami]}\n"
    "  - {slug: bob, name: Bob, locations: [miami, london]}\n"
    "  - {slug: cat, name: Cat, locations: [london]}\n";

static const char *YAML_GLOBEX =
    "organization: {slug: globex, name: Globex}\n"
    "locations:\n"
    "  - slug: miami\n"
    "    name: Globex Miami\n"
    "    timezone: America/Chicago\n"
    "    rules:\n"
    "      - {day_of_week: 1, start: \"08:00\", end: \"12:00\"}\n"
    "staff:\n"
    "  - {slug: zed, name: Zed, locations: [miami]}\n";

struct fixture {
  struct sc_test_db db;
  struct sc_db_pool *pool;
  PGconn *owner;
  char *dir;
  /* callers */
  struct sc_caller admin, admin_noorg, boss, desk, desk_bob, ann, globex;
};

/* ---- setup -------------------------------------------------------------- */

static void write_file(struct fixture *f, const char *name, const char *yaml) {
  char *path = g_build_filename(f->dir, name, NULL);
  g_assert_true(g_file_set_contents(path, yaml, -1, NULL));
  g_free(path);
}

static void apply_config(struct fixture *f) {
  struct sc_config cfg = {0};
  struct sc_error err;
  struct sc_apply_stats st;
  if (sc_config_load_dir(f->dir, &cfg, &err)) g_error("config: %s", err.message);
  PGconn *c = sc_db_acquire(f->pool);
  if (sc_config_apply(c, &cfg, NULL, &st, &err)) g_error("apply: %s", err.message);
  sc_db_release(f->pool, c);
  sc_config_free(&cfg);
}

static void id_of(struct fixture *f, const char *sql, char out[37]) {
  char *v = sc_test_db_value(f->owner, sql);
  g_assert_nonnull(v);
  snprintf(out, 37, "%s", v);
  g_free(v);
}

static void make_caller(struct fixture *f, struct sc_caller *c, enum sc_role role,
                        const char *org, const char *location, const char *staff) {
  memset(c, 0, sizeof *c);
  c->role = role;
  snprintf(c->key_id, sizeof c->key_id, "00000000-0000-4000-8000-00000000000%d", (int)role);
  if (org) {
    char *sql = g_strdup_printf("SELECT organization_id FROM organizations WHERE slug = '%s'", org);
    id_of(f, sql, c->org_id);
    g_free(sql);
    snprintf(c->org_slug, sizeof c->org_slug, "%s", org);
  }
  if (location) {
    char *sql = g_strdup_printf("SELECT id FROM locations WHERE slug = '%s' AND organization_id = '%s'",
                                location, c->org_id);
    id_of(f, sql, c->location_id);
    g_free(sql);
  }
  if (staff) {
    char *sql = g_strdup_printf("SELECT id FROM staff WHERE slug = '%s' AND organization_id = '%s'",
                                staff, c->org_id);
    id_of(f, sql, c->staff_id);
    g_free(sql);
  }
}

static void setup(struct fixture *f, gconstpointer data) {
  (void)data;
  sc_test_db_create_migrated(&f->db);
  struct sc_error err;
  g_assert_cmpint(sc_db_pool_open(f->db.url, 1, &f->pool, &err), ==, SC_OK);
  f->owner = sc_test_db_connect(&f->db);
  f->dir = g_dir_make_tmp("sc-sched-XXXXXX", NULL);
  write_file(f, "acme.yaml", YAML_ACME);
  write_file(f, "globex.yaml", YAML_GLOBEX);
  apply_config(f);
  g_free(sc_test_db_value(f->owner, "UPDATE locations SET active = false WHERE slug = 'closed' RETURNING 1"));
  make_caller(f, &f->admin, SC_ROLE_PLATFORM_ADMIN, "acme", NULL, NULL);
  make_caller(f, &f->admin_noorg, SC_ROLE_PLATFORM_ADMIN, NULL, NULL, NULL);
  make_caller(f, &f->boss, SC_ROLE_AGENCY_OWNER, "acme", NULL, NULL);
  make_caller(f, &f->desk, SC_ROLE_LOCATION_STAFF, "acme", "miami", NULL);
  make_caller(f, &f->desk_bob, SC_ROLE_LOCATION_STAFF, "acme", "miami", "bob");
  make_caller(f, &f->ann, SC_ROLE_STAFF, "acme", NULL, "ann");
  make_caller(f, &f->globex, SC_ROLE_AGENCY_OWNER, "globex", NULL, NULL);
}

static void teardown(struct fixture *f, gconstpointer data) {
  (void)data;
  sc_db_pool_close(f->pool);
  PQfinish(f->owner);
  sc_test_db_drop(&f->db);
  const char *names[] = {"acme.yaml", "globex.yaml"};
  for (size_t i = 0; i < 2; i++) {
    char *p = g_build_filename(f->dir, names[i], NULL);
    g_remove(p);
    g_free(p);
  }
  g_rmdir(f->dir);
  g_free(f->dir);
}

/* ---- calling the module as a handler would ------------------------------ */

static PGconn *begin(struct fixture *f, const struct sc_caller *c) {
  struct sc_tenant t;
  struct sc_error err;
  sc_auth_tenant(c, &t);
  PGconn *conn = sc_db_acquire(f->pool);
  g_assert_cmpint(sc_db_begin(conn, &t, &err), ==, SC_OK);
  return conn;
}

static int finish(struct fixture *f, PGconn *conn, int rc, struct sc_error *err) {
  if (!rc) rc = sc_db_commit(conn, err);
  else sc_db_rollback(conn);
  sc_db_release(f->pool, conn);
  return rc;
}

typedef int (*create_fn)(PGconn *, const struct sc_caller *, json_object *, json_object **,
                         struct sc_error *);
typedef int (*update_fn)(PGconn *, const struct sc_caller *, const char *, json_object *,
                         json_object **, struct sc_error *);
typedef int (*get_fn)(PGconn *, const struct sc_caller *, const char *, json_object **,
                      struct sc_error *);
typedef int (*delete_fn)(PGconn *, const struct sc_caller *, const char *, struct sc_error *);
typedef int (*list_fn)(PGconn *, const struct sc_caller *, const struct sc_sched_filter *,
                       json_object **, struct sc_error *);

struct kind {
  create_fn create;
  update_fn update;
  get_fn get;
  delete_fn del;
  list_fn list;
};
static const struct kind RULES = {sc_rule_create, sc_rule_update, sc_rule_get, sc_rule_delete,
                                  sc_rules_list};
static const struct kind OVERRIDES = {sc_override_create, sc_override_update, sc_override_get,
                                      sc_override_delete, sc_overrides_list};
static const struct kind BLOCKS = {sc_block_create, sc_block_update, sc_block_get,
                                   sc_block_delete, sc_blocks_list};

static json_object *parse(const char *json) {
  json_object *o = json_tokener_parse(json);
  if (!o) g_error("test JSON does not parse: %s", json);
  return o;
}

static int do_create(struct fixture *f, const struct sc_caller *c, const struct kind *k,
                     const char *json, json_object **out, struct sc_error *err) {
  json_object *body = parse(json), *res = NULL;
  PGconn *conn = begin(f, c);
  int rc = finish(f, conn, k->create(conn, c, body, &res, err), err);
  json_object_put(body);
  if (out) *out = res;
  else json_object_put(res);
  return rc;
}

static int do_update(struct fixture *f, const struct sc_caller *c, const struct kind *k,
                     const char *id, const char *json, json_object **out, struct sc_error *err) {
  json_object *body = parse(json), *res = NULL;
  PGconn *conn = begin(f, c);
  int rc = finish(f, conn, k->update(conn, c, id, body, &res, err), err);
  json_object_put(body);
  if (out) *out = res;
  else json_object_put(res);
  return rc;
}

static int do_get(struct fixture *f, const struct sc_caller *c, const struct kind *k,
                  const char *id, json_object **out, struct sc_error *err) {
  json_object *res = NULL;
  PGconn *conn = begin(f, c);
  int rc = finish(f, conn, k->get(conn, c, id, &res, err), err);
  if (out) *out = res;
  else json_object_put(res);
  return rc;
}

static int do_delete(struct fixture *f, const struct sc_caller *c, const struct kind *k,
                     const char *id, struct sc_error *err) {
  PGconn *conn = begin(f, c);
  return finish(f, conn, k->del(conn, c, id, err), err);
}

static int do_list(struct fixture *f, const struct sc_caller *c, const struct kind *k,
                   const struct sc_sched_filter *flt, json_object **out, struct sc_error *err) {
  PGconn *conn = begin(f, c);
  json_object *res = NULL;
  int rc = finish(f, conn, k->list(conn, c, flt, &res, err), err);
  if (out) *out = res;
  else json_object_put(res);
  return rc;
}

/* Creates as `c` and returns the new id (asserting success). */
static void create_ok(struct fixture *f, const struct sc_caller *c, const struct kind *k,
                      const char *json, char id[37]) {
  struct sc_error err;
  json_object *out = NULL;
  int rc = do_create(f, c, k, json, &out, &err);
  if (rc) g_error("create %s failed: %s", json, err.message);
  snprintf(id, 37, "%s", json_object_get_string(json_object_object_get(out, "id")));
  json_object_put(out);
}

static const char *str(json_object *o, const char *key) {
  json_object *v = json_object_object_get(o, key);
  return v ? json_object_get_string(v) : NULL;
}

/* Every row of the three tables, ids and timestamps included. */
static char *snapshot(struct fixture *f) {
  return sc_test_db_value(f->owner,
      "SELECT concat_ws(E'\\n',"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM availability_rules t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM date_overrides t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM calendar_blocks t))");
}

static char *config_id(struct fixture *f, const char *table) {
  char *sql = g_strdup_printf(
      "SELECT t.id FROM %s t JOIN organizations o USING (organization_id)"
      " WHERE o.slug = 'acme' AND t.source = 'config'", table);
  char *v = sc_test_db_value(f->owner, sql);
  g_free(sql);
  g_assert_nonnull(v);
  return v;
}

/* ---- validation: exact messages, nothing changed ------------------------ */

struct vcase {
  const char *body;
  const char *field;
  const char *message;
};

static void check_invalid(struct fixture *f, const struct sc_caller *c, const struct kind *k,
                          const struct vcase *cases, size_t n) {
  char *before = snapshot(f);
  for (size_t i = 0; i < n; i++) {
    struct sc_error err = {0};
    json_object *out = NULL;
    int rc = do_create(f, c, k, cases[i].body, &out, &err);
    if (rc != SC_EINVAL) g_test_message("body: %s -> %d %s", cases[i].body, rc, err.message);
    g_assert_cmpint(rc, ==, SC_EINVAL);
    g_assert_null(out);
    g_assert_cmpstr(err.message, ==, cases[i].message);
    g_assert_cmpstr(err.field, ==, cases[i].field);
  }
  char *after = snapshot(f);
  g_assert_cmpstr(before, ==, after);
  g_free(before);
  g_free(after);
}

static void test_rule_validation(struct fixture *f, gconstpointer data) {
  (void)data;
  static const struct vcase cases[] = {
    {"{}", "location", "location: required (a location slug)"},
    {"{\"location\": \"miami\", \"timezone\": \"UTC\"}", "timezone",
     "timezone: unknown field; valid fields: location, staff, day_of_week, start, end, "
     "effective_from, effective_until"},
    {"{\"location\": 5}", "location", "location: expected a string"},
    {"{\"location\": \"miami\", \"staff\": true}", "staff", "staff: expected a string"},
    {"{\"location\": \"miami\", \"start\": \"09:00\", \"end\": \"17:00\"}", "day_of_week",
     "day_of_week: required (0 = Sunday .. 6 = Saturday)"},
    {"{\"location\": \"miami\", \"day_of_week\": 7, \"start\": \"09:00\", \"end\": \"17:00\"}",
     "day_of_week", "day_of_week: must be between 0 and 6"},
    {"{\"location\": \"miami\", \"day_of_week\": \"1\"}", "day_of_week",
     "day_of_week: expected a whole number"},
    {"{\"location\": \"miami\", \"day_of_week\": 1, \"end\": \"17:00\"}", "start", "start: required"},
    {"{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"9:00\", \"end\": \"17:00\"}",
     "start", "start: expected a time HH:MM from 00:00 to 23:59, got \"9:00\""},
    {"{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"24:00\", \"end\": \"24:00\"}",
     "start", "start: expected a time HH:MM from 00:00 to 23:59, got \"24:00\""},
    {"{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": 1700}",
     "end", "end: expected a time HH:MM from 00:00 to 24:00, got 1700"},
    {"{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"17:00\", \"end\": \"09:00\"}",
     "end", "end: 09:00 is not after start 17:00"},
    {"{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"09:00\"}",
     "end", "end: 09:00 is not after start 09:00"},
    {"{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"17:00\","
     " \"effective_from\": \"2026-02-30\"}",
     "effective_from", "effective_from: expected a date YYYY-MM-DD, got \"2026-02-30\""},
    {"{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"17:00\","
     " \"effective_until\": \"2026/01/01\"}",
     "effective_until", "effective_until: expected a date YYYY-MM-DD, got \"2026/01/01\""},
    {"{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"17:00\","
     " \"effective_from\": \"2026-02-01\", \"effective_until\": \"2026-01-01\"}",
     "effective_until", "effective_until: 2026-01-01 is before effective_from 2026-02-01"},
    {"{\"location\": \"nowhere\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"17:00\"}",
     "location", "location: no active location \"nowhere\""},
    {"{\"location\": \"closed\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"17:00\"}",
     "location", "location: no active location \"closed\""},
    {"{\"location\": \"miami\", \"staff\": \"zed\", \"day_of_week\": 1, \"start\": \"09:00\","
     " \"end\": \"17:00\"}", "staff", "staff: no active staff member \"zed\""},
    {"{\"location\": \"miami\", \"staff\": \"cat\", \"day_of_week\": 1, \"start\": \"09:00\","
     " \"end\": \"17:00\"}", "staff", "staff: staff \"cat\" does not work at location \"miami\""},
  };
  check_invalid(f, &f->boss, &RULES, cases, G_N_ELEMENTS(cases));
  /* The other organization's location is as unknown as a missing one. */
  static const struct vcase foreign[] = {
    {"{\"location\": \"london\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"17:00\"}",
     "location", "location: no active location \"london\""},
  };
  check_invalid(f, &f->globex, &RULES, foreign, 1);
}

static void test_override_validation(struct fixture *f, gconstpointer data) {
  (void)data;
  static const struct vcase cases[] = {
    {"{\"date\": \"2026-12-25\", \"intervals\": []}", "location", "location: required (a location slug)"},
    {"{\"location\": \"miami\", \"dates\": []}", "dates",
     "dates: unknown field; valid fields: location, staff, date, intervals"},
    {"{\"location\": \"miami\", \"intervals\": []}", "date", "date: required"},
    {"{\"location\": \"miami\", \"date\": \"25.12.2026\", \"intervals\": []}", "date",
     "date: expected a date YYYY-MM-DD, got \"25.12.2026\""},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\"}", "intervals",
     "intervals: required (write [] for a day off)"},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": null}", "intervals",
     "intervals: required (write [] for a day off)"},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": {}}", "intervals",
     "intervals: expected a list of {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}"},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": [\"09:00-12:00\"]}",
     "intervals[0]", "intervals[0]: expected an object {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}"},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": [{\"start\": \"09:00\","
     " \"end\": \"12:00\", \"note\": \"x\"}]}",
     "intervals[0].note", "intervals[0].note: unknown field; valid fields: start, end"},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": [{\"end\": \"12:00\"}]}",
     "intervals[0].start", "intervals[0].start: required"},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": [{\"start\": \"09:00\","
     " \"end\": \"12:00\"}, {\"start\": \"13:00\", \"end\": \"24:01\"}]}",
     "intervals[1].end", "intervals[1].end: expected a time HH:MM from 00:00 to 24:00, got \"24:01\""},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": [{\"start\": \"12:00\","
     " \"end\": \"11:00\"}]}",
     "intervals[0].end", "intervals[0].end: 11:00 is not after start 12:00"},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": [{\"start\": \"09:00\","
     " \"end\": \"12:00\"}, {\"start\": \"11:00\", \"end\": \"14:00\"}]}",
     "intervals[1]", "intervals[1]: overlaps or precedes intervals[0]; list intervals in order "
     "without overlap"},
    {"{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": [{\"start\": \"13:00\","
     " \"end\": \"14:00\"}, {\"start\": \"09:00\", \"end\": \"10:00\"}]}",
     "intervals[1]", "intervals[1]: overlaps or precedes intervals[0]; list intervals in order "
     "without overlap"},
    {"{\"location\": \"miami\", \"staff\": \"cat\", \"date\": \"2026-12-25\", \"intervals\": []}",
     "staff", "staff: staff \"cat\" does not work at location \"miami\""},
  };
  check_invalid(f, &f->boss, &OVERRIDES, cases, G_N_ELEMENTS(cases));
}

static void test_block_validation(struct fixture *f, gconstpointer data) {
  (void)data;
  static const struct vcase cases[] = {
    {"{\"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\"}", "location",
     "location: a block needs a location, a staff member or both"},
    {"{\"location\": null, \"staff\": null}", "location",
     "location: a block needs a location, a staff member or both"},
    {"{\"location\": \"miami\", \"until\": 1}", "until",
     "until: unknown field; valid fields: location, staff, start, end, timezone, rrule, exdates, reason"},
    {"{\"location\": \"miami\", \"end\": \"2026-03-10T13:00\"}", "start", "start: required"},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00:00Z\", \"end\": \"2026-03-10T13:00\"}",
     "start", "start: expected a local date-time YYYY-MM-DDTHH:MM[:SS] without offset (the zone "
     "is timezone), got \"2026-03-10T12:00:00Z\""},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": 5}",
     "end", "end: expected a local date-time YYYY-MM-DDTHH:MM[:SS] without offset (the zone "
     "is timezone), got 5"},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T11:59:59\"}",
     "end", "end: 2026-03-10T11:59:59 is not after start 2026-03-10T12:00:00"},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\","
     " \"timezone\": \"Mars/Olympus\"}", "timezone", "timezone: unknown time zone \"Mars/Olympus\""},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\","
     " \"timezone\": \"+05:00\"}", "timezone", "timezone: unknown time zone \"+05:00\""},
    {"{\"staff\": \"ann\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\"}",
     "timezone", "timezone: required for a block without a location (a staff-wide block)"},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\","
     " \"rrule\": \"WEEKLY\"}", "rrule",
     "rrule: invalid RRULE \"WEEKLY\": libical cannot parse it (FREQ= is required)"},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\","
     " \"rrule\": \"FREQ=WEEKLY\\nBYDAY=MO\"}", "rrule",
     "rrule: invalid RRULE \"FREQ=WEEKLY\nBYDAY=MO\": line breaks are not allowed"},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\","
     " \"exdates\": [\"2026-03-17T12:00\"]}", "exdates",
     "exdates: only allowed together with rrule"},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\","
     " \"rrule\": \"FREQ=WEEKLY\", \"exdates\": \"2026-03-17T12:00\"}", "exdates",
     "exdates: expected a list of local date-times YYYY-MM-DDTHH:MM[:SS]"},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\","
     " \"rrule\": \"FREQ=WEEKLY\", \"exdates\": [\"2026-03-17T12:00\", \"2026-03-24\"]}",
     "exdates[1]", "exdates[1]: expected a local date-time YYYY-MM-DDTHH:MM[:SS] without offset "
     "(the zone is timezone), got \"2026-03-24\""},
    {"{\"location\": \"miami\", \"start\": \"2026-03-10T12:00\", \"end\": \"2026-03-10T13:00\","
     " \"reason\": [\"PTO\"]}", "reason", "reason: expected a string"},
    {"{\"staff\": \"nobody\", \"timezone\": \"UTC\", \"start\": \"2026-03-10T12:00\","
     " \"end\": \"2026-03-10T13:00\"}", "staff", "staff: no active staff member \"nobody\""},
  };
  check_invalid(f, &f->boss, &BLOCKS, cases, G_N_ELEMENTS(cases));
}

/* ---- create, read back, merge-patch ------------------------------------- */

static void test_rule_roundtrip(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_error err;
  json_object *out = NULL;
  g_assert_cmpint(do_create(f, &f->boss, &RULES,
      "{\"location\": \"miami\", \"staff\": \"ann\", \"day_of_week\": 3, \"start\": \"13:00\","
      " \"end\": \"24:00\", \"effective_from\": \"2026-01-01\"}", &out, &err), ==, SC_OK);
  g_assert_cmpstr(str(out, "location"), ==, "miami");
  g_assert_cmpstr(str(out, "staff"), ==, "ann");
  g_assert_cmpint(json_object_get_int(json_object_object_get(out, "day_of_week")), ==, 3);
  g_assert_cmpstr(str(out, "start"), ==, "13:00");
  g_assert_cmpstr(str(out, "end"), ==, "24:00");
  g_assert_cmpstr(str(out, "timezone"), ==, "America/New_York");
  g_assert_cmpstr(str(out, "effective_from"), ==, "2026-01-01");
  g_assert_null(str(out, "effective_until"));
  g_assert_cmpstr(str(out, "source"), ==, "api");
  g_assert_true(g_str_has_suffix(str(out, "created_at"), "Z"));
  char id[37];
  snprintf(id, sizeof id, "%s", str(out, "id"));
  json_object *again = NULL;
  g_assert_cmpint(do_get(f, &f->boss, &RULES, id, &again, &err), ==, SC_OK);
  g_assert_true(json_object_equal(out, again));
  json_object_put(again);
  json_object_put(out);

  /* Merge patch: only what is named changes; null clears; a move to
  ** another location takes that location's zone. */
  g_assert_cmpint(do_update(f, &f->boss, &RULES, id,
      "{\"staff\": \"bob\", \"location\": \"london\", \"effective_from\": null,"
      " \"end\": \"18:30\"}", &out, &err), ==, SC_OK);
  g_assert_cmpstr(str(out, "location"), ==, "london");
  g_assert_cmpstr(str(out, "staff"), ==, "bob");
  g_assert_cmpstr(str(out, "start"), ==, "13:00");
  g_assert_cmpstr(str(out, "end"), ==, "18:30");
  g_assert_cmpstr(str(out, "timezone"), ==, "Europe/London");
  g_assert_null(str(out, "effective_from"));
  json_object_put(out);
  char *row = sc_test_db_value(f->owner, "SELECT day_of_week || ' ' || start_time || ' ' ||"
                               " end_time || ' ' || timezone || ' ' || source FROM availability_rules"
                               " WHERE source = 'api'");
  g_assert_cmpstr(row, ==, "3 13:00:00 18:30:00 Europe/London api");
  g_free(row);

  /* Failed patches change nothing. */
  char *before = snapshot(f);
  g_assert_cmpint(do_update(f, &f->boss, &RULES, id, "{\"source\": \"config\"}", NULL, &err), ==,
                  SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "source: unknown field; valid fields: location, staff, "
                  "day_of_week, start, end, effective_from, effective_until");
  g_assert_cmpint(do_update(f, &f->boss, &RULES, id, "{\"start\": null}", NULL, &err), ==,
                  SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "start: required");
  g_assert_cmpint(do_update(f, &f->boss, &RULES, id, "{\"start\": \"19:00\"}", NULL, &err), ==,
                  SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "end: 18:30 is not after start 19:00");
  g_assert_cmpint(do_update(f, &f->boss, &RULES, id, "{\"staff\": \"cat\", \"location\": \"miami\"}",
                            NULL, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "staff: staff \"cat\" does not work at location \"miami\"");
  char *after = snapshot(f);
  g_assert_cmpstr(before, ==, after);
  g_free(before);
  g_free(after);

  g_assert_cmpint(do_delete(f, &f->boss, &RULES, id, &err), ==, SC_OK);
  g_assert_cmpint(do_get(f, &f->boss, &RULES, id, NULL, &err), ==, SC_ENOTFOUND);
  char *msg = g_strdup_printf("no rule %s", id);
  g_assert_cmpstr(err.message, ==, msg);
  g_free(msg);
  g_assert_cmpint(do_delete(f, &f->boss, &RULES, id, &err), ==, SC_ENOTFOUND);
}

static void test_override_roundtrip_and_conflict(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_error err;
  json_object *out = NULL;
  /* conf.d/ already has a location-wide override on 2026-12-24. */
  char *before = snapshot(f);
  g_assert_cmpint(do_create(f, &f->boss, &OVERRIDES,
      "{\"location\": \"miami\", \"date\": \"2026-12-24\", \"intervals\": []}", &out, &err), ==,
      SC_ECONFLICT);
  g_assert_null(out);
  g_assert_cmpstr(err.field, ==, "date");
  g_assert_cmpstr(err.message, ==, "date: location \"miami\" already has a location-wide "
                  "override on 2026-12-24; change that one instead");
  char *after = snapshot(f);
  g_assert_cmpstr(before, ==, after);
  g_free(before);
  g_free(after);

  /* One per staff member may share the date. */
  g_assert_cmpint(do_create(f, &f->boss, &OVERRIDES,
      "{\"location\": \"miami\", \"staff\": \"ann\", \"date\": \"2026-12-24\", \"intervals\":"
      " [{\"start\": \"08:00\", \"end\": \"10:00\"}, {\"start\": \"10:00\", \"end\": \"24:00\"}]}",
      &out, &err), ==, SC_OK);
  g_assert_cmpstr(json_object_to_json_string_ext(json_object_object_get(out, "intervals"),
                                                 JSON_C_TO_STRING_PLAIN),
                  ==, "[{\"start\":\"08:00\",\"end\":\"10:00\"},{\"start\":\"10:00\",\"end\":\"24:00\"}]");
  g_assert_cmpstr(str(out, "date"), ==, "2026-12-24");
  g_assert_cmpstr(str(out, "staff"), ==, "ann");
  g_assert_cmpstr(str(out, "source"), ==, "api");
  json_object_put(out);
  g_assert_cmpint(do_create(f, &f->boss, &OVERRIDES,
      "{\"location\": \"miami\", \"staff\": \"ann\", \"date\": \"2026-12-24\", \"intervals\": []}",
      NULL, &err), ==, SC_ECONFLICT);
  g_assert_cmpstr(err.message, ==, "date: staff \"ann\" already has an override on 2026-12-24 "
                  "at location \"miami\"; change that one instead");

  /* A day off, then a patch onto a taken date conflicts too. */
  char id[37];
  create_ok(f, &f->boss, &OVERRIDES,
            "{\"location\": \"miami\", \"date\": \"2026-12-31\", \"intervals\": []}", id);
  g_assert_cmpint(do_get(f, &f->boss, &OVERRIDES, id, &out, &err), ==, SC_OK);
  g_assert_cmpstr(json_object_to_json_string(json_object_object_get(out, "intervals")), ==, "[ ]");
  g_assert_null(str(out, "staff"));
  json_object_put(out);
  g_assert_cmpint(do_update(f, &f->boss, &OVERRIDES, id, "{\"date\": \"2026-12-24\"}", NULL, &err),
                  ==, SC_ECONFLICT);
  g_assert_cmpstr(err.field, ==, "date");
  g_assert_cmpint(do_update(f, &f->boss, &OVERRIDES, id,
      "{\"intervals\": [{\"start\": \"10:00\", \"end\": \"14:00\"}]}", &out, &err), ==, SC_OK);
  g_assert_cmpstr(str(out, "date"), ==, "2026-12-31");
  g_assert_cmpint((int)json_object_array_length(json_object_object_get(out, "intervals")), ==, 1);
  json_object_put(out);
}

static void test_block_roundtrip(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_error err;
  json_object *out = NULL;
  g_assert_cmpint(do_create(f, &f->boss, &BLOCKS,
      "{\"location\": \"miami\", \"staff\": \"bob\", \"start\": \"2026-03-10T12:00\","
      " \"end\": \"2026-03-10T13:00\", \"rrule\": \"FREQ=WEEKLY;BYDAY=TU\","
      " \"exdates\": [\"2026-03-17T12:00\", \"2026-03-24T12:00:00\"], \"reason\": \"Lunch\"}",
      &out, &err), ==, SC_OK);
  g_assert_cmpstr(str(out, "location"), ==, "miami");
  g_assert_cmpstr(str(out, "staff"), ==, "bob");
  g_assert_cmpstr(str(out, "start"), ==, "2026-03-10T12:00:00");
  g_assert_cmpstr(str(out, "end"), ==, "2026-03-10T13:00:00");
  g_assert_cmpstr(str(out, "timezone"), ==, "America/New_York");
  g_assert_cmpstr(str(out, "rrule"), ==, "FREQ=WEEKLY;BYDAY=TU");
  g_assert_cmpstr(json_object_to_json_string_ext(json_object_object_get(out, "exdates"),
                                                 JSON_C_TO_STRING_PLAIN),
                  ==, "[\"2026-03-17T12:00:00\",\"2026-03-24T12:00:00\"]");
  g_assert_cmpstr(str(out, "reason"), ==, "Lunch");
  g_assert_cmpstr(str(out, "source"), ==, "api");
  char id[37];
  snprintf(id, sizeof id, "%s", str(out, "id"));
  json_object_put(out);
  char *who = sc_test_db_value(f->owner, "SELECT created_by FROM calendar_blocks WHERE source = 'api'");
  g_assert_cmpstr(who, ==, "api:00000000-0000-4000-8000-000000000001");
  g_free(who);

  /* Dropping the rule while exdates remain is refused; both at once work. */
  g_assert_cmpint(do_update(f, &f->boss, &BLOCKS, id, "{\"rrule\": null}", NULL, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "exdates: only allowed together with rrule");
  g_assert_cmpint(do_update(f, &f->boss, &BLOCKS, id,
      "{\"rrule\": null, \"exdates\": null, \"location\": null, \"reason\": \"PTO\"}", &out, &err), ==,
      SC_OK);
  g_assert_null(str(out, "rrule"));
  g_assert_null(str(out, "location"));
  g_assert_cmpstr(str(out, "staff"), ==, "bob");
  g_assert_cmpstr(str(out, "timezone"), ==, "America/New_York");  /* kept, now explicit */
  g_assert_cmpint((int)json_object_array_length(json_object_object_get(out, "exdates")), ==, 0);
  g_assert_cmpstr(str(out, "reason"), ==, "PTO");
  json_object_put(out);

  /* A staff-wide block names its own zone. */
  g_assert_cmpint(do_create(f, &f->boss, &BLOCKS,
      "{\"staff\": \"cat\", \"timezone\": \"Europe/Berlin\", \"start\": \"2026-07-01T00:00\","
      " \"end\": \"2026-07-15T00:00\", \"reason\": null}", &out, &err), ==, SC_OK);
  g_assert_null(str(out, "location"));
  g_assert_cmpstr(str(out, "timezone"), ==, "Europe/Berlin");
  g_assert_null(str(out, "reason"));
  json_object_put(out);
}

/* ---- conf.d/ rows are read-only ------------------------------------------ */

static void test_config_rows_read_only(struct fixture *f, gconstpointer data) {
  (void)data;
  const struct kind *kinds[] = {&RULES, &OVERRIDES, &BLOCKS};
  const char *tables[] = {"availability_rules", "date_overrides", "calendar_blocks"};
  const char *nouns[] = {"rule", "override", "block"};
  char *before = snapshot(f);
  for (size_t i = 0; i < 3; i++) {
    char *id = config_id(f, tables[i]);
    char *msg = g_strdup_printf("%s %s comes from conf.d/ and is read-only through the API; "
                                "change it in the organization's conf.d/ file and reload the "
                                "configuration (SIGHUP)", nouns[i], id);
    struct sc_error err;
    json_object *out = NULL;
    g_assert_cmpint(do_get(f, &f->boss, kinds[i], id, &out, &err), ==, SC_OK);
    g_assert_cmpstr(str(out, "source"), ==, "config");
    json_object_put(out);
    g_assert_cmpint(do_update(f, &f->boss, kinds[i], id, "{}", NULL, &err), ==, SC_ECONFLICT);
    g_assert_cmpstr(err.kind, ==, "read_only");
    g_assert_cmpstr(err.message, ==, msg);
    g_assert_cmpint(do_delete(f, &f->admin, kinds[i], id, &err), ==, SC_ECONFLICT);
    g_assert_cmpstr(err.kind, ==, "read_only");
    g_assert_cmpstr(err.message, ==, msg);
    /* Out of scope first: a staff key does not even learn it exists. */
    g_assert_cmpint(do_delete(f, &f->ann, kinds[i], id, &err), ==, SC_ENOTFOUND);
    g_free(msg);
    g_free(id);
  }
  char *after = snapshot(f);
  g_assert_cmpstr(before, ==, after);
  g_free(before);
  g_free(after);
}

/* ---- scope per role ------------------------------------------------------ */

/* ids[i] visible to c exactly when visible[i]: list, get, and for
** invisible rows update/delete answer SC_ENOTFOUND changing nothing. */
static void check_scope(struct fixture *f, const char *who, const struct sc_caller *c,
                        const struct kind *k, char ids[][37], size_t n, const char *visible) {
  struct sc_error err;
  json_object *page = NULL;
  struct sc_sched_filter flt = {.limit = "500"};
  g_assert_cmpint(do_list(f, c, k, &flt, &page, &err), ==, SC_OK);
  json_object *data = json_object_object_get(page, "data");
  size_t want = 0;
  for (size_t i = 0; i < n; i++) {
    int in_list = 0;
    for (size_t j = 0; j < json_object_array_length(data); j++)
      in_list |= !strcmp(str(json_object_array_get_idx(data, j), "id"), ids[i]);
    int expect = visible[i] == '1';
    want += (size_t)expect;
    if (in_list != expect) g_test_message("%s: row %zu listed=%d expected=%d", who, i, in_list, expect);
    g_assert_cmpint(in_list, ==, expect);
    int rc = do_get(f, c, k, ids[i], NULL, &err);
    g_assert_cmpint(rc, ==, expect ? SC_OK : SC_ENOTFOUND);
    if (!expect) {
      char *before = snapshot(f);
      g_assert_cmpint(do_update(f, c, k, ids[i], "{}", NULL, &err), ==, SC_ENOTFOUND);
      g_assert_cmpint(do_delete(f, c, k, ids[i], &err), ==, SC_ENOTFOUND);
      char *after = snapshot(f);
      g_assert_cmpstr(before, ==, after);
      g_free(before);
      g_free(after);
    }
  }
  g_assert_cmpuint(json_object_array_length(data), ==, want);
  json_object_put(page);
}

static void test_scope_rules(struct fixture *f, gconstpointer data) {
  (void)data;
  char ids[6][37];
  char *cfg = config_id(f, "availability_rules");
  snprintf(ids[0], 37, "%s", cfg);
  g_free(cfg);
  create_ok(f, &f->boss, &RULES, "{\"location\": \"miami\", \"day_of_week\": 2, \"start\": \"09:00\", \"end\": \"12:00\"}", ids[1]);
  create_ok(f, &f->boss, &RULES, "{\"location\": \"miami\", \"staff\": \"ann\", \"day_of_week\": 2, \"start\": \"09:00\", \"end\": \"12:00\"}", ids[2]);
  create_ok(f, &f->boss, &RULES, "{\"location\": \"london\", \"staff\": \"bob\", \"day_of_week\": 2, \"start\": \"09:00\", \"end\": \"12:00\"}", ids[3]);
  create_ok(f, &f->boss, &RULES, "{\"location\": \"london\", \"staff\": \"cat\", \"day_of_week\": 2, \"start\": \"09:00\", \"end\": \"12:00\"}", ids[4]);
  id_of(f, "SELECT r.id FROM availability_rules r JOIN organizations o USING (organization_id)"
           " WHERE o.slug = 'globex'", ids[5]);
  /*                                      cfg mia ann bob cat globex */
  check_scope(f, "admin", &f->admin, &RULES, ids, 6, "111110");
  check_scope(f, "admin without org", &f->admin_noorg, &RULES, ids, 6, "111111");
  check_scope(f, "owner", &f->boss, &RULES, ids, 6, "111110");
  check_scope(f, "desk", &f->desk, &RULES, ids, 6, "111000");
  check_scope(f, "desk+bob", &f->desk_bob, &RULES, ids, 6, "111100");
  check_scope(f, "ann", &f->ann, &RULES, ids, 6, "001000");
  check_scope(f, "globex", &f->globex, &RULES, ids, 6, "000001");
}

static void test_scope_overrides(struct fixture *f, gconstpointer data) {
  (void)data;
  char ids[4][37];
  char *cfg = config_id(f, "date_overrides");
  snprintf(ids[0], 37, "%s", cfg);
  g_free(cfg);
  create_ok(f, &f->boss, &OVERRIDES, "{\"location\": \"miami\", \"staff\": \"ann\", \"date\": \"2026-05-01\", \"intervals\": []}", ids[1]);
  create_ok(f, &f->boss, &OVERRIDES, "{\"location\": \"london\", \"staff\": \"bob\", \"date\": \"2026-05-01\", \"intervals\": []}", ids[2]);
  create_ok(f, &f->boss, &OVERRIDES, "{\"location\": \"london\", \"date\": \"2026-05-01\", \"intervals\": []}", ids[3]);
  /*                                            cfg ann bob lon */
  check_scope(f, "owner", &f->boss, &OVERRIDES, ids, 4, "1111");
  check_scope(f, "desk", &f->desk, &OVERRIDES, ids, 4, "1100");
  check_scope(f, "desk+bob", &f->desk_bob, &OVERRIDES, ids, 4, "1110");
  check_scope(f, "ann", &f->ann, &OVERRIDES, ids, 4, "0100");
  check_scope(f, "globex", &f->globex, &OVERRIDES, ids, 4, "0000");
}

static void test_scope_blocks(struct fixture *f, gconstpointer data) {
  (void)data;
  char ids[6][37];
  char *cfg = config_id(f, "calendar_blocks");
  snprintf(ids[0], 37, "%s", cfg);
  g_free(cfg);
  create_ok(f, &f->boss, &BLOCKS, "{\"location\": \"miami\", \"staff\": \"ann\", \"start\": \"2026-04-01T09:00\", \"end\": \"2026-04-01T10:00\"}", ids[1]);
  create_ok(f, &f->boss, &BLOCKS, "{\"staff\": \"ann\", \"timezone\": \"America/New_York\", \"start\": \"2026-04-02T00:00\", \"end\": \"2026-04-09T00:00\"}", ids[2]);
  create_ok(f, &f->boss, &BLOCKS, "{\"staff\": \"bob\", \"timezone\": \"Europe/London\", \"start\": \"2026-04-02T00:00\", \"end\": \"2026-04-09T00:00\"}", ids[3]);
  create_ok(f, &f->boss, &BLOCKS, "{\"location\": \"london\", \"start\": \"2026-04-03T09:00\", \"end\": \"2026-04-03T10:00\"}", ids[4]);
  create_ok(f, &f->globex, &BLOCKS, "{\"location\": \"miami\", \"start\": \"2026-04-03T09:00\", \"end\": \"2026-04-03T10:00\"}", ids[5]);
  /*                                         cfg ann ann-wide bob-wide lon globex */
  check_scope(f, "owner", &f->boss, &BLOCKS, ids, 6, "111110");
  check_scope(f, "desk", &f->desk, &BLOCKS, ids, 6, "110000");
  check_scope(f, "desk+bob", &f->desk_bob, &BLOCKS, ids, 6, "110100");
  check_scope(f, "ann", &f->ann, &BLOCKS, ids, 6, "011000");
  check_scope(f, "globex", &f->globex, &BLOCKS, ids, 6, "000001");
}

static void test_malformed_ids(struct fixture *f, gconstpointer data) {
  (void)data;
  const struct kind *kinds[] = {&RULES, &OVERRIDES, &BLOCKS};
  const char *bad[] = {"abc", "", "00000000-0000-0000-0000-00000000000g",
                       "00000000-0000-0000-0000-000000000000", "'; DROP TABLE staff; --"};
  for (size_t k = 0; k < 3; k++)
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
      struct sc_error err;
      g_assert_cmpint(do_get(f, &f->boss, kinds[k], bad[i], NULL, &err), ==, SC_ENOTFOUND);
      g_assert_cmpstr(err.field, ==, "id");
      g_assert_cmpint(do_update(f, &f->boss, kinds[k], bad[i], "{}", NULL, &err), ==, SC_ENOTFOUND);
      g_assert_cmpint(do_delete(f, &f->boss, kinds[k], bad[i], &err), ==, SC_ENOTFOUND);
    }
  struct sc_error err;
  g_assert_cmpint(do_get(f, &f->boss, &BLOCKS, "abc", NULL, &err), ==, SC_ENOTFOUND);
  g_assert_cmpstr(err.message, ==, "no block abc");
}

/* ---- write scope ---------------------------------------------------------- */

static void expect_invalid(struct fixture *f, const struct sc_caller *c, const struct kind *k,
                           const char *id, const char *json, const char *field,
                           const char *message) {
  struct sc_error err;
  char *before = snapshot(f);
  int rc = id ? do_update(f, c, k, id, json, NULL, &err) : do_create(f, c, k, json, NULL, &err);
  if (rc != SC_EINVAL) g_test_message("%s -> %d %s", json, rc, err.message);
  g_assert_cmpint(rc, ==, SC_EINVAL);
  g_assert_cmpstr(err.field, ==, field);
  g_assert_cmpstr(err.message, ==, message);
  char *after = snapshot(f);
  g_assert_cmpstr(before, ==, after);
  g_free(before);
  g_free(after);
}

static void test_write_scope(struct fixture *f, gconstpointer data) {
  (void)data;
  char id[37], mine[37], desk_row[37];
  const char *not_desk = "location: a location_staff key may only write rows of its own location \"miami\"";
  const char *not_ann = "staff: a staff key may only write its own rows (staff \"ann\")";
  /* location_staff: its location, or its own staff member anywhere. */
  expect_invalid(f, &f->desk, &RULES, NULL,
      "{\"location\": \"london\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"10:00\"}",
      "location", not_desk);
  expect_invalid(f, &f->desk, &RULES, NULL,
      "{\"location\": \"london\", \"staff\": \"bob\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"10:00\"}",
      "location", not_desk);
  expect_invalid(f, &f->desk_bob, &OVERRIDES, NULL,
      "{\"location\": \"london\", \"staff\": \"cat\", \"date\": \"2026-05-05\", \"intervals\": []}",
      "location", not_desk);
  expect_invalid(f, &f->desk, &BLOCKS, NULL,
      "{\"staff\": \"ann\", \"timezone\": \"UTC\", \"start\": \"2026-05-05T09:00\", \"end\": \"2026-05-05T10:00\"}",
      "location", not_desk);
  create_ok(f, &f->desk, &RULES,
      "{\"location\": \"miami\", \"staff\": \"ann\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"10:00\"}", desk_row);
  create_ok(f, &f->desk_bob, &OVERRIDES,
      "{\"location\": \"london\", \"staff\": \"bob\", \"date\": \"2026-05-05\", \"intervals\": []}", id);
  create_ok(f, &f->desk_bob, &BLOCKS,
      "{\"staff\": \"bob\", \"timezone\": \"UTC\", \"start\": \"2026-05-05T09:00\", \"end\": \"2026-05-05T10:00\"}", id);
  expect_invalid(f, &f->desk, &RULES, desk_row, "{\"location\": \"london\", \"staff\": null}",
                 "location", not_desk);

  /* staff: only itself. */
  expect_invalid(f, &f->ann, &RULES, NULL,
      "{\"location\": \"miami\", \"staff\": \"bob\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"10:00\"}",
      "staff", not_ann);
  expect_invalid(f, &f->ann, &RULES, NULL,
      "{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"10:00\"}",
      "staff", "staff: required (your own staff slug)");
  expect_invalid(f, &f->ann, &RULES, NULL,
      "{\"location\": \"london\", \"staff\": \"ann\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"10:00\"}",
      "staff", "staff: staff \"ann\" does not work at location \"london\"");
  expect_invalid(f, &f->ann, &BLOCKS, NULL,
      "{\"location\": \"miami\", \"start\": \"2026-05-05T09:00\", \"end\": \"2026-05-05T10:00\"}",
      "staff", "staff: required (your own staff slug)");
  create_ok(f, &f->ann, &RULES,
      "{\"location\": \"miami\", \"staff\": \"ann\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"10:00\"}", mine);
  create_ok(f, &f->ann, &BLOCKS,
      "{\"staff\": \"ann\", \"timezone\": \"UTC\", \"start\": \"2026-05-05T09:00\", \"end\": \"2026-05-05T10:00\"}", id);
  expect_invalid(f, &f->ann, &RULES, mine, "{\"staff\": \"bob\"}", "staff", not_ann);
  expect_invalid(f, &f->ann, &RULES, mine, "{\"staff\": null}", "staff",
                 "staff: required (your own staff slug)");
  struct sc_error err;
  g_assert_cmpint(do_update(f, &f->ann, &RULES, mine, "{\"end\": \"11:00\"}", NULL, &err), ==, SC_OK);
  g_assert_cmpint(do_delete(f, &f->ann, &RULES, mine, &err), ==, SC_OK);
  g_assert_cmpint(do_delete(f, &f->desk, &RULES, desk_row, &err), ==, SC_OK);

  /* A platform admin writes into the organization it names. */
  expect_invalid(f, &f->admin_noorg, &RULES, NULL,
      "{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"10:00\"}",
      "org", "org: a platform admin names the organization with ?org=SLUG");
  json_object *out = NULL;
  g_assert_cmpint(do_create(f, &f->admin, &RULES,
      "{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"10:00\"}",
      &out, &err), ==, SC_OK);
  char *org = g_strdup_printf("SELECT o.slug FROM availability_rules r JOIN organizations o"
                              " USING (organization_id) WHERE r.id = '%s'", str(out, "id"));
  char *slug = sc_test_db_value(f->owner, org);
  g_assert_cmpstr(slug, ==, "acme");
  g_free(slug);
  g_free(org);
  json_object_put(out);
}

/* ---- pagination and filters ----------------------------------------------- */

static size_t list_count(struct fixture *f, const struct kind *k, struct sc_sched_filter flt) {
  struct sc_error err;
  json_object *page = NULL;
  g_assert_cmpint(do_list(f, &f->boss, k, &flt, &page, &err), ==, SC_OK);
  size_t n = json_object_array_length(json_object_object_get(page, "data"));
  json_object_put(page);
  return n;
}

static void list_error(struct fixture *f, const struct kind *k, struct sc_sched_filter flt,
                       const char *field, const char *message) {
  struct sc_error err;
  json_object *page = NULL;
  g_assert_cmpint(do_list(f, &f->boss, k, &flt, &page, &err), ==, SC_EINVAL);
  g_assert_null(page);
  g_assert_cmpstr(err.field, ==, field);
  g_assert_cmpstr(err.message, ==, message);
}

static void test_rules_pagination(struct fixture *f, gconstpointer data) {
  (void)data;
  /* Ties on (day, start) exercise the id tie-break. */
  const char *rules[] = {
    "{\"location\": \"miami\", \"day_of_week\": 5, \"start\": \"10:00\", \"end\": \"11:00\"}",
    "{\"location\": \"miami\", \"day_of_week\": 0, \"start\": \"10:00\", \"end\": \"11:00\"}",
    "{\"location\": \"miami\", \"staff\": \"ann\", \"day_of_week\": 5, \"start\": \"10:00\", \"end\": \"11:00\"}",
    "{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"08:30\", \"end\": \"09:00\"}",
    "{\"location\": \"miami\", \"staff\": \"bob\", \"day_of_week\": 5, \"start\": \"10:00\", \"end\": \"11:00\"}",
    "{\"location\": \"miami\", \"staff\": \"ann\", \"day_of_week\": 3, \"start\": \"00:00\", \"end\": \"24:00\"}",
    "{\"location\": \"miami\", \"day_of_week\": 6, \"start\": \"23:59\", \"end\": \"24:00\"}",
  };
  char id[37];
  for (size_t i = 0; i < G_N_ELEMENTS(rules); i++) create_ok(f, &f->boss, &RULES, rules[i], id);
  /* 7 made here + 1 from conf.d/ */
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  char cursor[256] = "";
  int pages = 0, last_key = -1;
  for (;;) {
    struct sc_sched_filter flt = {.limit = "3", .cursor = *cursor ? cursor : NULL};
    json_object *page = NULL;
    struct sc_error err;
    g_assert_cmpint(do_list(f, &f->boss, &RULES, &flt, &page, &err), ==, SC_OK);
    json_object *rows = json_object_object_get(page, "data");
    pages++;
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
      json_object *r = json_object_array_get_idx(rows, i);
      int h, m;
      g_assert_cmpint(sscanf(str(r, "start"), "%d:%d", &h, &m), ==, 2);
      int key = json_object_get_int(json_object_object_get(r, "day_of_week")) * 1440 + h * 60 + m;
      g_assert_cmpint(key, >=, last_key);
      last_key = key;
      g_assert_true(g_hash_table_add(seen, g_strdup(str(r, "id"))));
    }
    const char *next = str(page, "next_cursor");
    if (!next) {
      g_assert_cmpuint(json_object_array_length(rows), ==, 2);
      json_object_put(page);
      break;
    }
    g_assert_cmpuint(json_object_array_length(rows), ==, 3);
    snprintf(cursor, sizeof cursor, "%s", next);
    json_object_put(page);
  }
  g_assert_cmpint(pages, ==, 3);
  g_assert_cmpuint(g_hash_table_size(seen), ==, 8);
  g_hash_table_destroy(seen);

  g_assert_cmpuint(list_count(f, &RULES, (struct sc_sched_filter){.day_of_week = "5"}), ==, 3);
  g_assert_cmpuint(list_count(f, &RULES, (struct sc_sched_filter){.staff = "ann"}), ==, 2);
  g_assert_cmpuint(list_count(f, &RULES, (struct sc_sched_filter){.source = "api"}), ==, 7);
  g_assert_cmpuint(list_count(f, &RULES, (struct sc_sched_filter){.location = "miami"}), ==, 8);
  g_assert_cmpuint(list_count(f, &RULES, (struct sc_sched_filter){.location = "london"}), ==, 0);
  g_assert_cmpuint(list_count(f, &RULES, (struct sc_sched_filter){.limit = "1"}), ==, 1);

  const char *lim = "limit: expected a whole number from 1 to 500";
  list_error(f, &RULES, (struct sc_sched_filter){.limit = "0"}, "limit", lim);
  list_error(f, &RULES, (struct sc_sched_filter){.limit = "501"}, "limit", lim);
  list_error(f, &RULES, (struct sc_sched_filter){.limit = "ten"}, "limit", lim);
  list_error(f, &RULES, (struct sc_sched_filter){.cursor = "garbage"}, "cursor",
             "cursor: not a cursor from this API");
  char *huge = g_base64_encode((const guchar *)"9999999999999999999/00000000-0000-4000-8000-000000000000", 56);
  list_error(f, &RULES, (struct sc_sched_filter){.cursor = huge}, "cursor",
             "cursor: not a cursor from this API");
  g_free(huge);
  char *fake = g_base64_encode((const guchar *)"1'--/x", 6);
  list_error(f, &RULES, (struct sc_sched_filter){.cursor = fake}, "cursor",
             "cursor: not a cursor from this API");
  g_free(fake);
  list_error(f, &RULES, (struct sc_sched_filter){.day_of_week = "7"}, "day_of_week",
             "day_of_week: expected a whole number from 0 (Sunday) to 6 (Saturday)");
  list_error(f, &RULES, (struct sc_sched_filter){.source = "yaml"}, "source",
             "source: expected \"config\" or \"api\"");
}

static void test_overrides_and_blocks_lists(struct fixture *f, gconstpointer data) {
  (void)data;
  char id[37];
  create_ok(f, &f->boss, &OVERRIDES, "{\"location\": \"miami\", \"date\": \"2026-06-01\", \"intervals\": []}", id);
  create_ok(f, &f->boss, &OVERRIDES, "{\"location\": \"london\", \"date\": \"2026-01-01\", \"intervals\": []}", id);
  /* + conf.d/'s 2026-12-24 */
  g_assert_cmpuint(list_count(f, &OVERRIDES, (struct sc_sched_filter){.from = "2026-05-01"}), ==, 2);
  g_assert_cmpuint(list_count(f, &OVERRIDES, (struct sc_sched_filter){.to = "2026-06-01"}), ==, 2);
  g_assert_cmpuint(list_count(f, &OVERRIDES,
      (struct sc_sched_filter){.from = "2026-06-01", .to = "2026-06-01"}), ==, 1);
  g_assert_cmpuint(list_count(f, &OVERRIDES, (struct sc_sched_filter){.location = "london"}), ==, 1);
  list_error(f, &OVERRIDES, (struct sc_sched_filter){.from = "2026-13-01"}, "from",
             "from: expected a date YYYY-MM-DD, got \"2026-13-01\"");
  list_error(f, &OVERRIDES, (struct sc_sched_filter){.to = "tomorrow"}, "to",
             "to: expected a date YYYY-MM-DD, got \"tomorrow\"");

  /* Overrides come by date; pages of one walk them in order. */
  const char *want[] = {"2026-01-01", "2026-06-01", "2026-12-24"};
  char cursor[256] = "";
  for (size_t i = 0; i < 3; i++) {
    struct sc_sched_filter flt = {.limit = "1", .cursor = *cursor ? cursor : NULL};
    json_object *page = NULL;
    struct sc_error err;
    g_assert_cmpint(do_list(f, &f->boss, &OVERRIDES, &flt, &page, &err), ==, SC_OK);
    json_object *row = json_object_array_get_idx(json_object_object_get(page, "data"), 0);
    g_assert_cmpstr(str(row, "date"), ==, want[i]);
    const char *next = str(page, "next_cursor");
    if (i < 2) {
      g_assert_nonnull(next);
      snprintf(cursor, sizeof cursor, "%s", next);
    } else {
      g_assert_null(next);
    }
    json_object_put(page);
  }

  create_ok(f, &f->boss, &BLOCKS, "{\"staff\": \"ann\", \"timezone\": \"UTC\", \"start\": \"2026-01-05T09:00\", \"end\": \"2026-01-05T10:00\"}", id);
  g_assert_cmpuint(list_count(f, &BLOCKS, (struct sc_sched_filter){0}), ==, 2);
  g_assert_cmpuint(list_count(f, &BLOCKS, (struct sc_sched_filter){.staff = "ann"}), ==, 1);
  g_assert_cmpuint(list_count(f, &BLOCKS, (struct sc_sched_filter){.location = "miami"}), ==, 1);
  g_assert_cmpuint(list_count(f, &BLOCKS, (struct sc_sched_filter){.source = "api"}), ==, 1);
  json_object *page = NULL;
  struct sc_error err;
  struct sc_sched_filter all = {0};
  g_assert_cmpint(do_list(f, &f->boss, &BLOCKS, &all, &page, &err), ==, SC_OK);
  json_object *first = json_object_array_get_idx(json_object_object_get(page, "data"), 0);
  g_assert_cmpstr(str(first, "start"), ==, "2026-01-05T09:00:00");  /* before conf.d/'s March lunch */
  json_object_put(page);
}

/* ---- API rows survive a config re-apply ----------------------------------- */

static void test_api_rows_survive_config_apply(struct fixture *f, gconstpointer data) {
  (void)data;
  char ids[3][37];
  const struct kind *kinds[] = {&RULES, &OVERRIDES, &BLOCKS};
  create_ok(f, &f->boss, &RULES, "{\"location\": \"miami\", \"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"17:00\"}", ids[0]);
  create_ok(f, &f->boss, &OVERRIDES, "{\"location\": \"miami\", \"date\": \"2026-12-25\", \"intervals\": []}", ids[1]);
  create_ok(f, &f->boss, &BLOCKS, "{\"location\": \"miami\", \"start\": \"2026-03-09T12:00\", \"end\": \"2026-03-09T13:00\", \"rrule\": \"FREQ=WEEKLY;BYDAY=MO\", \"reason\": \"Lunch\"}", ids[2]);
  json_object *before[3];
  struct sc_error err;
  for (size_t i = 0; i < 3; i++)
    g_assert_cmpint(do_get(f, &f->boss, kinds[i], ids[i], &before[i], &err), ==, SC_OK);

  write_file(f, "acme.yaml", YAML_ACME_EDITED);
  apply_config(f);
  for (size_t i = 0; i < 3; i++) {
    json_object *now = NULL;
    g_assert_cmpint(do_get(f, &f->boss, kinds[i], ids[i], &now, &err), ==, SC_OK);
    g_assert_true(json_object_equal(before[i], now));
    json_object_put(now);
    json_object_put(before[i]);
  }
  /* ...while conf.d/'s own rows followed the file. */
  g_assert_cmpuint(list_count(f, &RULES, (struct sc_sched_filter){.source = "config", .day_of_week = "2"}), ==, 1);
  g_assert_cmpuint(list_count(f, &OVERRIDES, (struct sc_sched_filter){.source = "config"}), ==, 0);
  g_assert_cmpuint(list_count(f, &BLOCKS, (struct sc_sched_filter){.source = "config"}), ==, 0);
  g_assert_cmpuint(list_count(f, &BLOCKS, (struct sc_sched_filter){0}), ==, 1);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, struct fixture, NULL, setup, fn, teardown)
  ADD("/schedule/rules/validation", test_rule_validation);
  ADD("/schedule/overrides/validation", test_override_validation);
  ADD("/schedule/blocks/validation", test_block_validation);
  ADD("/schedule/rules/roundtrip-and-patch", test_rule_roundtrip);
  ADD("/schedule/overrides/roundtrip-and-conflict", test_override_roundtrip_and_conflict);
  ADD("/schedule/blocks/roundtrip-and-patch", test_block_roundtrip);
  ADD("/schedule/config-rows-read-only", test_config_rows_read_only);
  ADD("/schedule/scope/rules", test_scope_rules);
  ADD("/schedule/scope/overrides", test_scope_overrides);
  ADD("/schedule/scope/blocks", test_scope_blocks);
  ADD("/schedule/scope/malformed-ids", test_malformed_ids);
  ADD("/schedule/write-scope", test_write_scope);
  ADD("/schedule/rules/pagination-and-filters", test_rules_pagination);
  ADD("/schedule/overrides-blocks/lists", test_overrides_and_blocks_lists);
  ADD("/schedule/api-rows-survive-config-apply", test_api_rows_survive_config_apply);
  return g_test_run();
}
