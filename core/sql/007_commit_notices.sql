-- What a NOTIFY costs a commit. PostgreSQL serializes every committing
-- transaction that sent a notice, cluster-wide, through its WAL flush: a
-- write path that notifies from inside its transaction commits one at a
-- time, whatever group commit could have done.
--
-- 1. Wake the sync workers only when a job was really queued. The
--    statement trigger of 005 fired for every outbox INSERT, also the
--    common one that queues nothing (an appointment at a location with no
--    connector): each booking then woke every worker for an empty claim
--    and serialized its commit. A row trigger fires only for inserted
--    rows; PostgreSQL folds equal notices of one transaction into one, so
--    a many-row INSERT still sends a single wake-up.
DROP TRIGGER sync_jobs_notify ON sync_jobs;
CREATE TRIGGER sync_jobs_notify AFTER INSERT ON sync_jobs
  FOR EACH ROW EXECUTE FUNCTION sc_notify_jobs();

-- 2. A hot write path may send its availability notice itself, right
--    after COMMIT in the same round trip (core/booking.c), where the
--    notice's transaction has nothing to flush. It says so with
--    SET LOCAL sidecal.avail_notice = 'after_commit'; every other writer
--    keeps the trigger's notice, delivered at commit as before.
--
-- 3. The trigger body is straight-line: 003's loop over a VALUES query ran
--    an SPI query per row besides the notice itself, and made an import of
--    1,000 appointments four times slower than without the trigger.
CREATE OR REPLACE FUNCTION sc_notify_avail() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  staff uuid;
  loc uuid;
BEGIN
  IF current_setting('sidecal.avail_notice', true) = 'after_commit' THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'external_busy' THEN
    IF TG_OP <> 'INSERT' THEN
      SELECT ci.staff_id, ci.location_id INTO staff, loc FROM connector_instances ci
       WHERE ci.organization_id = OLD.organization_id AND ci.id = OLD.instance_id;
      PERFORM pg_notify('sidecal_avail', OLD.organization_id::text || ' '
        || coalesce(staff::text, '-') || ' ' || coalesce(loc::text, '-'));
    END IF;
    IF TG_OP <> 'DELETE' THEN
      SELECT ci.staff_id, ci.location_id INTO staff, loc FROM connector_instances ci
       WHERE ci.organization_id = NEW.organization_id AND ci.id = NEW.instance_id;
      PERFORM pg_notify('sidecal_avail', NEW.organization_id::text || ' '
        || coalesce(staff::text, '-') || ' ' || coalesce(loc::text, '-'));
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('sidecal_avail', OLD.organization_id::text || ' '
      || coalesce(OLD.staff_id::text, '-') || ' ' || coalesce(OLD.location_id::text, '-'));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('sidecal_avail', NEW.organization_id::text || ' '
      || coalesce(NEW.staff_id::text, '-') || ' ' || coalesce(NEW.location_id::text, '-'));
  END IF;
  RETURN NULL;
END $$;
