/*
** Pins the layout of every struct in the connector ABI (sdk/include/sidecal).
** A change here breaks every connector built against an older SDK: if this
** test fails, either undo the change or follow the changelog rules in
** sidecal/connector.h (append only -> minor; anything else -> major) and
** update the numbers below in the same commit.
** The numbers are for LP64 (x86_64, aarch64), the platforms we ship.
*/
#include <glib.h>
#include <stddef.h>
#include <sidecal/connector.h>

#define SIZE(T, n) g_assert_cmpuint(sizeof(struct T), ==, n)
#define OFF(T, f, n) g_assert_cmpuint(offsetof(struct T, f), ==, n)

static int lp64(void) {
  if (sizeof(void *) == 8 && sizeof(long) == 8) return 1;
  g_test_skip("layout numbers are pinned for LP64");
  return 0;
}

static void test_constants(void) {
  g_assert_cmphex(SIDECAL_CONNECTOR_MAGIC, ==, 0x53434e31u);
  g_assert_cmpuint(SIDECAL_ABI_MAJOR, ==, 1);
  g_assert_cmpuint(SIDECAL_ABI_MINOR, ==, 3);
  g_assert_cmpint(SIDECAL_OK, ==, 0);
  g_assert_cmpint(SIDECAL_RETRY, ==, 1);
  g_assert_cmpint(SIDECAL_ERROR, ==, 2);
  g_assert_cmpint(SIDECAL_CURSOR_EXPIRED, ==, 3);
  g_assert_cmpint(SIDECAL_CONFLICT, ==, 4);
  g_assert_cmpint(SIDECAL_UNAUTHORIZED, ==, 5);
  g_assert_cmphex(SIDECAL_CAP_READ_EVENTS | SIDECAL_CAP_WRITE_EVENTS | SIDECAL_CAP_WEBHOOKS |
                  SIDECAL_CAP_FREE_BUSY | SIDECAL_CAP_CREDENTIAL_REFRESH, ==, 0x1f);
  g_assert_cmpuint(SIDECAL_SETTING_STRING, ==, 1);
  g_assert_cmpuint(SIDECAL_SETTING_MAP, ==, 5);
  g_assert_cmpuint(SIDECAL_SETTING_REQUIRED, ==, 1);
  g_assert_cmpuint(SIDECAL_SETTING_SECRET, ==, 2);
  g_assert_cmpuint(SIDECAL_EVENT_CONFIRMED, ==, 1);
  g_assert_cmpuint(SIDECAL_EVENT_CANCELLED, ==, 3);
  g_assert_cmpuint(SIDECAL_LOG_ERROR, ==, 3);
}

static void test_connector(void) {
  if (!lp64()) return;
  SIZE(sidecal_connector, 168);
  OFF(sidecal_connector, magic, 0);
  OFF(sidecal_connector, abi_major, 4);
  OFF(sidecal_connector, abi_minor, 8);
  OFF(sidecal_connector, struct_size, 12);
  OFF(sidecal_connector, name, 16);
  OFF(sidecal_connector, version, 24);
  OFF(sidecal_connector, description, 32);
  OFF(sidecal_connector, capabilities, 40);
  OFF(sidecal_connector, settings, 48);
  OFF(sidecal_connector, n_settings, 56);
  OFF(sidecal_connector, setting_def_size, 60);
  OFF(sidecal_connector, instance_create, 64);
  OFF(sidecal_connector, instance_destroy, 72);
  OFF(sidecal_connector, list_events, 80);
  OFF(sidecal_connector, create_event, 88);
  OFF(sidecal_connector, update_event, 96);
  OFF(sidecal_connector, delete_event, 104);
  OFF(sidecal_connector, webhook_route, 112);
  OFF(sidecal_connector, instance_key, 120);
  OFF(sidecal_connector, webhook_verify, 128);
  OFF(sidecal_connector, webhook_parse, 136);
  OFF(sidecal_connector, free_busy, 144);
  OFF(sidecal_connector, refresh_credentials, 152);
  OFF(sidecal_connector, webhook_dedupe_key, 160);
}

static void test_settings_and_results(void) {
  if (!lp64()) return;
  SIZE(sidecal_setting_def, 32);
  OFF(sidecal_setting_def, name, 0);
  OFF(sidecal_setting_def, type, 8);
  OFF(sidecal_setting_def, flags, 12);
  OFF(sidecal_setting_def, default_json, 16);
  OFF(sidecal_setting_def, description, 24);

  SIZE(sidecal_result, 528);
  OFF(sidecal_result, struct_size, 0);
  OFF(sidecal_result, code, 4);
  OFF(sidecal_result, retry_after_ms, 8);
  OFF(sidecal_result, reserved, 12);
  OFF(sidecal_result, message, 16);

  SIZE(sidecal_call_ctx, 72);
  OFF(sidecal_call_ctx, struct_size, 0);
  OFF(sidecal_call_ctx, reserved, 4);
  OFF(sidecal_call_ctx, organization, 8);
  OFF(sidecal_call_ctx, location, 16);
  OFF(sidecal_call_ctx, staff, 24);
  OFF(sidecal_call_ctx, instance, 32);
  OFF(sidecal_call_ctx, request_id, 40);
  OFF(sidecal_call_ctx, deadline_ms, 48);
  OFF(sidecal_call_ctx, cancel, 56);
  OFF(sidecal_call_ctx, host_instance, 64);

  SIZE(sidecal_sink, 48);
  OFF(sidecal_sink, struct_size, 0);
  OFF(sidecal_sink, reserved, 4);
  OFF(sidecal_sink, host_data, 8);
  OFF(sidecal_sink, event, 16);
  OFF(sidecal_sink, deleted, 24);
  OFF(sidecal_sink, cursor, 32);
  OFF(sidecal_sink, busy, 40);

  SIZE(sidecal_webhook, 40);
  OFF(sidecal_webhook, struct_size, 0);
  OFF(sidecal_webhook, n_headers, 4);
  OFF(sidecal_webhook, headers, 8);
  OFF(sidecal_webhook, body, 16);
  OFF(sidecal_webhook, body_len, 24);
  OFF(sidecal_webhook, query, 32);

  SIZE(sidecal_write_result, 520);
  OFF(sidecal_write_result, struct_size, 0);
  OFF(sidecal_write_result, reserved, 4);
  OFF(sidecal_write_result, external_id, 8);
  OFF(sidecal_write_result, etag, 264);
}

