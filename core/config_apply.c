/*
** Applying conf.d/ to the database. Each entity kind is one set-based SQL
** statement fed a JSON array of the wanted rows, so the whole apply is a
** handful of round trips and its idempotence lives in SQL WHERE clauses
** (rows whose content is unchanged are not rewritten).
*/
#include "config_apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "secrets.h"

static int exec_want(PGconn *conn, const char *sql, const char *org_id,
                     json_object *want, int *affected, struct sc_error *err) {
  const char *p[2] = {org_id, json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN)};
  PGresult *r;
  int rc = sc_db_exec(conn, sql, 2, p, &r, err);
  if (rc) return rc;
  if (affected) *affected += atoi(PQcmdTuples(r));
  PQclear(r);
  return SC_OK;
}

static json_object *jstr(const char *s) {
  return s ? json_object_new_string(s) : NULL;
}

static json_object *jhhmm(int minutes) {
  char buf[24];
  snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return json_object_new_string(buf);
}

/* ---- organizations ---------------------------------------------------- */

static int upsert_org(PGconn *conn, const struct sc_conf_org *o, char *org_id,
                      struct sc_error *err) {
  const char *p[2] = {o->slug, o->name};
  int rc = sc_db_exec(conn,
      "INSERT INTO organizations (slug, name) VALUES ($1, $2)"
      " ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, active = true, updated_at = now()"
      " WHERE (organizations.name, organizations.active) IS DISTINCT FROM (EXCLUDED.name, true)",
      2, p, NULL, err);
  if (rc) return rc;
  PGresult *r;
  rc = sc_db_exec(conn, "SELECT organization_id FROM organizations WHERE slug = $1",
                  1, p, &r, err);
  if (rc) return rc;
  snprintf(org_id, 37, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  return SC_OK;
}

static int deactivate_missing_orgs(PGconn *conn, const struct sc_config *cfg,
                                   int *affected, struct sc_error *err) {
  json_object *want = json_object_new_array();
  for (size_t i = 0; i < cfg->n_orgs; i++)
    json_object_array_add(want, jstr(cfg->orgs[i].slug));
  const char *p[1] = {json_object_to_json_string(want)};
  PGresult *r;
  int rc = sc_db_exec(conn,
      "UPDATE organizations SET active = false, updated_at = now() WHERE active"
      " AND slug NOT IN (SELECT jsonb_array_elements_text($1::jsonb))",
      1, p, &r, err);
  json_object_put(want);
  if (rc) return rc;
  *affected += atoi(PQcmdTuples(r));
  PQclear(r);
  return SC_OK;
}

/* ---- locations, staff, event types ------------------------------------ */

static const char *SQL_LOCATIONS =
    "WITH want AS (SELECT * FROM jsonb_to_recordset($2::jsonb)"
    "   AS w(slug text, name text, timezone text, branding jsonb)),"
    " up AS (INSERT INTO locations (organization_id, slug, name, timezone, branding)"
    "   SELECT $1, slug, name, timezone, branding FROM want"
    "   ON CONFLICT (organization_id, slug) DO UPDATE SET name = EXCLUDED.name,"
    "     timezone = EXCLUDED.timezone, branding = EXCLUDED.branding, active = true, updated_at = now()"
    "   WHERE (locations.name, locations.timezone, locations.branding, locations.active)"
    "     IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.timezone, EXCLUDED.branding, true))"
    " UPDATE locations SET active = false, updated_at = now()"
    " WHERE organization_id = $1 AND active AND slug NOT IN (SELECT slug FROM want)";

static int apply_locations(PGconn *conn, const char *org_id,
                           const struct sc_conf_org *o, int *deact,
                           struct sc_error *err) {
  json_object *want = json_object_new_array();
  for (size_t i = 0; i < o->n_locations; i++) {
    const struct sc_conf_location *l = &o->locations[i];
    json_object *row = json_object_new_object();
    json_object_object_add(row, "slug", jstr(l->slug));
    json_object_object_add(row, "name", jstr(l->name));
    json_object_object_add(row, "timezone", jstr(l->timezone));
    json_object_object_add(row, "branding",
        l->branding ? json_object_get(l->branding) : json_object_new_object());
    json_object_array_add(want, row);
  }
  int rc = exec_want(conn, SQL_LOCATIONS, org_id, want, deact, err);
  json_object_put(want);
  return rc;
}

static const char *SQL_STAFF =
    "WITH want AS (SELECT * FROM jsonb_to_recordset($2::jsonb)"
    "   AS w(slug text, name text, email text, role text)),"
    " up AS (INSERT INTO staff (organization_id, slug, name, email, role)"
    "   SELECT $1, slug, name, email, role FROM want"
    "   ON CONFLICT (organization_id, slug) DO UPDATE SET name = EXCLUDED.name,"
    "     email = EXCLUDED.email, role = EXCLUDED.role, active = true, updated_at = now()"
    "   WHERE (staff.name, staff.email, staff.role, staff.active)"
    "     IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.email, EXCLUDED.role, true))"
    " UPDATE staff SET active = false, updated_at = now()"
    " WHERE organization_id = $1 AND active AND slug NOT IN (SELECT slug FROM want)";

static const char *SQL_STAFF_LOCATIONS =
    "WITH want AS (SELECT s.id AS staff_id, l.id AS location_id"
    "   FROM jsonb_to_recordset($2::jsonb) AS w(staff text, location text)"
    "   JOIN staff s ON s.organization_id = $1 AND s.slug = w.staff"
    "   JOIN locations l ON l.organization_id = $1 AND l.slug = w.location),"
    " del AS (DELETE FROM staff_locations x WHERE x.organization_id = $1"
    "   AND NOT EXISTS (SELECT 1 FROM want w WHERE w.staff_id = x.staff_id"
    "   AND w.location_id = x.location_id))"
    " INSERT INTO staff_locations (organization_id, staff_id, location_id)"
    " SELECT $1, staff_id, location_id FROM want ON CONFLICT DO NOTHING";

static int apply_staff(PGconn *conn, const char *org_id,
                       const struct sc_conf_org *o, int *deact,
                       struct sc_error *err) {
  json_object *want = json_object_new_array(), *links = json_object_new_array();
  for (size_t i = 0; i < o->n_staff; i++) {
    const struct sc_conf_staff *s = &o->staff[i];
    json_object *row = json_object_new_object();
    json_object_object_add(row, "slug", jstr(s->slug));
    json_object_object_add(row, "name", jstr(s->name));
    json_object_object_add(row, "email", jstr(s->email));
    json_object_object_add(row, "role", jstr(s->role));
    json_object_array_add(want, row);
    for (size_t j = 0; j < s->n_locations; j++) {
      json_object *link = json_object_new_object();
      json_object_object_add(link, "staff", jstr(s->slug));
      json_object_object_add(link, "location", jstr(s->locations[j]));
      json_object_array_add(links, link);
    }
  }
  int rc = exec_want(conn, SQL_STAFF, org_id, want, deact, err);
  if (!rc) rc = exec_want(conn, SQL_STAFF_LOCATIONS, org_id, links, NULL, err);
  json_object_put(want);
  json_object_put(links);
  return rc;
}

static const char *SQL_EVENT_TYPES =
    "WITH want AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS w(slug text,"
    "   title text, duration integer, interval integer, buffer_before integer,"
    "   buffer_after integer, min_notice integer, horizon_days integer,"
    "   daily_cap integer, price numeric(10,2), published boolean)),"
    " up AS (INSERT INTO event_types (organization_id, slug, title, duration_min,"
    "   interval_min, buffer_before_min, buffer_after_min, min_notice_min,"
    "   horizon_days, daily_cap, price, published)"
    "   SELECT $1, slug, title, duration, interval, buffer_before, buffer_after,"
    "     min_notice, horizon_days, daily_cap, price, published FROM want"
    "   ON CONFLICT (organization_id, slug) DO UPDATE SET title = EXCLUDED.title,"
    "     duration_min = EXCLUDED.duration_min, interval_min = EXCLUDED.interval_min,"
    "     buffer_before_min = EXCLUDED.buffer_before_min, buffer_after_min = EXCLUDED.buffer_after_min,"
    "     min_notice_min = EXCLUDED.min_notice_min, horizon_days = EXCLUDED.horizon_days,"
    "     daily_cap = EXCLUDED.daily_cap, price = EXCLUDED.price, published = EXCLUDED.published,"
    "     active = true, updated_at = now()"
    "   WHERE (event_types.title, event_types.duration_min, event_types.interval_min,"
    "     event_types.buffer_before_min, event_types.buffer_after_min, event_types.min_notice_min,"
    "     event_types.horizon_days, event_types.daily_cap, event_types.price,"
    "     event_types.published, event_types.active)"
    "   IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.duration_min, EXCLUDED.interval_min,"
    "     EXCLUDED.buffer_before_min, EXCLUDED.buffer_after_min, EXCLUDED.min_notice_min,"
    "     EXCLUDED.horizon_days, EXCLUDED.daily_cap, EXCLUDED.price, EXCLUDED.published, true))"
    " UPDATE event_types SET active = false, updated_at = now()"
    " WHERE organization_id = $1 AND active AND slug NOT IN (SELECT slug FROM want)";

static const char *SQL_EVENT_TYPE_STAFF =
    "WITH want AS (SELECT e.id AS event_type_id, s.id AS staff_id"
    "   FROM jsonb_to_recordset($2::jsonb) AS w(event_type text, staff text)"
    "   JOIN event_types e ON e.organization_id = $1 AND e.slug = w.event_type"
    "   JOIN staff s ON s.organization_id = $1 AND s.slug = w.staff),"
    " del AS (DELETE FROM event_type_staff x WHERE x.organization_id = $1"
    "   AND NOT EXISTS (SELECT 1 FROM want w WHERE w.event_type_id = x.event_type_id"
    "   AND w.staff_id = x.staff_id))"
    " INSERT INTO event_type_staff (organization_id, event_type_id, staff_id)"
    " SELECT $1, event_type_id, staff_id FROM want ON CONFLICT DO NOTHING";

static int apply_event_types(PGconn *conn, const char *org_id,
                             const struct sc_conf_org *o, int *deact,
                             struct sc_error *err) {
  json_object *want = json_object_new_array(), *links = json_object_new_array();
  for (size_t i = 0; i < o->n_event_types; i++) {
    const struct sc_conf_event_type *e = &o->event_types[i];
    json_object *row = json_object_new_object();
    json_object_object_add(row, "slug", jstr(e->slug));
    json_object_object_add(row, "title", jstr(e->title));
    json_object_object_add(row, "duration", json_object_new_int(e->duration));
    json_object_object_add(row, "interval", json_object_new_int(e->interval));
    json_object_object_add(row, "buffer_before", json_object_new_int(e->buffer_before));
    json_object_object_add(row, "buffer_after", json_object_new_int(e->buffer_after));
    json_object_object_add(row, "min_notice", json_object_new_int(e->min_notice));
    json_object_object_add(row, "horizon_days", json_object_new_int(e->horizon_days));
    json_object_object_add(row, "daily_cap", json_object_new_int(e->daily_cap));
    json_object_object_add(row, "price", jstr(e->price));
    json_object_object_add(row, "published", json_object_new_boolean(e->published));
    json_object_array_add(want, row);
    for (size_t j = 0; j < e->n_staff; j++) {
      json_object *link = json_object_new_object();
      json_object_object_add(link, "event_type", jstr(e->slug));
      json_object_object_add(link, "staff", jstr(e->staff[j]));
      json_object_array_add(links, link);
    }
  }
  int rc = exec_want(conn, SQL_EVENT_TYPES, org_id, want, deact, err);
  if (!rc) rc = exec_want(conn, SQL_EVENT_TYPE_STAFF, org_id, links, NULL, err);
  json_object_put(want);
  json_object_put(links);
  return rc;
}

/* ---- rules, overrides, blocks: config-owned sets ---------------------- */

/* Rows of `source = 'config'` are replaced as a set: identical rows keep
** their id, vanished ones go, new ones come; API rows are left alone. */
#define SET_SYNC(table, rcols, cols, wantcols)                                 \
  " del AS (DELETE FROM " table " r WHERE r.organization_id = $1"              \
  "   AND r.source = 'config' AND NOT EXISTS (SELECT 1 FROM want w"            \
  "   WHERE (" wantcols ") IS NOT DISTINCT FROM (" rcols ")))"                 \
  " INSERT INTO " table " (organization_id, " cols ", source)"                 \
  " SELECT $1, " wantcols ", 'config' FROM want w WHERE NOT EXISTS"            \
  "   (SELECT 1 FROM " table " r WHERE r.organization_id = $1"                 \
  "   AND r.source = 'config' AND (" wantcols ") IS NOT DISTINCT FROM (" rcols "))"

static const char *SQL_RULES =
    "WITH want AS (SELECT l.id AS location_id, s.id AS staff_id,"
    "   w.day_of_week::smallint AS day_of_week, w.start_time::time AS start_time,"
    "   w.end_time::time AS end_time, l.timezone, w.effective_from, w.effective_until"
    "   FROM jsonb_to_recordset($2::jsonb) AS w(location text, staff text, day_of_week integer,"
    "     start_time text, end_time text, effective_from date, effective_until date)"
    "   JOIN locations l ON l.organization_id = $1 AND l.slug = w.location"
    "   LEFT JOIN staff s ON s.organization_id = $1 AND s.slug = w.staff),"
    SET_SYNC("availability_rules",
             "r.location_id, r.staff_id, r.day_of_week, r.start_time, r.end_time, r.timezone,"
             " r.effective_from, r.effective_until",
             "location_id, staff_id, day_of_week, start_time, end_time, timezone, effective_from,"
             " effective_until",
             "w.location_id, w.staff_id, w.day_of_week, w.start_time, w.end_time, w.timezone,"
             " w.effective_from, w.effective_until");

static const char *SQL_OVERRIDES =
    "WITH want AS (SELECT l.id AS location_id, s.id AS staff_id, w.date, w.intervals"
    "   FROM jsonb_to_recordset($2::jsonb) AS w(location text, staff text, date date, intervals jsonb)"
    "   JOIN locations l ON l.organization_id = $1 AND l.slug = w.location"
    "   LEFT JOIN staff s ON s.organization_id = $1 AND s.slug = w.staff),"
    SET_SYNC("date_overrides", "r.location_id, r.staff_id, r.date, r.intervals",
             "location_id, staff_id, date, intervals",
             "w.location_id, w.staff_id, w.date, w.intervals");

static const char *SQL_BLOCKS =
    "WITH want AS (SELECT l.id AS location_id, s.id AS staff_id,"
    "   w.start_local::timestamp AS starts_local, w.end_local::timestamp AS ends_local,"
    "   coalesce(w.timezone, l.timezone) AS timezone, w.rrule,"
    "   ARRAY(SELECT jsonb_array_elements_text(w.exdates))::timestamp[] AS exdates, w.reason"
    "   FROM jsonb_to_recordset($2::jsonb) AS w(location text, staff text, start_local text,"
    "     end_local text, timezone text, rrule text, exdates jsonb, reason text)"
    "   LEFT JOIN locations l ON l.organization_id = $1 AND l.slug = w.location"
    "   LEFT JOIN staff s ON s.organization_id = $1 AND s.slug = w.staff),"
    SET_SYNC("calendar_blocks",
             "r.location_id, r.staff_id, r.starts_local, r.ends_local, r.timezone, r.rrule, r.exdates, r.reason",
             "location_id, staff_id, starts_local, ends_local, timezone, rrule, exdates, reason",
             "w.location_id, w.staff_id, w.starts_local, w.ends_local, w.timezone, w.rrule, w.exdates, w.reason");

static void add_block(json_object *arr, const char *location,
                      const struct sc_conf_block *b) {
  json_object *row = json_object_new_object();
  json_object_object_add(row, "location", jstr(location));
  json_object_object_add(row, "staff", jstr(b->staff));
  json_object_object_add(row, "start_local", jstr(b->start));
  json_object_object_add(row, "end_local", jstr(b->end));
  json_object_object_add(row, "timezone", jstr(b->timezone));
  json_object_object_add(row, "rrule", jstr(b->rrule));
  json_object *ex = json_object_new_array();
  for (size_t k = 0; k < b->n_exdates; k++)
    json_object_array_add(ex, jstr(b->exdates[k]));
  json_object_object_add(row, "exdates", ex);
  json_object_object_add(row, "reason", jstr(b->reason));
  json_object_array_add(arr, row);
}

static void collect_location_sets(const struct sc_conf_location *l,
                                  json_object *rules, json_object *ovr,
                                  json_object *blocks) {
  for (size_t j = 0; j < l->n_rules; j++) {
    const struct sc_conf_rule *r = &l->rules[j];
    json_object *row = json_object_new_object();
    json_object_object_add(row, "location", jstr(l->slug));
    json_object_object_add(row, "staff", jstr(r->staff));
    json_object_object_add(row, "day_of_week", json_object_new_int(r->day_of_week));
    json_object_object_add(row, "start_time", jhhmm(r->start_min));
    json_object_object_add(row, "end_time", jhhmm(r->end_min));
    json_object_object_add(row, "effective_from", jstr(r->effective_from));
    json_object_object_add(row, "effective_until", jstr(r->effective_until));
    json_object_array_add(rules, row);
  }
  for (size_t j = 0; j < l->n_overrides; j++) {
    const struct sc_conf_override *d = &l->overrides[j];
    json_object *row = json_object_new_object(), *iv = json_object_new_array();
    json_object_object_add(row, "location", jstr(l->slug));
    json_object_object_add(row, "staff", jstr(d->staff));
    json_object_object_add(row, "date", jstr(d->date));
    for (size_t k = 0; k < d->n_intervals; k++) {
      json_object *one = json_object_new_object();
      json_object_object_add(one, "start", jhhmm(d->intervals[k].start_min));
      json_object_object_add(one, "end", jhhmm(d->intervals[k].end_min));
      json_object_array_add(iv, one);
    }
    json_object_object_add(row, "intervals", iv);
    json_object_array_add(ovr, row);
  }
  for (size_t j = 0; j < l->n_blocks; j++) add_block(blocks, l->slug, &l->blocks[j]);
}

static int apply_schedules(PGconn *conn, const char *org_id,
                           const struct sc_conf_org *o, struct sc_error *err) {
  json_object *rules = json_object_new_array(), *ovr = json_object_new_array(),
              *blocks = json_object_new_array();
  for (size_t i = 0; i < o->n_locations; i++)
    collect_location_sets(&o->locations[i], rules, ovr, blocks);
  for (size_t i = 0; i < o->n_staff; i++)
    for (size_t j = 0; j < o->staff[i].n_blocks; j++)
      add_block(blocks, NULL, &o->staff[i].blocks[j]);
  int rc = exec_want(conn, SQL_RULES, org_id, rules, NULL, err);
  if (!rc) rc = exec_want(conn, SQL_OVERRIDES, org_id, ovr, NULL, err);
  if (!rc) rc = exec_want(conn, SQL_BLOCKS, org_id, blocks, NULL, err);
  json_object_put(rules);
  json_object_put(ovr);
  json_object_put(blocks);
  return rc;
}

/* ---- connectors and their secrets ------------------------------------- */

static const char *SQL_CONNECTORS =
    "WITH want AS (SELECT w.name, w.plugin, l.id AS location_id, s.id AS staff_id, w.settings"
    "   FROM jsonb_to_recordset($2::jsonb) AS w(name text, plugin text, location text,"
    "     staff text, settings jsonb)"
    "   LEFT JOIN locations l ON l.organization_id = $1 AND l.slug = w.location"
    "   LEFT JOIN staff s ON s.organization_id = $1 AND s.slug = w.staff),"
    " up AS (INSERT INTO connector_instances (organization_id, name, plugin, location_id, staff_id, settings)"
    "   SELECT $1, name, plugin, location_id, staff_id, settings FROM want"
    "   ON CONFLICT (organization_id, name) DO UPDATE SET plugin = EXCLUDED.plugin,"
    "     location_id = EXCLUDED.location_id, staff_id = EXCLUDED.staff_id,"
    "     settings = EXCLUDED.settings, active = true, updated_at = now()"
    "   WHERE (connector_instances.plugin, connector_instances.location_id, connector_instances.staff_id,"
    "     connector_instances.settings, connector_instances.active)"
    "   IS DISTINCT FROM (EXCLUDED.plugin, EXCLUDED.location_id, EXCLUDED.staff_id, EXCLUDED.settings, true))"
    " UPDATE connector_instances SET active = false, updated_at = now()"
    " WHERE organization_id = $1 AND active AND name NOT IN (SELECT name FROM want)";

static void add_connector(json_object *arr, const struct sc_conf_connector *c) {
  json_object *row = json_object_new_object();
  json_object_object_add(row, "name", jstr(c->instance));
  json_object_object_add(row, "plugin", jstr(c->plugin));
  json_object_object_add(row, "location", jstr(c->location));
  json_object_object_add(row, "staff", jstr(c->staff));
  json_object_object_add(row, "settings",
      c->settings ? json_object_get(c->settings) : json_object_new_object());
  json_object_array_add(arr, row);
}

static int seed_secrets(PGconn *conn, const struct sc_keyring *kr,
                        const char *org_id, const struct sc_conf_connector *c,
                        struct sc_apply_stats *st, struct sc_error *err) {
  if (c->n_secrets == 0) return SC_OK;
  const char *p[2] = {org_id, c->instance};
  PGresult *r;
  int rc = sc_db_exec(conn, "SELECT id FROM connector_instances"
                      " WHERE organization_id = $1 AND name = $2", 2, p, &r, err);
  if (rc) return rc;
  char inst_id[37];
  snprintf(inst_id, sizeof inst_id, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  for (size_t i = 0; i < c->n_secrets && !rc; i++) {
    char *value = NULL;
    struct sc_error rerr;
    if (sc_config_resolve_secret(c->secrets[i].ref, &value, &rerr)) {
      /* The stored secret (if any) stays; the connector reports it. */
      sc_log_warn("event=secret_unresolved instance=%s setting=%s error=\"%s\"",
                  c->instance, c->secrets[i].name, rerr.message);
      st->secrets_unresolved++;
      continue;
    }
    int changed = 0;
    rc = sc_secret_seed(conn, kr, org_id, inst_id, c->secrets[i].name, value,
                        &changed, err);
    st->secrets_written += changed;
    free(value);
  }
  return rc;
}

static int apply_connectors(PGconn *conn, const struct sc_keyring *kr,
                            const char *org_id, const struct sc_conf_org *o,
                            struct sc_apply_stats *st, struct sc_error *err) {
  json_object *want = json_object_new_array();
  for (size_t i = 0; i < o->n_locations; i++)
    for (size_t j = 0; j < o->locations[i].n_connectors; j++)
      add_connector(want, &o->locations[i].connectors[j]);
  for (size_t i = 0; i < o->n_staff; i++)
    for (size_t j = 0; j < o->staff[i].n_connectors; j++)
      add_connector(want, &o->staff[i].connectors[j]);
  st->connectors += (int)json_object_array_length(want);
  int rc = exec_want(conn, SQL_CONNECTORS, org_id, want, &st->deactivated, err);
  json_object_put(want);
  for (size_t i = 0; !rc && i < o->n_locations; i++)
    for (size_t j = 0; !rc && j < o->locations[i].n_connectors; j++)
      rc = seed_secrets(conn, kr, org_id, &o->locations[i].connectors[j], st, err);
  for (size_t i = 0; !rc && i < o->n_staff; i++)
    for (size_t j = 0; !rc && j < o->staff[i].n_connectors; j++)
      rc = seed_secrets(conn, kr, org_id, &o->staff[i].connectors[j], st, err);
  return rc;
}

/* ---- entry point ------------------------------------------------------ */

static int apply_org(PGconn *conn, const struct sc_keyring *kr,
                     const struct sc_conf_org *o, struct sc_apply_stats *st,
                     struct sc_error *err) {
  char org_id[37];
  int rc = upsert_org(conn, o, org_id, err);
  if (!rc) rc = apply_locations(conn, org_id, o, &st->deactivated, err);
  if (!rc) rc = apply_staff(conn, org_id, o, &st->deactivated, err);
  if (!rc) rc = apply_event_types(conn, org_id, o, &st->deactivated, err);
  if (!rc) rc = apply_schedules(conn, org_id, o, err);
  if (!rc) rc = apply_connectors(conn, kr, org_id, o, st, err);
  if (rc) {
    char inner[sizeof err->message];
    snprintf(inner, sizeof inner, "%s", err->message);
    return sc_error_set(err, rc, NULL, "%s: applying organization %s: %s",
                        o->file ? o->file : "config", o->slug, inner);
  }
  st->organizations++;
  st->locations += (int)o->n_locations;
  st->staff += (int)o->n_staff;
  st->event_types += (int)o->n_event_types;
  return SC_OK;
}

int sc_config_apply(PGconn *conn, const struct sc_config *cfg,
                    const struct sc_keyring *kr, struct sc_apply_stats *stats,
                    struct sc_error *err) {
  struct sc_apply_stats st = {0};
  struct sc_tenant admin = {.platform_admin = 1};
  int rc = sc_db_begin(conn, &admin, err);
  if (rc) return rc;
  for (size_t i = 0; !rc && i < cfg->n_orgs; i++)
    rc = apply_org(conn, kr, &cfg->orgs[i], &st, err);
  if (!rc) rc = deactivate_missing_orgs(conn, cfg, &st.deactivated, err);
  if (!rc) rc = sc_db_commit(conn, err);
  if (rc) {
    sc_db_rollback(conn);
    return rc;
  }
  if (stats) *stats = st;
  return SC_OK;
}
