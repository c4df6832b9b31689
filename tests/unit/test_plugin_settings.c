/*
** Tests for core/plugin_settings.c: validating an instance's settings block
** against a connector's typed map, with the exact file:line:col messages,
** defaults, the typed getters, and checks of a connector's own table.
*/
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_settings.h"
#include "plugin_test.h"

static const struct sidecal_setting_def defs[] = {
  {"calendar_id", SIDECAL_SETTING_STRING, SIDECAL_SETTING_REQUIRED, NULL, "Calendar to read."},
  {"page_size", SIDECAL_SETTING_INT, 0, "50", "Events per request."},
  {"write_back", SIDECAL_SETTING_BOOL, 0, "false", "Push bookings to the provider."},
  {"scopes", SIDECAL_SETTING_STRING_LIST, 0, "[\"read\"]", "OAuth scopes."},
  {"status_map", SIDECAL_SETTING_MAP, 0, NULL, "Provider status -> sidecal status."},
  {"api_key", SIDECAL_SETTING_STRING,
   SIDECAL_SETTING_REQUIRED | SIDECAL_SETTING_SECRET, NULL, "Provider API key."},
};
#define N_DEFS (sizeof defs / sizeof defs[0])

static const char *key_names[] = {"api_key"};
static const char *key_refs[] = {"env:GHL_KEY"};

/* Validates a connector with the given inline settings and the api_key
** secret reference; returns the status, message in err. */
static int validate(const char *json, int with_secret, struct sidecal_settings **out,
                    struct sc_error *err) {
  struct sc_conf_connector *c = pt_connector("ghl", "acme.miami.ghl", json, key_names,
                                             key_refs, with_secret ? 1 : 0);
  struct sidecal_settings *before = *out;
  int rc = sc_plugin_settings_validate(defs, N_DEFS, "conf.d/acme.yaml",
                                       "locations[0].connectors[1]", c, out, err);
  if (rc) g_assert_true(*out == before); /* untouched on error */
  pt_connector_free(c);
  return rc;
}

