/* Benchmarks of the running daemon (issue 4 b and c), printed with the
** PostgreSQL durability settings they ran under:
**  (b) GET /v1/availability, 7-day window, warm cache, 32 connections (wrk):
**      requests/s, p99 latency, cache hit ratio and DB queries per request;
**  (c) public bookings/s over HTTP with 16 clients, each booking distinct
**      free slots, beside pgbench single-row insert tps on the same server
**      and pgbench running a booking's database work alone.
** Needs SIDECAL_TEST_PG_URL (scripts/bench sets it), wrk and pgbench.
** Usage: build/bench/bench_http [SECONDS] */
#include <curl/curl.h>
#include <glib.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testdaemon.h"

#define STAFF 16

static char *config_yaml(void) {
  GString *g = g_string_new(
      "organization: {slug: bench, name: Bench}\n"
      "locations:\n"
      "  - slug: main\n"
      "    name: Main\n"
      "    timezone: America/New_York\n"
      "    rules:\n"
      "      - {day_of_week: [0, 1, 2, 3, 4, 5, 6], start: \"07:00\", end: \"21:00\"}\n"
      "staff:\n");
  for (int i = 0; i < STAFF; i++) g_string_append_printf(g, "  - {slug: s%02d, name: S%02d, locations: [main]}\n", i, i);
  g_string_append(g, "event_types:\n  - {slug: quick, title: Quick, duration: 15, published: true, horizon_days: 62, staff: [");
  for (int i = 0; i < STAFF; i++) g_string_append_printf(g, "%ss%02d", i ? ", " : "", i);
  g_string_append(g, "]}\n");
  return g_string_free(g, FALSE);
}

static char *run_capture(const char *cmd) {
  char *out = NULL;
  GError *e = NULL;
  if (!g_spawn_command_line_sync(cmd, &out, NULL, NULL, &e)) {
    fprintf(stderr, "%s: %s\n", cmd, e->message);
    g_error_free(e);
    return g_strdup("");
  }
  return out;
}

static void print_durability(struct sc_test_daemon *d) {
  PGconn *c = sc_test_db_connect(&d->db);
  char *v = sc_test_db_value(c, "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings"
                                " WHERE name IN ('fsync','synchronous_commit','wal_sync_method','full_page_writes','commit_delay')");
  printf("postgresql: %s\n", v);
  g_free(v);
  PQfinish(c);
}

static char *date_in(int days) {
  GDateTime *now = g_date_time_new_now_utc(), *d = g_date_time_add_days(now, days);
  char *s = g_date_time_format(d, "%Y-%m-%d");
  g_date_time_unref(d);
  g_date_time_unref(now);
  return s;
}

static long metric(struct sc_test_daemon *d, const char *key, const char *needle) {
  struct sc_test_resp r;
  sc_test_http(d, "GET", "/metrics", key, NULL, NULL, &r);
  char *p = strstr(r.body, needle);
  long v = p ? atol(p + strlen(needle)) : 0;
  sc_test_resp_free(&r);
  return v;
}

