/*
** Tests for core/slots_cli.c: the JSON path of `sidecalctl slots`, in
** process through sc_slots_run and through the built binary.
*/
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slots_cli.h"

/* The example request. */
static const char *const example =
    "{\n"
    "  \"timezone\": \"America/New_York\",\n"
    "  \"window_timezone\": \"Europe/London\",\n"
    "  \"from\": \"2026-03-08\", \"to\": \"2026-03-14\",\n"
    "  \"duration\": 30, \"interval\": 15,\n"
    "  \"buffer_before\": 0, \"buffer_after\": 0,\n"
    "  \"min_notice\": 0, \"now\": \"2026-03-01T00:00:00Z\",\n"
    "  \"rules\": [{\"day_of_week\": 1, \"start\": \"09:00\", \"end\": \"17:00\",\n"
    "             \"effective_from\": \"2026-01-01\", \"effective_until\": null}],\n"
    "  \"overrides\": [{\"date\": \"2026-03-10\", \"intervals\": [{\"start\": "
    "\"10:00\", \"end\": \"12:00\"}]}],\n"
    "  \"busy\": [{\"start\": \"2026-03-09T14:00:00Z\", \"end\": "
    "\"2026-03-09T15:00:00Z\"}],\n"
    "  \"blocks\": [{\"start\": \"2026-03-09T12:00:00\", \"end\": "
    "\"2026-03-09T13:00:00\",\n"
    "              \"timezone\": \"America/New_York\", \"rrule\": "
    "\"FREQ=WEEKLY;BYDAY=MO,WE\", \"exdates\": []}]\n"
    "}\n";

struct run {
  int status;
  char *out, *err;
};

static struct run run_text(const char *text) {
  struct run r = {0};
  size_t out_len = 0, err_len = 0;
  FILE *in = fmemopen((void *)text, strlen(text), "r");
  FILE *out = open_memstream(&r.out, &out_len);
  FILE *err = open_memstream(&r.err, &err_len);
  g_assert_nonnull(in);
  r.status = sc_slots_run(in, out, err);
  fclose(in);
  fclose(out);
  fclose(err);
  return r;
}

static void run_free(struct run *r) {
  free(r->out);
  free(r->err);
}

/* Appends {"start","end"} for starts first, first+step, ... last (UTC,
** minutes since midnight of the given date) with `dur`-minute slots. */
static void add_slots(GString *s, const char *date, int first, int last,
                      int step, int dur) {
  for (int m = first; m <= last; m += step) {
    if (s->str[s->len - 1] == '}') g_string_append_c(s, ',');
    g_string_append_printf(s,
                           "{\"start\":\"%sT%02d:%02d:00Z\",\"end\":\"%sT%02d:"
                           "%02d:00Z\"}",
                           date, m / 60, m % 60, date, (m + dur) / 60,
                           (m + dur) % 60);
  }
}

static void test_example(void) {
  /* New York is on EDT (-4) from 03-08. Monday 03-09 09-17 EDT = 13-21Z;
  ** busy 14-15Z; block Mon/Wed 12-13 EDT = 16-17Z. 30-minute slots every
  ** 15: 13:00-13:30 (last ends at busy start), 15:00-15:30 (ends at block
  ** start), 17:00-20:30. Tuesday 03-10 override 10-12 EDT = 14-16Z:
  ** 14:00-15:30. Wednesday's block has no rule under it. The London
  ** window [03-08 00:00Z, 03-15 00:00Z) holds them all. */
  GString *want = g_string_new("{\"slots\":[");
  add_slots(want, "2026-03-09", 13 * 60, 13 * 60 + 30, 15, 30);
  add_slots(want, "2026-03-09", 15 * 60, 15 * 60 + 30, 15, 30);
  add_slots(want, "2026-03-09", 17 * 60, 20 * 60 + 30, 15, 30);
  add_slots(want, "2026-03-10", 14 * 60, 15 * 60 + 30, 15, 30);
  g_string_append(want, "]}\n");
  struct run r = run_text(example);
  g_assert_cmpint(r.status, ==, 0);
  g_assert_cmpstr(r.err, ==, "");
  g_assert_cmpstr(r.out, ==, want->str);
  g_string_free(want, TRUE);
  run_free(&r);
}

