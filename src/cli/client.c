/* client.c - calls to a tower's API for the commands used at a terminal. */
#include "cli/client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

struct client_buf {
	char *p;
	size_t n;
};

static size_t collect(void *data, size_t size, size_t nmemb, void *ctx)
{
	struct client_buf *b = ctx;
	size_t add = size * nmemb;
	char *np = realloc(b->p, b->n + add + 1);

	if (np == NULL)
		return 0;
	memcpy(np + b->n, data, add);
	b->p = np;
	b->n += add;
	b->p[b->n] = '\0';
	return add;
}

/* One request; returns the HTTP status (0: unreachable) and the parsed
 * JSON answer (NULL if none). */
long client_call(const char *base, const char *token, const char *method, const char *path,
		 const char *body, const char *idem, json_t **answer)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *h = NULL;
	struct client_buf b = {NULL, 0};
	char url[2048], hdr[512];
	long status = 0;

	*answer = NULL;
	if (curl == NULL)
		return 0;
	snprintf(url, sizeof(url), "%s%s", base, path);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (idem != NULL) {
		snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", idem);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (b.p != NULL)
		*answer = json_loads(b.p, 0, NULL);
	free(b.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(curl);
	return status;
}

/* Prints the tower's refusal; returns the exit status for it. */
int client_refused(const char *who, long status, json_t *answer, const char *base)
{
	json_t *e = json_object_get(answer, "error"), *f;
	size_t i;

	if (status == 0) {
		log_warnx("%s: cannot reach the tower at %s", who, base);
		return EXIT_OUTPUT;
	}
	log_warnx("%s: the tower refused (HTTP %ld): %s", who, status,
		  json_string_value(json_object_get(e, "message")) ?: "no reason given");
	json_array_foreach(json_object_get(e, "fields"), i, f)
		fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(f, "field")),
			json_string_value(json_object_get(f, "reason")));
	return EXIT_INPUT;
}

int client_print(json_t *answer)
{
	char *s = json_dumps(answer, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	return EXIT_OK;
}
