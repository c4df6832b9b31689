/*
** Tests for the transactional outbox (core/sync_enqueue.c, sync_outbox.c)
** against a real database and the scriptable connector (tests/plugins/
** scripted.c) loaded through a registry built here: jobs written with the
** appointment change and gone with its rollback, create/update/delete
** pushed with links recorded, 500s then success, 429 Retry-After honoured,
** 500-after-write creating no duplicate, dead letters after N attempts and
** manual retry, permanent errors, 401 → refresh → success, refresh failure
** → NEEDS_REAUTH, per-pair ordering, an instance that is not loaded,
** two worker pools (two daemons) sharing 60 jobs with none run twice, and
** an update refused with 412 going through the conflict rule.
*/
#include <glib.h>
#include <pthread.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>

#include "appointments.h"
#include "config.h"
#include "config_apply.h"
#include "crypto.h"
#include "db.h"
#include "plugin_fixtures.h"
#include "plugin_test.h"
#include "registry.h"
#include "sync_enqueue.h"
#include "sync_outbox.h"
#include "sync_fixture.h"
#include "testdb.h"

static const struct sc_outbox_options fast = {.holder = "test", .base_backoff_ms = 1000};

/* ---- tests ------------------------------------------------------------ */

static void test_job_commits_with_the_change(void) {
  struct fx f;
  fx_init(&f);
  char *gone = make_appt(&f, "2026-12-01T15:00:00Z", 0);
  assert_q(&f, "SELECT count(*) FROM sync_jobs", "0");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  char *sql = g_strdup_printf("SELECT kind || ' ' || state || ' ' || attempts FROM sync_jobs"
                              " WHERE appointment_id = '%s'", id);
  assert_q(&f, sql, "create pending 0");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  assert_q(&f, sql, "create done 1");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_IDLE);
  /* The provider holds it, marked as ours, and the link points at it. */
  char *ext = q(&f, "SELECT external_id FROM appointment_links");
  char *marker = event_field(&f, ext, "marker");
  char *want = g_strdup_printf("sidecal:%s", id);
  g_assert_cmpstr(marker, ==, want);
  char *etag = event_field(&f, ext, "etag");
  char *link_etag = q(&f, "SELECT etag FROM appointment_links");
  g_assert_cmpstr(link_etag, ==, etag);
  char *title = event_field(&f, ext, "title");
  g_assert_cmpstr(title, ==, "Checkup");
  g_assert_cmpint(live_events(&f), ==, 1);
  assert_q(&f, "SELECT status || ' ' || error_count FROM sync_status", "HEALTHY 0");
  g_free(title), g_free(etag), g_free(link_etag), g_free(want), g_free(marker);

  /* Update: same event, new etag, new title. */
  patch_appt(&f, id, "{\"title\": \"Follow-up\"}");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  title = event_field(&f, ext, "title");
  g_assert_cmpstr(title, ==, "Follow-up");
  etag = event_field(&f, ext, "etag");
  link_etag = q(&f, "SELECT etag FROM appointment_links");
  g_assert_cmpstr(link_etag, ==, etag);
  g_assert_cmpint(calls(&f, "create"), ==, 1);
  g_assert_cmpint(calls(&f, "update"), ==, 1);

  /* Cancel: deleted at the provider, link dropped. */
  cancel_appt(&f, id);
  assert_q(&f, "SELECT string_agg(kind::text, ',' ORDER BY id) FROM sync_jobs",
           "create,update,cancel");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  g_assert_cmpint(live_events(&f), ==, 0);
  assert_q(&f, "SELECT count(*) FROM appointment_links", "0");
  g_free(title), g_free(etag), g_free(link_etag), g_free(ext), g_free(sql);
  g_free(id), g_free(gone);
  fx_free(&f);
}

