/* log.h - one line per event on stderr, prefixed with the program name.
 * Never call these per packet: count instead, and report the counters. */
#ifndef YAGURA_BASE_LOG_H
#define YAGURA_BASE_LOG_H

#define YG_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum log_level { LOG_LEVEL_WARN = 0, LOG_LEVEL_INFO = 1, LOG_LEVEL_DEBUG = 2 };

/* Sets the verbosity and the program name used as prefix. Not thread-safe:
 * call at start-up. */
void log_init(const char *progname, enum log_level level);

void log_info(const char *fmt, ...) YG_PRINTF(1, 2);
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) YG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) YG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) YG_PRINTF(1, 2);

#endif
