-- Busy-time lookups by overlap. Availability and booking ask "what does
-- this staff member have between lo and hi?"; with a btree on starts_at the
-- answer scanned every earlier appointment of the member. A GiST index on
-- the time range answers it directly, whatever the history.
CREATE INDEX appointments_staff_active_range ON appointments
  USING gist (organization_id, staff_id, tstzrange(starts_at, ends_at, '[)'))
  WHERE status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS');
CREATE INDEX external_busy_range ON external_busy
  USING gist (organization_id, instance_id, tstzrange(starts_at, ends_at, '[)'));
