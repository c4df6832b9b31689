/* The sync engine tests' shared world (see sync_fixture.h). */
#include "sync_fixture.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "appointments.h"
#include "config.h"
#include "config_apply.h"
#include "crypto.h"

/* ---- secrets: env: references, rotated values kept by the host -------- */

static int secret_read(void *ud, const char *instance, const char *key, const char *ref,
                       char **value, struct sc_error *err) {
  (void)ud, (void)instance, (void)key;
  const char *v = ref && !strncmp(ref, "env:", 4) ? getenv(ref + 4) : NULL;
  if (!v) return sc_error_set(err, SC_EINVAL, NULL, "unset %s", ref ? ref : "(none)");
  *value = strdup(v);
  return SC_OK;
}
static int secret_store(void *ud, const char *instance, const char *key, const char *value,
                        struct sc_error *err) {
  (void)ud, (void)instance, (void)key, (void)value, (void)err;
  return SC_OK;
}
static const struct sc_plugin_secrets secrets = {secret_read, secret_store, NULL};

/* ---- setup ------------------------------------------------------------ */

static void cfg_free(void *p) {
  sc_config_free(p);
  free(p);
}

static struct sc_config *load_config(struct fx *f) {
  struct sc_config *cfg = calloc(1, sizeof *cfg);
  struct sc_error err;
  char *conf = g_build_filename(f->dir, "conf", NULL);
  if (sc_config_load_dir(conf, cfg, &err)) g_error("config: %s", err.message);
  g_free(conf);
  return cfg;
}

static void write_yaml(struct fx *f, int flags) {
  char *conf = g_build_filename(f->dir, "conf", NULL);
  g_mkdir(conf, 0700);
  GString *s = g_string_new(
      "organization: {slug: acme, name: Acme}\n"
      "locations:\n"
      "  - slug: miami\n"
      "    name: Miami\n"
      "    timezone: America/New_York\n"
      "    connectors:\n"
      "      - plugin: scripted\n"
      "        settings:\n"
      "          state: STATE\n"
      "          control: CONTROL\n"
      "          key: loc-miami\n"
      "          expected_signature: s3cret\n"
      "          token: env:SC_TEST_SCRIPTED_TOKEN\n"
      "staff:\n"
      "  - slug: ann\n"
      "    name: Ann\n"
      "    locations: [miami]\n");
  if (flags & SF_STAFF_CALENDAR)
    g_string_append(s,
      "    connectors:\n"
      "      - plugin: scripted\n"
      "        settings:\n"
      "          state: ANNSTATE\n"
      "          control: ANNCONTROL\n"
      "          key: ann-cal\n"
      "          expected_signature: s3cret\n");
  g_string_append(s, "  - {slug: bob, name: Bob, locations: [miami]}\n");
  g_string_replace(s, "ANNSTATE", f->ann_state, 1);
  g_string_replace(s, "ANNCONTROL", f->ann_control, 1);
  g_string_replace(s, "STATE", f->state, 1);
  g_string_replace(s, "CONTROL", f->control, 1);
  char *path = g_build_filename(conf, "acme.yaml", NULL);
  g_assert_true(g_file_set_contents(path, s->str, -1, NULL));
  g_string_free(s, TRUE);
  g_free(path);
  g_free(conf);
}