static void test_retry_then_success_with_backoff(void) {
  struct fx f;
  fx_init(&f);
  control(&f, "{\"create\": [\"500\", \"500\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_RETRY);
  /* First backoff: base 1000 ms, jittered into [500, 1000]. */
  assert_q(&f, "SELECT state || ' ' || attempts || ' ' || last_error FROM sync_jobs",
           "pending 1 HTTP 500 from provider");
  assert_q(&f, "SELECT next_run_at - updated_at BETWEEN interval '500 ms' AND interval '1000 ms'"
               " FROM sync_jobs", "t");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_IDLE); /* not due yet */
  make_due(&f);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_RETRY);
  /* Second backoff doubles: [1000, 2000]. */
  assert_q(&f, "SELECT next_run_at - updated_at BETWEEN interval '1000 ms' AND interval '2000 ms'"
               " FROM sync_jobs", "t");
  assert_q(&f, "SELECT status || ' ' || error_count || ' ' || last_error FROM sync_status",
           "DEGRADED 2 HTTP 500 from provider");
  make_due(&f);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  assert_q(&f, "SELECT state || ' ' || attempts || ' ' || coalesce(last_error, '-') FROM sync_jobs",
           "done 3 -");
  assert_q(&f, "SELECT status || ' ' || error_count FROM sync_status", "HEALTHY 0");
  g_assert_cmpint(live_events(&f), ==, 1);
  g_free(id);
  fx_free(&f);
}

