/* rollup.h - the attack-source summary behind GET /api/v1/sources.
 *
 * Ranking sources by reading every alert stops working at a few million rows
 * (1,061,500 alerts took /sources 2 s). The rollup folds alerts into
 * per-source rows instead (source_stats, source_signatures, source_sensors,
 * schema v5), a pass at a time, in alert id order, and moves its watermark
 * (rollup_state) in the same transaction as what it wrote: a pass counts
 * each alert exactly once, whatever kills the tower.
 *
 * An alert is credited to the addresses its evidence.attackers names, or to
 * its src_ip when it has no such key (older sensors, other tools); an empty
 * list (a flood from forged sources) credits nobody. Per source the summary
 * keeps what the shared ranking weighs (src/rank/rank.h): the most hosts
 * and ports one alert reported, sessions and packets summed (an escalation
 * counting only what its chain had not reported yet, alert_rank_of()),
 * first and last seen, the detectors that fired with their highest
 * severity (ROLLUP_DETECTORS_MAX), the indicators matched with their
 * confidence (ROLLUP_INDICATORS_MAX, the sensor's cap), whether it was ever
 * named other than as a reflector; the ids of the latest alerts credited to
 * it (ROLLUP_RECENT_MAX, schema v25: a case against the source cites them
 * without searching the alerts); and the score, which /sources orders by
 * (index source_stats_rank, schema v7).
 *
 * Distinct victims are counted with a HyperLogLog of 1,024 registers per
 * source: a few dozen come out exact or one off (two victims sharing a
 * register count once), thousands within about 3% (standard error 3.25%).
 *
 * PostgreSQL hands out alert ids before commit, so an id below one already
 * visible may belong to a transaction still running, or to a batch that
 * failed (a retried batch's COPY, rolled back, leaves its ids unused). A pass
 * stops at such a hole until every write transaction that was running when
 * it was first seen has ended (a store_txmark, store.h), then passes it;
 * after ROLLUP_HOLE_GIVE_UP_S it passes it regardless, with a warning. SQLite
 * writes one transaction at a time, so there the mark is settled at once and
 * a hole passed when it is met. */
#ifndef YAGURA_TOWER_ROLLUP_H
#define YAGURA_TOWER_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

#define ROLLUP_HOLE_GIVE_UP_S 300
#define ROLLUP_PASS_ROWS 20000
#define HLL_REGISTERS 1024
#define ROLLUP_DETECTORS_MAX 16 /* detectors counted per source, the first to fire */
#define ROLLUP_INDICATORS_MAX 4 /* indicators counted per source, as the sensor does */
#define ROLLUP_RECENT_MAX 10	/* the latest alerts credited to a source, kept by id */

struct rollup;

/* After each catch-up: pending as rollup_catch_up() gives it, or -1 when it
 * failed (for /metrics). Called on the thread that caught up. */
typedef void (*rollup_report_fn)(void *arg, int64_t pending);

/* Runs pass(pass_arg), the thread's catch-up, or leaves the turn to
 * another process (the tower's jobs, run once across towers): pass's
 * result, or 0 when skipped. */
typedef int (*rollup_run_fn)(void *arg, int (*pass)(void *pass_arg), void *pass_arg);

/* Starts the rollup thread on st, which folds in new alerts every
 * interval_ms (0: 1000); report, when not NULL, hears how each catch-up
 * went; run, when not NULL, runs each of the thread's catch-ups (arg is
 * both callbacks'). */
int rollup_start(struct store *st, unsigned interval_ms, rollup_report_fn report,
		 rollup_run_fn run, void *arg, struct rollup **out) YG_MUST_CHECK;

/* Brings the summary up to what is committed now, at most max_rows alerts
 * of work; *pending gets how many alert ids are still beyond the watermark
 * (holes included). For a reader that wants the ranking current. */
int rollup_catch_up(struct rollup *ru, size_t max_rows, int64_t *pending) YG_MUST_CHECK;

/* Stops the thread (a pass under way finishes) and frees ru; NULL is a
 * no-op. Before the store closes. */
void rollup_stop(struct rollup *ru);

/* The HyperLogLog: add an item, merge b into a, estimate. */
void hll_add(uint8_t regs[HLL_REGISTERS], const void *p, size_t len);
void hll_merge(uint8_t a[HLL_REGISTERS], const uint8_t b[HLL_REGISTERS]);
int64_t hll_estimate(const uint8_t regs[HLL_REGISTERS]);

#endif