static void test_offsets_and_defaults(void) {
  /* Busy given as 10:00-04:00 (= 14:00Z) with fractional seconds that widen
  ** it to 15:00:01Z; interval defaults to duration (60); window zone to
  ** the rules' zone. Monday 09-12 EDT = 13-16Z: 13 free, 14 busy, 15
  ** overlaps the extra second. */
  const char *doc =
      "{\"timezone\":\"America/New_York\",\"from\":\"2026-03-09\","
      "\"to\":\"2026-03-09\",\"duration\":60,\"now\":\"2026-03-01T00:00:00Z\","
      "\"rules\":[{\"day_of_week\":1,\"start\":\"09:00\",\"end\":\"12:00\"}],"
      "\"busy\":[{\"start\":\"2026-03-09T10:00:00-04:00\","
      "\"end\":\"2026-03-09T15:00:00.5Z\"}]}";
  struct run r = run_text(doc);
  g_assert_cmpint(r.status, ==, 0);
  g_assert_cmpstr(r.out, ==,
                  "{\"slots\":[{\"start\":\"2026-03-09T13:00:00Z\","
                  "\"end\":\"2026-03-09T14:00:00Z\"}]}\n");
  run_free(&r);
}

static void test_empty_and_clock_default(void) {
  /* Without "now" the system clock applies: a window in 2020 is all past. */
  struct run r = run_text(
      "{\"timezone\":\"UTC\",\"from\":\"2020-03-02\",\"to\":\"2020-03-02\","
      "\"duration\":30,\"rules\":[{\"day_of_week\":1,\"start\":\"09:00\","
      "\"end\":\"10:00\"}]}");
  g_assert_cmpint(r.status, ==, 0);
  g_assert_cmpstr(r.out, ==, "{\"slots\":[]}\n");
  run_free(&r);
  /* With "now" before it, the same day has two slots. */
  r = run_text(
      "{\"timezone\":\"UTC\",\"from\":\"2020-03-02\",\"to\":\"2020-03-02\","
      "\"now\":\"2020-01-01T00:00:00Z\",\"overrides\":[],\"busy\":[],"
      "\"blocks\":[],\"window_timezone\":null,"
      "\"duration\":30,\"rules\":[{\"day_of_week\":1,\"start\":\"09:00\","
      "\"end\":\"10:00\",\"effective_from\":null}]}");
  g_assert_cmpint(r.status, ==, 0);
  g_assert_cmpstr(r.out, ==,
                  "{\"slots\":[{\"start\":\"2020-03-02T09:00:00Z\",\"end\":"
                  "\"2020-03-02T09:30:00Z\"},{\"start\":\"2020-03-02T09:30:00Z\","
                  "\"end\":\"2020-03-02T10:00:00Z\"}]}\n");
  run_free(&r);
}

/* A valid base document with one key's value replaced (or added). */
static char *doc_with(const char *extra) {
  return g_strdup_printf(
      "{\"timezone\":\"UTC\",\"from\":\"2026-03-02\",\"to\":\"2026-03-08\","
      "\"duration\":30,\"now\":\"2026-03-01T00:00:00Z\"%s%s}",
      *extra ? "," : "", extra);
}

static void expect_bad(const char *text, const char *line) {
  struct run r = run_text(text);
  g_assert_cmpint(r.status, ==, 2);
  g_assert_cmpstr(r.out, ==, "");
  char *want = g_strdup_printf("%s\n", line);
  g_assert_cmpstr(r.err, ==, want);
  g_free(want);
  run_free(&r);
}

