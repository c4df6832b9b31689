-- Busy-time lookups run as prepared statements, so PostgreSQL plans them
-- once, without the values. With a btree on (organization, staff member |
-- instance, start) beside the GiST range indexes of 006, that generic plan
-- picked the btree whenever the statistics were young (a new staff member,
-- a burst of bookings before autovacuum's ANALYZE) and then filtered every
-- appointment the member ever had: a booking cost grew with the calendar.
-- The GiST indexes answer the same lookups (their leading columns are the
-- same) and stay the only choice; each insert also maintains one index
-- fewer.
DROP INDEX appointments_organization_id_staff_id_starts_at_idx;
DROP INDEX external_busy_organization_id_instance_id_starts_at_idx;
