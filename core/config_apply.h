/*
** Applies a parsed conf.d/ configuration (core/config.h) to PostgreSQL.
**
** Idempotent: organizations, locations, staff and event types are upserted
** by slug and rows whose content did not change are left untouched (same
** ids, same updated_at). Config-owned rules, overrides and blocks
** (source = 'config') are synchronised as sets, keeping the ids of rows
** that stay; API-created ones are never touched. What disappeared from the
** config is deactivated (active = false), never deleted, so no appointment
** is lost. Secrets referenced by connectors are resolved and seeded through
** sc_secret_seed(); an unresolvable reference is logged and leaves the
** stored secret as it was.
**
** Everything happens in one platform-admin transaction on the given
** application-role connection: on any error nothing changes.
*/
#ifndef SC_CONFIG_APPLY_H
#define SC_CONFIG_APPLY_H

#include <libpq-fe.h>

#include "config.h"
#include "crypto.h"
#include "error.h"

struct sc_apply_stats {
  int organizations;
  int locations;
  int staff;
  int event_types;
  int connectors;
  int secrets_written;
  int secrets_unresolved;
  int deactivated;   /* organizations, locations, staff, event types, connectors */
};

int sc_config_apply(PGconn *conn, const struct sc_config *cfg,
                    const struct sc_keyring *kr, struct sc_apply_stats *stats,
                    struct sc_error *err);

#endif
