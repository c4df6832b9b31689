/*
** The webhook routes over real HTTP (core/api_webhooks.c): the server runs
** in this process with the route table, a registry built here and the
** real sync engine, so a delivery travels HTTP → inbox → inbox worker →
** row. Checked: status codes and bodies (accepted, duplicate, dropped,
** 401, 404, 503 without connectors), the header names the connector sees,
** deliveries stored while no engine runs applied after it starts (a
** restart), a burst from 8 clients while the engine is stopped and started
** twice with every acknowledged delivery applied exactly once, and an
** API-made appointment pushed to the provider by the engine's outbox.
*/
#include <glib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "metrics.h"
#include "plugin_fixtures.h"
#include "routes.h"
#include "sync_engine.h"
#include "sync_fixture.h"
#include "sync_metrics.h"
#include "testdaemon.h"

struct world {
  struct fx f;
  struct sc_app app;
  struct sc_http_server *srv;
  struct sc_test_daemon client;  /* only .port is used: the HTTP client */
  /* Not app.sync: restarting it under live requests would race the
  ** handlers' wake-up (the daemon stops HTTP first); it polls every 50 ms. */
  struct sc_sync_engine *engine;
};

static void world_start(struct world *w, int with_registry) {
  memset(w, 0, sizeof *w);
  sc_metrics_init();
  fx_init(&w->f);
  w->app.pool = w->f.pool;
  w->app.registry = with_registry ? w->f.reg : NULL;
  struct sc_http_config hc = {.listen = "127.0.0.1:0", .threads = 4, .routes = sc_routes,
                              .app = &w->app};
  struct sc_error err;
  if (sc_http_start(&hc, &w->srv, &err)) g_error("http: %s", err.message);
  w->client.port = sc_http_port(w->srv);
}

static void engine_start(struct world *w) {
  struct sc_sync_engine_options o = {.poll_ms = 50, .sched.interval_ms = 3600000};
  struct sc_error err;
  if (sc_sync_engine_start(w->app.pool, w->app.registry, &o, &w->engine, &err))
    g_error("engine: %s", err.message);
}

static void engine_stop(struct world *w) {
  sc_sync_engine_stop(w->engine);
  w->engine = NULL;
}

static void world_stop(struct world *w) {
  sc_http_stop(w->srv);
  engine_stop(w);
  fx_free(&w->f);
  sc_metrics_shutdown();
}

static long post(struct world *w, const char *path, const char *sig, const char *body,
                 char **resp_body) {
  struct sc_test_resp r;
  char *h = sig ? g_strdup_printf("X-Test-Signature: %s", sig) : NULL;
  sc_test_http_hdr(&w->client, "POST", path, NULL, h, body, &r);
  g_free(h);
  if (resp_body) *resp_body = g_strdup(r.body);
  long st = r.status;
  sc_test_resp_free(&r);
  return st;
}

static char *event_body(int i) {
  return g_strdup_printf("{\"route\": \"loc-miami\", \"changes\": [{\"op\": \"upsert\", \"id\": \"w%d\","
                         " \"start\": %d, \"end\": %d, \"title\": \"Web %d\", \"status\": 1}]}",
                         i, 1798000000 + i * 3600, 1798000000 + i * 3600 + 1800, i);
}

/* Waits until the query answers want (the engine works asynchronously). */
static void await_q(struct fx *f, const char *sql, const char *want) {
  char *v = NULL;
  for (int i = 0; i < 600; i++) {
    g_free(v);
    v = q(f, sql);
    if (!g_strcmp0(v, want)) break;
    g_usleep(50000);
  }
  g_assert_cmpstr(v, ==, want);
  g_free(v);
}

