/* sources.h - the ranked list of attack sources: every address an alert
 * names as an attacker, with the evidence behind it. A flood judged forged
 * names none (its victim is listed apart); reflectors are listed as such.
 *
 * Ranking rule: rank/rank.h (docs/detect.md), on what each source did:
 * hosts, ports, sessions, its own packets, duration, indicators, and the
 * detectors that fired. Ties go to more alerts, then to the lower
 * address. Memory and time follow the sources present. Single-threaded. */
#ifndef YAGURA_DETECT_SOURCES_H
#define YAGURA_DETECT_SOURCES_H

#include <stdint.h>
#include <stdio.h>

#include "detect/alert.h"

struct sources;

/* At most max_sources addresses are tracked; alerts about more are
 * counted (sources_dropped) and otherwise ignored. NULL on no memory. */
struct sources *sources_new(uint32_t max_sources);
void sources_free(struct sources *s);

/* Accounts an alert to its attackers (per a->attackers). */
void sources_add(struct sources *s, const struct alert *a);

/* Pseudonymization for what is written, as eve_set_protect(). */
typedef int (*sources_protect_fn)(void *ctx, struct ip_addr *a);

/* Writes the ranked list as one JSON array, an object per source.
 * Returns 0 or YG_EIO. */
int sources_write_json(struct sources *s, FILE *out, sources_protect_fn protect, void *ctx);

/* Prints the top n as a table for people. */
void sources_print_top(struct sources *s, FILE *out, int n, sources_protect_fn protect,
		       void *ctx);

uint32_t sources_count(const struct sources *s);
/* Victims of floods whose sources were judged forged (16 at most kept). */
uint32_t sources_flooded(const struct sources *s);
uint64_t sources_dropped(const struct sources *s);

#endif
