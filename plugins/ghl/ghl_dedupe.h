/*
** The dedupe key of a GHL webhook delivery: "ghl:<webhookId>" when GHL
** sends one, else "ghl:<appointment id>|<dateUpdated>|<type>", so a
** redelivery of the same change is recognised. Pure (json-c only): the
** tests link this file. The host gets it through the ABI 1.3 callback
** webhook_dedupe_key (ghl_webhook_dedupe).
*/
#ifndef GHL_DEDUPE_H
#define GHL_DEDUPE_H

#include <stddef.h>

/* 0 and the key in buf, or -1 for a body that is not a complete JSON
** object or names neither a webhookId nor an appointment id. */
int ghl_webhook_dedupe_key(const char *body, size_t len, char *buf, size_t size);

#endif
