/* fuzz_api.c - every JSON body and query string of the tower's API (TAXII
 * queries among them), as a hostile client sends them: a tower in this
 * process (tests/support/towerproc), on SQLite, requests over loopback. An
 * input is
 *
 *   ROLE ' ' METHOD ' ' TARGET [' ' KEY] '\n' BODY
 *
 * KEY, when given, is sent as the Idempotency-Key (printable ASCII but the
 * space, else the input is not used), so that replays and the refusal of
 * a key reused are fuzzed too.
 * ROLE one of admin, operator, sensor, analyst, overseer, auditor (else no
 * token); METHOD as given; TARGET the path and query, with every byte
 * outside printable ASCII (and the space) percent-encoded, so that the
 * request stays a request: the HTTP framing has fuzz_http_framing; and
 * "{warnings}" the id of the TAXII collection of that alias. The tower
 * keeps what earlier inputs stored, as a real one would.
 *
 * What it checks beyond not crashing (ASan, UBSan, in the tower's threads
 * too): every request is answered, and never with 500, which the tower
 * keeps for what should not happen. The seeds (corpus/api) hold a valid
 * request for each route that takes a body or a query. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "towerproc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct towerproc tw;
static char warnings_id[64]; /* the TAXII collection "warnings", for {warnings} */

static void down(void)
{
	tp_down(&tw, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	if (tp_up(&tw, NULL, 2, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_api: tower: %s\n", err);
		abort();
	}
	atexit(down);
	/* The collections' ids are made at start: a target names one as
	 * {warnings}. */
	{
		struct tp_answer a;
		const char *w;

		if (tp_call(&tw, "GET", "/api/v1/taxii/collections", tw.analyst, NULL, 0, &a) < 0 ||
		    (w = strstr(a.body, "\"alias\":\"warnings\"")) == NULL) {
			fprintf(stderr, "fuzz_api: no warnings collection: %d %s\n", a.status, a.body);
			abort();
		}
		/* The id comes before the alias in the collection's object. */
		for (const char *q = w; q > a.body; q--)
			if (strncmp(q, "\"id\":\"", 6) == 0) {
				sscanf(q + 6, "%63[^\"]", warnings_id);
				break;
			}
	}
	return 0;
}

static const char *token_of(const char *role, size_t len)
{
	static const struct {
		const char *name;
		size_t off;
	} roles[] = {
	    {"admin", offsetof(struct towerproc, admin)},
	    {"operator", offsetof(struct towerproc, op)},
	    {"sensor", offsetof(struct towerproc, sensor)},
	    {"analyst", offsetof(struct towerproc, analyst)},
	    {"overseer", offsetof(struct towerproc, overseer)},
	    {"auditor", offsetof(struct towerproc, auditor)},
	};

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strlen(roles[i].name) == len && memcmp(roles[i].name, role, len) == 0)
			return (const char *)&tw + roles[i].off;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *p = (const char *)data, *end = p + size, *nl, *sp1, *sp2, *sp3;
	char method[16], target[3 * 1024 + 64 + 1], key[256 + 24] = "";
	struct tp_answer a;
	size_t t = 0;

	if ((nl = memchr(p, '\n', size)) == NULL || (sp1 = memchr(p, ' ', (size_t)(nl - p))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1))) == NULL)
		return -1;
	if (sp2 - sp1 - 1 < 1 || (size_t)(sp2 - sp1 - 1) >= sizeof(method) ||
	    nl - sp2 - 1 < 1 || nl - sp2 - 1 > 1024)
		return -1;
	for (const char *m = sp1 + 1; m < sp2; m++)
		if (*m < 'A' || *m > 'Z')
			return -1;
	memcpy(method, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	method[sp2 - sp1 - 1] = 0;
	if (sp2[1] != '/')
		return -1;
	if ((sp3 = memchr(sp2 + 1, ' ', (size_t)(nl - sp2 - 1))) != NULL) {
		if (nl - sp3 - 1 < 1 || nl - sp3 - 1 > 256)
			return -1;
		for (const char *c = sp3 + 1; c < nl; c++)
			if (*c <= ' ' || *c >= 0x7f)
				return -1;
		snprintf(key, sizeof(key), "Idempotency-Key: %.*s\r\n", (int)(nl - sp3 - 1),
			 sp3 + 1);
		nl = sp3; /* the target ends here; the body still starts after the line */
	}
	const char *body = sp3 != NULL ? memchr(sp3, '\n', (size_t)(end - sp3)) + 1 : nl + 1;
	for (const char *c = sp2 + 1; c < nl; c++) {
		unsigned char u = (unsigned char)*c;

		if (u == '{' && (size_t)(nl - c) >= 10 && memcmp(c, "{warnings}", 10) == 0) {
			t += (size_t)snprintf(target + t, sizeof(target) - t, "%s", warnings_id);
			c += 9;
			continue;
		}
		if (u > ' ' && u < 0x7f) {
			target[t++] = (char)u;
		} else {
			target[t++] = '%';
			target[t++] = hex[u >> 4];
			target[t++] = hex[u & 15];
		}
	}
	target[t] = 0;
	if (tp_call_h(&tw, method, target, token_of(p, (size_t)(sp1 - p)), key[0] ? key : NULL,
		      body, (size_t)(end - body), &a) < 0)
		return 0; /* too large to send as one request */
	if (getenv("FUZZ_API_VERBOSE") != NULL) /* to check the seeds: each one's answer */
		fprintf(stderr, "fuzz_api: %s %s: %d %.200s\n", method, target, a.status, a.body);
	if (a.status == 0 || a.status == 500) {
		struct tp_answer m;

		fprintf(stderr, "fuzz_api: %s %s answered %d after %.3f s%s: %s\n", method, target,
			a.status, a.seconds, a.timed_out ? " (timed out)" : "", a.body);
		/* The HTTP layer's own view: connections held, refused, cut. */
		if (tp_call(&tw, "GET", "/metrics", NULL, NULL, 0, &m) == 0) {
			fprintf(stderr, "fuzz_api: then /metrics answered %d\n", m.status);
			for (char *l = strtok(m.body, "\n"); l != NULL; l = strtok(NULL, "\n"))
				if (strncmp(l, "yagura_http_conn", 16) == 0 ||
				    strncmp(l, "yagura_http_in", 14) == 0)
					fprintf(stderr, "fuzz_api:   %s\n", l);
		}
		abort();
	}
	return 0;
}