static void test_event(void) {
  if (!lp64()) return;
  SIZE(sidecal_attendee, 24);
  OFF(sidecal_attendee, name, 0);
  OFF(sidecal_attendee, email, 8);
  OFF(sidecal_attendee, phone, 16);
  SIZE(sidecal_window, 16);
  OFF(sidecal_window, start_utc, 0);
  OFF(sidecal_window, end_utc, 8);
  SIZE(sidecal_event, 144);
  OFF(sidecal_event, struct_size, 0);
  OFF(sidecal_event, status, 4);
  OFF(sidecal_event, external_id, 8);
  OFF(sidecal_event, etag, 16);
  OFF(sidecal_event, start_utc, 24);
  OFF(sidecal_event, end_utc, 32);
  OFF(sidecal_event, timezone, 40);
  OFF(sidecal_event, all_day, 48);
  OFF(sidecal_event, n_attendees, 52);
  OFF(sidecal_event, attendees, 56);
  OFF(sidecal_event, title, 64);
  OFF(sidecal_event, description, 72);
  OFF(sidecal_event, location, 80);
  OFF(sidecal_event, last_modified_utc, 88);
  OFF(sidecal_event, raw_json, 96);
  OFF(sidecal_event, marker, 104);
  OFF(sidecal_event, replaces_external_id, 112);
  OFF(sidecal_event, event_type, 120);
  OFF(sidecal_event, appointment_status, 128);
  OFF(sidecal_event, staff, 136);
}

static void test_host(void) {
  if (!lp64()) return;
  SIZE(sidecal_http_header, 16);
  OFF(sidecal_http_header, name, 0);
  OFF(sidecal_http_header, value, 8);
  SIZE(sidecal_http_request, 56);
  OFF(sidecal_http_request, struct_size, 0);
  OFF(sidecal_http_request, timeout_ms, 4);
  OFF(sidecal_http_request, method, 8);
  OFF(sidecal_http_request, url, 16);
  OFF(sidecal_http_request, headers, 24);
  OFF(sidecal_http_request, n_headers, 32);
  OFF(sidecal_http_request, reserved, 36);
  OFF(sidecal_http_request, body, 40);
  OFF(sidecal_http_request, body_len, 48);
  SIZE(sidecal_http_response, 48);
  OFF(sidecal_http_response, struct_size, 0);
  OFF(sidecal_http_response, status, 4);
  OFF(sidecal_http_response, headers, 8);
  OFF(sidecal_http_response, n_headers, 16);
  OFF(sidecal_http_response, reserved, 20);
  OFF(sidecal_http_response, body, 24);
  OFF(sidecal_http_response, body_len, 32);
  OFF(sidecal_http_response, host_private, 40);

  SIZE(sidecal_host_api, 144);
  OFF(sidecal_host_api, struct_size, 0);
  OFF(sidecal_host_api, abi_major, 4);
  OFF(sidecal_host_api, abi_minor, 8);
  OFF(sidecal_host_api, reserved, 12);
  OFF(sidecal_host_api, log, 16);
  OFF(sidecal_host_api, now_utc_ms, 24);
  OFF(sidecal_host_api, monotonic_ms, 32);
  OFF(sidecal_host_api, setting_string, 40);
  OFF(sidecal_host_api, setting_int, 48);
  OFF(sidecal_host_api, setting_bool, 56);
  OFF(sidecal_host_api, setting_list_len, 64);
  OFF(sidecal_host_api, setting_list_item, 72);
  OFF(sidecal_host_api, setting_map_len, 80);
  OFF(sidecal_host_api, setting_map_key, 88);
  OFF(sidecal_host_api, setting_map_value, 96);
  OFF(sidecal_host_api, secret_read, 104);
  OFF(sidecal_host_api, secret_store_rotated, 112);
  OFF(sidecal_host_api, counter_add, 120);
  OFF(sidecal_host_api, http_request, 128);
  OFF(sidecal_host_api, http_response_free, 136);
}

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sdk_abi/constants", test_constants);
  g_test_add_func("/sdk_abi/connector", test_connector);
  g_test_add_func("/sdk_abi/settings_and_results", test_settings_and_results);
  g_test_add_func("/sdk_abi/event", test_event);
  g_test_add_func("/sdk_abi/host", test_host);
  return g_test_run();
}