static void test_retry_after_is_honoured(void) {
  struct fx f;
  fx_init(&f);
  control(&f, "{\"create\": [\"429:7000\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_RETRY);
  assert_q(&f, "SELECT next_run_at - updated_at BETWEEN interval '7000 ms' AND interval '7700 ms'"
               " FROM sync_jobs", "t");
  assert_q(&f, "SELECT last_error FROM sync_jobs", "HTTP 429 from provider (Retry-After 7000 ms)");
  g_free(id);
  fx_free(&f);
}

static void test_500_after_write_creates_no_duplicate(void) {
  struct fx f;
  fx_init(&f);
  control(&f, "{\"create\": [\"500_after_write\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_RETRY);
  g_assert_cmpint(live_events(&f), ==, 1); /* the write took effect */
  assert_q(&f, "SELECT count(*) FROM appointment_links", "0");
  make_due(&f);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  /* Found by its marker and adopted: still one event, one create call. */
  g_assert_cmpint(live_events(&f), ==, 1);
  g_assert_cmpint(calls(&f, "create"), ==, 1);
  g_assert_cmpint(calls(&f, "list"), ==, 1);
  char *ext = q(&f, "SELECT external_id FROM appointment_links");
  char *marker = event_field(&f, ext, "marker");
  char *want = g_strdup_printf("sidecal:%s", id);
  g_assert_cmpstr(marker, ==, want);
  g_free(want), g_free(marker), g_free(ext), g_free(id);
  fx_free(&f);
}

static void test_dead_letter_and_manual_retry(void) {
  struct fx f;
  fx_init(&f);
  struct sc_outbox_options three = fast;
  three.max_attempts = 3;
  control(&f, "{\"create\": [\"500\", \"500\", \"500\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &three), ==, SC_OUTBOX_RETRY);
  make_due(&f);
  g_assert_cmpint(run(&f, &three), ==, SC_OUTBOX_RETRY);
  make_due(&f);
  g_assert_cmpint(run(&f, &three), ==, SC_OUTBOX_DEAD);
  assert_q(&f, "SELECT state || ' ' || attempts || ' ' || (dead_at IS NOT NULL) || ' ' || last_error"
               " FROM sync_jobs", "dead 3 true HTTP 500 from provider");
  g_assert_cmpint(run(&f, &three), ==, SC_OUTBOX_IDLE);
  char *job = q(&f, "SELECT id FROM sync_jobs");
  PGconn *c = sc_db_acquire(f.pool);
  struct sc_tenant admin = {.platform_admin = 1};
  struct sc_error err;
  g_assert_cmpint(sc_db_begin(c, &admin, &err), ==, SC_OK);
  g_assert_cmpint(sc_outbox_retry(c, 999999, &err), ==, SC_ENOTFOUND);
  g_assert_cmpstr(err.message, ==, "no job 999999");
  g_assert_cmpint(sc_outbox_retry(c, atoll(job), &err), ==, SC_OK);
  g_assert_cmpint(sc_db_commit(c, &err), ==, SC_OK);
  assert_q(&f, "SELECT state || ' ' || attempts || ' ' || (dead_at IS NULL) FROM sync_jobs",
           "pending 0 true");
  g_assert_cmpint(run(&f, &three), ==, SC_OUTBOX_DONE);
  g_assert_cmpint(sc_db_begin(c, &admin, &err), ==, SC_OK);
  g_assert_cmpint(sc_outbox_retry(c, atoll(job), &err), ==, SC_ESTATE);
  char *msg = g_strdup_printf("job %s is done", job);
  g_assert_cmpstr(err.message, ==, msg);
  sc_db_rollback(c);
  sc_db_release(f.pool, c);
  g_assert_cmpint(live_events(&f), ==, 1);
  g_free(msg), g_free(job), g_free(id);
  fx_free(&f);
}

static void test_permanent_error_is_dead_at_once(void) {
  struct fx f;
  fx_init(&f);
  control(&f, "{\"create\": [\"error\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DEAD);
  assert_q(&f, "SELECT state || ' ' || attempts || ' ' || last_error FROM sync_jobs",
           "dead 1 scripted error (error)");
  g_free(id);
  fx_free(&f);
}

static void test_unauthorized_refreshes_then_succeeds(void) {
  struct fx f;
  fx_init(&f);
  control(&f, "{\"create\": [\"401\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  g_assert_cmpint(calls(&f, "create"), ==, 2);
  g_assert_cmpint(calls(&f, "refresh"), ==, 1);
  g_assert_cmpint(live_events(&f), ==, 1);
  assert_q(&f, "SELECT status FROM sync_status", "HEALTHY");
  /* The rotated token is what the connector reads from now on. */
  struct sc_generation *g = sc_registry_acquire(f.reg);
  struct sc_plugin_instance *inst = sc_generation_instance(g, "acme.miami.scripted");
  g_assert_nonnull(inst);
  char tok[64];
  g_assert_cmpint(sc_plugin_host_api()->secret_read(&inst->hi, "token", tok, sizeof tok), ==, 5);
  g_assert_cmpstr(tok, ==, "tok+1");
  sc_registry_release(g);
  g_free(id);
  fx_free(&f);
}

static void test_refresh_failure_needs_reauth(void) {
  struct fx f;
  fx_init(&f);
  control(&f, "{\"create\": [\"401\"], \"refresh\": [\"error\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_RETRY);
  assert_q(&f, "SELECT status || ' ' || last_error FROM sync_status",
           "NEEDS_REAUTH credentials rejected and refresh failed: scripted error (error)");
  assert_q(&f, "SELECT state || ' ' || last_error FROM sync_jobs",
           "pending credentials rejected and refresh failed: scripted error (error)");
  g_assert_cmpint(live_events(&f), ==, 0);
  /* A later success clears it. */
  make_due(&f);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  assert_q(&f, "SELECT status FROM sync_status", "HEALTHY");
  g_free(id);
  fx_free(&f);
}

static void test_pair_runs_in_order(void) {
  struct fx f;
  fx_init(&f);
  control(&f, "{\"create\": [\"500\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  patch_appt(&f, id, "{\"title\": \"Later\"}");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_RETRY);  /* the create */
  make_due(&f);
  g_free(q(&f, "UPDATE sync_jobs SET next_run_at = now() - interval '1 hour'"
               " WHERE kind = 'update'"));
  /* The update is due first but waits for its predecessor. */
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  assert_q(&f, "SELECT string_agg(kind || ':' || state, ',' ORDER BY id) FROM sync_jobs",
           "create:done,update:pending");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  char *ext = q(&f, "SELECT external_id FROM appointment_links");
  char *title = event_field(&f, ext, "title");
  g_assert_cmpstr(title, ==, "Later");
  g_assert_cmpint(calls(&f, "create"), ==, 2); /* one 500, one real */
  g_assert_cmpint(live_events(&f), ==, 1);
  g_free(title), g_free(ext), g_free(id);
  fx_free(&f);
}

static void test_instance_not_loaded_retries(void) {
  struct fx f;
  fx_init_with(&f, SF_NO_PLUGIN);
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_RETRY);
  assert_q(&f, "SELECT state || ' ' || last_error FROM sync_jobs",
           "pending instance acme.miami.scripted is not loaded in this daemon");
  g_free(id);
  fx_free(&f);
}

static void test_enqueue_scope(void) {
  struct fx f;
  fx_init(&f);
  /* What a daemon records from its generation. */
  PGconn *c = sc_db_acquire(f.pool);
  struct sc_tenant admin = {.platform_admin = 1};
  struct sc_error err;
  struct sc_generation *g = sc_registry_acquire(f.reg);
  g_assert_cmpint(sc_db_begin(c, &admin, &err), ==, SC_OK);
  g_assert_cmpint(sc_outbox_record_caps(c, g, &err), ==, SC_OK);
  g_assert_cmpint(sc_db_commit(c, &err), ==, SC_OK);
  sc_registry_release(g);
  sc_db_release(f.pool, c);
  assert_q(&f, "SELECT plugin || ' ' || can_write || ' ' || can_read FROM sync_plugin_caps",
           "scripted true true");
  /* A plugin a daemon recorded as unable to write gets no jobs. */
  g_free(q(&f, "UPDATE sync_plugin_caps SET can_write = false"));
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  assert_q(&f, "SELECT count(*) FROM sync_jobs", "0");
  g_free(q(&f, "UPDATE sync_plugin_caps SET can_write = true"));
  /* An inactive instance gets none either, unless it holds a link. */
  g_free(q(&f, "UPDATE connector_instances SET active = false"));
  patch_appt(&f, id, "{\"title\": \"A\"}");
  assert_q(&f, "SELECT count(*) FROM sync_jobs", "0");
  char *sql = g_strdup_printf("INSERT INTO appointment_links (organization_id, instance_id,"
                              " external_id, appointment_id) SELECT organization_id, id, 'x', '%s'"
                              " FROM connector_instances", id);
  g_free(q(&f, sql));
  patch_appt(&f, id, "{\"title\": \"B\"}");
  assert_q(&f, "SELECT string_agg(kind::text, ',') FROM sync_jobs", "update");
  /* Out of scope now: the worker deletes it at the provider and drops the link. */
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  g_assert_cmpint(calls(&f, "delete"), ==, 1);
  assert_q(&f, "SELECT count(*) FROM appointment_links", "0");
  g_free(sql), g_free(id);
  fx_free(&f);
}

static void test_two_daemons_share_jobs_once(void) {
  struct fx f;
  fx_init(&f);
  enum { N = 60 };
  char *ids[N];
  for (int i = 0; i < N; i++) {
    char when[32];
    snprintf(when, sizeof when, "2026-12-%02dT%02d:00:00Z", 1 + i / 8, 14 + i % 8);
    ids[i] = make_appt(&f, when, 1);
  }
  /* Slow calls so the two pools overlap. */
  GString *ctl = g_string_new("{\"create\": [");
  for (int i = 0; i < N; i++) g_string_append(ctl, i ? ", \"delay:20\"" : "\"delay:20\"");
  g_string_append(ctl, "]}");
  control(&f, ctl->str);
  g_string_free(ctl, TRUE);
  struct sc_db_pool *pool2;
  struct sc_error err;
  g_assert_cmpint(sc_db_pool_open(f.db.url, 4, &pool2, &err), ==, SC_OK);
  struct sc_outbox_options a = {.workers = 3, .holder = "daemon-a", .poll_ms = 50};
  struct sc_outbox_options b = {.workers = 3, .holder = "daemon-b", .poll_ms = 50};
  struct sc_outbox *oa, *ob;
  g_assert_cmpint(sc_outbox_start(f.pool, f.reg, &a, &oa, &err), ==, SC_OK);
  g_assert_cmpint(sc_outbox_start(pool2, f.reg, &b, &ob, &err), ==, SC_OK);
  for (int i = 0; i < 400; i++) {
    char *n = q(&f, "SELECT count(*) FROM sync_jobs WHERE state <> 'done'");
    int left = atoi(n);
    g_free(n);
    if (!left) break;
    g_usleep(50000);
  }
  sc_outbox_stop(oa);
  sc_outbox_stop(ob);
  sc_db_pool_close(pool2);
  assert_q(&f, "SELECT count(*) || ' ' || sum(attempts) FROM sync_jobs WHERE state = 'done'", "60 60");
  g_assert_cmpint(calls(&f, "create"), ==, N);
  g_assert_cmpint(live_events(&f), ==, N);
  assert_q(&f, "SELECT count(DISTINCT external_id) FROM appointment_links", "60");
  for (int i = 0; i < N; i++) g_free(ids[i]);
  fx_free(&f);
}

/* Runs build/core/sidecalctl jobs ARGS on the fixture's database. */
static int ctl(struct fx *f, const char *a1, const char *a2, char **out, char **errout) {
  char *bin = sc_test_build_path("core/sidecalctl");
  const char *argv[] = {bin, "jobs", a1, a2, NULL};
  char **envp = g_environ_setenv(g_get_environ(), "SIDECAL_DATABASE_URL", f->db.url, TRUE);
  int status = -1;
  GError *e = NULL;
  if (!g_spawn_sync(NULL, (char **)argv, envp, 0, NULL, NULL, out, errout, &status, &e))
    g_error("spawn: %s", e->message);
  g_strfreev(envp);
  g_free(bin);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The provider's copy edited behind our back: start moved an hour, a new
** etag and title, and `modified` as given. */
static void provider_edit(struct fx *f, const char *ext, const char *etag, int64_t modified) {
  json_object *st = provider_of(f->state), *events, *e;
  g_assert_true(json_object_object_get_ex(st, "events", &events));
  g_assert_true(json_object_object_get_ex(events, ext, &e));
  json_object_object_add(e, "start", json_object_new_int64(1796140800)); /* 2026-12-01T16:00Z */
  json_object_object_add(e, "end", json_object_new_int64(1796142600));
  json_object_object_add(e, "title", json_object_new_string("Moved at the provider"));
  json_object_object_add(e, "etag", json_object_new_string(etag));
  json_object_object_add(e, "modified", json_object_new_int64(modified));
  g_assert_cmpint(json_object_to_file(f->state, st), ==, 0);
  json_object_put(st);
}

/* An update meeting 412 re-reads the provider's version and runs the
** conflict rule: theirs newer → applied; ours newer → pushed back over the
** etag just read; equal seconds → a sync_conflicts row, nothing applied.
** In each case the job is settled at once, not retried with a stale etag. */
static void test_update_412_runs_conflict_rule(void) {
  struct fx f;
  fx_init(&f);
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  char *ext = q(&f, "SELECT external_id FROM appointment_links");
  char *last_job = g_strdup_printf("SELECT state || ' ' || attempts FROM sync_jobs"
                                   " WHERE appointment_id = '%s' ORDER BY id DESC LIMIT 1", id);

  /* Theirs newer. */
  provider_edit(&f, ext, "phone-1", 4102444800); /* 2100-01-01 */
  patch_appt(&f, id, "{\"title\": \"Ours\"}");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  assert_q(&f, last_job, "done 1");
  assert_q(&f, "SELECT sc_utc(starts_at) || ' ' || title FROM appointments",
           "2026-12-01T16:00:00Z Moved at the provider");
  assert_q(&f, "SELECT etag FROM appointment_links", "phone-1");
  assert_q(&f, "SELECT status || ' ' || error_count FROM sync_status", "HEALTHY 0");

  /* Ours newer: a new job overwrites the provider's version. */
  provider_edit(&f, ext, "phone-2", 1000);
  patch_appt(&f, id, "{\"title\": \"Ours again\"}");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  assert_q(&f, "SELECT etag FROM appointment_links", "phone-2");
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  assert_q(&f, last_job, "done 1");
  char *title = event_field(&f, ext, "title");
  g_assert_cmpstr(title, ==, "Ours again");
  g_free(title);
  char *etag = event_field(&f, ext, "etag");
  char *link_etag = q(&f, "SELECT etag FROM appointment_links");
  g_assert_cmpstr(link_etag, ==, etag);
  g_free(etag), g_free(link_etag);

  /* Same second: a conflict row, nothing applied on either side. */
  patch_appt(&f, id, "{\"title\": \"Ours third\"}");
  char *secs = q(&f, "SELECT floor(extract(epoch FROM updated_at))::bigint FROM appointments");
  provider_edit(&f, ext, "phone-3", g_ascii_strtoll(secs, NULL, 10));
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  assert_q(&f, last_job, "done 1");
  assert_q(&f, "SELECT count(*) FROM sync_jobs WHERE state <> 'done'", "0");
  assert_q(&f, "SELECT diff->'title'->>'ours' || ' / ' || (diff->'title'->>'theirs')"
               " FROM sync_conflicts WHERE resolved_at IS NULL",
           "Ours third / Moved at the provider");
  assert_q(&f, "SELECT title FROM appointments", "Ours third");
  assert_q(&f, "SELECT etag FROM appointment_links", "phone-3");
  title = event_field(&f, ext, "title");
  g_assert_cmpstr(title, ==, "Moved at the provider");
  g_free(title);
  /* Keeping ours (the job the resolve route inserts) now overwrites. */
  g_free(q(&f, "INSERT INTO sync_jobs (organization_id, instance_id, appointment_id, kind)"
               " SELECT organization_id, instance_id, appointment_id, 'update'"
               " FROM appointment_links RETURNING id"));
  g_assert_cmpint(run(&f, &fast), ==, SC_OUTBOX_DONE);
  title = event_field(&f, ext, "title");
  g_assert_cmpstr(title, ==, "Ours third");
  g_free(title);
  assert_q(&f, "SELECT count(*) FROM sync_conflicts", "1");
  g_free(secs), g_free(last_job), g_free(ext), g_free(id);
  fx_free(&f);
}

static void test_jobs_cli(void) {
  struct fx f;
  fx_init(&f);
  struct sc_outbox_options one = fast;
  one.max_attempts = 1;
  control(&f, "{\"create\": [\"500\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  g_assert_cmpint(run(&f, &one), ==, SC_OUTBOX_DEAD);
  char *job = q(&f, "SELECT id FROM sync_jobs");
  char *dead_at = q(&f, "SELECT sc_utc(dead_at) FROM sync_jobs");
  char *out = NULL, *err = NULL;
  g_assert_cmpint(ctl(&f, "--dead", NULL, &out, &err), ==, 0);
  char *want = g_strdup_printf("ID  STATE  ATTEMPTS  INSTANCE  APPOINTMENT  KIND  DEAD_AT  LAST_ERROR\n"
                               "%s  dead  1  acme.miami.scripted  %s  create  %s  HTTP 500 from provider\n",
                               job, id, dead_at);
  g_assert_cmpstr(out, ==, want);
  g_free(out), g_free(err), g_free(want);
  g_assert_cmpint(ctl(&f, "retry", "abc", &out, &err), ==, 2);
  g_assert_cmpstr(err, ==, "sidecalctl: jobs retry: \"abc\" is not a job id (a positive number)\n");
  g_free(out), g_free(err);
  g_assert_cmpint(ctl(&f, "retry", "424242", &out, &err), ==, 2);
  g_assert_cmpstr(err, ==, "sidecalctl: jobs retry: no job 424242\n");
  g_free(out), g_free(err);
  assert_q(&f, "SELECT state FROM sync_jobs", "dead");
  g_assert_cmpint(ctl(&f, "retry", job, &out, &err), ==, 0);
  want = g_strdup_printf("job %s is due now\n", job);
  g_assert_cmpstr(out, ==, want);
  g_free(out), g_free(err), g_free(want);
  assert_q(&f, "SELECT state || ' ' || attempts FROM sync_jobs", "pending 0");
  g_assert_cmpint(ctl(&f, NULL, NULL, &out, &err), ==, 0);
  g_assert_nonnull(strstr(out, "  pending  0  acme.miami.scripted  "));
  g_free(out), g_free(err);
  g_assert_cmpint(run(&f, &one), ==, SC_OUTBOX_DONE);
  g_assert_cmpint(ctl(&f, "--dead", NULL, &out, &err), ==, 0);
  g_assert_cmpstr(out, ==, "ID  STATE  ATTEMPTS  INSTANCE  APPOINTMENT  KIND  DEAD_AT  LAST_ERROR\n");
  g_free(out), g_free(err);
  g_assert_cmpint(ctl(&f, "--bogus", NULL, &out, &err), ==, 2);
  g_assert_cmpstr(err, ==, "usage: sidecalctl jobs [--dead] | sidecalctl jobs retry ID\n");
  g_free(out), g_free(err), g_free(job), g_free(dead_at), g_free(id);
  fx_free(&f);
}

struct slow_run {
  struct fx *f;
  struct sc_outbox_options o;
  enum sc_outbox_outcome out;
};

static void *slow_worker(void *p) {
  struct slow_run *r = p;
  r->out = run(r->f, &r->o);
  return NULL;
}

static void test_lapsed_lease_taken_over_once(void) {
  struct fx f;
  fx_init(&f);
  control(&f, "{\"create\": [\"delay:600\"]}");
  char *id = make_appt(&f, "2026-12-01T15:00:00Z", 1);
  struct slow_run a = {&f, {.holder = "daemon-a", .lease_ms = 200}, SC_OUTBOX_IDLE};
  pthread_t t;
  pthread_create(&t, NULL, slow_worker, &a);
  g_usleep(350000);  /* a's lease has lapsed; its call is still running */
  struct sc_outbox_options b = {.holder = "daemon-b", .lease_ms = 60000};
  g_assert_cmpint(run(&f, &b), ==, SC_OUTBOX_DONE);
  pthread_join(t, NULL);
  g_assert_cmpint(a.out, ==, SC_OUTBOX_LOST);
  /* b found a's event by its marker: one event, one create call. */
  g_assert_cmpint(live_events(&f), ==, 1);
  g_assert_cmpint(calls(&f, "create"), ==, 1);
  assert_q(&f, "SELECT state || ' ' || attempts || ' ' || coalesce(locked_by, '-') FROM sync_jobs",
           "done 2 -");
  assert_q(&f, "SELECT count(*) FROM appointment_links", "1");
  g_free(id);
  fx_free(&f);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sync_outbox/job_commits_with_the_change", test_job_commits_with_the_change);
  g_test_add_func("/sync_outbox/retry_then_success_with_backoff", test_retry_then_success_with_backoff);
  g_test_add_func("/sync_outbox/retry_after_is_honoured", test_retry_after_is_honoured);
  g_test_add_func("/sync_outbox/500_after_write_creates_no_duplicate",
                  test_500_after_write_creates_no_duplicate);
  g_test_add_func("/sync_outbox/dead_letter_and_manual_retry", test_dead_letter_and_manual_retry);
  g_test_add_func("/sync_outbox/permanent_error_is_dead_at_once", test_permanent_error_is_dead_at_once);
  g_test_add_func("/sync_outbox/unauthorized_refreshes_then_succeeds",
                  test_unauthorized_refreshes_then_succeeds);
  g_test_add_func("/sync_outbox/refresh_failure_needs_reauth", test_refresh_failure_needs_reauth);
  g_test_add_func("/sync_outbox/pair_runs_in_order", test_pair_runs_in_order);
  g_test_add_func("/sync_outbox/instance_not_loaded_retries", test_instance_not_loaded_retries);
  g_test_add_func("/sync_outbox/enqueue_scope", test_enqueue_scope);
  g_test_add_func("/sync_outbox/two_daemons_share_jobs_once", test_two_daemons_share_jobs_once);
  g_test_add_func("/sync_outbox/jobs_cli", test_jobs_cli);
  g_test_add_func("/sync_outbox/update_412_runs_conflict_rule", test_update_412_runs_conflict_rule);
  g_test_add_func("/sync_outbox/lapsed_lease_taken_over_once", test_lapsed_lease_taken_over_once);
  return g_test_run();
}
