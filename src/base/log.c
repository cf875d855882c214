#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *log_prog = "yagura";
static enum log_level log_level = LOG_LEVEL_INFO;

void log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_level = level;
}

__attribute__((format(printf, 1, 0))) static void log_vline(const char *fmt, va_list ap,
							  const char *suffix)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (suffix != NULL)
		fprintf(stderr, "%s: %s: %s\n", log_prog, line, suffix);
	else
		fprintf(stderr, "%s: %s\n", log_prog, line);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	log_vline(fmt, ap, NULL);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vline(fmt, ap, strerror(saved));
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(fmt, ap, NULL);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vline(fmt, ap, NULL);
	va_end(ap);
}
