-- Availability caching and safe retries.
--
-- 1. Every write that can change someone's free time notifies channel
--    sidecal_avail with "<org> <staff|-> <location|->", from triggers, so
--    each sidecald (including the writer) drops exactly the cached days it
--    must, whoever wrote: the API, config apply or a sync job. NOTIFY is
--    delivered at commit, never for a rolled-back write.
-- 2. idempotency_keys remembers the first response to a POST with an
--    Idempotency-Key for 24 hours, per organization.

CREATE FUNCTION sc_notify_avail() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  r record;
  staff uuid;
  loc uuid;
BEGIN
  FOR r IN SELECT * FROM (VALUES (1), (2)) v(n) LOOP
    IF (r.n = 1 AND TG_OP = 'DELETE') OR (r.n = 2 AND TG_OP = 'INSERT') THEN
      CONTINUE;
    END IF;
    IF TG_TABLE_NAME = 'external_busy' THEN
      SELECT ci.staff_id, ci.location_id INTO staff, loc FROM connector_instances ci
       WHERE ci.organization_id = (CASE WHEN r.n = 1 THEN NEW.organization_id ELSE OLD.organization_id END)
         AND ci.id = (CASE WHEN r.n = 1 THEN NEW.instance_id ELSE OLD.instance_id END);
      PERFORM pg_notify('sidecal_avail',
        (CASE WHEN r.n = 1 THEN NEW.organization_id ELSE OLD.organization_id END)::text
        || ' ' || coalesce(staff::text, '-') || ' ' || coalesce(loc::text, '-'));
    ELSIF r.n = 1 THEN
      PERFORM pg_notify('sidecal_avail', NEW.organization_id::text || ' '
        || coalesce(NEW.staff_id::text, '-') || ' ' || coalesce(NEW.location_id::text, '-'));
    ELSE
      PERFORM pg_notify('sidecal_avail', OLD.organization_id::text || ' '
        || coalesce(OLD.staff_id::text, '-') || ' ' || coalesce(OLD.location_id::text, '-'));
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['appointments', 'availability_rules', 'date_overrides',
                           'calendar_blocks', 'external_busy']
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I'
                   ' FOR EACH ROW EXECUTE FUNCTION sc_notify_avail()', t || '_notify_avail', t);
  END LOOP;
END $$;

-- The catalog (locations, staff, event types and their links) changes only
-- through config apply; one statement-level notice per changed table.
CREATE FUNCTION sc_notify_catalog() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sidecal_catalog', TG_TABLE_NAME);
  RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['organizations', 'locations', 'staff', 'staff_locations',
                           'event_types', 'event_type_staff', 'connector_instances']
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION sc_notify_catalog()', t || '_notify_catalog', t);
  END LOOP;
END $$;

CREATE TABLE idempotency_keys (
  organization_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
  key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash    bytea NOT NULL,
  response_status integer,
  response_body   text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, key)
);
CREATE INDEX ON idempotency_keys (created_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys TO sidecal_app
  USING (sc_is_platform_admin() OR organization_id = sc_current_org())
  WITH CHECK (sc_is_platform_admin() OR organization_id = sc_current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO sidecal_app;
