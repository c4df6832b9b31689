-- API key lookup before any tenant is known.
--
-- A request names no organization, so the daemon cannot open an RLS-scoped
-- transaction to find its key. This function runs as the migration owner
-- (SECURITY DEFINER; the owner is not bound by api_keys' policy) and answers
-- one question only: what does the key with this SHA-256 grant? It takes
-- the hash, never the key, and returns at most one row.
CREATE FUNCTION sc_api_key_lookup(p_hash bytea)
  RETURNS TABLE (key_id uuid, role api_role, organization_id uuid,
                 org_slug text, location_id uuid, staff_id uuid,
                 expires_at timestamptz, revoked boolean)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = public, pg_temp
  AS $$
    SELECT k.id, k.role, k.organization_id, o.slug, k.location_id,
           k.staff_id, k.expires_at, k.revoked_at IS NOT NULL
      FROM api_keys k
      LEFT JOIN organizations o ON o.organization_id = k.organization_id
     WHERE k.key_hash = p_hash
  $$;

REVOKE ALL ON FUNCTION sc_api_key_lookup(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sc_api_key_lookup(bytea) TO sidecal_app;
