#include "rank/rank.h"

#include <math.h>

static double lg(uint64_t x)
{
	return log2(1.0 + (double)x);
}

double rank_score(const struct rank_evidence *e)
{
	double s = 10.0 * e->sev[0] + 5.0 * e->sev[1] + 2.0 * e->sev[2];

	s += 4.0 * lg(e->hosts) + 3.0 * lg(e->ports) + 3.0 * lg(e->sessions);
	s += lg(e->pkts) + 2.0 * lg(e->seconds / 60);
	s += (double)e->indicator_conf / 10.0;
	if (e->reflector)
		s /= 2.0;
	return round(s * 10.0) / 10.0;
}
