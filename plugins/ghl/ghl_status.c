/* The GHL appointment status table (see ghl_status.h and README.md). */
#include "ghl_status.h"

#include <sidecal/event.h>
#include <stddef.h>
#include <string.h>

struct in_row {
  const char *ghl, *ours;
  uint32_t event;
};

/* showed means the client came: the appointment is done. invalid is GHL's
** "booked by mistake / spam": for us it no longer takes time. */
static const struct in_row inbound[] = {
  {"new", "SCHEDULED", SIDECAL_EVENT_TENTATIVE},
  {"confirmed", "CONFIRMED", SIDECAL_EVENT_CONFIRMED},
  {"cancelled", "CANCELLED", SIDECAL_EVENT_CANCELLED},
  {"showed", "COMPLETED", SIDECAL_EVENT_CONFIRMED},
  {"noshow", "NO_SHOW", SIDECAL_EVENT_CONFIRMED},
  {"invalid", "CANCELLED", SIDECAL_EVENT_CANCELLED},
};

/* GHL has no rescheduled or in-progress: a moved appointment is still
** booked (confirmed), a client in the chair has shown up (showed). */
static const struct {
  const char *ours, *ghl;
} outbound[] = {
  {"SCHEDULED", "new"},      {"CONFIRMED", "confirmed"}, {"RESCHEDULED", "confirmed"},
  {"CANCELLED", "cancelled"}, {"NO_SHOW", "noshow"},      {"COMPLETED", "showed"},
  {"IN_PROGRESS", "showed"},
};

#define N(a) (sizeof a / sizeof a[0])

const char *ghl_status_to_ours(const char *ghl) {
  for (size_t i = 0; ghl && i < N(inbound); i++)
    if (!strcmp(inbound[i].ghl, ghl)) return inbound[i].ours;
  return NULL;
}

const char *ghl_status_from_ours(const char *ours) {
  for (size_t i = 0; ours && i < N(outbound); i++)
    if (!strcmp(outbound[i].ours, ours)) return outbound[i].ghl;
  return NULL;
}

uint32_t ghl_status_to_event(const char *ghl) {
  for (size_t i = 0; ghl && i < N(inbound); i++)
    if (!strcmp(inbound[i].ghl, ghl)) return inbound[i].event;
  return SIDECAL_EVENT_CONFIRMED;
}

const char *ghl_status_from_event(uint32_t status) {
  switch (status) {
  case SIDECAL_EVENT_CANCELLED: return "cancelled";
  case SIDECAL_EVENT_TENTATIVE: return "new";
  default: return "confirmed";
  }
}
