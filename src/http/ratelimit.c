/* ratelimit.c - token buckets in a fixed table. Keys hash to a group of
 * RL_WAYS entries behind one mutex; a new key takes a free entry or evicts
 * the group's least recently used one (which then starts with a full
 * bucket). Memory never grows after creation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "http/http_int.h"

#define RL_WAYS 8

struct rl_entry {
	uint64_t key; /* 0: free */
	uint64_t last_ns;
	double tokens;
};

struct rl_group {
	pthread_mutex_t mu;
	struct rl_entry e[RL_WAYS];
} __attribute__((aligned(64)));

struct http_ratelimit {
	double rate, burst;
	size_t mask;
	struct rl_group *groups;
};

uint64_t http_hash64(const void *p, size_t len)
{
	uint64_t h = yg_hash64(p, len);

	return h != 0 ? h : 1;
}

int http_ratelimit_new(double rate, double burst, unsigned size, struct http_ratelimit **out)
{
	struct http_ratelimit *rl;
	size_t ngroups = 1;

	*out = NULL;
	if (!(rate > 0) || !(burst >= 1))
		return YG_EINVAL;
	while (ngroups * RL_WAYS < size)
		ngroups <<= 1;
	rl = yg_calloc(1, sizeof(*rl));
	if (rl == NULL)
		return YG_ENOMEM;
	if (posix_memalign((void **)&rl->groups, 64, ngroups * sizeof(struct rl_group)) != 0) {
		free(rl);
		return YG_ENOMEM;
	}
	memset(rl->groups, 0, ngroups * sizeof(struct rl_group));
	for (size_t i = 0; i < ngroups; i++)
		pthread_mutex_init(&rl->groups[i].mu, NULL);
	rl->rate = rate;
	rl->burst = burst;
	rl->mask = ngroups - 1;
	*out = rl;
	return 0;
}

void http_ratelimit_free(struct http_ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i <= rl->mask; i++)
		pthread_mutex_destroy(&rl->groups[i].mu);
	free(rl->groups);
	free(rl);
}

int http_ratelimit_take(struct http_ratelimit *rl, uint64_t key, uint64_t now_ns,
			unsigned *retry_after)
{
	struct rl_group *g;
	struct rl_entry *e = NULL, *victim = NULL;
	int rc = 0;

	if (key == 0)
		key = 1;
	g = &rl->groups[(key >> 3) & rl->mask];
	pthread_mutex_lock(&g->mu);
	for (int i = 0; i < RL_WAYS; i++) {
		struct rl_entry *x = &g->e[i];

		if (x->key == key) {
			e = x;
			break;
		}
		if (victim == NULL || x->key == 0 ||
		    (victim->key != 0 && x->last_ns < victim->last_ns))
			victim = x;
	}
	if (e == NULL) {
		e = victim;
		e->key = key;
		e->tokens = rl->burst;
		e->last_ns = now_ns;
	} else if (now_ns > e->last_ns) {
		e->tokens += (double)(now_ns - e->last_ns) * 1e-9 * rl->rate;
		if (e->tokens > rl->burst)
			e->tokens = rl->burst;
		e->last_ns = now_ns;
	}
	if (e->tokens >= 1.0) {
		e->tokens -= 1.0;
	} else {
		double wait = (1.0 - e->tokens) / rl->rate;

		*retry_after = (unsigned)ceil(wait);
		if (*retry_after == 0)
			*retry_after = 1;
		rc = YG_ELIMIT;
	}
	pthread_mutex_unlock(&g->mu);
	return rc;
}