void fx_init_with(struct fx *f, int flags) {
  memset(f, 0, sizeof *f);
  setenv("SC_TEST_SCRIPTED_TOKEN", "tok", 1);
  sc_test_db_create_migrated(&f->db);
  f->owner = sc_test_db_connect(&f->db);
  struct sc_error err;
  if (sc_db_pool_open(f->db.url, 4, &f->pool, &err)) g_error("pool: %s", err.message);
  f->dir = g_dir_make_tmp("sc-sync-XXXXXX", NULL);
  f->state = g_build_filename(f->dir, "state.json", NULL);
  f->control = g_build_filename(f->dir, "control.json", NULL);
  f->ann_state = g_build_filename(f->dir, "ann.json", NULL);
  f->ann_control = g_build_filename(f->dir, "ann-control.json", NULL);
  write_yaml(f, flags);
  struct sc_config *cfg = load_config(f);
  char *kpath = g_build_filename(f->dir, "keyring", NULL);
  struct sc_keyring *kr;
  if (sc_keyring_create(kpath, &err) || sc_keyring_load(kpath, &kr, &err))
    g_error("keyring: %s", err.message);
  g_free(kpath);
  PGconn *c = sc_db_acquire(f->pool);
  struct sc_apply_stats st;
  if (sc_config_apply(c, cfg, kr, &st, &err)) g_error("apply: %s", err.message);
  sc_db_release(f->pool, c);
  sc_keyring_free(kr);
  pt_dirs_init(&f->pd);
  pt_stage(&f->pd, "tests/plugins/scripted.so", "scripted", 0644);
  f->reg = sc_registry_new(NULL);
  if (!(flags & SF_NO_PLUGIN)) {
    struct sc_registry_source src = {.plugin_dirs = f->pd.plugins, .cache_dir = f->pd.cache,
                                     .config = cfg, .config_owner = cfg,
                                     .config_free = cfg_free, .secrets = &secrets};
    if (sc_registry_reload(f->reg, &src, &err)) g_error("reload: %s", err.message);
  } else {
    cfg_free(cfg);
  }
  char *org = sc_test_db_value(f->owner, "SELECT organization_id FROM organizations");
  f->boss = (struct sc_caller){.role = SC_ROLE_AGENCY_OWNER};
  snprintf(f->boss.org_id, sizeof f->boss.org_id, "%s", org);
  snprintf(f->boss.org_slug, sizeof f->boss.org_slug, "acme");
  g_free(org);
}

void fx_init(struct fx *f) { fx_init_with(f, 0); }

void fx_free(struct fx *f) {
  sc_registry_free(f->reg);
  pt_dirs_free(&f->pd);
  sc_db_pool_close(f->pool);
  PQfinish(f->owner);
  sc_test_db_drop(&f->db);
  char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
  g_assert_cmpint(system(cmd), ==, 0);
  g_free(cmd);
  g_free(f->state);
  g_free(f->control);
  g_free(f->ann_state);
  g_free(f->ann_control);
  g_free(f->dir);
}

/* ---- helpers ---------------------------------------------------------- */

void control_file(const char *path, const char *json) {
  g_assert_true(g_file_set_contents(path, json, -1, NULL));
}

void control(struct fx *f, const char *json) { control_file(f->control, json); }

int live_events(struct fx *f) { return live_events_in(f->state); }

int calls(struct fx *f, const char *op) { return calls_in(f->state, op); }

json_object *provider_of(const char *state) {
  json_object *o = json_object_from_file(state);
  return o ? o : json_object_new_object();
}

/* Live (not deleted) events at the fake provider. */
int live_events_in(const char *state) {
  json_object *st = provider_of(state), *events;
  int n = 0;
  if (json_object_object_get_ex(st, "events", &events)) {
    json_object_object_foreach(events, k, e) {
      (void)k;
      json_object *d;
      if (!json_object_object_get_ex(e, "deleted", &d) || !json_object_get_boolean(d)) n++;
    }
  }
  json_object_put(st);
  return n;
}

int calls_in(const char *state, const char *op) {
  json_object *st = provider_of(state), *c, *n;
  int v = 0;
  if (json_object_object_get_ex(st, "calls", &c) && json_object_object_get_ex(c, op, &n))
    v = json_object_get_int(n);
  json_object_put(st);
  return v;
}

/* The provider's field of the one event with this id, g_free. */
char *event_field(struct fx *f, const char *id, const char *field) {
  json_object *st = provider_of(f->state), *events, *e, *v;
  char *out = NULL;
  if (json_object_object_get_ex(st, "events", &events) &&
      json_object_object_get_ex(events, id, &e) && json_object_object_get_ex(e, field, &v))
    out = g_strdup(json_object_get_string(v));
  json_object_put(st);
  return out;
}

