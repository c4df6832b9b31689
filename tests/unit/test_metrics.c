/* Tests for core/metrics.c: the Prometheus text format (HELP/TYPE, cumulative
** histogram buckets with +Inf, _sum and _count, escaped label values),
** queries counted by route (through core/db.c on a real database), named
** counters, and the pool gauges. */
#include <glib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "metrics.h"
#include "testdb.h"

static char *render(struct sc_db_pool *pool) {
  char *out = NULL;
  size_t len = 0;
  g_assert_cmpint(sc_metrics_render(pool, &out, &len), ==, SC_OK);
  g_assert_cmpuint(strlen(out), ==, len);
  return out;
}

static void reset(void) {
  sc_metrics_shutdown();
  sc_metrics_init();
}

#define HIST "sidecal_http_request_duration_seconds"
#define REQ_HEAD \
  "# HELP sidecal_http_requests_total HTTP requests served, by route pattern, method and status.\n" \
  "# TYPE sidecal_http_requests_total counter\n"
#define HIST_HEAD \
  "# HELP " HIST " Time from request start to response, by route pattern.\n" \
  "# TYPE " HIST " histogram\n"
#define QUERY_HEAD \
  "# HELP sidecal_db_queries_total Database statements run, by the route being served.\n" \
  "# TYPE sidecal_db_queries_total counter\n"

static void test_empty(void) {
  reset();
  char *out = render(NULL);
  g_assert_cmpstr(out, ==, REQ_HEAD HIST_HEAD QUERY_HEAD);
  free(out);
}

/* Durations are powers of two so the sum is exact in binary. */
static void test_one_request_exact(void) {
  reset();
  sc_metrics_observe_request("/a", "GET", 200, 0.0009765625);
  char *out = render(NULL);
  const char *le[] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                      "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"};
  GString *want = g_string_new(REQ_HEAD
      "sidecal_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 1\n" HIST_HEAD);
  for (size_t i = 0; i < G_N_ELEMENTS(le); i++)
    g_string_append_printf(want, HIST "_bucket{route=\"/a\",le=\"%s\"} 1\n", le[i]);
  g_string_append(want, HIST "_sum{route=\"/a\"} 0.0009765625\n"
                        HIST "_count{route=\"/a\"} 1\n" QUERY_HEAD);
  g_assert_cmpstr(out, ==, want->str);
  g_string_free(want, TRUE);
  free(out);
}

static void test_histogram_cumulative(void) {
  reset();
  const double d[] = {0.0009765625, 0.00390625, 0.00390625, 0.125, 20, 0.5};
  for (size_t i = 0; i < G_N_ELEMENTS(d); i++)
    sc_metrics_observe_request("/h", "POST", 201, d[i]);
  char *out = render(NULL);
  /* le is "less or equal": 0.5 itself lands in the le="0.5" bucket. */
  const char *want =
      HIST "_bucket{route=\"/h\",le=\"0.001\"} 1\n"
      HIST "_bucket{route=\"/h\",le=\"0.0025\"} 1\n"
      HIST "_bucket{route=\"/h\",le=\"0.005\"} 3\n"
      HIST "_bucket{route=\"/h\",le=\"0.01\"} 3\n"
      HIST "_bucket{route=\"/h\",le=\"0.025\"} 3\n"
      HIST "_bucket{route=\"/h\",le=\"0.05\"} 3\n"
      HIST "_bucket{route=\"/h\",le=\"0.1\"} 3\n"
      HIST "_bucket{route=\"/h\",le=\"0.25\"} 4\n"
      HIST "_bucket{route=\"/h\",le=\"0.5\"} 5\n"
      HIST "_bucket{route=\"/h\",le=\"1\"} 5\n"
      HIST "_bucket{route=\"/h\",le=\"2.5\"} 5\n"
      HIST "_bucket{route=\"/h\",le=\"5\"} 5\n"
      HIST "_bucket{route=\"/h\",le=\"10\"} 5\n"
      HIST "_bucket{route=\"/h\",le=\"+Inf\"} 6\n"
      HIST "_sum{route=\"/h\"} 20.6337890625\n"
      HIST "_count{route=\"/h\"} 6\n";
  g_assert_nonnull(strstr(out, want));
  g_assert_nonnull(strstr(out, "sidecal_http_requests_total{route=\"/h\",method=\"POST\",status=\"201\"} 6\n"));
  free(out);
}

