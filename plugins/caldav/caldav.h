/*
** The CalDAV connector's instance state, shared by its parts: settings
** read at create, the calendar URL found by discovery (guarded), and the
** sync cache.
*/
#ifndef CALDAV_CALDAV_H
#define CALDAV_CALDAV_H

#include <glib.h>
#include <sidecal/connector.h>

#include "dav_http.h"
#include "sync_cache.h"

#define CD_ICLOUD_URL "https://caldav.icloud.com/"
#define CD_MAX_OCCURRENCES 20000 /* per resource and call: a guard against FREQ=MINUTELY */

struct caldav {
  struct cd_conn conn;
  char *base_url;         /* where discovery starts, or NULL */
  char *calendar_name;    /* which calendar, by display name or path segment */
  int64_t max_window_s;   /* longest window expanded */

  GMutex lock;            /* guards calendar_url */
  char *calendar_url;     /* configured or discovered; ends with '/' */

  struct cd_cache cache;
};

extern const struct sidecal_host_api *cd_host;

/* Copies the calendar URL (discovering it on first use) into a new string. */
int32_t cd_calendar_url(struct caldav *cd, const struct sidecal_call_ctx *ctx, char **url,
                        struct sidecal_result *res);

#endif
