/* Tests for core/config*.c: conf.d/ parsing, validation messages (exact,
** with positions), defaults, expansions, secret references, config check. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testdb.h"

/* ---- helpers ---------------------------------------------------------- */

static char *make_dir(void) {
  GError *e = NULL;
  char *dir = g_dir_make_tmp("sidecal-config-XXXXXX", &e);
  g_assert_no_error(e);
  return dir;
}

static void write_in(const char *dir, const char *name, const char *text) {
  char *path = g_build_filename(dir, name, NULL);
  GError *e = NULL;
  g_file_set_contents(path, text, -1, &e);
  g_assert_no_error(e);
  g_free(path);
}

static void remove_dir(char *dir) {
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name(d))) {
    char *p = g_build_filename(dir, n, NULL);
    g_remove(p);
    g_free(p);
  }
  if (d) g_dir_close(d);
  g_rmdir(dir);
  g_free(dir);
}

/* Loads `yaml` as <tmp>/acme.yaml and asserts the load fails with exactly
** "<tmp>/acme.yaml:" + tail, and leaves the output untouched. */
static void expect_error(const char *yaml, const char *tail) {
  char *dir = make_dir();
  write_in(dir, "acme.yaml", yaml);
  struct sc_config cfg = {.orgs = (struct sc_conf_org *)&cfg, .n_orgs = 77};
  struct sc_error err;
  sc_error_clear(&err);
  int rc = sc_config_load_dir(dir, &cfg, &err);
  char *want = g_strdup_printf("%s/acme.yaml:%s", dir, tail);
  g_assert_cmpint(rc, ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, want);
  g_assert_true(cfg.orgs == (struct sc_conf_org *)&cfg);
  g_assert_cmpuint(cfg.n_orgs, ==, 77);
  g_free(want);
  remove_dir(dir);
}

/* Loads `yaml` as one organization and returns it (caller frees). */
static struct sc_config load_ok(const char *yaml) {
  char *dir = make_dir();
  write_in(dir, "acme.yaml", yaml);
  struct sc_config cfg = {0};
  struct sc_error err;
  sc_error_clear(&err);
  int rc = sc_config_load_dir(dir, &cfg, &err);
  if (rc) g_printerr("unexpected error: %s\n", err.message);
  g_assert_cmpint(rc, ==, SC_OK);
  g_assert_cmpuint(cfg.n_orgs, ==, 1);
  remove_dir(dir);
  return cfg;
}

#define ORG "organization:\n  slug: acme\n  name: Acme\n"
/* Lines 1-3 are ORG; a location "miami" starts at line 5. */
#define LOC                      \
  "locations:\n"                 \
  "  - slug: miami\n"            \
  "    name: Miami\n"            \
  "    timezone: America/New_York\n"
/* Lines 1-7 are ORG LOC; staff start at line 8. */
#define STAFF                    \
  "staff:\n"                     \
  "  - slug: dr-smith\n"         \
  "    name: Dr. Smith\n"        \
  "    locations: [miami]\n"

/* ---- bad configuration: exact messages ---------------------------------- */

static void test_bad_timezone(void) {
  expect_error(ORG
               "locations:\n"
               "  - slug: miami\n"
               "    name: Miami\n"
               "    timezone: America/Nwe_York\n",
               "7:15: locations[0].timezone: unknown time zone "
               "\"America/Nwe_York\"");
}

static void test_unknown_key(void) {
  expect_error(ORG LOC "    colour: red\n",
               "8:5: locations[0].colour: unknown key; valid keys: slug, "
               "name, timezone, branding, rules, overrides, blocks, "
               "connectors");
}

static void test_unknown_top_key(void) {
  expect_error(ORG "event-types: []\n",
               "4:1: event-types: unknown key; valid keys: organization, "
               "locations, staff, event_types");
}

static void test_missing_required_key(void) {
  expect_error(ORG
               "locations:\n"
               "  - slug: miami\n"
               "    timezone: America/New_York\n",
               "5:5: locations[0].name: required key missing");
}

static void test_wrong_type(void) {
  expect_error(ORG LOC
               "staff:\n"
               "  - slug: dr-smith\n"
               "    name: Dr. Smith\n"
               "    locations: miami\n",
               "11:16: staff[0].locations: expected a list, got a string");
}

static void test_duplicate_location(void) {
  expect_error(ORG LOC
               "  - slug: miami\n"
               "    name: Miami again\n"
               "    timezone: America/New_York\n",
               "8:11: locations[1].slug: duplicate location \"miami\" (first "
               "at line 5)");
}

static void test_duplicate_staff(void) {
  expect_error(ORG LOC STAFF
               "  - slug: dr-smith\n"
               "    name: Other Smith\n"
               "    locations: [miami]\n",
               "12:11: staff[1].slug: duplicate staff \"dr-smith\" (first at "
               "line 9)");
}

