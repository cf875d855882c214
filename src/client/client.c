/* client.c - HTTP calls to a tower's API (and a TAXII server's), for the
 * terminal commands and the sensor's pollers alike. */
#include "client/client.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"
#include "base/log.h"

struct client_buf {
	char *p;
	size_t n;
	size_t max; /* 0: no cap */
	int over;   /* the answer passed max */
};

static size_t collect(void *data, size_t size, size_t nmemb, void *ctx)
{
	struct client_buf *b = ctx;
	size_t add = size * nmemb;
	char *np;

	if (b->max != 0 && add > b->max - b->n) {
		b->over = 1;
		return 0;
	}
	if ((np = realloc(b->p, b->n + add + 1)) == NULL)
		return 0;
	memcpy(np + b->n, data, add);
	b->p = np;
	b->n += add;
	b->p[b->n] = '\0';
	return add;
}

/* Per thread, so that the sensor's poller can bound its requests and say
 * why one failed while terminal commands keep their defaults. */
static _Thread_local long req_timeout_s = 60;
static _Thread_local char req_error[CURL_ERROR_SIZE];

void client_set_timeout(long secs)
{
	req_timeout_s = secs;
}

const char *client_last_error(void)
{
	return req_error[0] ? req_error : "no answer";
}

/* For an https:// tower: the CA to trust (NULL: the system's) and a client
 * certificate (NULL: none). Process-wide: set while options are read,
 * before any thread calls a tower. */
static const char *tls_ca, *tls_cert, *tls_key;

void client_set_tls(const char *ca, const char *cert, const char *key)
{
	tls_ca = ca;
	tls_cert = cert;
	tls_key = key;
}

int client_tls_check(const char *who, const char *ca, const char *cert, const char *key)
{
	const char *const files[][2] = {{"--ca", ca}, {"--cert", cert}, {"the key", key}};

	if ((cert == NULL) != (key == NULL)) {
		log_warnx("%s: a client certificate and its key go together (--cert and --%s)", who,
			  strcmp(who, "analyze") == 0 ? "key" : "cert-key");
		return -1;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;

		if (files[i][1] == NULL)
			continue;
		if ((f = fopen(files[i][1], "r")) == NULL) {
			log_warn("%s: %s %s", who, files[i][0], files[i][1]);
			return -1;
		}
		fclose(f);
	}
	return 0;
}

/* What a TAXII client needs besides: an Accept header, and one header of
 * the answer. */
struct client_extra {
	const char *accept;
	const char *hname;
	char *hval;
	size_t hn;
};

/* Keeps the value of x->hname when a header line is it; a line it cannot
 * hold whole leaves the value empty rather than cut. */
static size_t header_line(char *line, size_t size, size_t nmemb, void *ctx)
{
	struct client_extra *x = ctx;
	size_t n = size * nmemb, k = strlen(x->hname);

	if (n > k + 1 && strncasecmp(line, x->hname, k) == 0 && line[k] == ':') {
		const char *v = line + k + 1;
		size_t vl = n - k - 1;

		while (vl > 0 && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl < x->hn) {
			memcpy(x->hval, v, vl);
			x->hval[vl] = '\0';
		} else {
			x->hval[0] = '\0';
		}
	}
	return n;
}

/* One request; the answer's bytes in b. Returns the HTTP status, 0 when
 * the tower could not be reached, -1 when the answer passed b->max. */
static long perform(const char *base, const char *token, const char *method, const char *path,
		    const char *ctype, const char *body, size_t blen, const char *idem,
		    struct client_extra *x, struct client_buf *b)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048], hdr[512];
	long status = 0;

	req_error[0] = '\0';
	if (curl == NULL)
		return 0;
	snprintf(url, sizeof(url), "%s%s", base, path);
	if (token != NULL && *token != '\0') { /* "": a client certificate says who */
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, hdr);
	}
	if (ctype != NULL) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
		h = curl_slist_append(h, hdr);
	}
	if (idem != NULL) {
		snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", idem);
		h = curl_slist_append(h, hdr);
	}
	if (x != NULL && x->accept != NULL) {
		snprintf(hdr, sizeof(hdr), "Accept: %s", x->accept);
		h = curl_slist_append(h, hdr);
	}
	if (x != NULL && x->hname != NULL) {
		x->hval[0] = '\0';
		curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_line);
		curl_easy_setopt(curl, CURLOPT_HEADERDATA, x);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, req_timeout_s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, req_error);
	if (tls_ca != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, tls_ca);
	if (tls_cert != NULL) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, tls_cert);
		curl_easy_setopt(curl, CURLOPT_SSLKEY, tls_key);
	}
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else if (b->over)
		status = -1;
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	return status;
}