static void bench_availability(struct sc_test_daemon *d, const char *key, const char *admin, int secs) {
  char *from = date_in(2), *to = date_in(8);
  char *path = g_strdup_printf("/v1/availability?location=main&event_type=quick&from=%s&to=%s", from, to);
  struct sc_test_resp r;
  sc_test_http(d, "GET", path, key, NULL, NULL, &r);  /* warm the cache */
  size_t bytes = strlen(r.body);
  sc_test_resp_free(&r);
  long q0 = metric(d, admin, "sidecal_db_queries_total{route=\"/v1/availability\"} ");
  long h0 = metric(d, admin, "sidecal_availability_cache_hits_total{level=\"answer\"} ");
  long m0 = metric(d, admin, "sidecal_availability_cache_misses_total{level=\"answer\"} ");
  char *cmd = g_strdup_printf("wrk -t2 -c32 -d%ds --latency -H 'Authorization: Bearer %s' 'http://127.0.0.1:%d%s'",
                              secs, key, d->port, path);
  char *out = run_capture(cmd);
  long q1 = metric(d, admin, "sidecal_db_queries_total{route=\"/v1/availability\"} ");
  long h1 = metric(d, admin, "sidecal_availability_cache_hits_total{level=\"answer\"} ");
  long m1 = metric(d, admin, "sidecal_availability_cache_misses_total{level=\"answer\"} ");
  char *rps = strstr(out, "Requests/sec:"), *p99 = strstr(out, " 99%"), *errs = strstr(out, "Non-2xx");
  printf("(b) GET /v1/availability 7 days x %d staff (%zu-byte answer), 32 connections, %ds:\n", STAFF, bytes, secs);
  printf("    %.*s", rps ? (int)strcspn(rps, "\n") : 0, rps ? rps : "");
  printf("  p99%.*s", p99 ? (int)strcspn(p99 + 4, "\n") : 0, p99 ? p99 + 4 : "");
  printf("  %s\n", errs ? "NON-2XX RESPONSES" : "all 2xx");
  printf("    cache hit ratio %.4f (%ld hits, %ld misses); DB queries during the run: %ld\n",
         (h1 - h0 + m1 - m0) ? (double)(h1 - h0) / (double)(h1 - h0 + m1 - m0) : 0.0,
         h1 - h0, m1 - m0, q1 - q0);
  g_free(out);
  g_free(cmd);
  g_free(path);
  g_free(from);
  g_free(to);
}

struct booker {
  int port, staff, ok, failed;
  double secs;
  const char *day0;
};

