/* eve_int.h - the EVE writer's insides, shared by its source files. */
#ifndef YAGURA_OUTPUT_EVE_INT_H
#define YAGURA_OUTPUT_EVE_INT_H

#include "base/jbuf.h"
#include "output/eve.h"

/* Buffered records are written out past this many bytes. */
#define EVE_FLUSH_AT (256u * 1024)

struct eve {
	int fd;
	int err;
	struct jbuf b;
	struct eve_stats stats;
	eve_protect_fn protect;
	void *protect_ctx;
	eve_tee_fn tee; /* alerts are also handed here, with an alert_id */
	void *tee_ctx;
	eve_tee_fn flow_tee; /* and flow records here */
	void *flow_tee_ctx;
	char run_id[17];
	uint64_t alert_seq;
	pthread_mutex_t *lock; /* held while writing, when the fd is shared */
};

void eve_record_end(struct eve *e);

/* Rewrites a to its pseudonym when a protect hook is set and says so. */
static inline void eve_protect_addr(struct eve *e, struct ip_addr *a)
{
	if (e->protect != NULL)
		e->protect(e->protect_ctx, a);
}

#endif
