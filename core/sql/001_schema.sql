-- sidecal schema, version 1.
--
-- Tenancy: every tenant-owned table carries organization_id, and every
-- primary or unique key starts with it, so the data can later be sharded by
-- organization and no foreign key can point across tenants.
-- Row-level security is the second wall behind the API's scoping: each
-- tenant table has a policy keyed by two per-transaction settings,
--   sidecal.org_id          the caller's organization (uuid text)
--   sidecal.platform_admin  'on' for platform-admin transactions
-- and the daemon works as role sidecal_app, which owns nothing and has no
-- BYPASSRLS, so a query that forgets its organization filter sees nothing
-- foreign.

CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Roles are cluster-wide: another database's migration may create it at
-- the same moment, hence the exception handler.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sidecal_app') THEN
    CREATE ROLE sidecal_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;
-- The owner must be a member to SET ROLE (a superuser already may).
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT sidecal_app TO %I', current_user);
  END IF;
END $$;

CREATE FUNCTION sc_current_org() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('sidecal.org_id', true), '')::uuid $$;

CREATE FUNCTION sc_is_platform_admin() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(current_setting('sidecal.platform_admin', true), '') = 'on' $$;

-- IANA zone names only: PostgreSQL must know the zone, and bare offsets
-- or POSIX rules ("+05", "EST5EDT"-style strings with digits first) are not
-- places. IMMUTABLE because CHECK needs it; the tz database only grows.
CREATE FUNCTION sc_valid_tz(tz text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF tz IS NULL OR tz !~ '^[A-Za-z][A-Za-z0-9_+/-]*$' THEN
    RETURN false;
  END IF;
  PERFORM now() AT TIME ZONE tz;
  RETURN true;
EXCEPTION WHEN others THEN
  RETURN false;
END $$;

-- API timestamps: UTC with Z, whatever the session's TimeZone.
CREATE FUNCTION sc_utc(ts timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

CREATE TYPE appointment_status AS ENUM (
  'SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'CANCELLED', 'NO_SHOW',
  'COMPLETED', 'IN_PROGRESS');

CREATE TYPE sync_health AS ENUM ('HEALTHY', 'DEGRADED', 'FAILING', 'NEEDS_REAUTH');

CREATE TYPE api_role AS ENUM ('platform_admin', 'agency_owner', 'location_staff', 'staff');

-- Where a row came from: conf.d/ (read-only through the API, rewritten on
-- every config apply) or the API (survives config reloads).
CREATE TYPE row_source AS ENUM ('config', 'api');

CREATE TABLE organizations (
  organization_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name            text NOT NULL,
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE locations (
  organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  slug            text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name            text NOT NULL,
  timezone        text NOT NULL CHECK (sc_valid_tz(timezone)),
  branding        jsonb NOT NULL DEFAULT '{}',
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, slug)
);

CREATE TABLE staff (
  organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  slug            text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name            text NOT NULL,
  email           text,
  role            text,
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, slug)
);

CREATE TABLE staff_locations (
  organization_id uuid NOT NULL,
  staff_id        uuid NOT NULL,
  location_id     uuid NOT NULL,
  PRIMARY KEY (organization_id, staff_id, location_id),
  FOREIGN KEY (organization_id, staff_id) REFERENCES staff ON DELETE CASCADE,
  FOREIGN KEY (organization_id, location_id) REFERENCES locations ON DELETE CASCADE
);

CREATE TABLE event_types (
  organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  slug            text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  title           text NOT NULL,
  duration_min    integer NOT NULL CHECK (duration_min >= 1),
  interval_min    integer NOT NULL CHECK (interval_min >= 1),
  buffer_before_min integer NOT NULL DEFAULT 0 CHECK (buffer_before_min >= 0),
  buffer_after_min  integer NOT NULL DEFAULT 0 CHECK (buffer_after_min >= 0),
  min_notice_min  integer NOT NULL DEFAULT 0 CHECK (min_notice_min >= 0),
  horizon_days    integer NOT NULL DEFAULT 62 CHECK (horizon_days >= 1),
  daily_cap       integer NOT NULL DEFAULT 0 CHECK (daily_cap >= 0),
  price           numeric(10,2),
  published       boolean NOT NULL DEFAULT false,
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, slug)
);

