/*
** Appointment status: the design's seven values and the transitions API
** callers may make (docs/appointment-status.md holds the same table).
** Provider changes are applied even when they break these rules (the sync
** engine logs them); this table binds API callers only.
*/
#ifndef SC_APPOINTMENT_STATUS_H
#define SC_APPOINTMENT_STATUS_H

#include "error.h"

enum sc_appt_status {
  SC_APPT_SCHEDULED,
  SC_APPT_CONFIRMED,
  SC_APPT_RESCHEDULED,
  SC_APPT_CANCELLED,
  SC_APPT_NO_SHOW,
  SC_APPT_COMPLETED,
  SC_APPT_IN_PROGRESS,
  SC_APPT_STATUS_COUNT
};

const char *sc_appt_status_name(enum sc_appt_status s);
/* SC_OK and *out set, or SC_EINVAL naming `field` and the valid values. */
int sc_appt_status_parse(const char *text, const char *field,
                         enum sc_appt_status *out, struct sc_error *err);
/* SC_OK when an API caller may move from -> to (same status is a no-op and
** allowed), else SC_EINVAL: "status cannot change from X to Y". */
int sc_appt_status_check(enum sc_appt_status from, enum sc_appt_status to,
                         struct sc_error *err);
/* Statuses whose time is taken (they block availability). */
int sc_appt_status_blocks_time(enum sc_appt_status s);

#endif
