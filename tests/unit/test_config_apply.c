/* Tests for core/config_apply.c and core/secrets.c against a real database:
** idempotent apply, deactivation without data loss, secret seeding and
** rotation, tamper detection. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_apply.h"
#include "crypto.h"
#include "db.h"
#include "secrets.h"
#include "testdb.h"

struct fixture {
  struct sc_test_db db;
  struct sc_db_pool *pool;
  PGconn *owner;
  char *dir;
  char *keyring_path;
  struct sc_keyring *kr;
};

static const char *YAML_FULL =
    "organization: {slug: acme, name: Acme}\n"
    "locations:\n"
    "  - slug: miami\n"
    "    name: Miami\n"
    "    timezone: America/New_York\n"
    "    rules:\n"
    "      - {day_of_week: [1, 2], start: \"09:00\", end: \"17:00\"}\n"
    "      - {day_of_week: 3, start: \"13:00\", end: \"24:00\", staff: ann}\n"
    "    overrides:\n"
    "      - {date: 2026-12-24, intervals: [{start: \"09:00\", end: \"12:00\"}]}\n"
    "    blocks:\n"
    "      - {start: 2026-03-09T12:00, end: 2026-03-09T13:00, rrule: \"FREQ=WEEKLY;BYDAY=MO\", reason: Lunch}\n"
    "    connectors:\n"
    "      - plugin: ghl\n"
    "        settings: {location_id: L1, refresh_token: \"env:SC_TEST_GHL_TOKEN\"}\n"
    "  - slug: london\n"
    "    name: London\n"
    "    timezone: Europe/London\n"
    "staff:\n"
    "  - {slug: ann, name: Ann, email: ann@example.com, locations: [miami]}\n"
    "  - {slug: bob, name: Bob, locations: [miami, london]}\n"
    "event_types:\n"
    "  - {slug: consult, title: Consultation, duration: 30, staff: [ann, bob], price: \"120.00\"}\n";

/* The same organization without london and bob. */
static const char *YAML_SMALLER =
    "organization: {slug: acme, name: Acme}\n"
    "locations:\n"
    "  - slug: miami\n"
    "    name: Miami\n"
    "    timezone: America/New_York\n"
    "staff:\n"
    "  - {slug: ann, name: Ann, locations: [miami]}\n"
    "event_types: []\n";

static void write_config(struct fixture *f, const char *yaml) {
  char *path = g_build_filename(f->dir, "acme.yaml", NULL);
  g_assert_true(g_file_set_contents(path, yaml, -1, NULL));
  g_free(path);
}

static void setup(struct fixture *f, gconstpointer data) {
  (void)data;
  sc_test_db_create_migrated(&f->db);
  struct sc_error err;
  g_assert_cmpint(sc_db_pool_open(f->db.url, 1, &f->pool, &err), ==, SC_OK);
  f->owner = sc_test_db_connect(&f->db);
  f->dir = g_dir_make_tmp("sc-apply-XXXXXX", NULL);
  f->keyring_path = g_build_filename(f->dir, "keyring", NULL);
  g_assert_cmpint(sc_keyring_create(f->keyring_path, &err), ==, SC_OK);
  g_assert_cmpint(sc_keyring_load(f->keyring_path, &f->kr, &err), ==, SC_OK);
  g_setenv("SC_TEST_GHL_TOKEN", "tok-1", TRUE);
}

static void teardown(struct fixture *f, gconstpointer data) {
  (void)data;
  sc_keyring_free(f->kr);
  sc_db_pool_close(f->pool);
  PQfinish(f->owner);
  sc_test_db_drop(&f->db);
  char *conf = g_build_filename(f->dir, "acme.yaml", NULL);
  g_remove(conf);
  g_free(conf);
  g_remove(f->keyring_path);
  g_rmdir(f->dir);
  g_free(f->keyring_path);
  g_free(f->dir);
}

static int apply(struct fixture *f, struct sc_apply_stats *st, struct sc_error *err) {
  struct sc_config cfg = {0};
  int rc = sc_config_load_dir(f->dir, &cfg, err);
  g_assert_cmpint(rc, ==, SC_OK);
  PGconn *c = sc_db_acquire(f->pool);
  rc = sc_config_apply(c, &cfg, f->kr, st, err);
  sc_db_release(f->pool, c);
  sc_config_free(&cfg);
  return rc;
}

/* Every row of every config-fed table, ids and timestamps included. */
static char *snapshot(PGconn *c) {
  return sc_test_db_value(c,
      "SELECT concat_ws(E'\\n',"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM organizations t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM locations t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM staff t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM staff_locations t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM event_types t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM event_type_staff t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM availability_rules t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM date_overrides t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM calendar_blocks t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM connector_instances t),"
      " (SELECT string_agg(t::text, ';' ORDER BY t::text) FROM connector_secrets t))");
}

