/* counter_int.h - what the renderers of src/counter share. Not installed. */
#ifndef YAGURA_COUNTER_INT_H
#define YAGURA_COUNTER_INT_H

#include "counter/counter.h"

/* One case selected for rendering, with its target parsed. */
struct cm_item {
	const struct cm_case *c;
	struct cm_target t;
	int64_t expires;
	int skip;  /* a duplicate or a redundant prefix, left out */
	int depth; /* nftables: how many kept prefixes contain this one */
};

/* Selects the unexpired cases of `action` (all actions if action < 0),
 * checks each (cm_case_check) and every id for uniqueness, and returns
 * them sorted by id in a yg_malloc'd array (*out, *nout; free() it).
 * Returns 0, YG_EINVAL or YG_ENOMEM. */
int cm_select(const struct cm_case *c, size_t n, int action, int64_t now,
              const struct cm_config *cfg, struct cm_item **out, size_t *nout);

/* Defaults for NULL configuration fields. */
const char *cm_cfg_zone(const struct cm_config *cfg);
const char *cm_cfg_nameserver(const struct cm_config *cfg);
const char *cm_cfg_table(const struct cm_config *cfg);
/* 1 if the sinkhole means NXDOMAIN (NULL, "" or "."). */
int cm_cfg_nxdomain(const struct cm_config *cfg);

/* 0 if s is a valid domain name (the rules of cm_target_parse, trailing dot
 * allowed), copied lower-cased without the dot into out[254]. */
int cm_domain_parse(const char *s, char *out);

/* Appends "2025-01-31T12:00:00Z" for unix microseconds. */
void cm_put_time(struct jbuf *b, int64_t us);

#endif
