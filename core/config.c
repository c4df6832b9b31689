/*
** conf.d/ entry points: reading one file or a whole directory, the checks
** that span files (organization slugs), lookups, and freeing everything.
*/
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"
#include "config_yaml.h"

/* A config file is a few kilobytes; the cap only stops a wrong path (a log,
** a device) from being slurped. */
#define SC_CONFIG_FILE_MAX (16L * 1024 * 1024)

static int read_file(const char *path, char **text, size_t *len,
                     struct sc_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return sc_error_set(err, SC_EIO, "", "%s: cannot open: %s", path,
                        strerror(errno));
  GString *s = g_string_new(NULL);
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0 &&
         s->len <= SC_CONFIG_FILE_MAX)
    g_string_append_len(s, buf, (gssize)n);
  int failed = ferror(f), saved = errno;
  fclose(f);
  int rc = SC_OK;
  if (failed)
    rc = sc_error_set(err, SC_EIO, "", "%s: cannot read: %s", path,
                      strerror(saved));
  else if (s->len > SC_CONFIG_FILE_MAX)
    rc = sc_error_set(err, SC_EINVAL, "", "%s: larger than %ld bytes", path,
                      SC_CONFIG_FILE_MAX);
  if (rc) {
    g_string_free(s, TRUE);
    return rc;
  }
  *len = s->len;
  *text = g_string_free(s, FALSE);
  return SC_OK;
}

int sc_config_load_file(const char *path, struct sc_conf_org *org,
                        struct sc_error *err) {
  char *text = NULL;
  size_t len = 0;
  memset(org, 0, sizeof *org);
  int rc = read_file(path, &text, &len, err);
  if (rc) return rc;
  struct sc_yreader r = {.file = path, .err = err};
  yaml_node_t *root = NULL;
  rc = sc_yreader_load(&r, text, len, &root);
  if (!rc && !root)
    rc = sc_error_set(err, SC_EINVAL, "",
                      "%s:1:1: empty file; expected organization:, "
                      "locations:, staff: and event_types:",
                      path);
  org->file = g_strdup(path);
  if (!rc) rc = sc_conf_parse_org(&r, root, org);
  sc_yreader_done(&r);
  g_free(text);
  if (rc) sc_config_org_free(org);
  return rc;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.yaml names in dir (hidden files skipped: editor backups). */
static int list_yaml(const char *dir, GPtrArray *names, struct sc_error *err) {
  DIR *d = opendir(dir);
  if (!d)
    return sc_error_set(err, SC_EIO, "", "%s: cannot open directory: %s", dir,
                        strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (e->d_name[0] != '.' && n > 5 && !strcmp(e->d_name + n - 5, ".yaml"))
      g_ptr_array_add(names, g_strdup(e->d_name));
  }
  closedir(d);
  qsort(names->pdata, names->len, sizeof(char *), by_name);
  return SC_OK;
}

static int check_unique_org(const struct sc_config *cfg,
                            const struct sc_conf_org *org,
                            struct sc_error *err) {
  for (size_t i = 0; i < cfg->n_orgs; i++)
    if (!strcmp(cfg->orgs[i].slug, org->slug))
      return sc_error_set(err, SC_EINVAL, "organization.slug",
                          "%s:%d:%d: organization.slug: duplicate organization "
                          "\"%s\" (also in %s)",
                          org->file, org->pos.line, org->pos.col, org->slug,
                          cfg->orgs[i].file);
  return SC_OK;
}

int sc_config_load_dir(const char *dir, struct sc_config *out,
                       struct sc_error *err) {
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  struct sc_config cfg = {0};
  int rc = list_yaml(dir, names, err);
  if (!rc && names->len) cfg.orgs = g_new0(struct sc_conf_org, names->len);
  for (guint i = 0; !rc && i < names->len; i++) {
    char *path = g_build_filename(dir, names->pdata[i], NULL);
    struct sc_conf_org *org = &cfg.orgs[cfg.n_orgs];
    rc = sc_config_load_file(path, org, err);
    g_free(path);
    if (!rc) rc = check_unique_org(&cfg, org, err);
    if (!rc) cfg.n_orgs++;
    else sc_config_org_free(org);
  }
  g_ptr_array_free(names, TRUE);
  if (rc) {
    sc_config_free(&cfg);
    return rc;
  }
  *out = cfg;
  return SC_OK;
}

static void location_free(struct sc_conf_location *l) {
  g_free(l->slug);
  g_free(l->name);
  g_free(l->timezone);
  if (l->branding) json_object_put(l->branding);
  for (size_t i = 0; i < l->n_rules; i++) sc_conf_rule_clear(&l->rules[i]);
  g_free(l->rules);
  for (size_t i = 0; i < l->n_overrides; i++)
    sc_conf_override_clear(&l->overrides[i]);
  g_free(l->overrides);
  for (size_t i = 0; i < l->n_blocks; i++) sc_conf_block_clear(&l->blocks[i]);
  g_free(l->blocks);
  for (size_t i = 0; i < l->n_connectors; i++)
    sc_conf_connector_clear(&l->connectors[i]);
  g_free(l->connectors);
}

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) g_free(v[i]);
  g_free(v);
}

static void staff_free(struct sc_conf_staff *s) {
  g_free(s->slug);
  g_free(s->name);
  g_free(s->email);
  g_free(s->role);
  strv_free(s->locations, s->n_locations);
  for (size_t i = 0; i < s->n_blocks; i++) sc_conf_block_clear(&s->blocks[i]);
  g_free(s->blocks);
  for (size_t i = 0; i < s->n_connectors; i++)
    sc_conf_connector_clear(&s->connectors[i]);
  g_free(s->connectors);
}

static void event_type_free(struct sc_conf_event_type *e) {
  g_free(e->slug);
  g_free(e->title);
  g_free(e->price);
  strv_free(e->staff, e->n_staff);
}

void sc_config_org_free(struct sc_conf_org *org) {
  if (!org) return;
  g_free(org->file);
  g_free(org->slug);
  g_free(org->name);
  for (size_t i = 0; i < org->n_locations; i++)
    location_free(&org->locations[i]);
  g_free(org->locations);
  for (size_t i = 0; i < org->n_staff; i++) staff_free(&org->staff[i]);
  g_free(org->staff);
  for (size_t i = 0; i < org->n_event_types; i++)
    event_type_free(&org->event_types[i]);
  g_free(org->event_types);
  memset(org, 0, sizeof *org);
}

void sc_config_free(struct sc_config *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < cfg->n_orgs; i++) sc_config_org_free(&cfg->orgs[i]);
  g_free(cfg->orgs);
  memset(cfg, 0, sizeof *cfg);
}

const struct sc_conf_location *sc_config_find_location(
    const struct sc_conf_org *org, const char *slug) {
  for (size_t i = 0; i < org->n_locations; i++)
    if (org->locations[i].slug && !strcmp(org->locations[i].slug, slug))
      return &org->locations[i];
  return NULL;
}

const struct sc_conf_staff *sc_config_find_staff(const struct sc_conf_org *org,
                                                 const char *slug) {
  for (size_t i = 0; i < org->n_staff; i++)
    if (org->staff[i].slug && !strcmp(org->staff[i].slug, slug))
      return &org->staff[i];
  return NULL;
}

bool sc_config_staff_works_at(const struct sc_conf_staff *st,
                              const char *location) {
  for (size_t i = 0; i < st->n_locations; i++)
    if (!strcmp(st->locations[i], location)) return true;
  return false;
}
