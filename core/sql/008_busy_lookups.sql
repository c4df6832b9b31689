-- Busy-time lookups that stay index lookups for the application role.
--
-- 006 indexed tstzrange(starts_at, ends_at) and the queries asked "range
-- && range". Under row-level security PostgreSQL may only use a condition
-- on a row's columns inside an index scan when every function it passes
-- them to is leakproof; the range constructor is not (it raises errors
-- that name its input), so for sidecal_app the overlap became a filter
-- after an index scan on (organization, staff member) alone: every
-- booking and every import read the member's whole calendar. (Superuser
-- EXPLAINs skip RLS and showed the fast plan.)
--
-- The overlap is now asked as starts_at < hi AND ends_at > lo: timestamp
-- comparisons are leakproof, and a GiST index over both columns (btree_gist)
-- prunes by either bound.
--
-- The btree on (organization, staff member | instance, start) goes too: a
-- generic plan made while a table was young picked it and filtered the
-- member's whole history; these GiST indexes have the same leading columns.
DROP INDEX appointments_staff_active_range;
DROP INDEX external_busy_range;
DROP INDEX appointments_organization_id_staff_id_starts_at_idx;
DROP INDEX external_busy_organization_id_instance_id_starts_at_idx;
-- Likewise (organization, location, start): the overlap check of a
-- staff-less import took it over the location GiST below and read every
-- earlier appointment of the location. Listings page by (start, id) within
-- the organization and filter the location, which this index serves.
DROP INDEX appointments_organization_id_location_id_starts_at_idx;
CREATE INDEX appointments_org_start ON appointments (organization_id, starts_at, id);

--
-- An appointment imported without a staff member is checked for overlap
-- against its location's time, so there is a location index too. The
-- IS NOT NULL in each predicate keeps the planner honest: a staff lookup
-- (staff_id = $1 implies staff_id IS NOT NULL) can only use the staff
-- index, a location lookup only the location one, whatever the statistics.
CREATE INDEX appointments_staff_active_span ON appointments
  USING gist (organization_id, staff_id, starts_at, ends_at)
  WHERE status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS')
    AND staff_id IS NOT NULL;
CREATE INDEX appointments_location_active_span ON appointments
  USING gist (organization_id, location_id, starts_at, ends_at)
  WHERE status IN ('SCHEDULED', 'CONFIRMED', 'RESCHEDULED', 'IN_PROGRESS')
    AND location_id IS NOT NULL;
CREATE INDEX external_busy_span ON external_busy
  USING gist (organization_id, instance_id, starts_at, ends_at);