static void test_counters_split_by_status_and_method(void) {
  reset();
  sc_metrics_observe_request("/v1/x/{id}", "GET", 200, 0.01);
  sc_metrics_observe_request("/v1/x/{id}", "GET", 404, 0.01);
  sc_metrics_observe_request("/v1/x/{id}", "GET", 200, 0.01);
  sc_metrics_observe_request("/v1/x/{id}", "PATCH", 200, 0.01);
  /* A client invents the method; it must not become a new series each time. */
  sc_metrics_observe_request("/v1/x/{id}", "BREW", 405, 0.01);
  sc_metrics_observe_request("/v1/x/{id}", "WHEN", 405, 0.01);
  char *out = render(NULL);
  g_assert_nonnull(strstr(out, REQ_HEAD
      "sidecal_http_requests_total{route=\"/v1/x/{id}\",method=\"GET\",status=\"200\"} 2\n"
      "sidecal_http_requests_total{route=\"/v1/x/{id}\",method=\"GET\",status=\"404\"} 1\n"
      "sidecal_http_requests_total{route=\"/v1/x/{id}\",method=\"OTHER\",status=\"405\"} 2\n"
      "sidecal_http_requests_total{route=\"/v1/x/{id}\",method=\"PATCH\",status=\"200\"} 1\n"
      HIST_HEAD));
  g_assert_nonnull(strstr(out, HIST "_count{route=\"/v1/x/{id}\"} 6\n"));
  free(out);
}

static void test_label_escaping(void) {
  reset();
  sc_metrics_observe_request("/a\"b\\c\nd", "GET", 200, 0.5);
  char *out = render(NULL);
  g_assert_nonnull(strstr(out, "{route=\"/a\\\"b\\\\c\\nd\",method=\"GET\",status=\"200\"} 1\n"));
  g_assert_nonnull(strstr(out, HIST "_count{route=\"/a\\\"b\\\\c\\nd\"} 1\n"));
  /* No raw newline inside any sample line: every line is a comment or a sample. */
  gchar **lines = g_strsplit(out, "\n", -1);
  for (gchar **l = lines; *l && **l; l++)
    g_assert_true(g_str_has_prefix(*l, "# ") || g_str_has_prefix(*l, "sidecal_"));
  g_strfreev(lines);
  free(out);
}

static void test_named_counters(void) {
  reset();
  sc_metrics_counter_add("sidecal_sync_jobs_dead_total", "instance=\"acme.miami.ghl\"", 2);
  sc_metrics_counter_add("sidecal_sync_jobs_dead_total", "instance=\"acme.miami.ghl\"", 1);
  sc_metrics_counter_add("sidecal_sync_jobs_dead_total", "instance=\"acme.london.ghl\"", 1);
  sc_metrics_counter_add("sidecal_webhooks_total", NULL, 0.5);
  sc_metrics_counter_add("bad name", NULL, 1);          /* ignored: not a metric name */
  sc_metrics_counter_add("9lives", NULL, 1);            /* ignored */
  sc_metrics_counter_add("sidecal_webhooks_total", NULL, -4);  /* ignored: counters only grow */
  char *out = render(NULL);
  g_assert_true(g_str_has_suffix(out, QUERY_HEAD
      "# TYPE sidecal_sync_jobs_dead_total counter\n"
      "sidecal_sync_jobs_dead_total{instance=\"acme.london.ghl\"} 1\n"
      "sidecal_sync_jobs_dead_total{instance=\"acme.miami.ghl\"} 3\n"
      "# TYPE sidecal_webhooks_total counter\n"
      "sidecal_webhooks_total 0.5\n"));
  free(out);
}

static void *count_elsewhere(void *arg) {
  (void)arg;
  sc_metrics_count_query();  /* a thread that never set a route */
  sc_metrics_count_query();
  return NULL;
}

