/*
** sidecal connector ABI
** =====================
**
** A connector is a shared object <plugin-dir>/<name>.so that exports exactly
** one symbol, sidecal_connector_entry(). The host calls it once per load with
** its services table and gets back a constant descriptor (struct
** sidecal_connector) that starts with a stamp: magic, ABI major, ABI minor
** and the descriptor's own size.
**
** The host accepts a plugin when
**   magic == SIDECAL_CONNECTOR_MAGIC,
**   abi_major == host major, abi_minor <= host minor,
**   struct_size <= the host's sizeof(struct sidecal_connector),
**   name equals the file name, and every callback its capabilities need is
**   present.
** It copies struct_size bytes into a zeroed struct, so callbacks added in a
** newer minor read as NULL for an older plugin. Anything else is refused
** with one log line naming the file, the plugin, both ABI versions and the
** reason.
**
** The first six fields (magic, abi_major, abi_minor, struct_size, name,
** version) are frozen across all majors, so a host can always say who a
** refused plugin was.
**
** Rules for changing this ABI: adding a field at the end of a struct that
** carries struct_size, a host-table entry at the end, a capability bit, a
** result code or a setting type raises ABI_MINOR. Removing or changing
** anything raises ABI_MAJOR. No bool or enum in ABI structs: fixed-width
** integers only, laid out without implicit padding (a test pins every
** sizeof/offsetof).
**
** Changelog
**   1.0  first published ABI: descriptor with capabilities read, write,
**        webhooks, free/busy, credential refresh; typed settings (string,
**        int, bool, string_list, map); normalized event; host table with
**        log, clock, settings, secrets, metrics, HTTP.
**   1.1  sidecal_event.marker (the host's idempotency marker, so a create
**        retried after an unknown outcome finds the first attempt's event
**        instead of writing a duplicate); result code SIDECAL_UNAUTHORIZED
**        (credentials rejected: the host refreshes and retries). A 1.0
**        connector keeps working: it never reports a marker, so after an
**        unknown create outcome the host can only create again.
**   1.2  sidecal_event.replaces_external_id (a provider that replaces an
**        event by a new id on reschedule says which one it replaces, so
**        the host keeps one appointment), sidecal_event.event_type (our
**        event type slug, both directions) and
**        sidecal_event.appointment_status (no-show, completed, ... when the
**        provider knows). Older connectors leave them unset: reschedules
**        then look like a cancel plus a create.
**   1.3  sidecal_event.staff (our staff slug, both directions), so a
**        provider's assigned user becomes the appointment's staff member
**        and ours reaches the provider; capability
**        SIDECAL_CAP_WEBHOOK_RETRY_429 (the provider retries webhooks only
**        on 429); optional callback webhook_dedupe_key (the provider's
**        delivery identity, e.g. GHL's webhookId).
**
** Threading: the host may call any callback of one instance from several
** threads at once, and callbacks of different instances concurrently.
** Protect per-instance mutable state yourself. Own no threads, signal
** handlers, atexit handlers or thread-local destructors.
*/
#ifndef SIDECAL_CONNECTOR_H
#define SIDECAL_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "host.h"
#include "settings.h"

#define SIDECAL_CONNECTOR_MAGIC 0x53434e31u /* "SCN1" */
#define SIDECAL_ABI_MAJOR 1u
#define SIDECAL_ABI_MINOR 3u

/* sidecal_connector.capabilities */
#define SIDECAL_CAP_READ_EVENTS        0x01u /* needs list_events */
#define SIDECAL_CAP_WRITE_EVENTS       0x02u /* needs create/update/delete_event */
#define SIDECAL_CAP_WEBHOOKS           0x04u /* needs webhook_verify, webhook_parse */
#define SIDECAL_CAP_FREE_BUSY          0x08u /* needs free_busy */
#define SIDECAL_CAP_CREDENTIAL_REFRESH 0x10u /* needs refresh_credentials */
/* The provider redelivers a webhook only when answered 429 (GoHighLevel),
** so the host answers 429, not 503, when its inbox cannot take one. */
#define SIDECAL_CAP_WEBHOOK_RETRY_429  0x20u

