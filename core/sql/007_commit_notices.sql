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
CREATE OR REPLACE FUNCTION sc_notify_avail() RETURNS trigger
  LANGUAGE plpgsql AS $$
DECLARE
  r record;
  staff uuid;
  loc uuid;
BEGIN
  IF current_setting('sidecal.avail_notice', true) = 'after_commit' THEN
    RETURN NULL;
  END IF;
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
