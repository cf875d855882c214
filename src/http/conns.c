/* conns.c - what the server holds per connection, so that idle or slow
 * clients cannot hold all of it: a cap on the connections of one address,
 * and deadlines per phase of a request (the whole header, the body, the
 * wait between keep-alive requests) that libmicrohttpd 0.9.75 cannot set
 * (its timeout restarts with every byte received, so a client sending one
 * byte every few seconds is never cut).
 *
 * libmicrohttpd reports each connection opening and closing; a reaper
 * thread looks at the open ones a few times a second and shuts down the
 * socket of one past its deadline, which libmicrohttpd then sees as the
 * client leaving and cleans up on its own thread. The socket is never
 * closed here: the close notification and the reaper hold the same mutex,
 * so the descriptor the reaper shuts down is still that connection's. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/alloc.h"
#include "http/http_int.h"

#define REAP_INTERVAL_MS 250

struct ip_slot {
	uint64_t hash;
	uint32_t count; /* 0: free */
	uint8_t key[16];
};

struct http_conns {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned per_ip;
	unsigned timeout_s[HTTP_PHASE_COUNT];
	struct ip_slot *ip; /* open addressing, linear probing */
	size_t nip;	    /* power of two */
	struct http_conn *head;
	pthread_t reaper;
	bool running, stop;
	struct http_metric *refused_per_ip;
	struct http_metric *timed_out[HTTP_PHASE_COUNT];
	struct http_metric *open;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The address a connection counts against: an IPv4 address as its mapped
 * IPv6 form, an IPv6 one by its /64 (one subscriber's prefix: a client
 * that has one has 2^64 addresses). Other families share one key. */
static void addr_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		key[10] = key[11] = 0xff;
		memcpy(key + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(in6->sin6_addr.s6_addr, mapped, 12) == 0)
			memcpy(key, in6->sin6_addr.s6_addr, 16);
		else
			memcpy(key, in6->sin6_addr.s6_addr, 8);
	}
}

/* The slot holding key, or the free slot where it would go; NULL when the
 * table is full (it is sized for twice the connection limit, so never). */
static struct ip_slot *slot_find(struct http_conns *c, const uint8_t key[16], uint64_t h)
{
	size_t mask = c->nip - 1;

	for (size_t i = h & mask, n = 0; n < c->nip; i = (i + 1) & mask, n++) {
		struct ip_slot *s = &c->ip[i];

		if (s->count == 0 || (s->hash == h && memcmp(s->key, key, 16) == 0))
			return s;
	}
	return NULL;
}

/* Frees slot i, moving later slots of the same probe run back into the
 * hole so that lookups need no tombstones. */
