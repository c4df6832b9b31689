/*
** Route table. Handlers live in api_<area>.c files.
*/
#include "routes.h"

#include "api_admin.h"
#include "api_appointments.h"
#include "api_availability.h"
#include "api_booking.h"
#include "api_health.h"
#include "api_schedule.h"
#include "api_metrics.h"
#include "api_sync.h"
#include "api_webhooks.h"

const struct sc_http_route sc_routes[] = {
  {"GET", "/health", sc_api_health},
  {"GET", "/metrics", sc_api_metrics},
  {"GET", "/health/calendar", sc_api_health_calendar},
  {"GET", "/v1/appointments", sc_api_appointments_list},
  {"POST", "/v1/appointments", sc_api_appointments_create},
  {"GET", "/v1/appointments/{id}", sc_api_appointments_get},
  {"PATCH", "/v1/appointments/{id}", sc_api_appointments_patch},
  {"POST", "/v1/appointments/{id}/cancel", sc_api_appointments_cancel},
  {"GET", "/v1/rules", sc_api_rules_list},
  {"POST", "/v1/rules", sc_api_rules_create},
  {"GET", "/v1/rules/{id}", sc_api_rules_get},
  {"PATCH", "/v1/rules/{id}", sc_api_rules_patch},
  {"DELETE", "/v1/rules/{id}", sc_api_rules_delete},
  {"GET", "/v1/overrides", sc_api_overrides_list},
  {"POST", "/v1/overrides", sc_api_overrides_create},
  {"GET", "/v1/overrides/{id}", sc_api_overrides_get},
  {"PATCH", "/v1/overrides/{id}", sc_api_overrides_patch},
  {"DELETE", "/v1/overrides/{id}", sc_api_overrides_delete},
  {"GET", "/v1/blocks", sc_api_blocks_list},
  {"POST", "/v1/blocks", sc_api_blocks_create},
  {"GET", "/v1/blocks/{id}", sc_api_blocks_get},
  {"PATCH", "/v1/blocks/{id}", sc_api_blocks_patch},
  {"DELETE", "/v1/blocks/{id}", sc_api_blocks_delete},
  {"GET", "/v1/availability", sc_api_availability},
  {"GET", "/v1/public/{org}/{location}/availability", sc_api_public_availability},
  {"POST", "/v1/public/{org}/{location}/bookings", sc_api_public_booking},
  /* -- routes: admin / plugins (issue 5) -- */
  {"POST", "/v1/admin/reload", sc_api_admin_reload},
  {"GET", "/v1/admin/plugins", sc_api_admin_plugins},
  {"GET", "/v1/admin/instances/{name}/events", sc_api_admin_instance_events},
  {"POST", "/v1/admin/instances/{name}/refresh", sc_api_admin_instance_refresh},
  /* -- routes: webhooks / sync (issue 6) -- */
  {"POST", "/v1/webhooks/{plugin}/{instance}", sc_api_webhook_instance},
  {"POST", "/v1/webhooks/{plugin}", sc_api_webhook_app},
  {"GET", "/v1/sync/conflicts", sc_api_conflicts_list},
  {"POST", "/v1/sync/conflicts/{id}/resolve", sc_api_conflict_resolve},
  {NULL, NULL, NULL},
};
