/* rank.h - how much an attack source has done: the one ranking rule that
 * `yagura analyze --sources` and the tower's /api/v1/sources both use
 * (docs/detect.md, "Attack sources", its ranking rule).
 *
 * The score weighs what the source did, each on a log scale so that no
 * single quantity swamps the rest: the hosts it acted against, the ports
 * (or protocols) it probed on one host, the sessions it attempted, the
 * packets it sent itself, how long it kept at it, and the indicators it
 * matched with their confidence; plus a fixed weight for each detector
 * that fired, by severity. The bare fact of an alert is worth less than
 * one order of magnitude of any of these. A source only ever named as an
 * abused reflector (a real server answering forged requests) scores half.
 *
 *   score = 10 sev1 + 5 sev2 + 2 sev3
 *         + 4 log2(1 + hosts) + 3 log2(1 + ports) + 3 log2(1 + sessions)
 *         + log2(1 + packets) + 2 log2(1 + minutes active)
 *         + (sum of matched indicators' confidence, 0..100 each) / 10
 *   (halved for reflectors; rounded to one decimal)
 *
 * Pure: no allocation, no I/O; thread-safe. */
#ifndef YAGURA_RANK_RANK_H
#define YAGURA_RANK_RANK_H

#include <stdint.h>

struct rank_evidence {
	uint32_t sev[3];          /* detectors that fired, by their highest severity 1..3 */
	uint64_t hosts;           /* distinct hosts acted against */
	uint64_t ports;           /* most distinct ports (or protocols) probed on one host */
	uint64_t sessions;        /* login sessions attempted */
	uint64_t pkts;            /* packets the source itself sent, where known */
	uint64_t seconds;         /* from first to last seen */
	uint64_t indicator_conf;  /* sum of the matched indicators' confidence */
	int reflector;            /* named only as an abused reflector */
};

double rank_score(const struct rank_evidence *e);

#endif
