/*
** Structured logging: one line per event, key=value pairs, to stderr.
** Never pass a key, token or secret to these functions.
*/
#ifndef SC_LOG_H
#define SC_LOG_H

enum sc_log_level { SC_LOG_DEBUG, SC_LOG_INFO, SC_LOG_WARN, SC_LOG_ERROR };

void sc_log_set_level(enum sc_log_level level);
void sc_log(enum sc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sc_log_info(...) sc_log(SC_LOG_INFO, __VA_ARGS__)
#define sc_log_warn(...) sc_log(SC_LOG_WARN, __VA_ARGS__)
#define sc_log_error(...) sc_log(SC_LOG_ERROR, __VA_ARGS__)
#define sc_log_debug(...) sc_log(SC_LOG_DEBUG, __VA_ARGS__)

#endif
