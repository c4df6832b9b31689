/* Tests for core/error.c: the error struct contract. */
#include <glib.h>
#include <string.h>

#include "error.h"

static void test_set_returns_code(void) {
  struct sc_error err;
  int rc = sc_error_set(&err, SC_EINVAL, "rules[0].start", "expected %s", "HH:MM");
  g_assert_cmpint(rc, ==, SC_EINVAL);
  g_assert_cmpint(err.code, ==, SC_EINVAL);
  g_assert_cmpstr(err.field, ==, "rules[0].start");
  g_assert_cmpstr(err.message, ==, "expected HH:MM");
}

static void test_null_error_is_allowed(void) {
  g_assert_cmpint(sc_error_set(NULL, SC_EDB, NULL, "x"), ==, SC_EDB);
}

static void test_long_message_truncates(void) {
  struct sc_error err;
  char big[4000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  sc_error_set(&err, SC_EIO, NULL, "%s", big);
  g_assert_cmpuint(strlen(err.message), ==, sizeof err.message - 1);
  g_assert_cmpstr(err.field, ==, "");
}

static void test_status_names(void) {
  g_assert_cmpstr(sc_status_name(SC_OK), ==, "ok");
  g_assert_cmpstr(sc_status_name(SC_ECRYPTO), ==, "crypto");
  g_assert_cmpstr(sc_status_name(-999), ==, "internal");
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/error/set_returns_code", test_set_returns_code);
  g_test_add_func("/error/null_error", test_null_error_is_allowed);
  g_test_add_func("/error/long_message_truncates", test_long_message_truncates);
  g_test_add_func("/error/status_names", test_status_names);
  return g_test_run();
}
