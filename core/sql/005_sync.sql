-- The sync engine's durable state (issue 6).
--
-- sync_jobs is the transactional outbox: a local change that must reach
-- external calendars inserts its jobs in the same transaction as the change
-- (sc_outbox_enqueue), so a committed change is never lost and a rolled-back
-- one is never pushed. A job names what to converge (this appointment, this
-- instance); the worker reads the appointment as it is when the job runs and
-- decides create, update or delete from it and the link, so a retried or
-- late job never pushes stale data.
-- sync_inbox is the webhook inbox: a delivery is committed here before it is
-- acknowledged; dedupe_key (the provider's delivery id, else a body hash)
-- makes a redelivery a no-op.
-- sync_leases holds per-instance periodic-sync state: who syncs it now
-- (holder until expires_at, so a killed daemon's lease lapses), the
-- provider's incremental cursor and when the next run is due. It is kept
-- apart from connector_instances because writes there notify every daemon
-- to reload its catalog.
-- sync_plugin_caps records which plugins cannot write, as loaded by a
-- daemon, so the outbox enqueues no jobs nobody can run; an unknown plugin
-- gets jobs (the worker skips them if it cannot write), so nothing is lost.

CREATE TYPE sync_job_kind AS ENUM ('create', 'update', 'cancel');
CREATE TYPE sync_job_state AS ENUM ('pending', 'running', 'done', 'dead');

CREATE TABLE sync_jobs (
  organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
  id              bigint GENERATED ALWAYS AS IDENTITY,
  instance_id     uuid NOT NULL,
  appointment_id  uuid NOT NULL,
  kind            sync_job_kind NOT NULL,
  payload         jsonb NOT NULL DEFAULT '{}',
  state           sync_job_state NOT NULL DEFAULT 'pending',
  attempts        integer NOT NULL DEFAULT 0,
  next_run_at     timestamptz NOT NULL DEFAULT now(),
  locked_by       text,
  locked_until    timestamptz,
  last_error      text,
  dead_at         timestamptz,
  done_at         timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, instance_id) REFERENCES connector_instances ON DELETE CASCADE,
  FOREIGN KEY (organization_id, appointment_id) REFERENCES appointments ON DELETE CASCADE
);
-- Claiming: due pending jobs, and running jobs whose claimer's lease lapsed.
CREATE INDEX sync_jobs_due ON sync_jobs (next_run_at, id) WHERE state IN ('pending', 'running');
-- Per (appointment, instance) jobs run in order: the predecessor check.
CREATE INDEX sync_jobs_pair ON sync_jobs (organization_id, appointment_id, instance_id, id)
  WHERE state IN ('pending', 'running');
CREATE INDEX sync_jobs_dead ON sync_jobs (dead_at) WHERE state = 'dead';

CREATE TABLE sync_inbox (
  organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
  id              bigint GENERATED ALWAYS AS IDENTITY,
  instance_id     uuid NOT NULL,
  dedupe_key      text NOT NULL,
  headers         jsonb NOT NULL DEFAULT '{}',
  body            bytea NOT NULL,
  query           text,
  received_at     timestamptz NOT NULL DEFAULT now(),
  attempts        integer NOT NULL DEFAULT 0,
  next_run_at     timestamptz NOT NULL DEFAULT now(),
  processed_at    timestamptz,
  error           text,
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, instance_id, dedupe_key),
  FOREIGN KEY (organization_id, instance_id) REFERENCES connector_instances ON DELETE CASCADE
);
CREATE INDEX sync_inbox_todo ON sync_inbox (next_run_at, id) WHERE processed_at IS NULL;

CREATE TABLE sync_leases (
  organization_id uuid NOT NULL,
  instance_id     uuid NOT NULL,
  holder          text,
  expires_at      timestamptz,
  cursor          text,
  initial_sync_at timestamptz,
  next_sync_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, instance_id),
  FOREIGN KEY (organization_id, instance_id) REFERENCES connector_instances ON DELETE CASCADE
);

-- Global on purpose: plugins are not tenant data.
CREATE TABLE sync_plugin_caps (
  plugin     text PRIMARY KEY CHECK (plugin ~ '^[a-z0-9_]+$'),
  can_write  boolean NOT NULL,
  can_read   boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Every tenant may read and write it (RLS on with an open policy, so the
-- rule "every table has row-level security" holds without exceptions).
ALTER TABLE sync_plugin_caps ENABLE ROW LEVEL SECURITY;
CREATE POLICY open_to_all ON sync_plugin_caps TO sidecal_app USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON sync_plugin_caps TO sidecal_app;

-- Workers sleep until a job is queued anywhere (one notice per statement).
-- Not on sync_inbox: a NOTIFY serializes commits cluster-wide, which would
-- cap webhook ingest at one WAL flush per delivery; the daemon that took
-- a delivery wakes its own inbox workers, and others poll.
CREATE FUNCTION sc_notify_jobs() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sidecal_jobs', TG_TABLE_NAME);
  RETURN NULL;
END $$;
CREATE TRIGGER sync_jobs_notify AFTER INSERT ON sync_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION sc_notify_jobs();

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['sync_jobs', 'sync_inbox', 'sync_leases']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO sidecal_app '
                   'USING (sc_is_platform_admin() OR organization_id = sc_current_org()) '
                   'WITH CHECK (sc_is_platform_admin() OR organization_id = sc_current_org())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO sidecal_app', t);
  END LOOP;
END $$;
