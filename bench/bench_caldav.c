/* Benchmark of the CalDAV connector against a real Radicale (issue 8):
**  - initial (full) sync of N events (default 2,000; one in ten a weekly
**    series in a VTIMEZONE) over a one-year window: seconds;
**  - incremental sync (sync-collection + calendar-multiget) after 10
**    changes made on the server (4 edits, 4 new, 2 deletions): ms, median
**    of 5 rounds.
** The connector is loaded through the plugin host as the daemon does.
** Needs `radicale` (scripts/install-deps --test).
** Usage: build/bench/bench_caldav [EVENTS] */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "plugin_host.h"
#include "plugin_settings.h"
#include "plugin_test.h"
#include "radicale.h"

#define PW "bench-secret"
#define YEAR_START 1798761600 /* 2027-01-01T00:00:00Z */
#define ROUNDS 5

static const char *tz_ny =
    "BEGIN:VTIMEZONE\nTZID:America/New_York\n"
    "BEGIN:DAYLIGHT\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nDTSTART:20070311T020000\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\nTZNAME:EDT\nEND:DAYLIGHT\n"
    "BEGIN:STANDARD\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nDTSTART:20071104T020000\n"
    "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\nTZNAME:EST\nEND:STANDARD\nEND:VTIMEZONE\n";

static struct rad_server rad;
static struct sc_plugin *plugin;
static long events_seen, deletions_seen;

static int32_t on_event(const struct sidecal_sink *s, const struct sidecal_event *ev) {
  (void)s, (void)ev;
  events_seen++;
  return 0;
}
static int32_t on_deleted(const struct sidecal_sink *s, const char *id) {
  (void)s, (void)id;
  deletions_seen++;
  return 0;
}
static void on_cursor(const struct sidecal_sink *s, const char *c) {
  g_free(s->host_data);
  ((struct sidecal_sink *)s)->host_data = g_strdup(c);
}

static gchar *vevent(int i, int edit) {
  int day = (i * 7) % 360, hour = 8 + i % 9;
  GDateTime *jan1 = g_date_time_new_utc(2027, 1, 1, 0, 0, 0);
  GDateTime *d = g_date_time_add_days(jan1, day);
  g_date_time_unref(jan1);
  gchar *date = g_date_time_format(d, "%Y%m%d");
  g_date_time_unref(d);
  gchar *v;
  if (i % 10 == 0)
    v = g_strdup_printf("BEGIN:VEVENT\nUID:ev-%d\nDTSTAMP:20270101T000000Z\n"
                        "DTSTART;TZID=America/New_York:%sT%02d0000\n"
                        "DTEND;TZID=America/New_York:%sT%02d3000\n"
                        "RRULE:FREQ=WEEKLY;COUNT=10\nSUMMARY:Series %d%s\nEND:VEVENT\n",
                        i, date, hour, date, hour, i, edit ? " (edited)" : "");
  else
    v = g_strdup_printf("BEGIN:VEVENT\nUID:ev-%d\nDTSTAMP:20270101T000000Z\n"
                        "DTSTART:%sT%02d0000Z\nDTEND:%sT%02d4500Z\nSUMMARY:Event %d%s\n"
                        "END:VEVENT\n", i, date, hour, date, hour, i, edit ? " (edited)" : "");
  g_free(date);
  return v;
}

static long put(const char *path, const char *body) {
  struct rad_req r = {.method = "PUT", .path = path, .user = "bench", .password = PW,
                      .content_type = "text/calendar; charset=utf-8", .body = body,
                      .timeout_ms = 600000};
  return rad_http(&rad, &r, NULL);
}

static long put_event(int i, int edit) {
  gchar *ev = vevent(i, edit);
  gchar *body = g_strdup_printf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//bench//EN\n%s%s"
                                "END:VCALENDAR\n", i % 10 == 0 ? tz_ny : "", ev);
  gchar *path = g_strdup_printf("/bench/cal/ev-%d.ics", i);
  long s = put(path, body);
  g_free(path);
  g_free(body);
  g_free(ev);
  return s;
}

/* Radicale takes a whole VCALENDAR PUT on a collection and splits it by UID. */
static void upload(int n) {
  GString *b = g_string_new("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//bench//EN\n");
  g_string_append(b, tz_ny);
  for (int i = 0; i < n; i++) {
    gchar *v = vevent(i, 0);
    g_string_append(b, v);
    g_free(v);
  }
  g_string_append(b, "END:VCALENDAR\n");
  long s = put("/bench/cal/", b->str);
  g_string_free(b, TRUE);
  if (s != 201) g_error("uploading the calendar: HTTP %ld", s);
}

static int secret_read(void *ud, const char *instance, const char *key, const char *ref,
                       char **value, struct sc_error *err) {
  (void)ud, (void)instance, (void)key;
  return sc_config_resolve_secret(ref, value, err);
}

static double now_ms(void) { return (double)g_get_monotonic_time() / 1000.0; }

