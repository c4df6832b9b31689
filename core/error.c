/*
** Error struct helpers: the single place messages are formatted.
*/
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sc_error_set(struct sc_error *err, int code, const char *field,
                 const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  snprintf(err->field, sizeof err->field, "%s", field ? field : "");
  err->kind[0] = '\0';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return code;
}

void sc_error_clear(struct sc_error *err) {
  if (!err) return;
  err->code = SC_OK;
  err->field[0] = '\0';
  err->message[0] = '\0';
  err->kind[0] = '\0';
}

int sc_error_kind(struct sc_error *err, const char *kind) {
  if (!err) return SC_EINTERNAL;
  snprintf(err->kind, sizeof err->kind, "%s", kind);
  return err->code;
}

const char *sc_status_name(int code) {
  switch (code) {
  case SC_OK: return "ok";
  case SC_EINVAL: return "invalid";
  case SC_ENOTFOUND: return "not_found";
  case SC_ECONFLICT: return "conflict";
  case SC_EDB: return "database";
  case SC_EIO: return "io";
  case SC_ECRYPTO: return "crypto";
  case SC_ENOMEM: return "out_of_memory";
  case SC_ESTATE: return "state";
  case SC_EPRECONDITION: return "precondition_failed";
  default: return "internal";
  }
}