CREATE TABLE event_type_staff (
  organization_id uuid NOT NULL,
  event_type_id   uuid NOT NULL,
  staff_id        uuid NOT NULL,
  PRIMARY KEY (organization_id, event_type_id, staff_id),
  FOREIGN KEY (organization_id, event_type_id) REFERENCES event_types ON DELETE CASCADE,
  FOREIGN KEY (organization_id, staff_id) REFERENCES staff ON DELETE CASCADE
);

-- Weekly rules are wall-clock times in the location's zone (timezone is
-- copied here so the engine needs no join). staff_id NULL = location-wide.
CREATE TABLE availability_rules (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  location_id     uuid NOT NULL,
  staff_id        uuid,
  day_of_week     smallint NOT NULL CHECK (day_of_week BETWEEN 0 AND 6),
  start_time      time NOT NULL,
  end_time        time NOT NULL CHECK (end_time > start_time OR end_time = '24:00'),
  timezone        text NOT NULL CHECK (sc_valid_tz(timezone)),
  effective_from  date,
  effective_until date,
  source          row_source NOT NULL DEFAULT 'api',
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, location_id) REFERENCES locations ON DELETE CASCADE,
  FOREIGN KEY (organization_id, staff_id) REFERENCES staff ON DELETE CASCADE,
  CHECK (effective_until IS NULL OR effective_from IS NULL OR effective_until >= effective_from)
);
CREATE INDEX ON availability_rules (organization_id, location_id, staff_id);

-- An override replaces every rule of its local date; intervals = [] is a day off.
CREATE TABLE date_overrides (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  location_id     uuid NOT NULL,
  staff_id        uuid,
  date            date NOT NULL,
  intervals       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(intervals) = 'array'),
  source          row_source NOT NULL DEFAULT 'api',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, location_id) REFERENCES locations ON DELETE CASCADE,
  FOREIGN KEY (organization_id, staff_id) REFERENCES staff ON DELETE CASCADE
);
CREATE UNIQUE INDEX date_overrides_one_per_day
  ON date_overrides (organization_id, location_id,
                     coalesce(staff_id, '00000000-0000-0000-0000-000000000000'), date);

-- Blocks are local date-times in their own zone so a recurring lunch stays
-- at 12:00 across DST; RRULE expansion happens in the engine (libical).
CREATE TABLE calendar_blocks (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  location_id     uuid,
  staff_id        uuid,
  starts_local    timestamp NOT NULL,
  ends_local      timestamp NOT NULL,
  timezone        text NOT NULL CHECK (sc_valid_tz(timezone)),
  rrule           text,
  exdates         timestamp[] NOT NULL DEFAULT '{}',
  reason          text,
  created_by      text NOT NULL DEFAULT 'config',
  source          row_source NOT NULL DEFAULT 'api',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, location_id) REFERENCES locations ON DELETE CASCADE,
  FOREIGN KEY (organization_id, staff_id) REFERENCES staff ON DELETE CASCADE,
  CHECK (ends_local > starts_local),
  CHECK (location_id IS NOT NULL OR staff_id IS NOT NULL)
);
CREATE INDEX ON calendar_blocks (organization_id, staff_id);
CREATE INDEX ON calendar_blocks (organization_id, location_id);