/* Same, for the base document plus `extra` members (later keys win). */
static void expect_bad_with(const char *extra, const char *line) {
  char *doc = doc_with(extra);
  expect_bad(doc, line);
  g_free(doc);
}

static void test_invalid_json(void) {
  expect_bad("{\"timezone\": \"UTC\",}", "$: invalid JSON at byte 19");
  expect_bad("{\"timezone\":", "$: invalid JSON at byte 12");
  expect_bad("{\"timezone\":\"UTC\"} x", "$: invalid JSON at byte 19");
  expect_bad("", "$: invalid JSON at byte 0");
  expect_bad("{}\n\n", "timezone: required");
  expect_bad("[1,2]", "$: expected an object");
}

static void test_unknown_keys(void) {
  expect_bad_with("\"colour\":1", "colour: unknown key");
  expect_bad_with("\"rules\":[{\"day_of_week\":1,\"start\":\"09:00\","
                  "\"end\":\"10:00\",\"weekday\":2}]",
                  "rules[0].weekday: unknown key");
  expect_bad_with("\"overrides\":[{\"date\":\"2026-03-03\",\"intervals\":"
                  "[{\"start\":\"09:00\",\"end\":\"10:00\",\"x\":0}]}]",
                  "overrides[0].intervals[0].x: unknown key");
  expect_bad_with("\"busy\":[{\"start\":\"2026-03-02T09:00:00Z\","
                  "\"end\":\"2026-03-02T10:00:00Z\",\"note\":\"\"}]",
                  "busy[0].note: unknown key");
  expect_bad_with("\"blocks\":[{\"start\":\"2026-03-02T09:00:00\","
                  "\"end\":\"2026-03-02T10:00:00\",\"title\":\"x\"}]",
                  "blocks[0].title: unknown key");
}

static void test_zones(void) {
  expect_bad("{\"timezone\":\"Mars/Base\",\"from\":\"2026-03-02\",\"to\":"
             "\"2026-03-02\",\"duration\":30}",
             "timezone: unknown time zone \"Mars/Base\"");
  expect_bad_with("\"window_timezone\":\"Europe/Lodnon\"",
                  "window_timezone: unknown time zone \"Europe/Lodnon\"");
  expect_bad_with("\"blocks\":[{\"start\":\"2026-03-02T09:00:00\","
                  "\"end\":\"2026-03-02T10:00:00\",\"timezone\":\"Nowhere\"}]",
                  "blocks[0].timezone: unknown time zone \"Nowhere\"");
}