static void slot_free(struct http_conns *c, size_t i)
{
	size_t mask = c->nip - 1, j = i;

	c->ip[i].count = 0;
	for (;;) {
		size_t k;

		j = (j + 1) & mask;
		if (c->ip[j].count == 0)
			return;
		k = c->ip[j].hash & mask;
		/* j stays when its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		c->ip[i] = c->ip[j];
		c->ip[j].count = 0;
		i = j;
	}
}

int http_conns_new(unsigned per_ip, unsigned max_conns, const unsigned timeout_s[HTTP_PHASE_COUNT],
		   struct http_metrics *m, struct http_conns **out)
{
	static const char *const phase[HTTP_PHASE_COUNT] = {
		[HTTP_PHASE_HEADER] = "phase=\"header\"",
		[HTTP_PHASE_BODY] = "phase=\"body\"",
		[HTTP_PHASE_IDLE] = "phase=\"idle\"",
	};
	struct http_conns *c = yg_calloc(1, sizeof(*c));
	size_t n = 64;

	*out = NULL;
	if (c == NULL)
		return YG_ENOMEM;
	while (n < 2 * (size_t)max_conns + 64)
		n *= 2;
	c->ip = yg_calloc(n, sizeof(*c->ip));
	if (c->ip == NULL) {
		free(c);
		return YG_ENOMEM;
	}
	c->nip = n;
	c->per_ip = per_ip;
	memcpy(c->timeout_s, timeout_s, sizeof(c->timeout_s));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->refused_per_ip = http_metrics_counter(
		m, "yagura_http_connections_refused_total", "reason=\"per_ip\"",
		"connections closed at accept: their address holds per_ip_connections already");
	for (int p = 0; p < HTTP_PHASE_COUNT; p++)
		if (phase[p] != NULL)
			c->timed_out[p] = http_metrics_counter(
				m, "yagura_http_connections_timed_out_total", phase[p],
				"connections cut for taking too long: to send the request header, "
				"the body, or the next request on a kept-alive connection");
	c->open = http_metrics_gauge(m, "yagura_http_connections_open", NULL,
				     "client connections open");
	*out = c;
	return 0;
}

void http_conns_free(struct http_conns *c)
{
	if (c == NULL)
		return;
	http_conns_stop(c);
	while (c->head != NULL) {
		struct http_conn *hc = c->head;

		c->head = hc->next;
		free(hc);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->ip);
	free(c);
}

bool http_conns_admit(struct http_conns *c, const struct sockaddr *sa)
{
	uint8_t key[16];
	uint64_t h;
	struct ip_slot *s;
	bool ok;

	addr_key(sa, key);
	h = http_hash64(key, sizeof(key));
	pthread_mutex_lock(&c->mu);
	s = slot_find(c, key, h);
	ok = s == NULL || s->count < c->per_ip;
	pthread_mutex_unlock(&c->mu);
	if (!ok)
		http_metric_add(c->refused_per_ip, 1);
	return ok;
}

struct http_conn *http_conns_open(struct http_conns *c, int fd, const struct sockaddr *sa)
{
	struct http_conn *hc = yg_calloc(1, sizeof(*hc));
	struct ip_slot *s;

	if (hc == NULL)
		return NULL; /* untracked: no deadline, not counted against its address */
	hc->tab = c;
	hc->fd = fd;
	addr_key(sa, hc->key);
	hc->hash = http_hash64(hc->key, sizeof(hc->key));
	atomic_store(&hc->phase, HTTP_PHASE_HEADER);
	atomic_store(&hc->deadline_ns,
		     mono_ns() + (uint64_t)c->timeout_s[HTTP_PHASE_HEADER] * 1000000000ull);
	pthread_mutex_lock(&c->mu);
	s = slot_find(c, hc->key, hc->hash);
	if (s != NULL) {
		if (s->count == 0) {
			s->hash = hc->hash;
			memcpy(s->key, hc->key, sizeof(s->key));
		}
		s->count++;
		hc->counted = true;
	}
	hc->next = c->head;
	if (c->head != NULL)
		c->head->prev = hc;
	c->head = hc;
	pthread_mutex_unlock(&c->mu);
	http_metric_gauge_add(c->open, 1);
	return hc;
}

void http_conns_close(struct http_conn *hc)
{
	struct http_conns *c;

	if (hc == NULL)
		return;
	c = hc->tab;
	pthread_mutex_lock(&c->mu);
	if (hc->counted) {
		struct ip_slot *s = slot_find(c, hc->key, hc->hash);

		if (s != NULL && s->count > 0 && --s->count == 0)
			slot_free(c, (size_t)(s - c->ip));
	}
	if (hc->prev != NULL)
		hc->prev->next = hc->next;
	else
		c->head = hc->next;
	if (hc->next != NULL)
		hc->next->prev = hc->prev;
	pthread_mutex_unlock(&c->mu);
	http_metric_gauge_add(c->open, -1);
	free(hc);
}

void http_conn_phase(struct http_conn *hc, enum http_conn_phase p)
{
	unsigned t;

	if (hc == NULL)
		return;
	t = hc->tab->timeout_s[p];
	atomic_store(&hc->phase, p);
	atomic_store(&hc->deadline_ns, t != 0 ? mono_ns() + (uint64_t)t * 1000000000ull : 0);
}

static void *reaper_main(void *arg)
{
	struct http_conns *c = arg;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct timespec ts;
		uint64_t now = mono_ns();

		for (struct http_conn *hc = c->head; hc != NULL; hc = hc->next) {
			uint64_t dl = atomic_load(&hc->deadline_ns);
			int p = atomic_load(&hc->phase);

			if (hc->cut || dl == 0 || now < dl)
				continue;
			/* libmicrohttpd reads end-of-file and closes it itself. */
			shutdown(hc->fd, SHUT_RDWR);
			hc->cut = true;
			http_metric_add(c->timed_out[p], 1);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += REAP_INTERVAL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int http_conns_start(struct http_conns *c)
{
	if (c->running)
		return 0;
	c->stop = false;
	if (pthread_create(&c->reaper, NULL, reaper_main, c) != 0)
		return YG_ENOMEM;
	c->running = true;
	return 0;
}

void http_conns_stop(struct http_conns *c)
{
	if (!c->running)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->reaper, NULL);
	c->running = false;
}
