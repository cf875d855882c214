/* taxii_poll.c - the sensor side of issue 14's "sensors in the loop":
 * indicators an analyst publishes in a TAXII collection reach the packet
 * path within one poll interval, and revocations leave it as fast.
 *
 * Modelled on monitor_poll.c: the first fetch is part of start-up and a
 * failure there is final; later ones run on a thread of their own, and a
 * failure keeps what is in force. The envelope logic is intel/taxii.c
 * (pure, fuzzed); here are only HTTP, the cursor and the clock.
 *
 * The cursor: each poll asks for added_after = the latest
 * X-TAXII-Date-Added-Last seen, less OVERLAP_US. Added-after is strict,
 * and a server may add two objects at the same instant, or commit an
 * earlier-stamped one after a later one was served; asking again from a
 * little before costs a few objects that the set drops as duplicates by
 * (id, modified), and skips nothing the server stamped within the overlap
 * of the last object seen. */
#include "sensor/taxii_poll.h"

#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/every.h"
#include "base/log.h"
#include "client/client.h"
#include "intel/taxii.h"
#include "stix/stix.h"

#define TAXII_ACCEPT "application/taxii+json;version=2.1"
#define PAGE_LIMIT   1000		/* objects a page we ask for */
#define PAGE_MAX     (32u << 20) /* bytes a page may take; more is hostile */
#define PAGES_MAX    100000	/* pages a poll may take: 100 million objects */
#define OVERLAP_US   1000000	/* see the top of the file */

struct taxii_poll {
	char root[1024];      /* the API root, ending in '/' */
	char collection[128];
	char token[256];
	unsigned interval_s;
	taxii_publish_fn publish;
	void *ctx;
	struct intel_taxii_set *set;
	int64_t after; /* the latest X-TAXII-Date-Added-Last, microseconds; 0: none */
	int dirty;     /* the set changed but no snapshot holds it yet */
	int failing;   /* in a streak of failed polls */
	struct every *thread; /* the polls after the first; NULL before run */
	atomic_int stop;      /* a poll under way gives up its pages */
};

/* One page: GET .../objects/?limit=&added_after=&next=. Returns 0 with
 * the answer in *body (the caller frees) and X-TAXII-Date-Added-Last in
 * last, or -1 with why. */
static int fetch(struct taxii_poll *tp, const char *next, char **body, size_t *len, char *last,
		 size_t lastn, char *why, size_t n)
{
	struct client_query q;
	char path[1400], t[STIX_TIME_LEN], num[16], msg[300];
	long st;

	client_query_init(&q);
	snprintf(num, sizeof(num), "%d", PAGE_LIMIT);
	client_query_add(&q, "limit", num);
	if (tp->after > OVERLAP_US && stix_time_fmt(tp->after - OVERLAP_US, t) == 0)
		client_query_add(&q, "added_after", t);
	if (next[0] != '\0')
		client_query_add(&q, "next", next);
	snprintf(path, sizeof(path), "collections/%s/objects/?%s", tp->collection, q.s);
	st = client_get_header(tp->root, tp->token, path, TAXII_ACCEPT, PAGE_MAX, body, len,
			       "X-TAXII-Date-Added-Last", last, lastn);
	if (st == 200)
		return 0;
	if (st == 0)
		snprintf(why, n, "the server could not be reached (%s)", client_last_error());
	else if (st < 0)
		snprintf(why, n, "a page is larger than %u bytes", PAGE_MAX);
	else if (st == 404)
		snprintf(why, n, "HTTP 404: no such collection here (or not one this token may read)");
	else if (st == 401 || st == 403) {
		client_refusal_text(*body, *len, msg, sizeof(msg));
		snprintf(why, n, "the server refused the token (HTTP %ld: %s)", st, msg);
	} else {
		client_refusal_text(*body, *len, msg, sizeof(msg));
		snprintf(why, n, "HTTP %ld: %s", st, msg);
	}
	free(*body);
	*body = NULL;
	return -1;
}

