/*
** WebDAV/CalDAV XML: the request bodies the connector sends and the
** parsing of 207 Multi-Status answers and <D:error> bodies, with libxml2
** and matched by namespace URI and local name (servers differ in prefixes;
** iCloud uses a default namespace and CDATA).
**
** Contract: cd_multistatus_parse() reads every <D:response> of a
** multistatus into plain strings (NULL when absent). Properties count only
** from a propstat whose status is 2xx. A body that is not a multistatus
** returns -1 with the reason in why. Bodies are built with every
** caller-supplied string XML-escaped.
*/
#ifndef CALDAV_DAV_XML_H
#define CALDAV_DAV_XML_H

#include <stddef.h>
#include <stdint.h>

struct cd_dav_response {
  char *href;            /* as sent (percent-encoded path or URL) */
  uint32_t status;       /* the response-level <D:status>, 0 when absent */
  char *etag;            /* D:getetag */
  char *calendar_data;   /* C:calendar-data */
  char *displayname;
  char *sync_token;      /* D:sync-token as a property */
  char *principal;       /* D:current-user-principal/D:href */
  char *home;            /* C:calendar-home-set/D:href (first) */
  int is_calendar;       /* resourcetype has C:calendar */
  int has_comp_set;      /* C:supported-calendar-component-set was given */
  int supports_vevent;   /* ... and lists VEVENT */
};

struct cd_multistatus {
  struct cd_dav_response *r;
  size_t n;
  char *sync_token;      /* top-level D:sync-token (sync-collection) */
};

int cd_multistatus_parse(const char *body, size_t len, struct cd_multistatus *out,
                         char *why, size_t why_size);
void cd_multistatus_free(struct cd_multistatus *ms);

/* 1 when body is a <D:error> (or any element) containing an element
** {ns}name, e.g. DAV: valid-sync-token. */
int cd_xml_has_element(const char *body, size_t len, const char *ns, const char *name);

/* Request bodies; g_free() the result. */
char *cd_body_propfind_principal(void);
char *cd_body_propfind_home(void);
char *cd_body_propfind_calendars(void);
char *cd_body_propfind_sync_token(void);
char *cd_body_sync_collection(const char *token);          /* "" on first sync */
char *cd_body_calendar_query(int64_t start_utc, int64_t end_utc, int with_data);
char *cd_body_multiget(const char *const *hrefs, size_t n);

#endif
