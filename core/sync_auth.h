/*
** Credential refresh for connector instances, shared by the outbox and the
** scheduler.
**
** Contract: sc_sync_refresh() calls the connector's refresh_credentials
** while holding a transaction-scoped advisory lock named after the
** instance, so two daemons never spend one rotating refresh token at once;
** the connector stores the new token through host->secret_store_rotated,
** which commits it (core/secrets.c) before the call returns, i.e. before
** its first use. A connector without CREDENTIAL_REFRESH answers ERROR
** "credentials rejected and the connector cannot refresh them".
*/
#ifndef SC_SYNC_AUTH_H
#define SC_SYNC_AUTH_H

#include <sidecal/host.h>

#include "db.h"
#include "plugin_host.h"

int32_t sc_sync_refresh(struct sc_db_pool *pool, struct sc_plugin_instance *inst,
                        struct sidecal_result *res);

#endif
