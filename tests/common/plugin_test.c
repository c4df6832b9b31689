/* Shared helpers for the plugin host and registry tests. */
#include "plugin_test.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pt_may_unload(void) {
#if defined(__SANITIZE_ADDRESS__)
  return 0;
#else
  return 1;
#endif
}

gchar *pt_build_path(const char *rel) {
  const char *root = g_getenv("SIDECAL_BUILD_ROOT");
  g_assert_nonnull(root);
  return g_build_filename(root, rel, NULL);
}

void pt_dirs_init(struct pt_dirs *d) {
  d->root = g_dir_make_tmp("sidecal-plugins-XXXXXX", NULL);
  g_assert_nonnull(d->root);
  d->plugins = g_build_filename(d->root, "plugins", NULL);
  d->cache = g_build_filename(d->root, "cache", NULL);
  g_assert_cmpint(g_mkdir(d->plugins, 0755), ==, 0);
}

static void rm_rf(const char *path) {
  GDir *dir = g_dir_open(path, 0, NULL);
  if (dir) {
    const char *e;
    while ((e = g_dir_read_name(dir))) {
      gchar *p = g_build_filename(path, e, NULL);
      rm_rf(p);
      g_free(p);
    }
    g_dir_close(dir);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

void pt_dirs_free(struct pt_dirs *d) {
  rm_rf(d->root);
  g_free(d->root);
  g_free(d->plugins);
  g_free(d->cache);
}

void pt_stage(const struct pt_dirs *d, const char *built_rel, const char *as, int mode) {
  gchar *src = pt_build_path(built_rel);
  gchar *data = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(src, &data, &len, NULL));
  gchar *name = g_strdup_printf("%s.so", as);
  gchar *dst = g_build_filename(d->plugins, name, NULL);
  gchar *tmp = g_strdup_printf("%s.tmp", dst);
  g_assert_true(g_file_set_contents(tmp, data, (gssize)len, NULL));
  g_assert_cmpint(chmod(tmp, (mode_t)mode), ==, 0);
  g_assert_cmpint(rename(tmp, dst), ==, 0);
  g_free(tmp);
  g_free(dst);
  g_free(name);
  g_free(data);
  g_free(src);
}

static int32_t on_event(const struct sidecal_sink *sink, const struct sidecal_event *ev) {
  struct pt_sink *s = (struct pt_sink *)sink;
  g_ptr_array_add(s->ids, g_strdup(ev->external_id));
  g_ptr_array_add(s->titles, g_strdup(ev->title ? ev->title : ""));
  g_array_append_val(s->starts, ev->start_utc);
  g_array_append_val(s->ends, ev->end_utc);
  g_array_append_val(s->all_day, ev->all_day);
  g_ptr_array_add(s->tzids, g_strdup(ev->timezone ? ev->timezone : ""));
  g_ptr_array_add(s->emails, g_strdup(ev->n_attendees && ev->attendees[0].email
                                          ? ev->attendees[0].email : ""));
  return 0;
}

static int32_t on_deleted(const struct sidecal_sink *sink, const char *id) {
  (void)sink;
  (void)id;
  return 0;
}

static void on_cursor(const struct sidecal_sink *sink, const char *cursor) {
  struct pt_sink *s = (struct pt_sink *)sink;
  g_free(s->cursor);
  s->cursor = g_strdup(cursor);
}

void pt_sink_init(struct pt_sink *s) {
  memset(s, 0, sizeof *s);
  s->sink.struct_size = sizeof s->sink;
  s->sink.event = on_event;
  s->sink.deleted = on_deleted;
  s->sink.cursor = on_cursor;
  s->ids = g_ptr_array_new_with_free_func(g_free);
  s->titles = g_ptr_array_new_with_free_func(g_free);
  s->tzids = g_ptr_array_new_with_free_func(g_free);
  s->emails = g_ptr_array_new_with_free_func(g_free);
  s->starts = g_array_new(FALSE, FALSE, sizeof(int64_t));
  s->ends = g_array_new(FALSE, FALSE, sizeof(int64_t));
  s->all_day = g_array_new(FALSE, FALSE, sizeof(uint32_t));
}

void pt_sink_clear(struct pt_sink *s) {
  g_ptr_array_unref(s->ids);
  g_ptr_array_unref(s->titles);
  g_ptr_array_unref(s->tzids);
  g_ptr_array_unref(s->emails);
  g_array_unref(s->starts);
  g_array_unref(s->ends);
  g_array_unref(s->all_day);
  g_free(s->cursor);
  memset(s, 0, sizeof *s);
}

struct sc_conf_connector *pt_connector(const char *plugin, const char *instance,
                                       const char *settings_json,
                                       const char *const *secret_names,
                                       const char *const *secret_refs, size_t n_secrets) {
  struct sc_conf_connector *c = calloc(1, sizeof *c);
  c->pos = (struct sc_conf_pos){8, 5};
  c->plugin = strdup(plugin);
  c->instance = instance ? strdup(instance) : NULL;
  c->settings = json_tokener_parse(settings_json ? settings_json : "{}");
  g_assert_nonnull(c->settings);
  size_t n_keys = (size_t)json_object_object_length(c->settings) + n_secrets;
  c->setting_keys = calloc(n_keys + 1, sizeof *c->setting_keys);
  c->setting_pos = calloc(n_keys + 1, sizeof *c->setting_pos);
  int line = 10;
  json_object_object_foreach(c->settings, key, val) {
    (void)val;
    c->setting_keys[c->n_setting_pos] = strdup(key);
    c->setting_pos[c->n_setting_pos++] = (struct sc_conf_pos){line++, 7};
  }
  c->secrets = calloc(n_secrets + 1, sizeof *c->secrets);
  for (size_t i = 0; i < n_secrets; i++) {
    c->secrets[i].name = strdup(secret_names[i]);
    c->secrets[i].ref = strdup(secret_refs[i]);
    c->setting_keys[c->n_setting_pos] = strdup(secret_names[i]);
    c->setting_pos[c->n_setting_pos++] = (struct sc_conf_pos){line++, 7};
  }
  c->n_secrets = n_secrets;
  return c;
}

void pt_connector_free(struct sc_conf_connector *c) {
  if (!c) return;
  free(c->plugin);
  free(c->instance);
  free(c->location);
  free(c->staff);
  json_object_put(c->settings);
  for (size_t i = 0; i < c->n_secrets; i++) {
    free(c->secrets[i].name);
    free(c->secrets[i].ref);
  }
  free(c->secrets);
  for (size_t i = 0; i < c->n_setting_pos; i++) free(c->setting_keys[i]);
  free(c->setting_keys);
  free(c->setting_pos);
  free(c);
}
