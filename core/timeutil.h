/*
** Instants at the API boundary. Input must be RFC 3339 with an explicit
** offset ("2026-03-09T14:00:00-05:00" or "...Z"); a timestamp without one
** is refused, since guessing a zone is how double bookings start.
** Output is always UTC with Z.
*/
#ifndef SC_TIMEUTIL_H
#define SC_TIMEUTIL_H

#include <stdint.h>

#include "error.h"

/* Parses into Unix seconds (fractions truncated to microseconds in *usec
** when non-NULL). err names `field`. */
int sc_time_parse_rfc3339(const char *text, const char *field, int64_t *secs,
                          int *usec, struct sc_error *err);
/* "2026-03-09T14:00:00Z" into buf (>= 21 bytes). */
void sc_time_format_utc(int64_t secs, char *buf, size_t n);
/* A valid IANA zone name (GLib knows it; not a bare offset). */
int sc_tz_valid(const char *name);

#endif