static void test_duplicate_org_across_files(void) {
  char *dir = make_dir();
  write_in(dir, "a.yaml", ORG);
  write_in(dir, "b.yaml", "# same org again\n" ORG);
  struct sc_config cfg = {0};
  struct sc_error err;
  int rc = sc_config_load_dir(dir, &cfg, &err);
  char *want = g_strdup_printf(
      "%s/b.yaml:3:9: organization.slug: duplicate organization \"acme\" "
      "(also in %s/a.yaml)",
      dir, dir);
  g_assert_cmpint(rc, ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, want);
  g_assert_null(cfg.orgs);
  g_free(want);
  remove_dir(dir);
}

static void test_rule_unknown_staff(void) {
  expect_error(ORG LOC
               "    rules:\n"
               "      - day_of_week: 1\n"
               "        start: \"09:00\"\n"
               "        end: \"17:00\"\n"
               "        staff: dr-smth\n" STAFF,
               "12:16: locations[0].rules[0].staff: unknown staff \"dr-smth\"");
}

static void test_rule_staff_elsewhere(void) {
  expect_error(ORG LOC
               "  - slug: london\n"
               "    name: London\n"
               "    timezone: Europe/London\n"
               "    rules:\n"
               "      - day_of_week: 1\n"
               "        start: \"09:00\"\n"
               "        end: \"17:00\"\n"
               "        staff: dr-smith\n" STAFF,
               "15:16: locations[1].rules[0].staff: staff \"dr-smith\" does "
               "not work at location \"london\"");
}

static void test_bad_hhmm(void) {
  expect_error(ORG LOC
               "    rules:\n"
               "      - day_of_week: [1, 2]\n"
               "        start: \"9:00\"\n"
               "        end: \"17:00\"\n",
               "10:16: locations[0].rules[0].start: expected a time HH:MM "
               "from 00:00 to 23:59, got \"9:00\"");
}

static void test_end_not_after_start(void) {
  expect_error(ORG LOC
               "    rules:\n"
               "      - day_of_week: 1\n"
               "        start: \"17:00\"\n"
               "        end: \"09:00\"\n",
               "11:14: locations[0].rules[0].end: end 09:00 is not after "
               "start 17:00");
}

static void test_bad_day_of_week(void) {
  expect_error(ORG LOC
               "    rules:\n"
               "      - day_of_week: [1, 7]\n"
               "        start: \"09:00\"\n"
               "        end: \"17:00\"\n",
               "9:26: locations[0].rules[0].day_of_week[1]: expected a day 0 "
               "(Sunday) to 6 (Saturday), got \"7\"");
}

static void test_bad_date(void) {
  expect_error(ORG LOC
               "    overrides:\n"
               "      - date: 2026-02-30\n"
               "        intervals: []\n",
               "9:15: locations[0].overrides[0].date: expected a date "
               "YYYY-MM-DD, got \"2026-02-30\"");
}

static void test_duplicate_override(void) {
  expect_error(ORG LOC
               "    overrides:\n"
               "      - date: 2026-12-24\n"
               "        intervals: []\n"
               "      - date: 2026-12-24\n"
               "        intervals: [{start: \"09:00\", end: \"12:00\"}]\n",
               "11:15: locations[0].overrides[1].date: duplicate "
               "location-wide override on 2026-12-24 (first at line 9)");
}

static void test_override_missing_intervals(void) {
  expect_error(ORG LOC
               "    overrides:\n"
               "      - date: 2026-12-24\n",
               "9:9: locations[0].overrides[0].intervals: required key "
               "missing (write [] for a day off)");
}

static void test_bad_rrule(void) {
  expect_error(ORG LOC
               "    blocks:\n"
               "      - start: 2026-03-09T12:00\n"
               "        end: 2026-03-09T13:00\n"
               "        rrule: FREQ=WEEKLY;BYDAY=XX\n",
               "11:16: locations[0].blocks[0].rrule: invalid RRULE "
               "\"FREQ=WEEKLY;BYDAY=XX\": libical cannot parse it");
}

static void test_block_end_before_start(void) {
  expect_error(ORG LOC
               "    blocks:\n"
               "      - start: 2026-03-09T12:00\n"
               "        end: 2026-03-09T11:30\n",
               "10:14: locations[0].blocks[0].end: end 2026-03-09T11:30:00 is "
               "not after start 2026-03-09T12:00:00");
}

static void test_exdates_without_rrule(void) {
  expect_error(ORG LOC
               "    blocks:\n"
               "      - start: 2026-03-09T12:00\n"
               "        end: 2026-03-09T13:00\n"
               "        exdates: [2026-03-11T12:00]\n",
               "11:18: locations[0].blocks[0].exdates: only allowed together "
               "with rrule");
}

static void test_staff_block_needs_timezone(void) {
  expect_error(ORG LOC STAFF
               "    blocks:\n"
               "      - start: 2026-06-15T00:00\n"
               "        end: 2026-06-18T00:00\n",
               "13:9: staff[0].blocks[0].timezone: required key missing");
}

