/*
** Credential refresh under a per-instance advisory lock (see sync_auth.h).
*/
#include "sync_auth.h"

static const struct sc_tenant platform = {.org_id = "", .platform_admin = 1};

int32_t sc_sync_refresh(struct sc_db_pool *pool, struct sc_plugin_instance *inst,
                       struct sidecal_result *res) {
  if (!(inst->plugin->desc.capabilities & SIDECAL_CAP_CREDENTIAL_REFRESH))
    return sidecal_error(res, "credentials rejected and the connector cannot refresh them");
  PGconn *c = sc_db_acquire(pool);
  struct sc_error err;
  const char *p[1] = {inst->name};
  int rc = sc_db_begin(c, &platform, &err);
  if (!rc) rc = sc_db_exec(c, "SELECT pg_advisory_xact_lock(hashtextextended('refresh/' || $1, 0))",
                           1, p, NULL, &err);
  int32_t code;
  if (rc) {
    code = sidecal_retry(res, 0, err.message);
  } else {
    struct sc_plugin_call call;
    sc_plugin_call_init(inst, &call, "refresh", 0);
    code = inst->plugin->desc.refresh_credentials(inst->state, &call.ctx, &call.res);
    sc_plugin_instance_record(inst, &call.res);
    *res = call.res;
    res->code = code;
  }
  if (!rc) sc_db_commit(c, &err);
  sc_db_release(pool, c);
  return code;
}

