/*
** Shared world of the sync engine tests: a migrated database with
** organization acme (location miami, staff ann and bob), connector
** instances of the scriptable test connector (tests/plugins/scripted.c)
** applied from conf.d YAML, and a registry built from the same config with
** the plugin loaded; plus helpers to drive the API modules and inspect the
** fake provider's state file.
**
** Instances: acme.miami.scripted (location; state <dir>/state.json,
** control <dir>/control.json, key "loc-miami", expected_signature "s3cret") and,
** with SF_STAFF_CALENDAR, acme.staff.ann.scripted (ann's own calendar;
** state <dir>/ann.json, control <dir>/ann-control.json, key "ann-cal").
*/
#ifndef SC_TEST_SYNC_FIXTURE_H
#define SC_TEST_SYNC_FIXTURE_H

#include <json-c/json.h>

#include "auth.h"
#include "plugin_test.h"
#include "db.h"
#include "registry.h"
#include "sync_outbox.h"
#include "testdb.h"

#define SF_NO_PLUGIN      0x1  /* registry without the plugin loaded */
#define SF_STAFF_CALENDAR 0x2  /* also ann's own calendar */

struct fx {
  struct sc_test_db db;
  struct sc_db_pool *pool;
  PGconn *owner;
  char *dir, *state, *control, *ann_state, *ann_control;
  struct pt_dirs pd;
  struct sc_registry *reg;
  struct sc_caller boss;
};

void fx_init_with(struct fx *f, int flags);
void fx_init(struct fx *f);
void fx_free(struct fx *f);

void control(struct fx *f, const char *json);
void control_file(const char *path, const char *json);
json_object *provider_of(const char *state);
/* Live (not deleted) events at a fake provider. */
int live_events_in(const char *state);
int live_events(struct fx *f);
int calls_in(const char *state, const char *op);
int calls(struct fx *f, const char *op);
/* A field of one event at the location provider (g_free), or NULL. */
char *event_field(struct fx *f, const char *id, const char *field);

/* Appointment for ann at miami, 30 minutes from starts; commit or roll
** back; returns its id (g_free). */
char *make_appt(struct fx *f, const char *starts, int commit);
void patch_appt(struct fx *f, const char *id, const char *patch);
void cancel_appt(struct fx *f, const char *id);

enum sc_outbox_outcome run(struct fx *f, const struct sc_outbox_options *o);
char *q(struct fx *f, const char *sql);
void assert_q_at(struct fx *f, const char *sql, const char *want, const char *file, int line);
#define assert_q(f, sql, want) assert_q_at(f, sql, want, __FILE__, __LINE__)
void make_due(struct fx *f);

#endif