static void test_duplicate_connector(void) {
  expect_error(ORG LOC
               "    connectors:\n"
               "      - plugin: ghl\n"
               "      - plugin: ghl\n",
               "10:17: locations[0].connectors[1].plugin: duplicate connector "
               "\"ghl\" for this location (first at line 9)");
}

static void test_inline_secret(void) {
  expect_error(ORG LOC
               "    connectors:\n"
               "      - plugin: ghl\n"
               "        settings:\n"
               "          location_id: abc123\n"
               "          refresh_token: 1//0gAbCdEf\n",
               "12:26: locations[0].connectors[0].settings.refresh_token: "
               "inline secret; write env:NAME or file:PATH");
}

static void test_inline_secret_any_case(void) {
  expect_error(ORG LOC STAFF
               "    connectors:\n"
               "      - plugin: caldav\n"
               "        settings: {url: \"https://dav.example/\", "
               "AppPassword: hunter2}\n",
               "14:62: staff[0].connectors[0].settings.AppPassword: inline "
               "secret; write env:NAME or file:PATH");
}

static void test_bad_env_reference(void) {
  expect_error(ORG LOC
               "    connectors:\n"
               "      - plugin: ghl\n"
               "        settings:\n"
               "          refresh_token: env:1BAD-NAME\n",
               "11:26: locations[0].connectors[0].settings.refresh_token: "
               "invalid secret reference \"env:1BAD-NAME\": NAME must match "
               "[A-Za-z_][A-Za-z0-9_]*");
}

static void test_empty_file_reference(void) {
  expect_error(ORG LOC
               "    connectors:\n"
               "      - plugin: ghl\n"
               "        settings: {api_key: \"file:\"}\n",
               "10:29: locations[0].connectors[0].settings.api_key: invalid "
               "secret reference \"file:\": PATH is empty");
}

static void test_bad_plugin_name(void) {
  expect_error(ORG LOC
               "    connectors:\n"
               "      - plugin: Google-Calendar\n",
               "9:17: locations[0].connectors[0].plugin: invalid plugin name "
               "\"Google-Calendar\" (use 1-63 of a-z, 0-9 and \"_\")");
}

static void test_event_type_unknown_staff(void) {
  expect_error(ORG LOC STAFF
               "event_types:\n"
               "  - slug: consult\n"
               "    title: Consultation\n"
               "    duration: 30\n"
               "    staff: [dr-smith, dr-jones]\n",
               "16:23: event_types[0].staff[1]: unknown staff \"dr-jones\"");
}

static void test_staff_unknown_location(void) {
  expect_error(ORG LOC
               "staff:\n"
               "  - slug: dr-smith\n"
               "    name: Dr. Smith\n"
               "    locations: [miami, orlando]\n",
               "11:24: staff[0].locations[1]: unknown location \"orlando\"");
}

static void test_duration_range(void) {
  expect_error(ORG
               "event_types:\n"
               "  - slug: consult\n"
               "    title: Consultation\n"
               "    duration: 0\n",
               "7:15: event_types[0].duration: must be from 1 to 1440, got 0");
}

static void test_duration_not_integer(void) {
  expect_error(ORG
               "event_types:\n"
               "  - slug: consult\n"
               "    title: Consultation\n"
               "    duration: half an hour\n",
               "7:15: event_types[0].duration: expected an integer, got "
               "\"half an hour\"");
}

static void test_bad_slug(void) {
  expect_error("organization:\n  slug: Acme Corp\n  name: Acme\n",
               "2:9: organization.slug: invalid slug (use 1-63 of a-z, 0-9 "
               "and \"-\", not starting with \"-\"): \"Acme Corp\"");
}

static void test_bad_colour(void) {
  expect_error(ORG LOC
               "    branding: {primary_color: blue}\n",
               "8:31: locations[0].branding.primary_color: expected a colour "
               "#RRGGBB, got \"blue\"");
}

static void test_duplicate_key(void) {
  expect_error(ORG LOC "    name: Miami Beach\n",
               "8:5: locations[0].name: duplicate key (first at line 6)");
}

static void test_yaml_syntax_error(void) {
  expect_error(ORG
               "locations:\n"
               "  - slug: miami\n"
               "   name: Miami\n",
               "6:4: YAML syntax error: did not find expected '-' indicator "
               "(while parsing a block collection that starts at line 5, "
               "column 3)");
}

static void test_tab_indentation(void) {
  expect_error("organization:\n  slug: acme\n\tname: Acme\n",
               "3:1: YAML syntax error: found a tab character that violates "
               "indentation (while scanning a plain scalar that starts at "
               "line 2, column 9)");
}

/* libyaml's reader reports a byte offset; the message still gives a line
** and column (the byte that broke the sequence). */
static void test_invalid_utf8(void) {
  expect_error("organization:\n  slug: acme\n  name: Caf\xe9 Ltd\n",
               "3:13: YAML syntax error: invalid trailing UTF-8 octet");
}

