/*
** GHL appointmentStatus <-> sidecal appointment status, both ways, plus the
** three-valued sidecal_event.status the connector ABI carries today.
**
** GHL has six values (new, confirmed, cancelled, showed, noshow, invalid),
** sidecal seven (SCHEDULED, CONFIRMED, RESCHEDULED, CANCELLED, NO_SHOW,
** COMPLETED, IN_PROGRESS), so neither direction is a bijection; README.md
** has the table. Pure functions, no state: the tests link this file.
*/
#ifndef GHL_STATUS_H
#define GHL_STATUS_H

#include <stdint.h>

/* GHL value -> sidecal status name; NULL for a value GHL does not define. */
const char *ghl_status_to_ours(const char *ghl);
/* sidecal status name -> GHL value; NULL for an unknown name. */
const char *ghl_status_from_ours(const char *ours);
/* GHL value -> SIDECAL_EVENT_*; an unknown value reads as confirmed (the
** time is taken until we learn otherwise). */
uint32_t ghl_status_to_event(const char *ghl);
/* SIDECAL_EVENT_* -> GHL value written on create/update. */
const char *ghl_status_from_event(uint32_t status);

#endif
