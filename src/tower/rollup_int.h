/* rollup_int.h - private to the rollup (rollup.c drives the passes and
 * speaks SQL, rollup_agg.c keeps a pass's per-source aggregates in memory):
 * the aggregates, and the columns they are read from. */
#ifndef YAGURA_TOWER_ROLLUP_INT_H
#define YAGURA_TOWER_ROLLUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"
#include "tower/rollup.h"

struct sig_agg {
	int64_t sid;
	const char *name;
	int64_t alerts;
};

/* A detector that fired for the source (its highest severity), or an
 * indicator it matched (its confidence). The stored ones are merged in
 * first-class: a source keeps what it had when new ones no longer fit. */
struct named {
	char *name;
	int64_t v;
	int stored; /* in the source's stored row */
	int kept;   /* in what is written back (named_keep()) */
};

struct src_agg {
	const char *ip;
	int64_t alerts, intel, first, last, severity; /* severity INT64_MAX: none */
	int64_t hosts, ports, sessions, packets;
	int named_attacker; /* named other than as a reflector at least once */
	uint8_t hll[HLL_REGISTERS];
	struct sig_agg *sigs;
	size_t nsigs, csigs;
	int64_t *sensors;
	size_t nsensors, csensors;
	struct named *det, *ind; /* up to 2 * ROLLUP_*_MAX each: new and stored */
	size_t ndet, cdet, nind, cind;
	int64_t recent[ROLLUP_RECENT_MAX]; /* the latest alerts credited, oldest first */
	size_t nrecent;
	/* For the write: */
	char *det_json, *ind_json;
	char recent_text[ROLLUP_RECENT_MAX * 21]; /* "id,id,...", newest first */
	int64_t victims, score_x10;
};

/* What a pass folds in: per source, the aggregates of its new alerts, then
 * merged with the source's stored row and scored. */
struct pass {
	int64_t from, to; /* the watermark before and after */
	struct src_agg *v;
	size_t n, cap;
	json_t *index; /* ip -> position in v */
	char **strs;   /* strings the pass owns (addresses of split lists, ...) */
	size_t nstrs, cstrs;
};

/* The columns of alerts that rollup_aggregate() takes, in its order: the
 * body only of alerts stored before v7, which have no packets column. */
#define ROLLUP_ALERT_COLS                                                               \
	"id, sensor_id, ts, src_ip, dest_ip, signature_id, signature, severity, "        \
	"attackers, attacker_role, detector, hosts, ports, sessions, packets, "          \
	"window_start, indicator, confidence, CASE WHEN packets IS NULL THEN body END "  \
	"AS old_body, "                                                                  \
	"attacker_packets"

/* The columns of source_stats that rollup_merge_stored() takes. */
#define ROLLUP_STORED_COLS                                                                      \
	"src_ip, victims_hll, alerts, intel, first_ts, last_ts, severity, hosts, ports, sessions, " \
	"packets, named_attacker, detectors, indicators, recent_alerts"

/* Frees what p holds (not p). */
void rollup_pass_free(struct pass *p);

/* Credits the sources named by the first n rows of r (ROLLUP_ALERT_COLS,
 * in id order) into p. YG_ENOMEM on no memory, p then partly filled. */
int rollup_aggregate(struct pass *p, struct store_res *r, size_t n) YG_MUST_CHECK;

/* Merges row i of r (ROLLUP_STORED_COLS) into p's source of that address;
 * a row of a source p does not hold is passed over. */
int rollup_merge_stored(struct pass *p, struct store_res *r, size_t i) YG_MUST_CHECK;

/* Scores each source of p (rank_score()) and renders its sets as they will
 * be stored (det_json, ind_json). */
int rollup_score(struct pass *p) YG_MUST_CHECK;

#endif
