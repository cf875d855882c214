/* fuzz_stix_pattern.c - libFuzzer target for src/stix's pattern parser
 * (and, on the same bytes, its timestamp parser). Every comparison the
 * parser yields must lie within bounds, and one of a known kind with a
 * valid value must survive stix_pattern_for and parse back unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int back(void *ctx, const struct stix_cmp *cmp)
{
	const char *want = ctx;

	if (cmp->value_len != strlen(want) || memcmp(cmp->value, want, cmp->value_len) != 0)
		__builtin_trap();
	return 0;
}

static int check(void *ctx, const struct stix_cmp *cmp)
{
	static char pattern[2 * STIX_VALUE_MAX + 64];
	static char value[STIX_VALUE_MAX];
	const struct {
		const uint8_t *p;
		size_t n;
	} *in = ctx;
	int n;

	if ((unsigned)cmp->kind >= STIX_KIND_COUNT || cmp->value_len >= STIX_VALUE_MAX ||
	    cmp->path < (const char *)in->p || cmp->path + cmp->path_len > (const char *)in->p + in->n)
		__builtin_trap();
	if (cmp->kind == STIX_KIND_OTHER ||
	    stix_value_check(cmp->kind, cmp->value, cmp->value_len) != 0)
		return 0;
	memcpy(value, cmp->value, cmp->value_len);
	value[cmp->value_len] = '\0';
	n = stix_pattern_for(cmp->kind, value, pattern, sizeof(pattern));
	if (n < 0 || stix_pattern_parse(pattern, (size_t)n, STIX_KIND_BIT(cmp->kind), back, value,
					NULL) != 0)
		__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct {
		const uint8_t *p;
		size_t n;
	} in = {data, size};
	struct stix_pattern_error e;
	char ts[STIX_TIME_LEN];
	int64_t us, us2;
	char *s;
	int rc;

	rc = stix_pattern_parse((const char *)data, size, STIX_KINDS_ALL, check, &in, &e);
	if (rc != 0 && (rc != YG_EFORMAT || e.why == STIX_PATTERN_OK || e.offset > size ||
			memchr(e.msg, '\0', sizeof(e.msg)) == NULL))
		__builtin_trap();

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (stix_time_parse(s, &us) == 0) {
		if (stix_time_fmt(us, ts) != 0 || stix_time_parse(ts, &us2) != 0 ||
		    us2 != us - ((us % 1000) + 1000) % 1000)
			__builtin_trap();
	}
	free(s);
	return 0;
}
