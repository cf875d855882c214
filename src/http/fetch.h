/* fetch.h - one HTTP request from the tower to another server (a partner's
 * TAXII collection), with libcurl: bounded in time and in the bytes it
 * takes, a header of the answer kept on request. Thread-safe: every call
 * has its own handle. */
#ifndef YAGURA_HTTP_FETCH_H
#define YAGURA_HTTP_FETCH_H

#include <stddef.h>

struct http_fetch {
	const char *method;   /* "GET" */
	const char *url;
	const char *headers[8]; /* "Name: value", NULL-ended */
	const char *body;     /* NULL: none */
	size_t body_len;
	long timeout_s;	      /* 0: 30 */
	size_t max;	      /* bytes of the answer at most; 0: 64 MiB */
	const char *keep;     /* the name of a header of the answer to keep, or NULL */
	/* out */
	long status;	      /* 0: no answer (why says why), -1: past max */
	char *answer;	      /* NUL-terminated, the caller frees; NULL with no answer */
	size_t answer_len;
	char kept[256];	      /* the kept header's value ("" if absent) */
	char why[256];
};

/* Performs f. Returns f->status. */
long http_fetch(struct http_fetch *f);

#endif