long client_call(const char *base, const char *token, const char *method, const char *path,
		 const char *body, const char *idem, json_t **answer)
{
	struct client_buf b = {NULL, 0, 0, 0};
	long status = perform(base, token, method, path, "application/json", body,
			      body != NULL ? strlen(body) : 0, idem, NULL, &b);

	*answer = NULL;
	if (b.p != NULL)
		*answer = yg_json_loads(b.p, 0, NULL);
	free(b.p);
	return status;
}

static long call_raw(const char *base, const char *token, const char *method, const char *path,
		     const char *ctype, const char *body, size_t blen, struct client_extra *x,
		     size_t max, char **out, size_t *len)
{
	struct client_buf b = {NULL, 0, max, 0};
	long status = perform(base, token, method, path, ctype, body, blen, NULL, x, &b);

	if (status > 0 && b.p == NULL && (b.p = calloc(1, 1)) == NULL)
		status = 0;
	if (status <= 0) {
		free(b.p);
		b.p = NULL;
		b.n = 0;
	}
	*out = b.p;
	*len = b.n;
	return status;
}

long client_call_raw(const char *base, const char *token, const char *method, const char *path,
		     const char *ctype, const char *body, size_t blen, size_t max, char **out,
		     size_t *len)
{
	return call_raw(base, token, method, path, ctype, body, blen, NULL, max, out, len);
}

long client_get_header(const char *base, const char *token, const char *path,
		       const char *accept, size_t max, char **out, size_t *len, const char *hname,
		       char *hval, size_t hn)
{
	struct client_extra x = {accept, hname, hval, hn};

	return call_raw(base, token, "GET", path, accept, NULL, 0, &x, max, out, len);
}
/* The bytes of a character starting with lead byte c (jansson's strings
 * are valid UTF-8). */
static size_t utf8_len(unsigned char c)
{
	return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* C1 controls (U+0080..U+009F) are C2 80..C2 9F in UTF-8: some terminals
 * act on them as they do on ESC [. */
static int is_c1(const unsigned char *s)
{
	return s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;
}

const char *client_term_safe(const json_t *v, char *buf, size_t n)
{
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	size_t i = 0, o = 0;

	if (s == NULL || n == 0)
		return "-";
	while (s[i] != '\0') {
		size_t k = utf8_len(s[i]);

		if (s[i] < 0x20 || s[i] == 0x7f || is_c1(s + i)) {
			if (o + 1 >= n)
				break;
			buf[o++] = '?';
			i += is_c1(s + i) ? 2 : 1;
			continue;
		}
		if (o + k >= n)
			break;
		for (size_t j = 0; j < k && s[i] != '\0'; j++)
			buf[o++] = (char)s[i++];
	}
	buf[o] = '\0';
	return buf;
}
void client_query_init(struct client_query *q)
{
	q->s[0] = '\0';
	q->len = 0;
	q->overflow = 0;
}

static void query_put(struct client_query *q, const char *s, int encode)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0' && !q->overflow; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = !encode || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
			    c == ':';

		if (q->len + (plain ? 1 : 3) >= sizeof(q->s)) {
			q->overflow = 1;
			break;
		}
		if (plain) {
			q->s[q->len++] = (char)c;
		} else {
			q->s[q->len++] = '%';
			q->s[q->len++] = hex[c >> 4];
			q->s[q->len++] = hex[c & 15];
		}
	}
	q->s[q->len] = '\0';
}

void client_query_add(struct client_query *q, const char *name, const char *value)
{
	query_put(q, q->len ? "&" : "", 0);
	query_put(q, name, 1);
	query_put(q, "=", 0);
	query_put(q, value, 1);
}

void client_refusal_text(const char *body, size_t len, char *out, size_t n)
{
	json_t *j = yg_json_loadb(body, len, 0, NULL), *e = json_object_get(j, "error");
	json_t *m = json_object_get(j, "title");
	char buf[256];

	if (!json_is_string(m))
		m = json_object_get(j, "description");
	if (!json_is_string(m))
		m = json_object_get(json_is_object(e) ? e : j, "message");
	if (!json_is_string(m) && json_is_string(e))
		m = e;
	snprintf(out, n, "%s", json_is_string(m) ? client_term_safe(m, buf, sizeof(buf))
						 : "no reason given");
	json_decref(j);
}