-- The design's CalendarProvider generalised: one row per (scope, plugin).
-- name is the stable instance name admins paste into webhook URLs.
CREATE TABLE connector_instances (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  name            text NOT NULL,
  plugin          text NOT NULL CHECK (plugin ~ '^[a-z0-9_]+$'),
  location_id     uuid,
  staff_id        uuid,
  settings        jsonb NOT NULL DEFAULT '{}',
  sync_cursor     text,
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, name),
  FOREIGN KEY (organization_id, location_id) REFERENCES locations ON DELETE CASCADE,
  FOREIGN KEY (organization_id, staff_id) REFERENCES staff ON DELETE CASCADE,
  CHECK ((location_id IS NULL) <> (staff_id IS NULL))
);
CREATE UNIQUE INDEX connector_instances_name_global ON connector_instances (name);

-- Secrets, AES-256-GCM encrypted by the core (core/crypto.c). seed_hash is
-- an HMAC of the value last seeded from conf.d/, so a config apply rewrites
-- a secret only when its configured value changed, never a token the system
-- rotated itself.
CREATE TABLE connector_secrets (
  organization_id uuid NOT NULL,
  instance_id     uuid NOT NULL,
  name            text NOT NULL,
  ciphertext      bytea NOT NULL,
  seed_hash       bytea,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, instance_id, name),
  FOREIGN KEY (organization_id, instance_id) REFERENCES connector_instances ON DELETE CASCADE
);

CREATE TABLE appointments (
  organization_id      uuid NOT NULL,
  id                   uuid NOT NULL DEFAULT gen_random_uuid(),
  location_id          uuid NOT NULL,
  event_type_id        uuid,
  -- External system ids (the design's fields; per-instance links live in
  -- appointment_links).
  calcom_booking_id    text,
  ghl_event_id         text,
  provider_event_id    text,
  -- Participants
  client_id            text,
  staff_id             uuid,
  client_name          text,
  client_email         text,
  client_phone         text,
  -- Scheduling: instants in UTC, plus the zone the booking was made in.
  starts_at            timestamptz NOT NULL,
  ends_at              timestamptz NOT NULL,
  timezone             text NOT NULL CHECK (sc_valid_tz(timezone)),
  all_day              boolean NOT NULL DEFAULT false,
  -- Details
  type                 text,
  title                text,
  description          text,
  location             text,
  price                numeric(10,2),
  -- Status tracking
  status               appointment_status NOT NULL DEFAULT 'SCHEDULED',
  confirmation_sent_at timestamptz,
  reminder_sent_at     timestamptz,
  cancelled_at         timestamptz,
  cancel_reason        text,
  completed_at         timestamptz,
  -- Metadata
  metadata             jsonb NOT NULL DEFAULT '{}',
  notes                text,
  -- Provenance: 'sidecal' rows are guarded against overlap by the booking
  -- path; imported rows are stored even when they overlap (flagged).
  origin               text NOT NULL DEFAULT 'sidecal' CHECK (origin IN ('sidecal', 'import')),
  overlap              boolean NOT NULL DEFAULT false,
  version              integer NOT NULL DEFAULT 1,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, location_id) REFERENCES locations,
  FOREIGN KEY (organization_id, staff_id) REFERENCES staff,
  FOREIGN KEY (organization_id, event_type_id) REFERENCES event_types,
  UNIQUE (organization_id, calcom_booking_id),
  UNIQUE (organization_id, ghl_event_id),
  CHECK (ends_at > starts_at)
);
CREATE INDEX ON appointments (organization_id, location_id, starts_at);
CREATE INDEX ON appointments (organization_id, staff_id, starts_at);
CREATE INDEX ON appointments (organization_id, status);