static void test_empty_file(void) {
  expect_error("# nothing here yet\n",
               "1:1: empty file; expected organization:, locations:, staff: "
               "and event_types:");
}

static void test_missing_organization(void) {
  expect_error("# forgot the organization\n" LOC,
               "2:1: organization: required key missing");
}

static void test_two_documents(void) {
  expect_error(ORG "---\n" ORG,
               "5:1: a second YAML document; write one organization per file");
}

/* A self-referencing alias must end in an error, not a stack overflow: the
** path shows the 33 levels walked before giving up. */
static void test_alias_cycle_in_settings(void) {
  GString *tail = g_string_new("11:17: locations[0].connectors[0].settings.loop");
  for (int i = 0; i < 33; i++) g_string_append(tail, "[0]");
  g_string_append(tail, ": nested more than 32 levels deep");
  expect_error(ORG LOC
               "    connectors:\n"
               "      - plugin: ghl\n"
               "        settings:\n"
               "          loop: &a [*a]\n",
               tail->str);
  g_string_free(tail, TRUE);
}

/* ---- good configuration ------------------------------------------------- */

static struct sc_config load_shipped(void) {
  char *dir = sc_test_source_path("conf.d");
  struct sc_config cfg = {0};
  struct sc_error err;
  sc_error_clear(&err);
  int rc = sc_config_load_dir(dir, &cfg, &err);
  if (rc) g_printerr("%s\n", err.message);
  g_assert_cmpint(rc, ==, SC_OK);
  g_free(dir);
  return cfg;
}

static const struct sc_conf_connector *find_connector(
    const struct sc_conf_connector *cs, size_t n, const char *plugin) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(cs[i].plugin, plugin)) return &cs[i];
  return NULL;
}

static void test_shipped_conf_d(void) {
  struct sc_config cfg = load_shipped();
  g_assert_cmpuint(cfg.n_orgs, ==, 2);
  const struct sc_conf_org *dd = &cfg.orgs[0];
  g_assert_cmpstr(dd->slug, ==, "digital-desk");
  g_assert_true(g_str_has_suffix(dd->file, "conf.d/example.yaml"));
  g_assert_cmpstr(cfg.orgs[1].slug, ==, "sunrise-wellness");

  /* three locations, three different zones */
  const struct sc_conf_location *miami = sc_config_find_location(dd, "miami");
  const struct sc_conf_location *london = sc_config_find_location(dd, "london");
  const struct sc_conf_location *bondi =
      sc_config_find_location(&cfg.orgs[1], "bondi");
  g_assert_nonnull(miami);
  g_assert_nonnull(london);
  g_assert_nonnull(bondi);
  g_assert_cmpstr(miami->timezone, ==, "America/New_York");
  g_assert_cmpstr(london->timezone, ==, "Europe/London");
  g_assert_cmpstr(bondi->timezone, ==, "Australia/Sydney");
  g_assert_cmpstr(json_object_get_string(json_object_object_get(
                      miami->branding, "primary_color")),
                  ==, "#0a7cff");

  const struct sc_conf_staff *lee = sc_config_find_staff(dd, "dr-lee");
  g_assert_nonnull(lee);
  g_assert_true(sc_config_staff_works_at(lee, "london"));
  g_assert_true(sc_config_staff_works_at(lee, "miami"));
  g_assert_cmpuint(lee->n_blocks, ==, 1);
  g_assert_cmpstr(lee->blocks[0].staff, ==, "dr-lee");
  g_assert_cmpstr(lee->blocks[0].timezone, ==, "Europe/Lisbon");

  const struct sc_conf_connector *ghl =
      find_connector(miami->connectors, miami->n_connectors, "ghl");
  g_assert_nonnull(ghl);
  g_assert_cmpstr(ghl->instance, ==, "digital-desk.miami.ghl");
  g_assert_cmpstr(ghl->location, ==, "miami");
  g_assert_null(ghl->staff);
  const struct sc_conf_connector *dav =
      find_connector(lee->connectors, lee->n_connectors, "caldav");
  g_assert_nonnull(dav);
  g_assert_cmpstr(dav->instance, ==, "digital-desk.staff.dr-lee.caldav");
  g_assert_cmpstr(dav->staff, ==, "dr-lee");
  g_assert_null(dav->location);
  sc_config_free(&cfg);
  g_assert_null(cfg.orgs);
  g_assert_cmpuint(cfg.n_orgs, ==, 0);
}

/* example.yaml must document every key the parser accepts. */
static void test_example_documents_every_key(void) {
  static const char *const keys[] = {
      "organization:", "locations:", "slug:", "name:", "timezone:",
      "branding:", "display_name:", "primary_color:", "logo_url:", "rules:",
      "day_of_week:", "start:", "end:", "staff:", "effective_from:",
      "effective_until:", "overrides:", "date:", "intervals:", "blocks:",
      "rrule:", "exdates:", "reason:", "connectors:", "plugin:", "settings:",
      "email:", "role:", "event_types:", "title:", "duration:", "interval:",
      "buffer_before:", "buffer_after:", "min_notice:", "horizon_days:",
      "daily_cap:", "published:", "price:", NULL};
  char *path = sc_test_source_path("conf.d/example.yaml");
  char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  for (const char *const *k = keys; *k; k++)
    if (!strstr(text, *k)) g_error("example.yaml does not show %s", *k);
  g_free(text);
  g_free(path);
}