static size_t sink(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

/* Books its own staff member's slots one after another: no contention, so
** the figure is the booking path's throughput, not lock waits. */
static void *book_loop(void *arg) {
  struct booker *b = arg;
  CURL *c = curl_easy_init();
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/public/bench/main/bookings", b->port);
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  GDateTime *t0 = g_date_time_new_from_iso8601(b->day0, NULL);
  struct timespec s0, s1;
  clock_gettime(CLOCK_MONOTONIC, &s0);
  for (int slot = 0;; slot++) {
    clock_gettime(CLOCK_MONOTONIC, &s1);
    if ((double)(s1.tv_sec - s0.tv_sec) + (double)(s1.tv_nsec - s0.tv_nsec) / 1e9 >= b->secs) break;
    /* 14 hours a day from 07:00 New York = 56 slots of 15 minutes. */
    GDateTime *t = g_date_time_add_minutes(t0, (slot / 56) * 1440 + (slot % 56) * 15);
    char *start = g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
    char *body = g_strdup_printf("{\"event_type\":\"quick\",\"start\":\"%s\",\"staff\":\"s%02d\","
                                 "\"client_name\":\"B\",\"client_email\":\"b@example.com\"}", start, b->staff);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    long st = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    if (st == 201) b->ok++;
    else b->failed++;
    g_free(body);
    g_free(start);
    g_date_time_unref(t);
  }
  g_date_time_unref(t0);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return NULL;
}

static double pgbench_tps(struct sc_test_daemon *d, const char *bindir, int secs, const char *name,
                          const char *sql) {
  char *script = g_strdup_printf("%s/%s.sql", d->dir, name);
  g_file_set_contents(script, sql, -1, NULL);
  /* Bookings send their availability notice after COMMIT (core/sql/007). */
  char *cmd = g_strdup_printf("env \"PGOPTIONS=-c sidecal.avail_notice=after_commit\" %s/pgbench -n -M prepared"
                              " -c %d -j 2 -T %d -f %s \"%s\"", bindir, STAFF, secs, script, d->db.url);
  char *out = run_capture(cmd);
  char *tps = strstr(out, "tps = ");
  double v = tps ? atof(tps + 6) : 0;
  if (!tps) fprintf(stderr, "pgbench %s: %s\n", name, out);
  g_free(out);
  g_free(cmd);
  g_free(script);
  return v;
}

/* The database work of a booking without HTTP, JSON, the engine or the
** daemon, in two steps: (1) the appointment's INSERT alone, autocommitted
** like the single-row insert above but into the appointments table (its
** exclusion constraint, GiST busy indexes, foreign keys and trigger): the
** ceiling no booking can pass; (2) the booking's transaction shape (lock,
** busy read, INSERT). So the (c) figure splits into table cost, transaction
** cost and daemon overhead. Slots are random in 2030 and later (no clash
** with the HTTP phase); a rare collision is skipped by ON CONFLICT DO
** NOTHING. */
static void pgbench_booking_work(struct sc_test_daemon *d, const char *bindir, int secs,
                                 double *insert_tps, double *shaped_tps) {
  PGconn *c = sc_test_db_connect(&d->db);
  char *ids = sc_test_db_value(c, "SELECT o.organization_id || ' ' || l.id || ' ' || e.id"
                                  " FROM organizations o JOIN locations l USING (organization_id)"
                                  " JOIN event_types e USING (organization_id) WHERE o.slug = 'bench'");
  PQfinish(c);
  char org[37], loc[37], et[37];
  if (sscanf(ids, "%36s %36s %36s", org, loc, et) != 3) g_error("bench ids: %s", ids);
  g_free(ids);
  char *insert = g_strdup_printf(
      "INSERT INTO appointments (organization_id, location_id, staff_id, event_type_id, starts_at,"
      " ends_at, timezone, title) SELECT '%s', '%s', s.id, '%s',"
      " timestamptz '2030-01-01' + :n * interval '15 min', timestamptz '2030-01-01' + (:n + 1) * interval '15 min',"
      " 'America/New_York', 'x' FROM staff s WHERE s.organization_id = '%s'"
      " AND s.slug = 's' || lpad(:client_id::text, 2, '0') ON CONFLICT DO NOTHING;\n", org, loc, et, org);
  char *alone = g_strdup_printf("\\set n random(1, 1000000000)\n%s", insert);
  char *shaped = g_strdup_printf(
      "\\set n random(1, 1000000000)\n"
      "BEGIN;\n"
      "SELECT pg_advisory_xact_lock(hashtextextended('%s/' || :client_id, 0)),"
      " set_config('sidecal.avail_notice', 'after_commit', true);\n"
      "SELECT count(*) FROM appointments WHERE organization_id = '%s' AND staff_id = (SELECT id FROM staff"
      " WHERE organization_id = '%s' AND slug = 's' || lpad(:client_id::text, 2, '0'))"
      " AND status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS')"
      " AND starts_at < timestamptz '2030-01-01' + (:n + 1) * interval '15 min'"
      " AND ends_at > timestamptz '2030-01-01' + :n * interval '15 min';\n"
      "%s"
      "COMMIT;\n", org, org, org, insert);
  *insert_tps = pgbench_tps(d, bindir, secs, "appointment_insert", alone);
  *shaped_tps = pgbench_tps(d, bindir, secs, "booking_shaped", shaped);
  g_free(shaped);
  g_free(alone);
  g_free(insert);
}

static void bench_bookings(struct sc_test_daemon *d, int secs) {
  if (getenv("BENCH_NO_NOTIFY") && *getenv("BENCH_NO_NOTIFY")) {  /* experiment: what NOTIFY costs commits */
    PGconn *c0 = sc_test_db_connect(&d->db);
    g_free(sc_test_db_value(c0, "ALTER TABLE appointments DISABLE TRIGGER appointments_notify_avail"));
    PQfinish(c0);
  }
  /* Day 3 at 07:00 New York (12:00Z in winter, 11:00Z in summer: read the
  ** first slot from availability instead of guessing). */
  char *day = date_in(3);
  char *path = g_strdup_printf("/v1/public/bench/main/availability?event_type=quick&from=%s&to=%s&staff=s00", day, day);
  struct sc_test_resp r;
  sc_test_http(d, "GET", path, NULL, NULL, NULL, &r);
  json_object *o = json_tokener_parse(r.body), *slots, *first, *start;
  json_object_object_get_ex(o, "slots", &slots);
  first = json_object_array_get_idx(slots, 0);
  json_object_object_get_ex(first, "start", &start);
  char *day0 = g_strdup(json_object_get_string(start));
  json_object_put(o);
  sc_test_resp_free(&r);
  struct booker b[STAFF];
  pthread_t t[STAFF];
  for (int i = 0; i < STAFF; i++) {
    b[i] = (struct booker){d->port, i, 0, 0, secs, day0};
    pthread_create(&t[i], NULL, book_loop, &b[i]);
  }
  int ok = 0, failed = 0;
  for (int i = 0; i < STAFF; i++) {
    pthread_join(t[i], NULL);
    ok += b[i].ok;
    failed += b[i].failed;
  }
  printf("(c) POST public bookings, %d clients, %ds: %.1f bookings/s (%d booked, %d failed)\n",
         STAFF, secs, ok / (double)secs, ok, failed);
  g_free(day0);
  g_free(path);
  g_free(day);
  /* pgbench on the same server, same client count, single-row inserts. */
  PGconn *c = sc_test_db_connect(&d->db);
  g_free(sc_test_db_value(c, "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), v text)"));
  PQfinish(c);
  char *script = g_strdup_printf("%s/insert.sql", d->dir);
  g_file_set_contents(script, "INSERT INTO bench_insert (v) VALUES ('x');\n", -1, NULL);
  char *bindir = run_capture("sh -c 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1'");
  bindir[strcspn(bindir, "\n")] = '\0';
  char *cmd = g_strdup_printf("%s/pgbench -n -c %d -j 2 -T %d -f %s \"%s\"", bindir, STAFF, secs, script, d->db.url);
  char *out = run_capture(cmd);
  char *tps = strstr(out, "tps = ");
  double pg = tps ? atof(tps + 6) : 0;
  printf("    pgbench single-row insert, %d clients: %.1f tps; ratio bookings/inserts = %.2f (target >= 0.5)\n",
         STAFF, pg, pg > 0 ? (ok / (double)secs) / pg : 0.0);
  double alone = 0, shaped = 0;
  pgbench_booking_work(d, bindir, secs, &alone, &shaped);
  double rate = ok / (double)secs;
  printf("    pgbench single-row INSERT into appointments (autocommit), %d clients: %.1f tps = %.2f of the"
         " single-row insert; ratio bookings/that = %.2f\n",
         STAFF, alone, pg > 0 ? alone / pg : 0.0, alone > 0 ? rate / alone : 0.0);
  printf("    pgbench booking-shaped transaction (lock, busy read, that INSERT), %d clients: %.1f tps;"
         " ratio bookings/that = %.2f\n",
         STAFF, shaped, shaped > 0 ? rate / shaped : 0.0);
  g_free(out);
  g_free(cmd);
  g_free(bindir);
  g_free(script);
}

static char *make_key(struct sc_test_daemon *d, const char *const *args) {
  char *out = NULL;
  if (sc_test_ctl(d, args, &out)) g_error("key create failed");
  out[strcspn(out, "\n")] = '\0';
  return out;
}

int main(int argc, char **argv) {
  int secs = argc > 1 ? atoi(argv[1]) : 10;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  char *yaml = config_yaml();
  const char *files[] = {"bench.yaml", yaml, NULL};
  struct sc_test_daemon d;
  sc_test_daemon_init(&d, files);
  /* The daemon's HTTP default (a thread per connection) unless BENCH_THREADS
  ** asks for an epoll pool of that size. */
  const char *threads = getenv("BENCH_THREADS");
  const char *extra[] = {"--pool", "16", threads ? "--threads" : NULL, threads, NULL};
  sc_test_daemon_start(&d, extra);
  const char *owner[] = {"key", "create", "--org", "bench", "--role", "agency_owner", NULL};
  const char *admin[] = {"key", "create", "--platform-admin", NULL};
  char *key = make_key(&d, owner), *akey = make_key(&d, admin);
  print_durability(&d);
  bench_availability(&d, key, akey, secs);
  bench_bookings(&d, secs);
  sc_test_daemon_signal_wait(&d, SIGTERM);
  sc_test_daemon_cleanup(&d);
  g_free(key);
  g_free(akey);
  g_free(yaml);
  curl_global_cleanup();
  return 0;
}