static void test_apply_twice_same_rows(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_apply_stats st;
  struct sc_error err;
  write_config(f, YAML_FULL);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  g_assert_cmpint(st.organizations, ==, 1);
  g_assert_cmpint(st.locations, ==, 2);
  g_assert_cmpint(st.staff, ==, 2);
  g_assert_cmpint(st.event_types, ==, 1);
  g_assert_cmpint(st.connectors, ==, 1);
  g_assert_cmpint(st.secrets_written, ==, 1);
  char *first = snapshot(f->owner);
  /* The rows hold what the file says. */
  char *v = sc_test_db_value(f->owner,
      "SELECT string_agg(day_of_week || ' ' || start_time || '-' || end_time || ' ' || timezone"
      " || ' ' || coalesce(s.slug, '*'), ',' ORDER BY day_of_week)"
      " FROM availability_rules r LEFT JOIN staff s ON s.id = r.staff_id");
  g_assert_cmpstr(v, ==, "1 09:00:00-17:00:00 America/New_York *,"
                         "2 09:00:00-17:00:00 America/New_York *,"
                         "3 13:00:00-24:00:00 America/New_York ann");
  g_free(v);
  v = sc_test_db_value(f->owner,
      "SELECT starts_local || ' ' || ends_local || ' ' || timezone || ' ' || rrule FROM calendar_blocks");
  g_assert_cmpstr(v, ==, "2026-03-09 12:00:00 2026-03-09 13:00:00 America/New_York FREQ=WEEKLY;BYDAY=MO");
  g_free(v);
  v = sc_test_db_value(f->owner, "SELECT name || ' ' || plugin || ' ' || settings::text FROM connector_instances");
  g_assert_cmpstr(v, ==, "acme.miami.ghl ghl {\"location_id\": \"L1\"}");
  g_free(v);
  v = sc_test_db_value(f->owner, "SELECT price FROM event_types");
  g_assert_cmpstr(v, ==, "120.00");
  g_free(v);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  g_assert_cmpint(st.secrets_written, ==, 0);
  g_assert_cmpint(st.deactivated, ==, 0);
  char *second = snapshot(f->owner);
  g_assert_cmpstr(first, ==, second);
  g_free(first);
  g_free(second);
}

static void test_deactivation_keeps_appointments(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_apply_stats st;
  struct sc_error err;
  write_config(f, YAML_FULL);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  g_free(sc_test_db_value(f->owner,
      "INSERT INTO appointments (organization_id, location_id, staff_id, starts_at, ends_at, timezone, title)"
      " SELECT l.organization_id, l.id, s.id, '2026-12-01T15:00Z', '2026-12-01T15:30Z', 'Europe/London', 'keep me'"
      " FROM locations l, staff s WHERE l.slug = 'london' AND s.slug = 'bob'"));
  g_free(sc_test_db_value(f->owner,
      "INSERT INTO availability_rules (organization_id, location_id, day_of_week, start_time, end_time, timezone, source)"
      " SELECT organization_id, id, 5, '10:00', '11:00', timezone, 'api' FROM locations WHERE slug = 'miami'"));
  write_config(f, YAML_SMALLER);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  /* london, bob, consult and the ghl connector went inactive. */
  g_assert_cmpint(st.deactivated, ==, 4);
  char *v = sc_test_db_value(f->owner,
      "SELECT (SELECT string_agg(slug || '=' || active, ',' ORDER BY slug) FROM locations) || ' ' ||"
      " (SELECT string_agg(slug || '=' || active, ',' ORDER BY slug) FROM staff) || ' ' ||"
      " (SELECT string_agg(slug || '=' || active, ',') FROM event_types) || ' ' ||"
      " (SELECT string_agg(name || '=' || active, ',') FROM connector_instances)");
  g_assert_cmpstr(v, ==, "london=false,miami=true ann=true,bob=false consult=false acme.miami.ghl=false");
  g_free(v);
  v = sc_test_db_value(f->owner, "SELECT title || ' ' || status FROM appointments");
  g_assert_cmpstr(v, ==, "keep me SCHEDULED");
  g_free(v);
  /* Config-owned schedule rows went with the config; the API rule stayed. */
  v = sc_test_db_value(f->owner,
      "SELECT string_agg(source || ':' || day_of_week, ',') FROM availability_rules");
  g_assert_cmpstr(v, ==, "api:5");
  g_free(v);
  /* Putting the file back reactivates the same rows (same ids). */
  char *id_before = sc_test_db_value(f->owner, "SELECT id FROM locations WHERE slug = 'london'");
  write_config(f, YAML_FULL);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  v = sc_test_db_value(f->owner, "SELECT id || ' ' || active FROM locations WHERE slug = 'london'");
  char *expect = g_strdup_printf("%s true", id_before);
  g_assert_cmpstr(v, ==, expect);
  g_free(v);
  g_free(expect);
  g_free(id_before);
}

