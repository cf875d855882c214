/* framing.c - the request framing rules of RFC 9112 §6 that libmicrohttpd
 * 0.9.75 does not enforce. It reads the first Content-Length of several,
 * takes a Transfer-Encoding other than "chunked" as "read until the client
 * closes", and keeps "Content-Length : 5" as a field named "Content-Length ".
 * A proxy in front that frames the request differently would forward bytes
 * the tower reads as a second request (request smuggling).
 *
 * A core that allocates nothing and does no I/O: the caller feeds each
 * header field, then asks for the verdict. */
#include <string.h>
#include <strings.h>

#include "http/http_int.h"

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

void http_framing_init(struct http_framing *f)
{
	memset(f, 0, sizeof(*f));
}

/* A Transfer-Encoding value ("gzip, chunked"): is its last coding chunked
 * (parameters aside), and is the whole of it exactly "chunked", the one
 * value libmicrohttpd decodes? Empty list elements are allowed. */
static void te_value(struct http_framing *f, const char *v)
{
	const char *p = v, *b, *e;
	size_t n, vlen = strlen(v);

	b = v;
	e = v + vlen;
	while (b < e && is_ows(*b))
		b++;
	while (e > b && is_ows(e[-1]))
		e--;
	f->te_exact = e - b == 7 && strncasecmp(b, "chunked", 7) == 0;
	f->te_last_chunked = false;
	for (;;) {
		const char *comma = strchr(p, ',');

		e = comma != NULL ? comma : v + vlen;
		for (b = p; b < e && is_ows(*b); b++)
			;
		for (n = 0; b + n < e && b[n] != ';' && !is_ows(b[n]); n++)
			;
		if (n > 0)
			f->te_last_chunked = n == 7 && strncasecmp(b, "chunked", 7) == 0;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

void http_framing_add(struct http_framing *f, const char *name, const char *value)
{
	size_t nlen = strlen(name);

	if (nlen == 0)
		f->bad_name = true;
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)name[i]))
			f->bad_name = true;
	if (strcasecmp(name, "Content-Length") == 0) {
		f->n_length++;
	} else if (strcasecmp(name, "Transfer-Encoding") == 0) {
		f->n_te++;
		te_value(f, value);
	}
}

int http_framing_verdict(const struct http_framing *f, bool http10, const char **why)
{
	if (f->bad_name) {
		*why = "malformed header field name";
		return 400;
	}
	if (f->n_length > 1) {
		*why = "more than one Content-Length";
		return 400;
	}
	if (f->n_te == 0)
		return 0;
	if (f->n_length > 0) {
		*why = "Content-Length together with Transfer-Encoding";
		return 400;
	}
	if (http10) {
		*why = "Transfer-Encoding in an HTTP/1.0 request";
		return 400;
	}
	if (f->n_te > 1 || !f->te_exact) {
		if (f->te_last_chunked) {
			*why = "transfer codings other than chunked are not supported";
			return 501;
		}
		*why = "Transfer-Encoding must be chunked alone";
		return 400;
	}
	return 0;
}
