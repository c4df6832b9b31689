/*
** Logging. A single fprintf per line so lines from several threads never
** interleave (stdio locks the stream per call).
*/
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum sc_log_level min_level = SC_LOG_INFO;

void sc_log_set_level(enum sc_log_level level) { min_level = level; }

void sc_log(enum sc_log_level level, const char *fmt, ...) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  if (level < min_level) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s %s\n",
          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
          tm.tm_sec, ts.tv_nsec / 1000000L, names[level], msg);
}