static void test_statuses_and_async_apply(void) {
  struct world w;
  world_start(&w, 1);
  engine_start(&w);
  char *b = event_body(1), *out = NULL;
  g_assert_cmpint(post(&w, "/v1/webhooks/scripted/acme.miami.scripted", "s3cret", b, &out), ==, 200);
  g_assert_cmpstr(out, ==, "{\"status\":\"accepted\"}");
  g_free(out);
  await_q(&w.f, "SELECT string_agg(title || ':' || origin, ',') FROM appointments", "Web 1:import");
  g_assert_cmpint(post(&w, "/v1/webhooks/scripted", "s3cret", b, &out), ==, 200);
  g_assert_cmpstr(out, ==, "{\"status\":\"duplicate\"}");
  g_free(out);
  g_assert_cmpint(post(&w, "/v1/webhooks/scripted", "s3cret", "{\"route\": \"zzz\", \"changes\": []}",
                       &out), ==, 200);
  g_assert_cmpstr(out, ==, "{\"status\":\"dropped\"}");
  g_free(out);
  g_assert_cmpint(post(&w, "/v1/webhooks/scripted/acme.miami.scripted", "nope", b, &out), ==, 401);
  g_assert_cmpstr(out, ==, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"acme.miami.scripted: "
                           "signature verification failed: bad x-test-signature\"}}");
  g_free(out);
  g_assert_cmpint(post(&w, "/v1/webhooks/scripted/acme.other.scripted", "s3cret", b, &out), ==, 404);
  g_assert_cmpstr(out, ==, "{\"error\":{\"code\":\"not_found\",\"message\":\"no webhook endpoint for "
                           "scripted\\/acme.other.scripted\"}}");
  g_free(out);
  await_q(&w.f, "SELECT count(*) || ' ' || count(processed_at) FROM sync_inbox", "1 1");
  /* The engine's outbox pushes an API-made appointment. */
  char *id = make_appt(&w.f, "2026-12-01T15:00:00Z", 1);
  await_q(&w.f, "SELECT string_agg(state::text, ',') FROM sync_jobs", "done");
  g_assert_cmpint(live_events(&w.f), ==, 1);
  /* A dead letter shows in /health/calendar and /metrics. */
  struct sc_test_resp r;
  sc_test_http(&w.client, "GET", "/health/calendar", NULL, NULL, NULL, &r);
  g_assert_cmpint(r.status, ==, 200);
  g_assert_nonnull(strstr(r.body, "\"status\":\"healthy\""));
  g_assert_nonnull(strstr(r.body, "\"sync_jobs_pending\":0,\"sync_jobs_dead\":0"));
  sc_test_resp_free(&r);
  g_free(q(&w.f, "UPDATE sync_jobs SET state = 'dead', dead_at = now()"));
  sc_test_http(&w.client, "GET", "/health/calendar", NULL, NULL, NULL, &r);
  g_assert_nonnull(strstr(r.body, "\"status\":\"degraded\""));
  g_assert_nonnull(strstr(r.body, "\"sync_jobs_pending\":0,\"sync_jobs_dead\":1"));
  sc_test_resp_free(&r);
  char *m = sc_sync_metrics_text(w.f.pool);
  g_assert_nonnull(strstr(m, "# TYPE sidecal_sync_jobs gauge\n"
                             "sidecal_sync_jobs{state=\"pending\"} 0\n"
                             "sidecal_sync_jobs{state=\"running\"} 0\n"
                             "sidecal_sync_jobs{state=\"done\"} 0\n"
                             "sidecal_sync_jobs{state=\"dead\"} 1\n"));
  g_assert_nonnull(strstr(m, "sidecal_webhook_inbox_pending 0\n"));
  g_assert_nonnull(strstr(m, "sidecal_sync_instances{status=\"HEALTHY\"} 1\n"));
  free(m);
  g_free(id), g_free(b);
  world_stop(&w);
}

static void test_no_registry_is_503(void) {
  struct world w;
  world_start(&w, 0);
  char *b = event_body(1), *out = NULL;
  g_assert_cmpint(post(&w, "/v1/webhooks/scripted/acme.miami.scripted", "s3cret", b, &out), ==, 503);
  g_assert_cmpstr(out, ==, "{\"error\":{\"code\":\"connectors_unavailable\",\"message\":\"connectors "
                           "are not loaded in this daemon; retry later\"}}");
  g_free(out), g_free(b);
  world_stop(&w);
}

struct burst {
  struct world *w;
  int from, to;
  int accepted;
};

static void *burst_client(void *p) {
  struct burst *b = p;
  for (int i = b->from; i < b->to; i++) {
    char *body = event_body(i);
    if (post(b->w, "/v1/webhooks/scripted/acme.miami.scripted", "s3cret", body, NULL) == 200)
      b->accepted++;
    g_free(body);
  }
  return NULL;
}

static void test_restarts_apply_every_ack_once(void) {
  struct world w;
  world_start(&w, 1);
  /* Stored while no engine runs (a daemon that died after acknowledging). */
  for (int i = 0; i < 5; i++) {
    char *b = event_body(1000 + i);
    g_assert_cmpint(post(&w, "/v1/webhooks/scripted/acme.miami.scripted", "s3cret", b, NULL), ==, 200);
    g_free(b);
  }
  assert_q(&w.f, "SELECT count(*) FROM appointments", "0");
  engine_start(&w);
  await_q(&w.f, "SELECT count(*) FROM appointments", "5");
  /* A burst from 8 clients across two engine restarts. */
  enum { C = 8, PER = 40 };
  pthread_t t[C];
  struct burst b[C];
  for (int i = 0; i < C; i++) {
    b[i] = (struct burst){&w, i * PER, (i + 1) * PER, 0};
    pthread_create(&t[i], NULL, burst_client, &b[i]);
  }
  for (int k = 0; k < 2; k++) {
    g_usleep(100000);
    engine_stop(&w);
    g_usleep(50000);
    engine_start(&w);
  }
  int accepted = 0;
  for (int i = 0; i < C; i++) {
    pthread_join(t[i], NULL);
    accepted += b[i].accepted;
  }
  g_assert_cmpint(accepted, ==, C * PER);
  char *want = g_strdup_printf("%d", C * PER + 5);
  await_q(&w.f, "SELECT count(*) FROM appointments", want);
  await_q(&w.f, "SELECT count(*) FROM sync_inbox WHERE processed_at IS NOT NULL", want);
  assert_q(&w.f, "SELECT count(*) FROM sync_inbox WHERE attempts <> 1 OR error IS NOT NULL", "0");
  assert_q(&w.f, "SELECT count(*) - count(DISTINCT external_id) FROM appointment_links", "0");
  g_free(want);
  world_stop(&w);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/api_webhooks/statuses_and_async_apply", test_statuses_and_async_apply);
  g_test_add_func("/api_webhooks/no_registry_is_503", test_no_registry_is_503);
  g_test_add_func("/api_webhooks/restarts_apply_every_ack_once", test_restarts_apply_every_ack_once);
  return g_test_run();
}