-- No double booking for appointments made through sidecal: an active
-- sidecal-made booking's [starts_at, ends_at) may not overlap another's for
-- the same staff member, even under concurrency.
ALTER TABLE appointments ADD CONSTRAINT appointments_no_double_booking
  EXCLUDE USING gist (organization_id WITH =, staff_id WITH =,
                      tstzrange(starts_at, ends_at, '[)') WITH &&)
  WHERE (origin = 'sidecal' AND staff_id IS NOT NULL
         AND status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS'));

-- Which external object in which connector instance is this appointment.
CREATE TABLE appointment_links (
  organization_id uuid NOT NULL,
  instance_id     uuid NOT NULL,
  external_id     text NOT NULL,
  appointment_id  uuid NOT NULL,
  etag            text,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, instance_id, external_id),
  UNIQUE (organization_id, instance_id, appointment_id),
  FOREIGN KEY (organization_id, instance_id) REFERENCES connector_instances ON DELETE CASCADE,
  FOREIGN KEY (organization_id, appointment_id) REFERENCES appointments ON DELETE CASCADE
);

-- Busy time imported from a staff member's own calendar: nothing but when.
CREATE TABLE external_busy (
  organization_id uuid NOT NULL,
  instance_id     uuid NOT NULL,
  external_id     text NOT NULL,
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz NOT NULL CHECK (ends_at > starts_at),
  PRIMARY KEY (organization_id, instance_id, external_id),
  FOREIGN KEY (organization_id, instance_id) REFERENCES connector_instances ON DELETE CASCADE
);
CREATE INDEX ON external_busy (organization_id, instance_id, starts_at);

CREATE TABLE sync_status (
  organization_id  uuid NOT NULL,
  instance_id      uuid NOT NULL,
  status           sync_health NOT NULL DEFAULT 'HEALTHY',
  last_sync_at     timestamptz,
  last_duration_ms integer,
  error_count      integer NOT NULL DEFAULT 0,
  last_error       text,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, instance_id),
  FOREIGN KEY (organization_id, instance_id) REFERENCES connector_instances ON DELETE CASCADE
);

CREATE TABLE sync_conflicts (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  entity          text NOT NULL,
  entity_id       uuid NOT NULL,
  instance_id     uuid,
  our_data        jsonb NOT NULL,
  external_data   jsonb NOT NULL,
  diff            jsonb NOT NULL DEFAULT '{}',
  resolution      text NOT NULL DEFAULT 'MANUAL_REVIEW_REQUIRED',
  created_at      timestamptz NOT NULL DEFAULT now(),
  resolved_at     timestamptz,
  PRIMARY KEY (organization_id, id)
);

-- API keys: only a SHA-256 of the key is stored. A platform-admin key has no
-- organization, so this table is the one keyed by id alone; it is read
-- through sc_api_key_lookup() (SECURITY DEFINER) before any tenant is known.
CREATE TABLE api_keys (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid REFERENCES organizations ON DELETE CASCADE,
  key_hash        bytea NOT NULL UNIQUE,
  prefix          text NOT NULL,
  role            api_role NOT NULL,
  location_id     uuid,
  staff_id        uuid,
  label           text,
  expires_at      timestamptz,
  revoked_at      timestamptz,
  last_used_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (organization_id, location_id) REFERENCES locations,
  FOREIGN KEY (organization_id, staff_id) REFERENCES staff,
  CHECK ((role = 'platform_admin') = (organization_id IS NULL)),
  CHECK (role <> 'location_staff' OR location_id IS NOT NULL),
  CHECK (role <> 'staff' OR staff_id IS NOT NULL)
);

-- Row-level security on every tenant table.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['organizations', 'locations', 'staff', 'staff_locations',
    'event_types', 'event_type_staff', 'availability_rules', 'date_overrides',
    'calendar_blocks', 'connector_instances', 'connector_secrets', 'appointments',
    'appointment_links', 'external_busy', 'sync_status', 'sync_conflicts', 'api_keys']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO sidecal_app '
                   'USING (sc_is_platform_admin() OR organization_id = sc_current_org()) '
                   'WITH CHECK (sc_is_platform_admin() OR organization_id = sc_current_org())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO sidecal_app', t);
  END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION sc_current_org(), sc_is_platform_admin(), sc_utc(timestamptz) TO sidecal_app;
