/*
** Reading one CalDAV resource (a VCALENDAR with one UID: a VEVENT, or a
** recurring master with its RECURRENCE-ID overrides) into the occurrences
** that overlap a window, with libical doing the time-zone and recurrence
** work (VTIMEZONE, DATE events, RRULE/RDATE, EXDATE, overrides).
**
** Contract: cd_ics_expand() parses ics and appends to *out every
** occurrence whose [start, end) overlaps [win_start, win_end), at most
** max_occ. Ids: the href for a resource holding one non-recurring VEVENT;
** "<href>#<original start as UTC iCalendar time>" for occurrences of a
** series, so a moved occurrence keeps its id. An occurrence replaced by an
** override, or excluded by EXDATE, is not reported by the master.
** Returns 0, or -1 with the reason in why when ics is not iCalendar.
*/
#ifndef CALDAV_ICS_READ_H
#define CALDAV_ICS_READ_H

#include <stddef.h>
#include <stdint.h>

struct cd_occ {
  char *id;
  int64_t start, end;        /* UTC seconds, end exclusive */
  uint32_t all_day;
  uint32_t status;           /* SIDECAL_EVENT_* */
  int transparent;           /* TRANSP:TRANSPARENT: does not block time */
  char *tzid;                /* TZID of DTSTART or NULL */
  char *title, *description, *location;
  int64_t last_modified;     /* LAST-MODIFIED, else DTSTAMP, else 0 */
};

struct cd_occs {
  struct cd_occ *v;
  size_t n, cap;
  char *marker;              /* X-SIDECAL-MARKER of the resource, or NULL */
};

#define CD_MARKER_PROPERTY "X-SIDECAL-MARKER"

int cd_ics_expand(const char *href, const char *ics, int64_t win_start, int64_t win_end,
                  size_t max_occ, struct cd_occs *out, char *why, size_t why_size);
void cd_occs_clear(struct cd_occs *o);

/* The X-SIDECAL-MARKER value of ics (malloc'd), or NULL. */
char *cd_ics_marker(const char *ics);

#endif
