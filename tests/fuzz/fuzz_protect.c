/* fuzz_protect.c - libFuzzer target for protect_set_parse() (the protected
 * prefix option) and protect_key_parse() (key files): the same bytes go to
 * both. What they accept must hold together: a parsed set prints to a list
 * that parses back to the same set, and contains the prefixes it printed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/protect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One printable line, NUL-terminated inside the buffer. */
static void check_err(const char *err)
{
	if (memchr(err, '\0', 256) == NULL || err[0] == '\0')
		__builtin_trap();
	for (const char *c = err; *c != '\0'; c++)
		if (*c < 0x20 || *c >= 0x7f)
			__builtin_trap();
}

static void check_set(struct protect_set *ps)
{
	struct protect_set *again;
	char err[256], *list, *list2, *item, *save;
	size_t n = protect_set_format(ps, NULL, 0);
	struct ip_addr ip;

	list = malloc(n + 1);
	list2 = malloc(n + 1);
	if (list == NULL || list2 == NULL)
		goto out;
	if (protect_set_format(ps, list, n + 1) != n || strlen(list) != n)
		__builtin_trap();
	if (protect_set_parse(list, &again, err, sizeof(err)) != 0)
		__builtin_trap();
	if (protect_set_count(again) != protect_set_count(ps) ||
	    protect_set_format(again, list2, n + 1) != n || strcmp(list, list2) != 0)
		__builtin_trap();
	protect_set_free(again);
	/* Each printed prefix's first address is inside the set. */
	for (item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		*strchr(item, '/') = '\0';
		if (ipaddr_parse(item, &ip) != 0 || !protect_set_contains(ps, &ip))
			__builtin_trap();
	}
out:
	free(list);
	free(list2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[CRYPTOPAN_KEY_LEN];
	struct protect_set *ps;
	char err[256];
	char *spec;

	memset(err, 'x', sizeof(err));
	if (protect_key_parse(data, size, key, err, sizeof(err)) == 0) {
		uint8_t acc = 0;

		for (size_t i = 0; i < sizeof(key); i++)
			acc |= key[i];
		if (acc == 0)
			__builtin_trap();
	} else {
		check_err(err);
	}

	spec = malloc(size + 1);
	if (spec == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	memset(err, 'x', sizeof(err));
	if (protect_set_parse(spec, &ps, err, sizeof(err)) == 0) {
		check_set(ps);
		protect_set_free(ps);
	} else {
		check_err(err);
	}
	free(spec);
	return 0;
}