/* Where list_events, webhook_parse and free_busy put their output. The host
** copies what it needs before each function returns. */
struct sidecal_sink {
  uint32_t struct_size;
  uint32_t reserved;
  void *host_data;
  /* An event was created or changed. Returns nonzero when the host wants no
  ** more (stop and return SIDECAL_OK). */
  int32_t (*event)(const struct sidecal_sink *sink, const struct sidecal_event *ev);
  /* An event was deleted at the provider. */
  int32_t (*deleted)(const struct sidecal_sink *sink, const char *external_id);
  /* list_events: the cursor to pass next time (opaque to the host, <= 4096
  ** bytes). Not calling it keeps the old cursor. */
  void (*cursor)(const struct sidecal_sink *sink, const char *cursor);
  /* free_busy: one busy interval. */
  int32_t (*busy)(const struct sidecal_sink *sink, int64_t start_utc, int64_t end_utc);
};

/* An inbound webhook delivery, as received. */
struct sidecal_webhook {
  uint32_t struct_size;
  uint32_t n_headers;
  const struct sidecal_http_header *headers; /* names lower-cased */
  const char *body;                          /* raw bytes, NUL-terminated */
  uint64_t body_len;
  const char *query;                         /* raw query string or NULL */
};

/* Output of create_event / update_event. */
struct sidecal_write_result {
  uint32_t struct_size;
  uint32_t reserved;
  char external_id[256];
  char etag[256];             /* "" when the provider has none */
};

struct sidecal_connector {
  /* --- stamp: frozen across majors --- */
  uint32_t magic;             /* SIDECAL_CONNECTOR_MAGIC */
  uint32_t abi_major;         /* SIDECAL_ABI_MAJOR at build time */
  uint32_t abi_minor;         /* SIDECAL_ABI_MINOR at build time */
  uint32_t struct_size;       /* sizeof(struct sidecal_connector) */
  const char *name;           /* must equal the file name without ".so" */
  const char *version;        /* the connector's own version, e.g. "1.4.2" */
  /* --- identity and settings --- */
  const char *description;    /* one line */
  uint64_t capabilities;      /* SIDECAL_CAP_* */
  const struct sidecal_setting_def *settings;
  uint32_t n_settings;
  uint32_t setting_def_size;  /* sizeof(struct sidecal_setting_def) */

  /* --- instances (always required) ---
  ** create: settings are validated and defaulted; keep `hi` and `settings`
  ** if you need them later (both outlive the instance). Set *instance to
  ** your state (may be NULL). When create fails, free what you allocated:
  ** destroy is not called. destroy is called once, after the last call. */
  int32_t (*instance_create)(const struct sidecal_call_ctx *ctx,
                             const struct sidecal_settings *settings,
                             void **instance, struct sidecal_result *res);
  void (*instance_destroy)(void *instance);

  /* --- reading (SIDECAL_CAP_READ_EVENTS) ---
  ** Report events overlapping the window through sink->event/deleted.
  ** cursor == NULL: full sync (report everything in the window). Otherwise
  ** report only what changed since that cursor, or return
  ** SIDECAL_CURSOR_EXPIRED when the provider no longer knows it. Call
  ** sink->cursor with the next cursor before returning OK. A full sync
  ** that returns OK must have reported every event in the window: the
  ** host treats what it did not see there as deleted. Stop early only with
  ** RETRY or ERROR. */
  int32_t (*list_events)(void *instance, const struct sidecal_call_ctx *ctx,
                         const struct sidecal_window *window,
                         const char *cursor, const struct sidecal_sink *sink,
                         struct sidecal_result *res);

