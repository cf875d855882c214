/* fetch.c - see fetch.h. */
#include "http/fetch.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sink {
	struct http_fetch *f;
	size_t cap;
	int over;
};

static size_t body_cb(void *data, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	struct http_fetch *f = s->f;
	size_t add = size * nmemb, max = f->max ? f->max : (size_t)64 << 20;
	char *np;

	if (add > max - f->answer_len) {
		s->over = 1;
		return 0;
	}
	if (f->answer_len + add + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 65536;

		while (cap < f->answer_len + add + 1)
			cap *= 2;
		if ((np = realloc(f->answer, cap)) == NULL)
			return 0;
		f->answer = np;
		s->cap = cap;
	}
	memcpy(f->answer + f->answer_len, data, add);
	f->answer_len += add;
	f->answer[f->answer_len] = '\0';
	return add;
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *ctx)
{
	struct http_fetch *f = ctx;
	size_t n = size * nmemb, k = f->keep ? strlen(f->keep) : 0;

	if (k > 0 && n > k + 1 && strncasecmp(line, f->keep, k) == 0 && line[k] == ':') {
		const char *v = line + k + 1;
		size_t vl = n - k - 1;

		while (vl > 0 && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl < sizeof(f->kept)) {
			memcpy(f->kept, v, vl);
			f->kept[vl] = '\0';
		}
	}
	return n;
}

long http_fetch(struct http_fetch *f)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct sink s = {f, 0, 0};
	char err[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	f->status = 0;
	f->answer = NULL;
	f->answer_len = 0;
	f->kept[0] = f->why[0] = '\0';
	if (c == NULL) {
		snprintf(f->why, sizeof(f->why), "libcurl cannot start");
		return 0;
	}
	for (size_t i = 0; i < sizeof(f->headers) / sizeof(f->headers[0]) && f->headers[i]; i++)
		h = curl_slist_append(h, f->headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, f->method ? f->method : "GET");
	if (f->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, f->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->body_len);
	}
	/* Only the web's schemes, never a redirect to elsewhere. */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, f->timeout_s > 0 ? f->timeout_s : 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
	} else if (s.over) {
		f->status = -1;
		snprintf(f->why, sizeof(f->why), "the answer is larger than allowed");
	} else {
		snprintf(f->why, sizeof(f->why), "%s", err[0] ? err : curl_easy_strerror(rc));
	}
	if (f->status <= 0) {
		free(f->answer);
		f->answer = NULL;
		f->answer_len = 0;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return f->status;
}
