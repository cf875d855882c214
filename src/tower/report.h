/* report.h - incident reports under the reporting obligation: what a
 * report must contain at each stage, and when each stage is due.
 *
 * Pure functions over jansson values: no I/O, no storage. The HTTP layer
 * turns validation errors into a 422 body naming each bad field. */
#ifndef YAGURA_TOWER_REPORT_H
#define YAGURA_TOWER_REPORT_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"

enum report_stage {
	REPORT_PROMPT = 0, /* the prompt report, soon after detection */
	REPORT_DETAILED,   /* the detailed report */
	REPORT_FINAL,      /* the final report; then the report is closed */
	REPORT_STAGES
};

const char *report_stage_name(enum report_stage s);
/* Returns the stage named s, or -1. */
int report_stage_parse(const char *s);

#define REPORT_MAX_ERRORS 32

struct report_errors {
	unsigned n;
	struct {
		char field[64];   /* JSON path: "impact.users_affected", "technical_details.indicators.addresses[2]" */
		char reason[160];
	} e[REPORT_MAX_ERRORS];
};

/* Checks a report body submitted at a stage. Returns 0 when valid, or
 * YG_EINVAL with every problem found in errs (up to REPORT_MAX_ERRORS).
 * Later stages require more: the detailed report needs technical details
 * and the affected computers, the final one the response taken and the
 * impact. A field no stage defines is an error at every depth, named by its
 * path ("impact.blob"; in category_details, a field of another category):
 * a typo must not lose data, and nothing is stored unread. Every string
 * has a maximum length and every array a maximum count (docs/tower.md).
 * detected_at must lie between 2000 and a day ahead of the clock: a report
 * detected in the future would never fall due. Field names in errs are
 * valid UTF-8 without control characters (a client's key is shown with
 * '?' for them), cut to fit with "...". Pure; thread-safe. */
int report_validate(const json_t *body, enum report_stage stage, struct report_errors *errs);

/* Deadline policy: seconds after detection by which each stage is due.
 * Defaults (report_policy_default): 24 h, 72 h, 30 days, to be set to the
 * ministerial order's values in the configuration. */
struct report_policy {
	int64_t due_s[REPORT_STAGES];
};

void report_policy_default(struct report_policy *p);

/* Microseconds since the epoch of an RFC 3339 timestamp, or YG_EINVAL. */
int report_parse_time(const char *s, int64_t *us);

/* When the next stage after `done` (the last stage filed, or -1 for none)
 * is due, for a report detected at detected_us; 0 when nothing is due
 * (final filed). */
int64_t report_next_due(const struct report_policy *p, int64_t detected_us, int done);

#endif
