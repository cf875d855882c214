/* http.c - HTTP/1.x request metadata: method, version, Host.
 *
 * Privacy by construction: the request target and every header but Host
 * are stepped over and never copied. */
#include "decode/appmeta.h"

#include <string.h>

#include "base/cursor.h"

#define HTTP_METHOD_MAX  15
#define HTTP_VERSION_LEN 8 /* "HTTP/1.x" */

static int is_method_char(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_';
}

/* Bytes a request target may hold: anything visible, and bytes above
 * 0x7f that sloppy clients send unencoded. */
static int is_target_char(uint8_t ch)
{
	return ch > 0x20 && ch != 0x7f;
}

static uint8_t lower(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
}

/* Splits off the next line (without its LF, and without a CR before it).
 * Returns -1 when no LF is left: the line is not whole. */
static int http_line_next(struct cur *c, struct cur *line)
{
	const uint8_t *lf;

	if (cur_left(c) == 0)
		return -1;
	lf = memchr(c->p, '\n', cur_left(c));
	if (lf == NULL)
		return -1;
	line->p = c->p;
	line->end = lf;
	if (line->end > line->p && line->end[-1] == '\r')
		line->end--;
	c->p = lf + 1;
	return 0;
}

/* Stores the value of a Host header, without spaces around it and
 * without its port. A value with control bytes, or longer than
 * META_NAME_MAX once stripped, is left out rather than cut: half a name
 * would match the wrong domain. */
static void http_host_store(const uint8_t *v, size_t n, struct http_meta *out)
{
	const uint8_t *colon;

	while (n > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] == 0x7f)
			return;
	if (n > 0 && v[0] == '[') {
		const uint8_t *rb = memchr(v, ']', n);

		if (rb == NULL)
			return;
		n = (size_t)(rb - v) - 1;
		v++;
	} else if ((colon = memchr(v, ':', n)) != NULL &&
	           memchr(colon + 1, ':', n - (size_t)(colon - v) - 1) == NULL) {
		/* One colon: host:port. More than one is a bare IPv6
		 * address, which has no port. */
		n = (size_t)(colon - v);
	}
	if (n > META_NAME_MAX)
		return;
	memcpy(out->host, v, n);
	out->host[n] = '\0';
	out->host_len = (uint16_t)n;
}

/* Parses the request line: METHOD SP target SP HTTP/1.x. The line may
 * end with the bytes, right after the version. */
static int http_request_line(struct cur *c, struct http_meta *out)
{
	static const char proto[] = "HTTP/1.";
	struct cur line;
	size_t n = 0;
	uint8_t ch;

	if (http_line_next(c, &line) < 0) {
		line = *c;
		c->p = c->end;
		if (cur_left(&line) > 0 && line.end[-1] == '\r')
			line.end--;
	}
	while (cur_left(&line) > 0 && is_method_char(*line.p)) {
		if (n == HTTP_METHOD_MAX)
			return YG_EFORMAT;
		out->method[n++] = (char)*line.p++;
	}
	if (n == 0 || cur_u8(&line, &ch) < 0 || ch != ' ')
		return YG_EFORMAT;
	out->method[n] = '\0';
	out->method_len = (uint8_t)n;

	n = 0;
	while (cur_left(&line) > 0 && is_target_char(*line.p)) {
		line.p++;
		n++;
	}
	if (n == 0 || cur_u8(&line, &ch) < 0 || ch != ' ')
		return YG_EFORMAT;

	if (cur_left(&line) != HTTP_VERSION_LEN || memcmp(line.p, proto, sizeof(proto) - 1) != 0)
		return YG_EFORMAT;
	ch = line.p[HTTP_VERSION_LEN - 1];
	if (ch != '0' && ch != '1')
		return YG_EFORMAT;
	memcpy(out->version, line.p, HTTP_VERSION_LEN);
	out->version[HTTP_VERSION_LEN] = '\0';
	out->version_len = HTTP_VERSION_LEN;
	return 0;
}

int http_parse_request(const uint8_t *p, size_t len, struct http_meta *out)
{
	struct cur c = cur_make(p, len), line;
	int seen_host = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = http_request_line(&c, out);
	if (rc < 0)
		goto bad;

	/* Only whole lines: a Host line the bytes cut could be half a name. */
	while (http_line_next(&c, &line) == 0) {
		static const char host[] = "host:";
		size_t n = cur_left(&line);
		size_t i;

		if (n == 0)
			break; /* the end of the headers */
		if (n < sizeof(host) - 1 || seen_host)
			continue;
		for (i = 0; i < sizeof(host) - 1; i++)
			if (lower(line.p[i]) != (uint8_t)host[i])
				break;
		if (i < sizeof(host) - 1)
			continue;
		/* The first Host counts; a second one is a smuggling trick. */
		seen_host = 1;
		http_host_store(line.p + i, n - i, out);
	}
	return 0;

bad:
	memset(out, 0, sizeof(*out));
	return rc;
}
