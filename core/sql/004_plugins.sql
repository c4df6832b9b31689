-- Connector plugins as each daemon runs them, for `sidecalctl plugins`
-- (another process) and operators: every sidecald records its current
-- registry generation after start and after every reload.
--
-- sidecal_daemons and plugin_modules describe a process, not a tenant:
-- readable and writable by platform-admin transactions only. Per-instance
-- load state is tenant data (instance names embed the organization) and
-- follows the usual wall. Instance health (HEALTHY .. NEEDS_REAUTH) stays
-- in sync_status, which the sync engine owns; listings join it.

CREATE TABLE sidecal_daemons (
  daemon_id         text PRIMARY KEY,          -- "<hostname>:<pid>"
  host              text NOT NULL,
  pid               integer NOT NULL,
  version           text NOT NULL,
  generation        bigint NOT NULL,
  started_at        timestamptz NOT NULL DEFAULT now(),
  reloaded_at       timestamptz NOT NULL DEFAULT now(),  -- last generation swap
  last_reload_at    timestamptz NOT NULL DEFAULT now(),  -- last attempt, swapped or not
  last_reload_error text                                 -- NULL when it swapped
);

CREATE TABLE plugin_modules (
  daemon_id    text NOT NULL REFERENCES sidecal_daemons ON DELETE CASCADE,
  name         text NOT NULL,
  path         text,
  sha256       text,
  abi          text,
  version      text,
  capabilities text,
  generation   bigint NOT NULL,
  loaded_at    timestamptz NOT NULL DEFAULT now(),  -- when this build was first loaded
  error        text,                                -- why it was refused, or NULL
  PRIMARY KEY (daemon_id, name)
);

CREATE TABLE plugin_instance_state (
  organization_id uuid NOT NULL,
  instance_id     uuid NOT NULL,
  daemon_id       text NOT NULL REFERENCES sidecal_daemons ON DELETE CASCADE,
  generation      bigint NOT NULL,
  state           text NOT NULL CHECK (state IN ('running', 'failed')),
  error           text,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, instance_id, daemon_id),
  FOREIGN KEY (organization_id, instance_id) REFERENCES connector_instances ON DELETE CASCADE
);
CREATE INDEX ON plugin_instance_state (daemon_id);

ALTER TABLE sidecal_daemons ENABLE ROW LEVEL SECURITY;
ALTER TABLE plugin_modules ENABLE ROW LEVEL SECURITY;
ALTER TABLE plugin_instance_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON sidecal_daemons TO sidecal_app
  USING (sc_is_platform_admin()) WITH CHECK (sc_is_platform_admin());
CREATE POLICY platform_only ON plugin_modules TO sidecal_app
  USING (sc_is_platform_admin()) WITH CHECK (sc_is_platform_admin());
CREATE POLICY tenant_isolation ON plugin_instance_state TO sidecal_app
  USING (sc_is_platform_admin() OR organization_id = sc_current_org())
  WITH CHECK (sc_is_platform_admin() OR organization_id = sc_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON sidecal_daemons, plugin_modules,
  plugin_instance_state TO sidecal_app;
