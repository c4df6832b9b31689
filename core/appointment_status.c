/*
** Appointment status names and the transition table for API callers.
*/
#include "appointment_status.h"

#include <string.h>

static const char *const names[SC_APPT_STATUS_COUNT] = {
  "SCHEDULED", "CONFIRMED", "RESCHEDULED", "CANCELLED", "NO_SHOW",
  "COMPLETED", "IN_PROGRESS",
};

#define S(x) (1u << SC_APPT_##x)
/* allowed[from] = set of `to`. CANCELLED and COMPLETED are final: a new
** booking is a new appointment, so history stays truthful. NO_SHOW may be
** undone (providers let staff unmark a no-show). */
static const unsigned allowed[SC_APPT_STATUS_COUNT] = {
  [SC_APPT_SCHEDULED] = S(CONFIRMED) | S(RESCHEDULED) | S(CANCELLED) |
                        S(NO_SHOW) | S(IN_PROGRESS),
  [SC_APPT_CONFIRMED] = S(RESCHEDULED) | S(CANCELLED) | S(NO_SHOW) |
                        S(IN_PROGRESS),
  [SC_APPT_RESCHEDULED] = S(CONFIRMED) | S(RESCHEDULED) | S(CANCELLED) |
                          S(NO_SHOW) | S(IN_PROGRESS),
  [SC_APPT_CANCELLED] = 0,
  [SC_APPT_NO_SHOW] = S(CONFIRMED) | S(COMPLETED),
  [SC_APPT_COMPLETED] = 0,
  [SC_APPT_IN_PROGRESS] = S(COMPLETED) | S(CANCELLED),
};
#undef S

const char *sc_appt_status_name(enum sc_appt_status s) {
  return (unsigned)s < SC_APPT_STATUS_COUNT ? names[s] : "UNKNOWN";
}

int sc_appt_status_parse(const char *text, const char *field,
                         enum sc_appt_status *out, struct sc_error *err) {
  for (int i = 0; text && i < SC_APPT_STATUS_COUNT; i++) {
    if (strcmp(text, names[i]) == 0) {
      *out = (enum sc_appt_status)i;
      return SC_OK;
    }
  }
  return sc_error_set(err, SC_EINVAL, field,
      "unknown status \"%s\"; expected one of SCHEDULED, CONFIRMED, "
      "RESCHEDULED, CANCELLED, NO_SHOW, COMPLETED, IN_PROGRESS",
      text ? text : "");
}

int sc_appt_status_check(enum sc_appt_status from, enum sc_appt_status to,
                         struct sc_error *err) {
  if ((unsigned)from >= SC_APPT_STATUS_COUNT || (unsigned)to >= SC_APPT_STATUS_COUNT)
    return sc_error_set(err, SC_EINVAL, "status", "unknown status");
  if (from == to || (allowed[from] & (1u << to))) return SC_OK;
  return sc_error_set(err, SC_EINVAL, "status",
                      "status cannot change from %s to %s", names[from], names[to]);
}

int sc_appt_status_blocks_time(enum sc_appt_status s) {
  return s == SC_APPT_SCHEDULED || s == SC_APPT_CONFIRMED ||
         s == SC_APPT_RESCHEDULED || s == SC_APPT_IN_PROGRESS;
}