/* Every page since the cursor, applied to the set. Returns 0, or -1 with
 * why (what earlier pages applied stays applied: each was whole). */
static int fetch_all(struct taxii_poll *tp, int64_t now, struct intel_taxii_delta *d, char *why,
		     size_t n)
{
	char next[INTEL_TAXII_NEXT_MAX] = "", last[64], err[300];
	int64_t newest = tp->after, t;
	struct intel_taxii_page page;

	for (int k = 0; k < PAGES_MAX; k++) {
		char *body = NULL;
		size_t len = 0;
		int rc;

		if (atomic_load(&tp->stop))
			return snprintf(why, n, "stopping"), -1;
		if (fetch(tp, next, &body, &len, last, sizeof(last), why, n) < 0)
			return -1;
		rc = intel_taxii_apply(tp->set, body, len, now, &page, d, err, sizeof(err));
		free(body);
		if (rc < 0)
			return snprintf(why, n, "a page is refused: %s", err), -1;
		/* A header we cannot read leaves the cursor where it is: the next
		 * poll asks for more than it needs, never for less. */
		if (last[0] != '\0' && stix_time_parse(last, &t) == 0 && t > newest)
			newest = t;
		if (!page.more) {
			tp->after = newest;
			return 0;
		}
		if (strcmp(page.next, next) == 0)
			return snprintf(why, n, "it says there is more but gives the same \"next\""), -1;
		memcpy(next, page.next, sizeof(next));
	}
	snprintf(why, n, "more than %d pages in one poll", PAGES_MAX);
	return -1;
}

/* Builds and publishes the set if it changed; returns what the loader
 * refused, or -1 (then it stays dirty, for the next poll). */
static int publish(struct taxii_poll *tp)
{
	char *buf;
	size_t len;
	int refused;

	if (intel_taxii_bundle(tp->set, &buf, &len) < 0)
		return -1;
	refused = tp->publish(tp->ctx, buf, len);
	tp->dirty = refused < 0;
	return refused;
}

static void describe(const struct intel_taxii_delta *d, char *out, size_t n)
{
	const struct {
		uint64_t v;
		const char *what;
	} parts[] = {{d->added, "added"},
		     {d->updated, "updated"},
		     {d->revoked, "revoked"},
		     {d->expired, "expired"}};
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && o < n; i++)
		if (parts[i].v > 0)
			o += (size_t)snprintf(out + o, n - o, "%s%llu %s", o ? ", " : "",
					      (unsigned long long)parts[i].v, parts[i].what);
}

/* One poll. At start (first), a failure is final and returns -1. */
static int poll_once(struct taxii_poll *tp, int first)
{
	struct intel_taxii_delta d = {0};
	char why[600], what[200];
	int64_t now = yg_wall_us();
	int ok, refused = 0;

	intel_taxii_expire(tp->set, now, &d);
	ok = fetch_all(tp, now, &d, why, sizeof(why)) == 0;
	if (!ok && first) {
		fprintf(stderr, "analyze: intel: taxii: cannot fetch collection %s from %s: %s\n",
			tp->collection, tp->root, why);
		return -1;
	}
	if (!ok && !atomic_load(&tp->stop) && !tp->failing)
		fprintf(stderr,
			"analyze: intel: taxii: cannot poll collection %s at %s: %s; keeping the "
			"%zu indicators in force\n",
			tp->collection, tp->root, why, intel_taxii_count(tp->set));
	if (ok && tp->failing)
		fprintf(stderr, "analyze: intel: taxii: %s answers again\n", tp->root);
	tp->failing = !ok;
	if (d.added + d.updated + d.revoked + d.expired > 0)
		tp->dirty = 1;
	if (tp->dirty || first) {
		refused = publish(tp);
		if (refused < 0) {
			fprintf(stderr, "analyze: intel: taxii: out of memory building the "
					"indicators; trying again at the next poll\n");
			return first ? -1 : 0;
		}
	}
	describe(&d, what, sizeof(what));
	int skipped = d.malformed > 0 || d.refused > 0 || refused > 0;
	if (first)
		fprintf(stderr, "analyze: intel: taxii: collection %s at %s: %zu indicators in force",
			tp->collection, tp->root, intel_taxii_count(tp->set));
	else if (what[0] != '\0')
		fprintf(stderr, "analyze: intel: taxii: %s (%zu indicators in force)", what,
			intel_taxii_count(tp->set));
	else if (skipped)
		fprintf(stderr, "analyze: intel: taxii: %zu indicators in force",
			intel_taxii_count(tp->set));
	else
		return 0;
	if (skipped)
		fprintf(stderr, "; skipped: %llu malformed, %llu past the limit of ids, %d the "
				"loader refused",
			(unsigned long long)d.malformed, (unsigned long long)d.refused,
			refused > 0 ? refused : 0);
	fputc('\n', stderr);
	return 0;
}

