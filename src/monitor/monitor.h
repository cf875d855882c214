/* monitor.h - monitoring authorizations as the tower lists them, turned
 * into the scope the decoder enforces (decode/scope.h).
 *
 * Pure: parsing does no I/O and keeps nothing; fetching and polling are
 * the caller's (yagura analyze --tower). The tower's answer is hostile
 * input like any other: a wrong type, an unknown prefix form or more than
 * the caps make the whole answer refused with a one-line reason, so that a
 * half-understood list is never enforced. */
#ifndef YAGURA_MONITOR_MONITOR_H
#define YAGURA_MONITOR_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "decode/scope.h"

/* The path a sensor GETs, below the tower's base URL. */
#define MONITOR_ACTIVE_PATH "/api/v1/monitoring/authorizations/active"

/* Parses the answer to GET MONITOR_ACTIVE_PATH ({"authorizations": [...]})
 * into a scope of the authorizations in force at now_us (microseconds since
 * the epoch, wall clock): from <= now < until, by the sensor's own clock,
 * so that a list kept while the tower is unreachable still expires. An
 * authorization whose state is present and not "active" is left out.
 * Returns 0 with *out holding one reference (the caller's), or a negative
 * yg_err with *out NULL and a one-line reason in err (YG_EFORMAT: not the
 * contract's shape; YG_ELIMIT: past the caps of decode/scope.h; YG_ENOMEM).
 * Thread-safe. */
int monitor_scope_from_json(const char *json, size_t len, int64_t now_us,
			    struct decode_scope **out, char *err, size_t errlen) YG_MUST_CHECK;

/* Parses an RFC 3339 timestamp ("2026-12-06T15:00:00Z", fractions and
 * numeric offsets allowed) into microseconds since the epoch. Returns 0 or
 * YG_EFORMAT. */
int monitor_parse_time(const char *s, int64_t *us) YG_MUST_CHECK;

/* Describes s for an operator, e.g. "2 authorizations active (ids 3,5)",
 * or "no authorization active: every packet is dropped after its IP
 * header" when it has none; truncated to fit n. Returns buf. */
const char *monitor_describe(const struct decode_scope *s, char *buf, size_t n);

#endif