static void test_day_list_expands(void) {
  struct sc_config cfg = load_ok(ORG LOC
                                 "    rules:\n"
                                 "      - day_of_week: [5, 1, 3]\n"
                                 "        start: \"09:00\"\n"
                                 "        end: \"24:00\"\n"
                                 "        effective_from: 2026-01-01\n"
                                 "      - day_of_week: 0\n"
                                 "        start: \"10:30\"\n"
                                 "        end: \"12:00\"\n"
                                 "        staff: dr-smith\n" STAFF);
  const struct sc_conf_location *l = &cfg.orgs[0].locations[0];
  g_assert_cmpuint(l->n_rules, ==, 4);
  int want_days[] = {1, 3, 5, 0};
  for (int i = 0; i < 3; i++) {
    g_assert_cmpint(l->rules[i].day_of_week, ==, want_days[i]);
    g_assert_cmpint(l->rules[i].start_min, ==, 540);
    g_assert_cmpint(l->rules[i].end_min, ==, 1440);
    g_assert_null(l->rules[i].staff);
    g_assert_cmpstr(l->rules[i].effective_from, ==, "2026-01-01");
    g_assert_null(l->rules[i].effective_until);
    g_assert_cmpint(l->rules[i].pos.line, ==, 9);
    g_assert_cmpint(l->rules[i].pos.col, ==, 9);
  }
  g_assert_cmpint(l->rules[3].day_of_week, ==, 0);
  g_assert_cmpint(l->rules[3].start_min, ==, 630);
  g_assert_cmpint(l->rules[3].end_min, ==, 720);
  g_assert_cmpstr(l->rules[3].staff, ==, "dr-smith");
  sc_config_free(&cfg);
}

static void test_defaults(void) {
  struct sc_config cfg = load_ok(ORG LOC
                                 "    blocks:\n"
                                 "      - start: 2026-03-09T12:00\n"
                                 "        end: 2026-03-09T13:00:30\n"
                                 "    overrides:\n"
                                 "      - date: 2026-12-25\n"
                                 "        intervals: []\n"
                                 "event_types:\n"
                                 "  - slug: consult\n"
                                 "    title: Consultation\n"
                                 "    duration: 40\n");
  const struct sc_conf_org *o = &cfg.orgs[0];
  const struct sc_conf_location *l = &o->locations[0];
  g_assert_cmpstr(json_object_to_json_string(l->branding), ==, "{ }");
  g_assert_cmpuint(l->n_rules, ==, 0);
  g_assert_cmpuint(l->n_connectors, ==, 0);
  g_assert_cmpuint(l->n_blocks, ==, 1);
  g_assert_cmpstr(l->blocks[0].start, ==, "2026-03-09T12:00:00");
  g_assert_cmpstr(l->blocks[0].end, ==, "2026-03-09T13:00:30");
  g_assert_cmpstr(l->blocks[0].timezone, ==, "America/New_York");
  g_assert_null(l->blocks[0].rrule);
  g_assert_null(l->blocks[0].staff);
  g_assert_null(l->blocks[0].reason);
  g_assert_cmpuint(l->blocks[0].n_exdates, ==, 0);
  g_assert_cmpuint(l->n_overrides, ==, 1);
  g_assert_cmpuint(l->overrides[0].n_intervals, ==, 0);
  g_assert_null(l->overrides[0].staff);
  const struct sc_conf_event_type *et = &o->event_types[0];
  g_assert_cmpint(et->duration, ==, 40);
  g_assert_cmpint(et->interval, ==, 40);
  g_assert_cmpint(et->buffer_before, ==, 0);
  g_assert_cmpint(et->buffer_after, ==, 0);
  g_assert_cmpint(et->min_notice, ==, 0);
  g_assert_cmpint(et->horizon_days, ==, 62);
  g_assert_cmpint(et->daily_cap, ==, 0);
  g_assert_cmpint(et->published, ==, 0);
  g_assert_null(et->price);
  g_assert_cmpuint(et->n_staff, ==, 0);
  g_assert_cmpuint(o->n_staff, ==, 0);
  sc_config_free(&cfg);
}