/* CPU time of this process (the connector's parsing and expansion; the
** rest of the wall time is the server and the network). */
static double cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2000;
  if (n < 20) n = 20;
  if (!g_getenv("SIDECAL_BUILD_ROOT")) {
    gchar *dir = g_path_get_dirname(argv[0]);
    gchar *root = g_build_filename(dir, "..", NULL);
    g_setenv("SIDECAL_BUILD_ROOT", root, TRUE);
    g_free(root);
    g_free(dir);
  }
  struct pt_dirs dirs;
  pt_dirs_init(&dirs);
  pt_stage(&dirs, "plugins/caldav/caldav.so", "caldav", 0755);
  struct sc_error err;
  if (sc_plugin_load(dirs.plugins, "caldav", dirs.cache, &plugin, &err)) g_error("%s", err.message);
  const char *users[] = {"bench:" PW};
  char why[4096];
  int rc = rad_start(&rad, users, 1, why, sizeof why);
  if (rc) g_error("%s", rc > 0 ? "radicale is not installed" : why);

  double t0 = now_ms();
  upload(n);
  printf("radicale %s: %d events uploaded in %.1f s\n", rad.base_url, n, (now_ms() - t0) / 1000);

  g_setenv("SC_BENCH_CALDAV_PW", PW, TRUE);
  const char *names[] = {"password"}, *refs[] = {"env:SC_BENCH_CALDAV_PW"};
  gchar *json = g_strdup_printf("{\"base_url\": \"%s\", \"username\": \"bench\"}", rad.base_url);
  struct sc_conf_connector *c = pt_connector("caldav", "bench.staff.s.caldav", json, names, refs, 1);
  struct sidecal_settings *s = NULL;
  static const struct sc_plugin_secrets secrets = {secret_read, NULL, NULL};
  struct sc_plugin_instance *inst = NULL;
  struct sc_plugin_instance_spec spec = {.name = c->instance, .organization = "bench",
                                         .staff = "s", .secrets = c->secrets,
                                         .n_secrets = c->n_secrets, .secret_store = &secrets};
  if (sc_plugin_settings_validate(plugin->settings, plugin->n_settings, "bench", "c", c, &s, &err) ||
      sc_plugin_instance_create(plugin, &spec, s, &inst, &err))
    g_error("%s", err.message);

  struct sidecal_sink sink = {.struct_size = sizeof sink, .event = on_event,
                              .deleted = on_deleted, .cursor = on_cursor};
  struct sidecal_window w = {YEAR_START, YEAR_START + 365 * 86400};
  struct sc_plugin_call call;
  /* Discovery happens once per instance; it is not part of a sync. */
  sc_plugin_call_init(inst, &call, "bench", 0);
  struct sidecal_window tiny = {YEAR_START, YEAR_START + 1};
  plugin->desc.list_events(inst->state, &call.ctx, &tiny, NULL, &sink, &call.res);

  events_seen = 0;
  sc_plugin_call_init(inst, &call, "bench", 0);
  t0 = now_ms();
  double c0 = cpu_ms();
  rc = plugin->desc.list_events(inst->state, &call.ctx, &w, NULL, &sink, &call.res);
  double full = now_ms() - t0, full_cpu = cpu_ms() - c0;
  if (rc) g_error("full sync: %s", call.res.message);
  printf("initial sync: %d resources, %ld occurrences reported in %.2f s (connector CPU %.0f ms)\n",
         n, events_seen, full / 1000, full_cpu);

  double inc[ROUNDS];
  int next_new = n;
  for (int round = 0; round < ROUNDS; round++) {
    for (int k = 0; k < 4; k++) put_event(round * 40 + k * 10 + 1, 1); /* edits */
    for (int k = 0; k < 4; k++) put_event(next_new++, 0);              /* new */
    for (int k = 0; k < 2; k++) {                                      /* deletions */
      gchar *path = g_strdup_printf("/bench/cal/ev-%d.ics", n - 1 - round * 2 - k);
      struct rad_req r = {.method = "DELETE", .path = path, .user = "bench", .password = PW};
      if (rad_http(&rad, &r, NULL) != 200) g_error("delete %s failed", path);
      g_free(path);
    }
    events_seen = deletions_seen = 0;
    gchar *cursor = g_strdup(sink.host_data);
    sc_plugin_call_init(inst, &call, "bench", 0);
    t0 = now_ms();
    c0 = cpu_ms();
    rc = plugin->desc.list_events(inst->state, &call.ctx, &w, cursor, &sink, &call.res);
    inc[round] = now_ms() - t0;
    if (rc) g_error("incremental sync: %s", call.res.message);
    printf("incremental round %d: %ld events, %ld deletions in %.1f ms (connector CPU %.1f ms)\n",
           round + 1, events_seen, deletions_seen, inc[round], cpu_ms() - c0);
    g_free(cursor);
  }
  qsort(inc, ROUNDS, sizeof inc[0], cmp_double);
  printf("incremental sync after 10 changes: median %.1f ms (min %.1f, max %.1f)\n",
         inc[ROUNDS / 2], inc[0], inc[ROUNDS - 1]);

  g_free(sink.host_data);
  sc_plugin_instance_destroy(inst);
  pt_connector_free(c);
  g_free(json);
  rad_stop(&rad);
  sc_plugin_free(plugin, 1);
  pt_dirs_free(&dirs);
  return 0;
}
