/*
** CalDAV discovery (RFC 6764, RFC 5397, RFC 4791 section 6.2): from a base
** URL to the calendar collection to sync.
**
** Contract: cd_discover() follows PROPFIND current-user-principal (on the
** base URL, else on /.well-known/caldav, following up to 5 redirects) ->
** calendar-home-set -> the home's members (Depth 1), and picks the calendar
** collection that supports VEVENT whose display name or last path segment
** equals `name`, or, with name NULL, the first by href. Every URL on the
** way must pass cd_url_allowed(). Returns SIDECAL_OK with *calendar_url
** (malloc'd, ending in '/'), or the result of the failing step.
*/
#ifndef CALDAV_DISCOVERY_H
#define CALDAV_DISCOVERY_H

#include "caldav.h"
#include "dav_xml.h"

int32_t cd_discover(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                    const char *base_url, const char *name, char **calendar_url,
                    struct sidecal_result *res);

/* PROPFIND url with body at depth; follows redirects and expects 207.
** *final_url (may be NULL) gets the URL that answered. */
int32_t cd_propfind(const struct cd_conn *c, const struct sidecal_call_ctx *ctx,
                    const char *url, const char *depth, const char *body,
                    struct cd_multistatus *ms, char **final_url, struct sidecal_result *res);

#endif