static void test_block_with_rrule_and_exdates(void) {
  struct sc_config cfg = load_ok(ORG LOC
                                 "    blocks:\n"
                                 "      - start: 2026-03-09T12:00\n"
                                 "        end: 2026-03-09T13:00\n"
                                 "        timezone: Europe/London\n"
                                 "        rrule: FREQ=WEEKLY;BYDAY=MO,WE\n"
                                 "        exdates: [2026-03-11T12:00, "
                                 "2026-03-16T12:00:00]\n"
                                 "        reason: Lunch\n"
                                 "        staff: dr-smith\n" STAFF);
  const struct sc_conf_block *b = &cfg.orgs[0].locations[0].blocks[0];
  g_assert_cmpstr(b->timezone, ==, "Europe/London");
  g_assert_cmpstr(b->rrule, ==, "FREQ=WEEKLY;BYDAY=MO,WE");
  g_assert_cmpuint(b->n_exdates, ==, 2);
  g_assert_cmpstr(b->exdates[0], ==, "2026-03-11T12:00:00");
  g_assert_cmpstr(b->exdates[1], ==, "2026-03-16T12:00:00");
  g_assert_cmpstr(b->reason, ==, "Lunch");
  g_assert_cmpstr(b->staff, ==, "dr-smith");
  sc_config_free(&cfg);
}

static void test_secret_refs_separated(void) {
  struct sc_config cfg = load_ok(ORG LOC
                                 "    connectors:\n"
                                 "      - plugin: ghl\n"
                                 "        settings:\n"
                                 "          location_id: \"abc123\"\n"
                                 "          refresh_token: env:GHL_TOKEN\n"
                                 "          webhook_secret: file:/run/wh\n"
                                 "          note: \"env:NOT_SECRET\"\n"
                                 "          page_size: 50\n"
                                 "          ratio: 0.5\n"
                                 "          enabled: true\n"
                                 "          zip: \"02134\"\n"
                                 "          scopes: [calendars, contacts]\n"
                                 "          nested: {token: inline-ok-here}\n");
  const struct sc_conf_connector *c = &cfg.orgs[0].locations[0].connectors[0];
  g_assert_cmpstr(c->instance, ==, "acme.miami.ghl");
  g_assert_cmpuint(c->n_secrets, ==, 3);
  g_assert_cmpstr(c->secrets[0].name, ==, "refresh_token");
  g_assert_cmpstr(c->secrets[0].ref, ==, "env:GHL_TOKEN");
  g_assert_cmpstr(c->secrets[1].name, ==, "webhook_secret");
  g_assert_cmpstr(c->secrets[1].ref, ==, "file:/run/wh");
  /* any string starting env:/file: is a reference, quoted or not */
  g_assert_cmpstr(c->secrets[2].name, ==, "note");
  g_assert_cmpstr(json_object_to_json_string_ext(c->settings,
                                                 JSON_C_TO_STRING_PLAIN),
                  ==,
                  "{\"location_id\":\"abc123\",\"page_size\":50,"
                  "\"ratio\":0.5,\"enabled\":true,\"zip\":\"02134\","
                  "\"scopes\":[\"calendars\",\"contacts\"],"
                  "\"nested\":{\"token\":\"inline-ok-here\"}}");
  g_assert_cmpuint(c->n_setting_pos, ==, 10);
  g_assert_cmpstr(c->setting_keys[1], ==, "refresh_token");
  g_assert_cmpint(c->setting_pos[1].line, ==, 12);
  g_assert_cmpint(c->setting_pos[1].col, ==, 11);
  sc_config_free(&cfg);
}

static void test_load_file_directly(void) {
  char *dir = make_dir();
  write_in(dir, "one.yaml", ORG);
  char *path = g_build_filename(dir, "one.yaml", NULL);
  struct sc_conf_org org;
  struct sc_error err;
  g_assert_cmpint(sc_config_load_file(path, &org, &err), ==, SC_OK);
  g_assert_cmpstr(org.file, ==, path);
  g_assert_cmpstr(org.name, ==, "Acme");
  g_assert_cmpuint(org.n_locations, ==, 0);
  sc_config_org_free(&org);
  g_assert_null(org.slug);
  g_free(path);
  path = g_build_filename(dir, "missing.yaml", NULL);
  g_assert_cmpint(sc_config_load_file(path, &org, &err), ==, SC_EIO);
  char *want = g_strdup_printf("%s: cannot open: No such file or directory",
                               path);
  g_assert_cmpstr(err.message, ==, want);
  g_free(want);
  g_free(path);
  remove_dir(dir);
}

static void test_only_yaml_files_in_name_order(void) {
  char *dir = make_dir();
  write_in(dir, "b.yaml", "organization: {slug: bravo, name: B}\n");
  write_in(dir, "a.yaml", "organization: {slug: alpha, name: A}\n");
  write_in(dir, "README.md", "not yaml\n");
  write_in(dir, ".c.yaml", "editor: swap file\n");
  write_in(dir, "d.yml", "organization: {slug: delta}\n");
  struct sc_config cfg;
  struct sc_error err;
  g_assert_cmpint(sc_config_load_dir(dir, &cfg, &err), ==, SC_OK);
  g_assert_cmpuint(cfg.n_orgs, ==, 2);
  g_assert_cmpstr(cfg.orgs[0].slug, ==, "alpha");
  g_assert_cmpstr(cfg.orgs[1].slug, ==, "bravo");
  sc_config_free(&cfg);
  remove_dir(dir);
}