  /* --- writing (SIDECAL_CAP_WRITE_EVENTS) ---
  ** create_event: ev->marker (1.1) is set; keep it where the provider keeps
  ** private data (an extended property, an external-id field, or derive a
  ** provider-side dedupe key from it) and report it back as ev->marker from
  ** list_events, so the host can find an event whose create answered with
  ** an error after it took effect.
  ** if_match: the etag the host last saw, or NULL for unconditional; when
  ** the provider supports preconditions and it no longer matches, return
  ** SIDECAL_CONFLICT. */
  int32_t (*create_event)(void *instance, const struct sidecal_call_ctx *ctx,
                          const struct sidecal_event *ev,
                          struct sidecal_write_result *out,
                          struct sidecal_result *res);
  int32_t (*update_event)(void *instance, const struct sidecal_call_ctx *ctx,
                          const char *external_id, const char *if_match,
                          const struct sidecal_event *ev,
                          struct sidecal_write_result *out,
                          struct sidecal_result *res);
  int32_t (*delete_event)(void *instance, const struct sidecal_call_ctx *ctx,
                          const char *external_id, const char *if_match,
                          struct sidecal_result *res);

  /* --- webhooks (SIDECAL_CAP_WEBHOOKS) ---
  ** route (optional): for providers with one webhook URL per app, write the
  ** provider-side key of the instance the delivery belongs to into key
  ** (e.g. the provider's location id); the host matches it against
  ** instance_key. No instance is involved: ctx names no instance.
  ** instance_key (optional): this instance's provider-side key.
  ** verify: OK when the delivery is authentic, ERROR otherwise.
  ** parse: report the changes in the delivery through the sink. */
  int32_t (*webhook_route)(const struct sidecal_call_ctx *ctx,
                           const struct sidecal_webhook *wh, char *key,
                           size_t key_size, struct sidecal_result *res);
  int32_t (*instance_key)(void *instance, char *key, size_t key_size);
  int32_t (*webhook_verify)(void *instance, const struct sidecal_call_ctx *ctx,
                            const struct sidecal_webhook *wh,
                            struct sidecal_result *res);
  int32_t (*webhook_parse)(void *instance, const struct sidecal_call_ctx *ctx,
                           const struct sidecal_webhook *wh,
                           const struct sidecal_sink *sink,
                           struct sidecal_result *res);

  /* --- free/busy (SIDECAL_CAP_FREE_BUSY) --- via sink->busy */
  int32_t (*free_busy)(void *instance, const struct sidecal_call_ctx *ctx,
                       const struct sidecal_window *window,
                       const struct sidecal_sink *sink,
                       struct sidecal_result *res);

  /* --- credentials (SIDECAL_CAP_CREDENTIAL_REFRESH) ---
  ** Refresh tokens and keep them with host->secret_store_rotated(). */
  int32_t (*refresh_credentials)(void *instance,
                                 const struct sidecal_call_ctx *ctx,
                                 struct sidecal_result *res);

  /* --- ABI 1.3 (optional, with SIDECAL_CAP_WEBHOOKS) ---
  ** webhook_dedupe_key: the provider's own identity of a verified delivery
  ** (e.g. its delivery id) into buf; the host treats deliveries with the
  ** same key as one. Anything but SIDECAL_OK, or no callback, and the host
  ** falls back to a hash of the body. */
  int32_t (*webhook_dedupe_key)(void *instance, const struct sidecal_webhook *wh,
                                char *buf, size_t size);
};

/* Fill the stamp of a descriptor: SIDECAL_CONNECTOR_STAMP, .name = ... */
#define SIDECAL_CONNECTOR_STAMP                                   \
  .magic = SIDECAL_CONNECTOR_MAGIC, .abi_major = SIDECAL_ABI_MAJOR, \
  .abi_minor = SIDECAL_ABI_MINOR,                                  \
  .struct_size = (uint32_t)sizeof(struct sidecal_connector),       \
  .setting_def_size = (uint32_t)sizeof(struct sidecal_setting_def)

#if defined(__GNUC__) || defined(__clang__)
#define SIDECAL_EXPORT __attribute__((visibility("default")))
#else
#define SIDECAL_EXPORT
#endif

#define SIDECAL_ENTRY_SYMBOL "sidecal_connector_entry"

typedef const struct sidecal_connector *(*sidecal_connector_entry_fn)(
    const struct sidecal_host_api *host);

/* The one symbol a connector exports. Called once per load; keep `host` in
** a static for later calls (it outlives every instance). Return a pointer to
** a static descriptor, or NULL to refuse to load (log why first). */
SIDECAL_EXPORT const struct sidecal_connector *sidecal_connector_entry(
    const struct sidecal_host_api *host);

#endif