static void assert_invalid(const char *json, int with_secret, const char *expected) {
  struct sidecal_settings *s = NULL;
  struct sc_error err;
  g_assert_cmpint(validate(json, with_secret, &s, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, expected);
}

static void test_valid_with_defaults(void) {
  struct sidecal_settings *s = NULL;
  struct sc_error err;
  g_assert_cmpint(validate("{\"calendar_id\": \"cal-1\", \"status_map\": {\"booked\": "
                           "\"confirmed\"}}", 1, &s, &err), ==, SC_OK);
  g_assert_cmpstr(sc_setting_string(s, "calendar_id"), ==, "cal-1");
  int64_t n = 0;
  g_assert_cmpint(sc_setting_int(s, "page_size", &n), ==, 0);
  g_assert_cmpint(n, ==, 50);
  int32_t b = 7;
  g_assert_cmpint(sc_setting_bool(s, "write_back", &b), ==, 0);
  g_assert_cmpint(b, ==, 0);
  g_assert_cmpuint(sc_setting_list_len(s, "scopes"), ==, 1);
  g_assert_cmpstr(sc_setting_list_item(s, "scopes", 0), ==, "read");
  g_assert_null(sc_setting_list_item(s, "scopes", 1));
  g_assert_cmpuint(sc_setting_map_len(s, "status_map"), ==, 1);
  g_assert_cmpstr(sc_setting_map_key(s, "status_map", 0), ==, "booked");
  g_assert_cmpstr(sc_setting_map_value(s, "status_map", "booked"), ==, "confirmed");
  g_assert_null(sc_setting_map_value(s, "status_map", "other"));
  /* Secrets never appear among the settings values. */
  g_assert_null(sc_setting_string(s, "api_key"));
  /* Wrong-typed or undeclared reads are absent. */
  g_assert_null(sc_setting_string(s, "page_size"));
  g_assert_cmpint(sc_setting_int(s, "nope", &n), ==, -1);
  sc_plugin_settings_free(s);
}

static void test_unknown_key_lists_valid_keys(void) {
  assert_invalid("{\"calendar_id\": \"c\", \"calender\": \"x\"}", 1,
                 "conf.d/acme.yaml:11:7: locations[0].connectors[1].settings.calender: unknown "
                 "setting; valid keys: calendar_id, page_size, write_back, scopes, status_map, "
                 "api_key");
}

static void test_missing_required(void) {
  assert_invalid("{\"page_size\": 10}", 1,
                 "conf.d/acme.yaml:8:5: locations[0].connectors[1].settings.calendar_id: "
                 "required string setting is missing");
  assert_invalid("{\"calendar_id\": \"c\"}", 0,
                 "conf.d/acme.yaml:8:5: locations[0].connectors[1].settings.api_key: "
                 "required secret string setting is missing");
}

static void test_wrong_types(void) {
  assert_invalid("{\"calendar_id\": \"c\", \"page_size\": \"fifty\"}", 1,
                 "conf.d/acme.yaml:11:7: locations[0].connectors[1].settings.page_size: "
                 "expected an integer, got a string");
  assert_invalid("{\"calendar_id\": 12}", 1,
                 "conf.d/acme.yaml:10:7: locations[0].connectors[1].settings.calendar_id: "
                 "expected a string, got an integer");
  assert_invalid("{\"calendar_id\": \"c\", \"write_back\": \"yes\"}", 1,
                 "conf.d/acme.yaml:11:7: locations[0].connectors[1].settings.write_back: "
                 "expected a boolean (true or false), got a string");
  assert_invalid("{\"calendar_id\": \"c\", \"scopes\": [\"a\", 2]}", 1,
                 "conf.d/acme.yaml:11:7: locations[0].connectors[1].settings.scopes: "
                 "expected a list of strings; item 1 is an integer");
  assert_invalid("{\"calendar_id\": \"c\", \"status_map\": {\"a\": [\"b\"]}}", 1,
                 "conf.d/acme.yaml:11:7: locations[0].connectors[1].settings.status_map: "
                 "expected a map of strings; \"a\" is a list");
  assert_invalid("{\"calendar_id\": \"c\", \"page_size\": 1.5}", 1,
                 "conf.d/acme.yaml:11:7: locations[0].connectors[1].settings.page_size: "
                 "expected an integer, got a decimal number");
}

static void test_inline_secret(void) {
  assert_invalid("{\"calendar_id\": \"c\", \"api_key\": \"sk_live_123\"}", 0,
                 "conf.d/acme.yaml:11:7: locations[0].connectors[1].settings.api_key: is a "
                 "secret: write a reference (env:NAME or file:PATH), not the value");
}

static void test_reference_for_plain_setting(void) {
  const char *names[] = {"calendar_id", "api_key"};
  const char *refs[] = {"env:CAL", "env:KEY"};
  struct sc_conf_connector *c = pt_connector("ghl", NULL, "{}", names, refs, 2);
  struct sidecal_settings *s = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_plugin_settings_validate(defs, N_DEFS, "conf.d/acme.yaml",
                                              "staff[2].connectors[0]", c, &s, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==,
                  "conf.d/acme.yaml:10:7: staff[2].connectors[0].settings.calendar_id: is not a "
                  "secret: write the value itself, not an env:/file: reference");
  g_assert_cmpstr(err.field, ==, "staff[2].connectors[0].settings.calendar_id");
  g_assert_null(s);
  pt_connector_free(c);
}

static void test_key_without_position(void) {
  /* A key the parser gave no position falls back to the connector's. */
  struct sc_conf_connector *c = pt_connector("ghl", NULL, "{\"calendar_id\": \"c\"}",
                                             key_names, key_refs, 1);
  json_object_object_add(c->settings, "extra", json_object_new_int(1));
  struct sidecal_settings *s = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_plugin_settings_validate(defs, N_DEFS, "f.yaml", "locations[0].connectors[0]",
                                              c, &s, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==,
                  "f.yaml:8:5: locations[0].connectors[0].settings.extra: unknown setting; valid "
                  "keys: calendar_id, page_size, write_back, scopes, status_map, api_key");
  pt_connector_free(c);
}

static void test_no_settings_declared(void) {
  struct sc_conf_connector *c = pt_connector("x", NULL, "{\"a\": 1}", NULL, NULL, 0);
  struct sidecal_settings *s = NULL;
  struct sc_error err;
  g_assert_cmpint(sc_plugin_settings_validate(NULL, 0, "f.yaml", "p", c, &s, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==,
                  "f.yaml:10:7: p.settings.a: unknown setting; this connector takes no settings");
  pt_connector_free(c);
}

static void test_defs_check(void) {
  char why[200];
  g_assert_cmpint(sc_setting_defs_check(defs, N_DEFS, why, sizeof why), ==, SC_OK);
  struct sidecal_setting_def bad_default[] = {
    {"n", SIDECAL_SETTING_INT, 0, "\"ten\"", "x"}};
  g_assert_cmpint(sc_setting_defs_check(bad_default, 1, why, sizeof why), ==, SC_EINVAL);
  g_assert_cmpstr(why, ==, "setting \"n\": default \"ten\" is not valid int");
  struct sidecal_setting_def dup[] = {
    {"a", SIDECAL_SETTING_INT, 0, NULL, "x"}, {"a", SIDECAL_SETTING_BOOL, 0, NULL, "y"}};
  g_assert_cmpint(sc_setting_defs_check(dup, 2, why, sizeof why), ==, SC_EINVAL);
  g_assert_cmpstr(why, ==, "setting \"a\" is declared twice");
  struct sidecal_setting_def secret_default[] = {
    {"k", SIDECAL_SETTING_STRING, SIDECAL_SETTING_SECRET, "\"x\"", "y"}};
  g_assert_cmpint(sc_setting_defs_check(secret_default, 1, why, sizeof why), ==, SC_EINVAL);
  g_assert_cmpstr(why, ==, "secret setting \"k\" must not have a default");
  struct sidecal_setting_def bad_type[] = {{"k", 9, 0, NULL, "y"}};
  g_assert_cmpint(sc_setting_defs_check(bad_type, 1, why, sizeof why), ==, SC_EINVAL);
  g_assert_cmpstr(why, ==, "setting \"k\" has unknown type 9");
  struct sidecal_setting_def bad_name[] = {{"Key", SIDECAL_SETTING_INT, 0, NULL, "y"}};
  g_assert_cmpint(sc_setting_defs_check(bad_name, 1, why, sizeof why), ==, SC_EINVAL);
  g_assert_cmpstr(why, ==, "setting 0 has an invalid name (want [a-z0-9_]+)");
}

static void test_describe_text(void) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  sc_plugin_settings_describe(defs, 2, f);
  fclose(f);
  g_assert_cmpstr(buf, ==,
                  "settings:\n"
                  "  calendar_id (string, required)\n      Calendar to read.\n"
                  "  page_size (int, optional, default 50)\n      Events per request.\n");
  free(buf);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/plugin_settings/valid_with_defaults", test_valid_with_defaults);
  g_test_add_func("/plugin_settings/unknown_key", test_unknown_key_lists_valid_keys);
  g_test_add_func("/plugin_settings/missing_required", test_missing_required);
  g_test_add_func("/plugin_settings/wrong_types", test_wrong_types);
  g_test_add_func("/plugin_settings/inline_secret", test_inline_secret);
  g_test_add_func("/plugin_settings/reference_for_plain", test_reference_for_plain_setting);
  g_test_add_func("/plugin_settings/key_without_position", test_key_without_position);
  g_test_add_func("/plugin_settings/no_settings_declared", test_no_settings_declared);
  g_test_add_func("/plugin_settings/defs_check", test_defs_check);
  g_test_add_func("/plugin_settings/describe", test_describe_text);
  return g_test_run();
}