static void test_query_counting(void) {
  reset();
  sc_metrics_set_route("/q");
  sc_metrics_count_query();
  sc_metrics_count_query();
  sc_metrics_count_query();
  sc_metrics_set_route("/r");
  sc_metrics_count_query();
  sc_metrics_set_route(NULL);
  g_assert_cmpint(sc_metrics_queries_for("/q"), ==, 3);
  g_assert_cmpint(sc_metrics_queries_for("/r"), ==, 1);
  g_assert_cmpint(sc_metrics_queries_for("/never"), ==, 0);
  pthread_t t;
  long none = sc_metrics_queries_for("(none)");
  pthread_create(&t, NULL, count_elsewhere, NULL);
  pthread_join(t, NULL);
  g_assert_cmpint(sc_metrics_queries_for("(none)"), ==, none + 2);
  char *out = render(NULL);
  g_assert_nonnull(strstr(out, QUERY_HEAD "sidecal_db_queries_total{route=\"(none)\"} 2\n"
                                "sidecal_db_queries_total{route=\"/q\"} 3\n"
                                "sidecal_db_queries_total{route=\"/r\"} 1\n"));
  /* Routes seen only by set_route have no latency samples to show. */
  g_assert_null(strstr(out, HIST "_count{route=\"/q\"}"));
  free(out);

  /* After a reset the thread's cached counter is gone; counting must
  ** re-resolve the route by name instead of touching freed memory. */
  sc_metrics_set_route("/s");
  sc_metrics_count_query();
  reset();
  g_assert_cmpint(sc_metrics_queries_for("/s"), ==, 0);
  sc_metrics_count_query();
  g_assert_cmpint(sc_metrics_queries_for("/s"), ==, 1);
  sc_metrics_set_route(NULL);
}

/* core/db.c counts each statement against the current route. */
static void test_db_counts_and_pool_gauges(void) {
  reset();
  struct sc_test_db db;
  sc_test_db_create_migrated(&db);
  struct sc_db_pool *pool;
  struct sc_error err;
  g_assert_cmpint(sc_db_pool_open(db.url, 2, &pool, &err), ==, SC_OK);
  PGconn *c = sc_db_acquire(pool);
  sc_metrics_set_route("/dbtest");
  g_assert_cmpint(sc_db_run(c, "SELECT 1", &err), ==, SC_OK);
  g_assert_cmpint(sc_db_exec(c, "SELECT $1::int", 1, (const char *const[]){"7"}, NULL, &err), ==, SC_OK);
  g_assert_cmpint(sc_db_exec(c, "SELECT nonsense", 0, NULL, NULL, &err), ==, SC_EDB);
  sc_metrics_set_route(NULL);
  g_assert_cmpint(sc_metrics_queries_for("/dbtest"), ==, 3);
  char *out = render(pool);
  g_assert_true(g_str_has_prefix(out,
      "# HELP sidecal_db_pool_in_use Database connections currently borrowed from the pool.\n"
      "# TYPE sidecal_db_pool_in_use gauge\n"
      "sidecal_db_pool_in_use 1\n"
      "# HELP sidecal_db_pool_waits_total Pool acquisitions that had to wait for a free connection.\n"
      "# TYPE sidecal_db_pool_waits_total counter\n"
      "sidecal_db_pool_waits_total 0\n"));
  free(out);
  sc_db_release(pool, c);
  out = render(pool);
  g_assert_nonnull(strstr(out, "\nsidecal_db_pool_in_use 0\n"));
  free(out);
  sc_db_pool_close(pool);
  sc_test_db_drop(&db);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/metrics/empty", test_empty);
  g_test_add_func("/metrics/one_request_exact", test_one_request_exact);
  g_test_add_func("/metrics/histogram_cumulative", test_histogram_cumulative);
  g_test_add_func("/metrics/counters_split", test_counters_split_by_status_and_method);
  g_test_add_func("/metrics/label_escaping", test_label_escaping);
  g_test_add_func("/metrics/named_counters", test_named_counters);
  g_test_add_func("/metrics/query_counting", test_query_counting);
  g_test_add_func("/metrics/db_counts_and_pool_gauges", test_db_counts_and_pool_gauges);
  int rc = g_test_run();
  sc_metrics_shutdown();
  return rc;
}
