/* fuzz_counter_target.c - libFuzzer target for the countermeasure target
 * parser and the renderers behind it. Input: one byte choosing the action,
 * then the target text. Whatever the parser accepts must render to exactly
 * the lines expected of one case: a target that smuggled a newline, a
 * semicolon or a brace past the parser would show up as an extra line or a
 * stray character here. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "counter/counter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t lines(const struct jbuf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->buf[i] == '\n';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cm_config cfg = {.bgp_local_as = 65001,
	                                     .bgp_router_id = "192.0.2.1",
	                                     .bgp_neighbor = "192.0.2.2",
	                                     .bgp_neighbor_as = 65002};
	struct cm_case c = {.id = 1, .approved = 0, .expires = 2};
	struct cm_target t;
	struct jbuf b;
	char *target;

	if (size < 1 || size > 600)
		return 0;
	target = malloc(size);
	if (target == NULL)
		return 0;
	memcpy(target, data + 1, size - 1);
	target[size - 1] = '\0';
	c.action = (enum cm_action)(data[0] % CM_ACTION_COUNT);
	c.target = target;
	c.contact = "abuse@hoster.example";
	if (jbuf_init(&b, 256, 1 << 20) < 0)
		goto out;
	if (cm_target_parse(target, &t) == 0) {
		/* Only the characters of names and addresses get through. */
		const char *txt = t.kind == CM_TARGET_DOMAIN ? t.name : NULL;
		if (txt && strspn(txt, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(txt))
			__builtin_trap();
	}
	if (cm_case_check(&c, &cfg, NULL, 0) != 0) {
		/* Refused: every renderer refuses it too, and writes nothing. */
		if (cm_rpz(&c, 1, 1, 1, &cfg, &b) != YG_EINVAL ||
		    cm_blocklist(&c, 1, 1, &b) != YG_EINVAL ||
		    cm_nft(&c, 1, 1, &cfg, &b) != YG_EINVAL ||
		    cm_bird(&c, 1, 1, &cfg, &b) != YG_EINVAL || b.len != 0)
			__builtin_trap();
		goto out;
	}
	if (cm_target_parse(target, &t) != 0)
		__builtin_trap();
	switch (c.action) {
	case CM_SINKHOLE:
		/* 6 lines of header, "; case 1", and 1 (rpz-ip) or 2 records. */
		if (cm_rpz(&c, 1, 1, 1, &cfg, &b) != 0 ||
		    lines(&b) != 7 + (t.kind == CM_TARGET_DOMAIN ? 2 : 1))
			__builtin_trap();
		break;
	case CM_BLOCKLIST:
		if (cm_blocklist(&c, 1, 1, &b) != 0 || lines(&b) != 3)
			__builtin_trap();
		jbuf_reset(&b);
		if (cm_nft(&c, 1, 1, &cfg, &b) != 0)
			__builtin_trap();
		break;
	case CM_RTBH:
	case CM_FLOWSPEC:
		if (t.kind != CM_TARGET_PREFIX || cm_bird(&c, 1, 1, &cfg, &b) != 0)
			__builtin_trap();
		break;
	case CM_NOTICE:
		if (cm_notice_text(&c, &cfg, &b) != 0)
			__builtin_trap();
		jbuf_reset(&b);
		if (cm_notice_json(&c, &cfg, &b) != 0)
			__builtin_trap();
		break;
	}
out:
	jbuf_fini(&b);
	free(target);
	return 0;
}
