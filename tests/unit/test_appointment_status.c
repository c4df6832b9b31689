/* Tests for core/appointment_status.c: every cell of the documented table. */
#include <glib.h>
#include <string.h>

#include "appointment_status.h"

/* The table of docs/appointment-status.md, written out independently:
** rows = from, columns = to, in enum order. 1 = allowed. */
static const int doc_table[SC_APPT_STATUS_COUNT][SC_APPT_STATUS_COUNT] = {
  /*              SCH CON RES CAN NOS COM INP */
  /* SCHEDULED */ {1,  1,  1,  1,  1,  0,  1},
  /* CONFIRMED */ {0,  1,  1,  1,  1,  0,  1},
  /* RESCHEDUL */ {0,  1,  1,  1,  1,  0,  1},
  /* CANCELLED */ {0,  0,  0,  1,  0,  0,  0},
  /* NO_SHOW   */ {0,  1,  0,  0,  1,  1,  0},
  /* COMPLETED */ {0,  0,  0,  0,  0,  1,  0},
  /* IN_PROGRE */ {0,  0,  0,  1,  0,  1,  1},
};

static void test_every_cell(void) {
  for (int f = 0; f < SC_APPT_STATUS_COUNT; f++) {
    for (int t = 0; t < SC_APPT_STATUS_COUNT; t++) {
      struct sc_error err = {0};
      int rc = sc_appt_status_check(f, t, &err);
      if (doc_table[f][t]) {
        g_assert_cmpint(rc, ==, SC_OK);
      } else {
        char *expect = g_strdup_printf("status cannot change from %s to %s",
            sc_appt_status_name(f), sc_appt_status_name(t));
        g_assert_cmpint(rc, ==, SC_EINVAL);
        g_assert_cmpstr(err.message, ==, expect);
        g_assert_cmpstr(err.field, ==, "status");
        g_free(expect);
      }
    }
  }
}

static void test_parse(void) {
  enum sc_appt_status s;
  struct sc_error err;
  for (int i = 0; i < SC_APPT_STATUS_COUNT; i++) {
    g_assert_cmpint(sc_appt_status_parse(sc_appt_status_name(i), "status", &s, &err), ==, SC_OK);
    g_assert_cmpint(s, ==, i);
  }
  g_assert_cmpint(sc_appt_status_parse("confirmed", "status", &s, &err), ==, SC_EINVAL);
  g_assert_cmpstr(err.message, ==, "unknown status \"confirmed\"; expected one of SCHEDULED, "
      "CONFIRMED, RESCHEDULED, CANCELLED, NO_SHOW, COMPLETED, IN_PROGRESS");
  g_assert_cmpint(sc_appt_status_parse(NULL, "status", &s, &err), ==, SC_EINVAL);
}

static void test_blocking_statuses(void) {
  const char *blocking = "SCHEDULED CONFIRMED RESCHEDULED IN_PROGRESS";
  for (int i = 0; i < SC_APPT_STATUS_COUNT; i++)
    g_assert_cmpint(sc_appt_status_blocks_time(i), ==,
                    strstr(blocking, sc_appt_status_name(i)) != NULL);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/appointment_status/every_cell", test_every_cell);
  g_test_add_func("/appointment_status/parse", test_parse);
  g_test_add_func("/appointment_status/blocking", test_blocking_statuses);
  return g_test_run();
}