/* The connector instance's ids, and a connection in its tenant's transaction. */
struct in_tenant {
  char *org, *inst;
  PGconn *c;
};

static void enter_tenant(struct fixture *f, struct in_tenant *x) {
  x->org = sc_test_db_value(f->owner, "SELECT organization_id FROM connector_instances");
  x->inst = sc_test_db_value(f->owner, "SELECT id FROM connector_instances");
  x->c = sc_db_acquire(f->pool);
  struct sc_tenant t = {0};
  g_strlcpy(t.org_id, x->org, sizeof t.org_id);
  struct sc_error err;
  g_assert_cmpint(sc_db_begin(x->c, &t, &err), ==, SC_OK);
}

static void leave_tenant(struct fixture *f, struct in_tenant *x) {
  sc_db_release(f->pool, x->c);  /* rolls back what was not committed */
  g_free(x->org);
  g_free(x->inst);
}

static void get_secret(struct fixture *f, const char *expect) {
  struct in_tenant x;
  struct sc_error err;
  char *value = NULL;
  enter_tenant(f, &x);
  g_assert_cmpint(sc_secret_get(x.c, f->kr, x.org, x.inst, "refresh_token", &value, &err), ==, SC_OK);
  leave_tenant(f, &x);
  g_assert_cmpstr(value, ==, expect);
  free(value);
}

static void put_secret(struct fixture *f, const char *value) {
  struct in_tenant x;
  struct sc_error err;
  enter_tenant(f, &x);
  g_assert_cmpint(sc_secret_put(x.c, f->kr, x.org, x.inst, "refresh_token", value, &err), ==, SC_OK);
  g_assert_cmpint(sc_db_commit(x.c, &err), ==, SC_OK);
  leave_tenant(f, &x);
}

static void test_secret_seeding(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_apply_stats st;
  struct sc_error err;
  write_config(f, YAML_FULL);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  get_secret(f, "tok-1");
  /* Stored encrypted: the plaintext appears nowhere in the row. */
  char *v = sc_test_db_value(f->owner,
      "SELECT count(*) FROM connector_secrets WHERE position('tok-1'::bytea in ciphertext) > 0");
  g_assert_cmpstr(v, ==, "0");
  g_free(v);
  /* The system rotates the token; the unchanged file must not undo it. */
  put_secret(f, "tok-rotated");
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  g_assert_cmpint(st.secrets_written, ==, 0);
  get_secret(f, "tok-rotated");
  /* A new value in the environment is a new seed. */
  g_setenv("SC_TEST_GHL_TOKEN", "tok-2", TRUE);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  g_assert_cmpint(st.secrets_written, ==, 1);
  get_secret(f, "tok-2");
  /* An unresolvable reference keeps the stored secret. */
  g_unsetenv("SC_TEST_GHL_TOKEN");
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  g_assert_cmpint(st.secrets_unresolved, ==, 1);
  g_assert_cmpint(st.secrets_written, ==, 0);
  get_secret(f, "tok-2");
}

static void test_tampered_secret_detected(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_apply_stats st;
  struct sc_error err;
  write_config(f, YAML_FULL);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  char *before = sc_test_db_value(f->owner, "SELECT encode(ciphertext, 'hex') FROM connector_secrets");
  /* Flip one bit of the ciphertext body. */
  g_free(sc_test_db_value(f->owner,
      "UPDATE connector_secrets SET ciphertext = set_byte(ciphertext, 20, get_byte(ciphertext, 20) # 1)"));
  char *org = sc_test_db_value(f->owner, "SELECT organization_id FROM connector_instances");
  char *inst = sc_test_db_value(f->owner, "SELECT id FROM connector_instances");
  PGconn *c = sc_db_acquire(f->pool);
  struct sc_tenant t = {0};
  g_strlcpy(t.org_id, org, sizeof t.org_id);
  char *value = NULL;
  g_assert_cmpint(sc_db_begin(c, &t, &err), ==, SC_OK);
  g_assert_cmpint(sc_secret_get(c, f->kr, org, inst, "refresh_token", &value, &err), ==, SC_ECRYPTO);
  sc_db_rollback(c);
  sc_db_release(f->pool, c);
  g_assert_null(value);
  char *expect = g_strdup_printf("secret \"refresh_token\" of instance %s: ciphertext failed "
                                 "authentication (tampered or wrong row)", inst);
  g_assert_cmpstr(err.message, ==, expect);
  g_free(expect);
  /* The untampered ciphertext copied to another row does not decrypt. */
  char *sql = g_strdup_printf(
      "INSERT INTO connector_secrets (organization_id, instance_id, name, ciphertext)"
      " SELECT organization_id, instance_id, 'copied', decode('%s', 'hex') FROM connector_secrets", before);
  g_free(sc_test_db_value(f->owner, sql));
  g_free(sql);
  c = sc_db_acquire(f->pool);
  g_assert_cmpint(sc_db_begin(c, &t, &err), ==, SC_OK);
  g_assert_cmpint(sc_secret_get(c, f->kr, org, inst, "copied", &value, &err), ==, SC_ECRYPTO);
  sc_db_rollback(c);
  sc_db_release(f->pool, c);
  g_assert_null(value);
  g_free(before);
  g_free(org);
  g_free(inst);
}