/* ---- secret resolution -------------------------------------------------- */

static void test_resolve_env(void) {
  char *v = NULL;
  struct sc_error err;
  g_setenv("SIDECAL_TEST_SECRET", "s3cr3t-value", TRUE);
  g_assert_cmpint(sc_config_resolve_secret("env:SIDECAL_TEST_SECRET", &v, &err),
                  ==, SC_OK);
  g_assert_cmpstr(v, ==, "s3cr3t-value");
  free(v);
  g_unsetenv("SIDECAL_TEST_SECRET");
  g_assert_cmpint(sc_config_resolve_secret("env:SIDECAL_TEST_SECRET", &v, &err),
                  ==, SC_ENOTFOUND);
  g_assert_null(v);
  g_assert_cmpstr(err.message, ==,
                  "secret env:SIDECAL_TEST_SECRET: environment variable "
                  "SIDECAL_TEST_SECRET is not set");
  g_setenv("SIDECAL_TEST_SECRET", "", TRUE);
  g_assert_cmpint(sc_config_resolve_secret("env:SIDECAL_TEST_SECRET", &v, &err),
                  ==, SC_ENOTFOUND);
  g_assert_cmpstr(err.message, ==,
                  "secret env:SIDECAL_TEST_SECRET: environment variable "
                  "SIDECAL_TEST_SECRET is empty");
  g_unsetenv("SIDECAL_TEST_SECRET");
}

static void test_resolve_file(void) {
  char *dir = make_dir();
  write_in(dir, "token", "tok-123\n");
  write_in(dir, "empty", "\n");
  char *ref = g_strdup_printf("file:%s/token", dir);
  char *v = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_config_resolve_secret(ref, &v, &err), ==, SC_OK);
  g_assert_cmpstr(v, ==, "tok-123");
  free(v);
  g_free(ref);

  ref = g_strdup_printf("file:%s/empty", dir);
  g_assert_cmpint(sc_config_resolve_secret(ref, &v, &err), ==, SC_EINVAL);
  char *want = g_strdup_printf("secret %s: file is empty", ref);
  g_assert_cmpstr(err.message, ==, want);
  g_free(want);
  g_free(ref);

  ref = g_strdup_printf("file:%s/nope", dir);
  g_assert_cmpint(sc_config_resolve_secret(ref, &v, &err), ==, SC_EIO);
  want = g_strdup_printf("secret %s: cannot open %s/nope: No such file or "
                         "directory",
                         ref, dir);
  g_assert_cmpstr(err.message, ==, want);
  g_assert_null(v);
  g_free(want);
  g_free(ref);
  remove_dir(dir);
}

static void test_resolve_rejects_non_reference(void) {
  char *v = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_config_resolve_secret("ya29.live-token", &v, &err), ==,
                  SC_EINVAL);
  g_assert_null(v);
  g_assert_cmpstr(err.message, ==,
                  "not a secret reference; write env:NAME or file:PATH");
  g_assert_null(strstr(err.message, "ya29"));
  g_assert_cmpint(sc_config_resolve_secret("env:", &v, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==,
                  "invalid secret reference \"env:\": NAME must match "
                  "[A-Za-z_][A-Za-z0-9_]*");
}

static void test_secret_key_names(void) {
  g_assert_true(sc_config_secret_key_name("refresh_token"));
  g_assert_true(sc_config_secret_key_name("Client_Secret"));
  g_assert_true(sc_config_secret_key_name("APIKEY"));
  g_assert_true(sc_config_secret_key_name("smtp_password"));
  g_assert_true(sc_config_secret_key_name("private_key"));
  g_assert_false(sc_config_secret_key_name("location_id"));
  g_assert_false(sc_config_secret_key_name("username"));
}

/* ---- sidecalctl config check -------------------------------------------- */

