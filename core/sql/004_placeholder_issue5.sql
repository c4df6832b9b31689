-- Placeholder for migration 004, which issue 5 (branch reload) owns.
-- scripts/embed_sql.py requires versions 1..N without gaps, so the sync
-- branch (005) needs a 004 to build. DELETE THIS FILE (and its line in
-- core/meson.build) when merging: issue 5's real 004 takes its place.
SELECT 1;