static void test_rotation_reencrypts_everything(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_apply_stats st;
  struct sc_error err;
  write_config(f, YAML_FULL);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  char id[SC_CRYPTO_KEY_ID_MAX];
  g_assert_cmpint(sc_keyring_add_key(f->keyring_path, id, sizeof id, &err), ==, SC_OK);
  g_assert_cmpstr(id, ==, "k2");
  sc_keyring_free(f->kr);
  g_assert_cmpint(sc_keyring_load(f->keyring_path, &f->kr, &err), ==, SC_OK);
  PGconn *c = sc_db_acquire(f->pool);
  struct sc_tenant admin = {.platform_admin = 1};
  int n = 0;
  g_assert_cmpint(sc_db_begin(c, &admin, &err), ==, SC_OK);
  g_assert_cmpint(sc_secrets_reencrypt_all(c, f->kr, &n, &err), ==, SC_OK);
  g_assert_cmpint(sc_db_commit(c, &err), ==, SC_OK);
  g_assert_cmpint(n, ==, 1);
  /* Second run: nothing left under the old key. */
  g_assert_cmpint(sc_db_begin(c, &admin, &err), ==, SC_OK);
  g_assert_cmpint(sc_secrets_reencrypt_all(c, f->kr, &n, &err), ==, SC_OK);
  g_assert_cmpint(sc_db_commit(c, &err), ==, SC_OK);
  sc_db_release(f->pool, c);
  g_assert_cmpint(n, ==, 0);
  /* Key number 2, big-endian, after the version byte. */
  char *v = sc_test_db_value(f->owner, "SELECT encode(substring(ciphertext from 1 for 5), 'hex') FROM connector_secrets");
  g_assert_cmpstr(v, ==, "0100000002");
  g_free(v);
  get_secret(f, "tok-1");
  /* The seed hash survived: the unchanged file does not rewrite it. */
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  g_assert_cmpint(st.secrets_written, ==, 0);
}

/* A rule moved from one day to another in conf.d/ moves in the database:
** the old row goes, the unchanged ones keep their ids. */
static void test_changed_rules_replace_old(struct fixture *f, gconstpointer data) {
  (void)data;
  struct sc_apply_stats st;
  struct sc_error err;
  write_config(f, YAML_FULL);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  char *kept = sc_test_db_value(f->owner, "SELECT id FROM availability_rules WHERE day_of_week = 1");
  char *moved = g_strdup(YAML_FULL);
  char *p = strstr(moved, "day_of_week: [1, 2]");
  g_assert_nonnull(p);
  p[17] = '4';  /* [1, 2] → [1, 4] */
  write_config(f, moved);
  g_assert_cmpint(apply(f, &st, &err), ==, SC_OK);
  char *v = sc_test_db_value(f->owner,
      "SELECT string_agg(day_of_week::text, ',' ORDER BY day_of_week) FROM availability_rules");
  g_assert_cmpstr(v, ==, "1,3,4");
  g_free(v);
  v = sc_test_db_value(f->owner, "SELECT id FROM availability_rules WHERE day_of_week = 1");
  g_assert_cmpstr(v, ==, kept);
  g_free(v);
  g_free(kept);
  g_free(moved);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/config_apply/" name, struct fixture, NULL, setup, fn, teardown)
  ADD("apply_twice_same_rows", test_apply_twice_same_rows);
  ADD("deactivation_keeps_appointments", test_deactivation_keeps_appointments);
  ADD("secret_seeding", test_secret_seeding);
  ADD("tampered_secret_detected", test_tampered_secret_detected);
  ADD("rotation_reencrypts_everything", test_rotation_reencrypts_everything);
  ADD("changed_rules_replace_old", test_changed_rules_replace_old);
  return g_test_run();
}