/* Creates an appointment for ann at miami through the API module; commit
** or roll back its transaction. Returns the id (g_free) or NULL. */
char *make_appt(struct fx *f, const char *starts, int commit) {
  PGconn *c = sc_db_acquire(f->pool);
  struct sc_tenant t = {.platform_admin = 0};
  snprintf(t.org_id, sizeof t.org_id, "%s", f->boss.org_id);
  struct sc_error err;
  g_assert_cmpint(sc_db_begin(c, &t, &err), ==, SC_OK);
  GDateTime *s = g_date_time_new_from_iso8601(starts, NULL);
  GDateTime *e = g_date_time_add_minutes(s, 30);
  char *ends = g_date_time_format(e, "%Y-%m-%dT%H:%M:%SZ");
  g_date_time_unref(s);
  g_date_time_unref(e);
  char *body = g_strdup_printf("{\"location\": \"miami\", \"staff\": \"ann\", \"starts_at\": \"%s\","
                               " \"ends_at\": \"%s\", \"title\": \"Checkup\","
                               " \"client_name\": \"Zoe\"}", starts, ends);
  g_free(ends);
  json_object *in = json_tokener_parse(body), *out = NULL;
  int rc = sc_appt_create(c, &f->boss, in, &out, &err);
  if (rc) g_error("create: %s", err.message);
  char *id = g_strdup(json_object_get_string(json_object_object_get(out, "id")));
  if (commit) g_assert_cmpint(sc_db_commit(c, &err), ==, SC_OK);
  else sc_db_rollback(c);
  sc_db_release(f->pool, c);
  json_object_put(in);
  json_object_put(out);
  g_free(body);
  return id;
}

void patch_appt(struct fx *f, const char *id, const char *patch) {
  PGconn *c = sc_db_acquire(f->pool);
  struct sc_tenant t = {0};
  snprintf(t.org_id, sizeof t.org_id, "%s", f->boss.org_id);
  struct sc_error err;
  g_assert_cmpint(sc_db_begin(c, &t, &err), ==, SC_OK);
  json_object *in = json_tokener_parse(patch), *out = NULL;
  if (sc_appt_update(c, &f->boss, id, in, NULL, &out, &err)) g_error("patch: %s", err.message);
  g_assert_cmpint(sc_db_commit(c, &err), ==, SC_OK);
  sc_db_release(f->pool, c);
  json_object_put(in);
  json_object_put(out);
}

void cancel_appt(struct fx *f, const char *id) {
  PGconn *c = sc_db_acquire(f->pool);
  struct sc_tenant t = {0};
  snprintf(t.org_id, sizeof t.org_id, "%s", f->boss.org_id);
  struct sc_error err;
  g_assert_cmpint(sc_db_begin(c, &t, &err), ==, SC_OK);
  json_object *out = NULL;
  if (sc_appt_cancel(c, &f->boss, id, "client asked", &out, &err)) g_error("cancel: %s", err.message);
  g_assert_cmpint(sc_db_commit(c, &err), ==, SC_OK);
  sc_db_release(f->pool, c);
  json_object_put(out);
}

enum sc_outbox_outcome run(struct fx *f, const struct sc_outbox_options *o) {
  enum sc_outbox_outcome out;
  struct sc_error err;
  if (sc_outbox_run_once(f->pool, f->reg, o, &out, NULL, &err)) g_error("run: %s", err.message);
  return out;
}

char *q(struct fx *f, const char *sql) { return sc_test_db_value(f->owner, sql); }

void assert_q_at(struct fx *f, const char *sql, const char *want, const char *file, int line) {
  char *v = q(f, sql);
  if (g_strcmp0(v, want))
    g_error("%s:%d: %s\n  got:  %s\n  want: %s", file, line, sql, v ? v : "(null)", want);
  g_free(v);
}

void make_due(struct fx *f) {
  g_free(q(f, "UPDATE sync_jobs SET next_run_at = now() WHERE state = 'pending'"));
}


