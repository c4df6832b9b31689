/*
** One thread holding one PostgreSQL connection in LISTEN, so every sidecald
** on a database learns of writes made by the others:
**   sidecal_avail    "<org> <staff|-> <location|->"  (triggers, migration 003)
**   sidecal_catalog  a catalog table changed          (config apply anywhere)
**   sidecal_auth     a key was revoked                (sidecalctl key revoke)
**   sidecal_reload   an admin asked every daemon to reload (sidecalctl reload)
**   sidecal_jobs     a sync job was queued (migration 005)
** Notifications that arrive together are handed over together, so a config
** apply that touches seven tables reloads the catalog once. When the
** connection drops, notifications may have been missed: on_reconnect is
** called, and the daemon then drops every cache.
*/
#ifndef SC_LISTENER_H
#define SC_LISTENER_H

#include "error.h"

struct sc_listener_handlers {
  void (*on_avail)(void *ud, const char *payload);
  void (*on_catalog)(void *ud);  /* once per batch */
  void (*on_auth)(void *ud);     /* once per batch */
  void (*on_reload)(void *ud);   /* once per batch */
  void (*on_jobs)(void *ud);     /* once per batch */
  void (*on_reconnect)(void *ud);
  void *ud;
};

struct sc_listener;

int sc_listener_start(const char *url, const struct sc_listener_handlers *h,
                      struct sc_listener **out, struct sc_error *err);
void sc_listener_stop(struct sc_listener *l);

#endif