static void test_bad_times(void) {
  const char *cases[][2] = {
      {"9:00", "rules[0].start: expected HH:MM"},
      {"09:60", "rules[0].start: expected HH:MM"},
      {"24:30", "rules[0].start: expected HH:MM"},
      {"24:00", "rules[0].start: must be between 00:00 and 23:59"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *extra = g_strdup_printf(
        "\"rules\":[{\"day_of_week\":1,\"start\":\"%s\",\"end\":\"10:00\"}]",
        cases[i][0]);
    expect_bad_with(extra, cases[i][1]);
    g_free(extra);
  }
  expect_bad_with("\"rules\":[{\"day_of_week\":1,\"start\":\"10:00\","
                  "\"end\":\"10:00\"}]",
                  "rules[0].end: must be after start");
  expect_bad_with("\"rules\":[{\"day_of_week\":7,\"start\":\"10:00\","
                  "\"end\":\"11:00\"}]",
                  "rules[0].day_of_week: must be 0 (Sunday) to 6");
  expect_bad_with("\"overrides\":[{\"date\":\"2026-03-03\",\"intervals\":"
                  "[{\"start\":\"12:00\",\"end\":\"11:00\"}]}]",
                  "overrides[0].intervals[0].end: must be after start");
  expect_bad_with("\"busy\":[{\"start\":\"2026-03-02T10:00:00Z\","
                  "\"end\":\"2026-03-02T10:00:00Z\"}]",
                  "busy[0].end: must be after start");
  expect_bad_with("\"busy\":[{\"start\":\"2026-03-02T10:00:00\","
                  "\"end\":\"2026-03-02T11:00:00Z\"}]",
                  "busy[0].start: expected an RFC 3339 date-time like "
                  "2026-03-09T13:00:00Z");
  expect_bad_with("\"now\":\"yesterday\"",
                  "now: expected an RFC 3339 date-time like "
                  "2026-03-09T13:00:00Z");
  expect_bad_with("\"blocks\":[{\"start\":\"2026-03-02T09:00:00Z\","
                  "\"end\":\"2026-03-02T10:00:00\"}]",
                  "blocks[0].start: expected a local date-time "
                  "YYYY-MM-DDTHH:MM:SS");
  expect_bad_with("\"blocks\":[{\"start\":\"2026-03-02T10:00:00\","
                  "\"end\":\"2026-03-02T09:00:00\"}]",
                  "blocks[0].end: must be after start");
  expect_bad_with("\"blocks\":[{\"start\":\"2026-03-02T09:00:00\","
                  "\"end\":\"2026-03-02T10:00:00\",\"rrule\":\"FREQ=NEVER\"}]",
                  "blocks[0].rrule: invalid RRULE");
  expect_bad_with("\"blocks\":[{\"start\":\"2026-03-02T09:00:00\","
                  "\"end\":\"2026-03-02T10:00:00\",\"exdates\":[\"2026-03-32T09:00:00\"]}]",
                  "blocks[0].exdates[0]: no such date-time");
}

static void test_bad_dates_and_window(void) {
  expect_bad("{\"timezone\":\"UTC\",\"from\":\"2026-3-2\",\"to\":\"2026-03-08\","
             "\"duration\":30}",
             "from: expected a date YYYY-MM-DD");
  expect_bad("{\"timezone\":\"UTC\",\"from\":\"2026-02-30\",\"to\":"
             "\"2026-03-08\",\"duration\":30}",
             "from: no such date");
  expect_bad("{\"timezone\":\"UTC\",\"from\":\"2026-03-09\",\"to\":"
             "\"2026-03-08\",\"duration\":30}",
             "to: must not be before from");
  expect_bad("{\"timezone\":\"UTC\",\"from\":\"2026-01-01\",\"to\":"
             "\"2027-01-02\",\"duration\":30}",
             "to: window is longer than 366 days");
  expect_bad("{\"timezone\":\"UTC\",\"from\":\"0001-01-01\",\"to\":"
             "\"0001-01-02\",\"duration\":30}",
             "from: must be between 1900-01-01 and 2199-12-31");
  expect_bad_with("\"rules\":[{\"day_of_week\":1,\"start\":\"10:00\","
                  "\"end\":\"11:00\",\"effective_until\":\"2026/03/01\"}]",
                  "rules[0].effective_until: expected a date YYYY-MM-DD");
  expect_bad_with("\"overrides\":[{\"date\":\"2026-03-10\",\"intervals\":[]},"
                  "{\"date\":\"2026-03-10\",\"intervals\":[]}]",
                  "overrides[1].date: duplicate override date 2026-03-10");
}

static void test_bad_numbers_and_shapes(void) {
  expect_bad_with("\"duration\":0", "duration: must be at least 1");
  expect_bad_with("\"interval\":0", "interval: must be at least 1");
  expect_bad_with("\"duration\":\"30\"", "duration: expected an integer");
  expect_bad_with("\"buffer_before\":-5", "buffer_before: must be at least 0");
  expect_bad_with("\"min_notice\":99999999999", "min_notice: must be at most 527040");
  expect_bad("{\"timezone\":\"UTC\",\"from\":\"2026-03-02\",\"to\":"
             "\"2026-03-08\"}",
             "duration: required");
  expect_bad_with("\"rules\":{}", "rules: expected an array");
  expect_bad_with("\"rules\":[[]]", "rules[0]: expected an object");
  expect_bad_with("\"rules\":[{\"start\":\"10:00\",\"end\":\"11:00\"}]",
                  "rules[0].day_of_week: required");
  expect_bad_with("\"overrides\":[{\"date\":\"2026-03-10\"}]",
                  "overrides[0].intervals: required");
}

/* ---- the built binary ---- */

static int run_binary(const char *input, const char *extra_arg, char **out,
                      char **err) {
  const char *root = g_getenv("SIDECAL_BUILD_ROOT");
  g_assert_nonnull(root);
  char *bin = g_build_filename(root, "core", "sidecalctl", NULL);
  char *path = NULL;
  GError *error = NULL;
  int fd = g_file_open_tmp("slots-XXXXXX.json", &path, &error);
  g_assert_no_error(error);
  g_assert_true(g_file_set_contents(path, input, -1, &error));
  close(fd);
  const char *argv[] = {"/bin/sh", "-c", "exec \"$0\" slots $2 < \"$1\"", bin,
                        path, extra_arg ? extra_arg : "", NULL};
  int wait_status = 0;
  g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL,
                             NULL, out, err, &wait_status, &error));
  g_assert_no_error(error);
  g_unlink(path);
  g_free(path);
  g_free(bin);
  g_assert_true(WIFEXITED(wait_status));
  return WEXITSTATUS(wait_status);
}

