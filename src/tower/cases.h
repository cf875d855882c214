/* cases.h - countermeasure cases (issue 13, docs/oversight.md): what the
 * tower refuses to act against whoever asks.
 *
 * The never-block list is the defaults below, less what a laboratory's
 * configuration takes out ([cases] lab_allow), plus what it adds
 * ([cases] never_block); the assets operators registered are checked
 * against the store by the caller. A target is refused when it overlaps an
 * entry: a prefix that holds an entry's address or lies inside an entry's
 * prefix; a domain that is an entry, lies under one, or holds one.
 *
 * Defaults: the special-purpose ranges of RFC 6890 (and the IANA registry
 * since), the root name servers' addresses and names, the gTLD servers'
 * names, and the major public resolvers. Pure; thread-safe once built. */
#ifndef YAGURA_TOWER_CASES_H
#define YAGURA_TOWER_CASES_H

#include <stddef.h>

#include "base/err.h"
#include "counter/counter.h"

/* Checks a list of targets ("a, b, c": addresses, prefixes or domains).
 * 0, or -1 with the first bad entry in err. */
int case_list_check(const char *list, char *err, size_t errlen);

struct case_guard;

/* The never-block list of the defaults, minus allow, plus add (either may
 * be NULL). YG_ENOMEM, or YG_EINVAL with err for a bad entry. */
int case_guard_new(const char *add, const char *allow, struct case_guard **out, char *err,
		   size_t errlen) YG_MUST_CHECK;
void case_guard_free(struct case_guard *g);

/* 1 when t overlaps an entry (its text, and what it is, into why), else 0. */
int case_guard_hit(const struct case_guard *g, const struct cm_target *t, char *why, size_t cap);

/* How many default entries the configuration took out: nonzero on a
 * laboratory's tower, which says so at start and in /metrics. */
size_t case_guard_narrowed(const struct case_guard *g);

/* 1 when prefixes a and b overlap (one holds the other). */
int case_prefix_overlap(const struct cm_target *a, const struct cm_target *b);

#endif
