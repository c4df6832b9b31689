/*
** Writing an appointment as one iCalendar resource for a PUT.
**
** Contract: cd_ics_build() returns a VCALENDAR (malloc'd text) with one
** VEVENT: the given UID, DTSTART/DTEND as local times of ev->timezone with
** its VTIMEZONE (TZID = the IANA name) when the event has a zone other than
** UTC, UTC times otherwise, DATE values for an all-day event, SUMMARY,
** DESCRIPTION, LOCATION, STATUS, and the host's marker as
** X-SIDECAL-MARKER. No ATTENDEE is written: a server with implicit
** scheduling (iCloud) would e-mail invitations. Returns NULL with why set
** for an unknown zone or an empty interval.
*/
#ifndef CALDAV_ICS_WRITE_H
#define CALDAV_ICS_WRITE_H

#include <sidecal/event.h>
#include <stddef.h>

char *cd_ics_build(const struct sidecal_event *ev, const char *uid, const char *marker,
                   int64_t now_utc, char *why, size_t why_size);

#endif