/* A poll of the thread; the time to the next. */
static double poller(void *arg)
{
	struct taxii_poll *tp = arg;

	client_set_timeout(tp->interval_s < 30 ? 30 : (long)tp->interval_s);
	poll_once(tp, 0);
	return tp->interval_s;
}

/* The API root of url: url itself, with a '/' at its end; a URL with no
 * path is a yagura tower's base, whose API root is /taxii2/api/. */
static int api_root(const char *url, char *out, size_t n)
{
	const char *host = strstr(url, "://");
	const char *path = host ? strchr(host + 3, '/') : NULL;
	size_t len = strlen(url);
	int w;

	if (host == NULL || host[3] == '\0')
		return -1;
	if (path == NULL || strcmp(path, "/") == 0)
		w = snprintf(out, n, "%.*s/taxii2/api/", (int)(path ? path - url : (ptrdiff_t)len),
			     url);
	else
		w = snprintf(out, n, "%s%s", url, url[len - 1] == '/' ? "" : "/");
	return w < 0 || (size_t)w >= n ? -1 : 0;
}

int taxii_poll_start(const char *url, const char *collection, const char *token,
		     unsigned interval_s, taxii_publish_fn publish_fn, void *ctx,
		     struct taxii_poll **out)
{
	struct taxii_poll *tp;
	size_t cl = strlen(collection);

	*out = NULL;
	/* It goes into a path: only what needs no escaping. */
	if (cl == 0 || cl >= sizeof(tp->collection) ||
	    strspn(collection, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") !=
		    cl) {
		fprintf(stderr, "analyze: --collection: '%s' is not a collection id (letters, "
				"digits and -._~)\n",
			collection);
		return -1;
	}
	if ((tp = yg_calloc(1, sizeof(*tp))) == NULL ||
	    (tp->set = intel_taxii_set_new(0)) == NULL) {
		log_warnx("analyze: intel: taxii: out of memory");
		free(tp);
		return -1;
	}
	if (api_root(url, tp->root, sizeof(tp->root)) < 0) {
		fprintf(stderr, "analyze: --intel-taxii: '%s' is not a URL such as "
				"http://tower:8080 or https://host/taxii2/api/\n",
			url);
		intel_taxii_set_free(tp->set);
		free(tp);
		return -1;
	}
	snprintf(tp->collection, sizeof(tp->collection), "%s", collection);
	snprintf(tp->token, sizeof(tp->token), "%s", token);
	tp->interval_s = interval_s;
	tp->publish = publish_fn;
	tp->ctx = ctx;
	client_set_timeout(30);
	if (poll_once(tp, 1) < 0) {
		client_set_timeout(60);
		taxii_poll_free(tp);
		return -1;
	}
	client_set_timeout(60);
	*out = tp;
	return 0;
}

int taxii_poll_run(struct taxii_poll *tp)
{
	return every_start(&tp->thread, tp->interval_s, poller, tp) < 0 ? -1 : 0;
}

void taxii_poll_free(struct taxii_poll *tp)
{
	if (tp == NULL)
		return;
	atomic_store(&tp->stop, 1);
	every_stop(tp->thread);
	intel_taxii_set_free(tp->set);
	memset(tp->token, 0, sizeof(tp->token));
	free(tp);
}