static void test_cmd_check_ok(void) {
  if (g_test_subprocess()) {
    char *dir = sc_test_source_path("conf.d");
    char *argv[] = {"config", "check", dir, NULL};
    int rc = sc_cmd_config(3, argv);
    g_free(dir);
    exit(rc);
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
  g_test_trap_assert_stdout("ok: 2 organizations, 3 locations, 7 staff, 7 "
                            "event types, 4 connectors\n");
  g_test_trap_assert_stderr("");
}

static void test_cmd_check_bad(void) {
  if (g_test_subprocess()) {
    char *dir = g_strdup(g_getenv("SIDECAL_TEST_CONF_DIR"));
    char *argv[] = {"check", dir, NULL};
    int rc = sc_cmd_config_check(2, argv);
    g_free(dir);
    /* The exit status is the assertion: 2 means bad input. */
    exit(rc == 2 ? 0 : 10 + rc);
  }
  char *dir = make_dir();
  write_in(dir, "x.yaml", "organization:\n  slug: x\n  nmae: X\n");
  g_setenv("SIDECAL_TEST_CONF_DIR", dir, TRUE);
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed();
  g_test_trap_assert_stdout("");
  char *want = g_strdup_printf("%s/x.yaml:3:3: organization.nmae: unknown "
                               "key; valid keys: slug, name\n",
                               dir);
  g_test_trap_assert_stderr(want);
  g_free(want);
  remove_dir(dir);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/config/bad/timezone", test_bad_timezone);
  g_test_add_func("/config/bad/unknown_key", test_unknown_key);
  g_test_add_func("/config/bad/unknown_top_key", test_unknown_top_key);
  g_test_add_func("/config/bad/missing_required_key", test_missing_required_key);
  g_test_add_func("/config/bad/wrong_type", test_wrong_type);
  g_test_add_func("/config/bad/duplicate_location", test_duplicate_location);
  g_test_add_func("/config/bad/duplicate_staff", test_duplicate_staff);
  g_test_add_func("/config/bad/duplicate_org_across_files",
                  test_duplicate_org_across_files);
  g_test_add_func("/config/bad/rule_unknown_staff", test_rule_unknown_staff);
  g_test_add_func("/config/bad/rule_staff_elsewhere", test_rule_staff_elsewhere);
  g_test_add_func("/config/bad/hhmm", test_bad_hhmm);
  g_test_add_func("/config/bad/end_not_after_start", test_end_not_after_start);
  g_test_add_func("/config/bad/day_of_week", test_bad_day_of_week);
  g_test_add_func("/config/bad/date", test_bad_date);
  g_test_add_func("/config/bad/duplicate_override", test_duplicate_override);
  g_test_add_func("/config/bad/override_missing_intervals",
                  test_override_missing_intervals);
  g_test_add_func("/config/bad/rrule", test_bad_rrule);
  g_test_add_func("/config/bad/block_end_before_start",
                  test_block_end_before_start);
  g_test_add_func("/config/bad/exdates_without_rrule",
                  test_exdates_without_rrule);
  g_test_add_func("/config/bad/staff_block_needs_timezone",
                  test_staff_block_needs_timezone);
  g_test_add_func("/config/bad/duplicate_connector", test_duplicate_connector);
  g_test_add_func("/config/bad/inline_secret", test_inline_secret);
  g_test_add_func("/config/bad/inline_secret_any_case",
                  test_inline_secret_any_case);
  g_test_add_func("/config/bad/env_reference", test_bad_env_reference);
  g_test_add_func("/config/bad/empty_file_reference",
                  test_empty_file_reference);
  g_test_add_func("/config/bad/plugin_name", test_bad_plugin_name);
  g_test_add_func("/config/bad/event_type_unknown_staff",
                  test_event_type_unknown_staff);
  g_test_add_func("/config/bad/staff_unknown_location",
                  test_staff_unknown_location);
  g_test_add_func("/config/bad/duration_range", test_duration_range);
  g_test_add_func("/config/bad/duration_not_integer",
                  test_duration_not_integer);
  g_test_add_func("/config/bad/slug", test_bad_slug);
  g_test_add_func("/config/bad/colour", test_bad_colour);
  g_test_add_func("/config/bad/duplicate_key", test_duplicate_key);
  g_test_add_func("/config/bad/yaml_syntax", test_yaml_syntax_error);
  g_test_add_func("/config/bad/tab_indentation", test_tab_indentation);
  g_test_add_func("/config/bad/invalid_utf8", test_invalid_utf8);
  g_test_add_func("/config/bad/empty_file", test_empty_file);
  g_test_add_func("/config/bad/missing_organization",
                  test_missing_organization);
  g_test_add_func("/config/bad/two_documents", test_two_documents);
  g_test_add_func("/config/bad/alias_cycle_in_settings",
                  test_alias_cycle_in_settings);
  g_test_add_func("/config/good/shipped_conf_d", test_shipped_conf_d);
  g_test_add_func("/config/good/example_documents_every_key",
                  test_example_documents_every_key);
  g_test_add_func("/config/good/day_list_expands", test_day_list_expands);
  g_test_add_func("/config/good/defaults", test_defaults);
  g_test_add_func("/config/good/block_rrule_exdates",
                  test_block_with_rrule_and_exdates);
  g_test_add_func("/config/good/secret_refs_separated",
                  test_secret_refs_separated);
  g_test_add_func("/config/good/load_file_directly", test_load_file_directly);
  g_test_add_func("/config/good/yaml_files_in_name_order",
                  test_only_yaml_files_in_name_order);
  g_test_add_func("/config/secret/resolve_env", test_resolve_env);
  g_test_add_func("/config/secret/resolve_file", test_resolve_file);
  g_test_add_func("/config/secret/rejects_non_reference",
                  test_resolve_rejects_non_reference);
  g_test_add_func("/config/secret/key_names", test_secret_key_names);
  g_test_add_func("/config/cmd/check_ok", test_cmd_check_ok);
  g_test_add_func("/config/cmd/check_bad", test_cmd_check_bad);
  return g_test_run();
}