static void test_binary(void) {
  char *out, *err;
  struct run r = run_text(example);
  g_assert_cmpint(run_binary(example, NULL, &out, &err), ==, 0);
  g_assert_cmpstr(out, ==, r.out);
  g_assert_cmpstr(err, ==, "");
  run_free(&r);
  g_free(out);
  g_free(err);

  g_assert_cmpint(run_binary("{\"timezone\":\"UTC\",\"from\":\"2026-03-02\","
                             "\"to\":\"2026-03-02\",\"duration\":30,\"rules\":"
                             "[{\"day_of_week\":1,\"start\":\"9\",\"end\":"
                             "\"10:00\"}]}",
                             NULL, &out, &err),
                  ==, 2);
  g_assert_cmpstr(out, ==, "");
  g_assert_cmpstr(err, ==, "rules[0].start: expected HH:MM\n");
  g_free(out);
  g_free(err);

  g_assert_cmpint(run_binary("{", NULL, &out, &err), ==, 2);
  g_assert_cmpstr(out, ==, "");
  g_assert_cmpstr(err, ==, "$: invalid JSON at byte 1\n");
  g_free(out);
  g_free(err);

  g_assert_cmpint(run_binary("{}", "extra", &out, &err), ==, 2);
  g_assert_cmpstr(out, ==, "");
  g_assert_cmpstr(err, ==,
                  "slots: takes no arguments; reads one JSON document on "
                  "standard input\n");
  g_free(out);
  g_free(err);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/slots_cli/example", test_example);
  g_test_add_func("/slots_cli/offsets_and_defaults", test_offsets_and_defaults);
  g_test_add_func("/slots_cli/empty_and_clock_default",
                  test_empty_and_clock_default);
  g_test_add_func("/slots_cli/invalid_json", test_invalid_json);
  g_test_add_func("/slots_cli/unknown_keys", test_unknown_keys);
  g_test_add_func("/slots_cli/zones", test_zones);
  g_test_add_func("/slots_cli/bad_times", test_bad_times);
  g_test_add_func("/slots_cli/bad_dates_and_window", test_bad_dates_and_window);
  g_test_add_func("/slots_cli/bad_numbers_and_shapes",
                  test_bad_numbers_and_shapes);
  g_test_add_func("/slots_cli/binary", test_binary);
  return g_test_run();
}
