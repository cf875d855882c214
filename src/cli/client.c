/* client.c - what the terminal commands share when they call a tower:
 * refusals, printing, options, tokens, pages (the calls: client/client.h). */
#include "cli/client.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "cli/cli.h"



/* C1 controls (U+0080..U+009F) are C2 80..C2 9F in UTF-8. */
static int is_c1(const unsigned char *s)
{
	return s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;
}

/* Writes JSON text with DEL and C1 characters as \u escapes: they can
 * only be inside strings, where the escape means the same. */
static int write_json_safe(FILE *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == 0x7f) {
			fputs("\\u007f", out);
		} else if (is_c1(s + i)) {
			fprintf(out, "\\u%04x", s[i + 1]);
			i++;
		} else {
			putc(s[i], out);
		}
	}
	return ferror(out) ? -1 : 0;
}

/* Prints the tower's refusal; returns the exit status for it. */
int client_refused(const char *who, long status, json_t *answer, const char *base)
{
	return client_refused_named(who, status, answer, base, NULL, NULL);
}

int client_refused_named(const char *who, long status, json_t *answer, const char *base,
			 client_field_name_fn namer, void *ctx)
{
	json_t *e = json_object_get(answer, "error"), *f, *fields = json_object_get(e, "fields");
	char m[512], name[256], reason[512];
	size_t i;
	int all_named = namer != NULL && json_array_size(fields) > 0;

	if (status == 0) {
		log_warnx("%s: cannot reach the tower at %s", who, base);
		return EXIT_OUTPUT;
	}
	json_array_foreach(fields, i, f) {
		const char *field = json_string_value(json_object_get(f, "field"));

		if (all_named && namer(field ?: "", name, sizeof(name), ctx) < 0)
			all_named = 0;
	}
	if (all_named) {
		json_array_foreach(fields, i, f) {
			namer(json_string_value(json_object_get(f, "field")) ?: "", name, sizeof(name),
			      ctx);
			log_warnx("%s: %s: %s", who, name,
				  client_term_safe(json_object_get(f, "reason"), reason, sizeof(reason)));
		}
		return EXIT_INPUT;
	}
	if (json_string_value(json_object_get(e, "message")) == NULL)
		snprintf(m, sizeof(m), "no reason given");
	else
		client_term_safe(json_object_get(e, "message"), m, sizeof(m));
	log_warnx("%s: the tower refused (HTTP %ld): %s", who, status, m);
	json_array_foreach(fields, i, f) {
		client_term_safe(json_object_get(f, "field"), name, sizeof(name));
		fprintf(stderr, "  %s: %s\n", name,
			client_term_safe(json_object_get(f, "reason"), reason, sizeof(reason)));
	}
	return EXIT_INPUT;
}

int client_print(json_t *answer)
{
	char *s = yg_json_dumps(answer, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		write_json_safe(stdout, s);
		putchar('\n');
		free(s);
	}
	return EXIT_OK;
}

int client_print_line(FILE *out, const json_t *v)
{
	char *s = yg_json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc;

	if (s == NULL)
		return -1;
	rc = write_json_safe(out, s);
	free(s);
	if (rc == 0 && putc('\n', out) == EOF)
		rc = -1;
	return rc;
}

/* ---- options ------------------------------------------------------------ */

void client_opts_init(struct client_opts *o, const char *cursor)
{
	memset(o, 0, sizeof(*o));
	o->base = getenv("YAGURA_TOWER");
	if (o->base == NULL || *o->base == '\0')
		o->base = "http://127.0.0.1:8080";
	o->cursor = cursor;
}

int client_opt(const char *who, struct client_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	int takes = strcmp(a, "--tower") == 0 || strcmp(a, "--token-file") == 0 ||
		    strcmp(a, "--ca") == 0 || strcmp(a, "--cert") == 0 ||
		    strcmp(a, "--cert-key") == 0 ||
		    (o->writes && strcmp(a, "--idempotency-key") == 0) ||
		    (o->cursor != NULL && (strcmp(a, "--limit") == 0 ||
					   (strncmp(a, "--", 2) == 0 && strcmp(a + 2, o->cursor) == 0)));

	if (o->cursor != NULL && strcmp(a, "--all") == 0) {
		o->all = 1;
		return 1;
	}
	if (!takes)
		return 0;
	if (*i + 1 >= argc) {
		log_warnx("%s: %s needs a value", who, a);
		return -1;
	}
	const char *v = argv[++*i];
	if (strcmp(a, "--tower") == 0) {
		o->base = v;
	} else if (strcmp(a, "--token-file") == 0) {
		o->token_file = v;
	} else if (strcmp(a, "--ca") == 0 || strcmp(a, "--cert") == 0 ||
		   strcmp(a, "--cert-key") == 0) {
		*(a[3] == 'a' ? &o->ca : a[6] == '\0' ? &o->cert : &o->key) = v;
		client_set_tls(o->ca, o->cert, o->key);
	} else if (strcmp(a, "--idempotency-key") == 0) {
		if (*v == '\0' || strlen(v) > 200) {
			log_warnx("%s: --idempotency-key: 1 to 200 characters", who);
			return -1;
		}
		o->idem = v;
	} else if (strcmp(a, "--limit") == 0) {
		if (cli_parse_u64(v, 1, 1000, &o->limit) < 0) {
			log_warnx("%s: --limit: '%s' is not a number from 1 to 1000", who, v);
			return -1;
		}
	} else if (cli_parse_u64(v, 1, INT64_MAX, &o->from) < 0) {
		log_warnx("%s: %s: '%s' is not a row id (a whole number from 1)", who, a, v);
		return -1;
	}
	return 1;
}

long client_write(const char *who, const struct client_opts *o, const char *token,
		  const char *path, const char *body, json_t **answer)
{
	char key[48];
	const char *idem = o->idem;
	long status = 0;

	if (idem == NULL) {
		uint8_t r[16];

		/* getrandom(2) blocks only before the kernel's pool is ready. */
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			log_warn("%s: no random bytes for an Idempotency-Key", who);
			*answer = NULL;
			return 0;
		}
		memcpy(key, "cli-", 4);
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(key + 4 + 2 * i, 3, "%02x", r[i]);
		idem = key;
	}
	for (unsigned attempt = 1;; attempt++) {
		status = client_call(o->base, token, "POST", path, body, idem, answer);
		if (attempt == 3 || (status != 0 && status != 502 && status != 503 && status != 504))
			return status;
		if (status == 0)
			log_warnx("%s: no answer from the tower (%s); sending again with the same "
				  "Idempotency-Key (%u of 3)",
				  who, client_last_error(), attempt + 1);
		else
			log_warnx("%s: the tower answered %ld; sending again with the same "
				  "Idempotency-Key (%u of 3)",
				  who, status, attempt + 1);
		json_decref(*answer);
		*answer = NULL;
		sleep(attempt);
	}
}

const char *client_token(const char *who, const struct client_opts *o, char *buf, size_t n)
{
	const char *token = getenv("YAGURA_TOKEN");

	if (o->token_file != NULL) {
		FILE *f = fopen(o->token_file, "r");

		if (f == NULL || fgets(buf, (int)n, f) == NULL) {
			log_warn("%s: %s", who, o->token_file);
			if (f)
				fclose(f);
			return NULL;
		}
		fclose(f);
		buf[strcspn(buf, "\r\n")] = '\0';
		token = buf;
	}
	if (client_tls_check(who, o->ca, o->cert, o->key) < 0)
		return NULL;
	if ((token == NULL || *token == '\0') && o->cert != NULL)
		return ""; /* the client certificate is the credential */
	if (token == NULL || *token == '\0') {
		log_warnx("%s: no token (set YAGURA_TOKEN or use --token-file)", who);
		return NULL;
	}
	return token;
}

/* ---- lists -------------------------------------------------------------- */


int client_list_run(const struct client_list *l, const struct client_opts *o, const char *token,
		    const struct client_query *filters)
{
	unsigned long long limit = o->limit ? o->limit : o->all ? 1000 : 100;
	long long from = (long long)o->from;
	char next_key[32], num[32];
	int rc = EXIT_OK, first = 1;

	snprintf(next_key, sizeof(next_key), "next_%s", o->cursor);
	for (;;) {
		struct client_query q = *filters;
		char path[sizeof(q.s) + 64];
		json_t *answer = NULL, *items, *item;
		size_t i;
		long status;

		snprintf(num, sizeof(num), "%llu", limit);
		client_query_add(&q, "limit", num);
		if (from > 0) {
			snprintf(num, sizeof(num), "%lld", from);
			client_query_add(&q, o->cursor, num);
		}
		if (q.overflow) {
			log_warnx("%s: the filters are too long for one request", l->who);
			return EXIT_USAGE;
		}
		snprintf(path, sizeof(path), "%s?%s", l->path, q.s);
		status = client_call(o->base, token, "GET", path, NULL, NULL, &answer);
		if (status != 200) {
			rc = client_refused(l->who, status, answer, o->base);
			json_decref(answer);
			break;
		}
		items = json_object_get(answer, l->items);
		if (!json_is_array(items)) {
			log_warnx("%s: the tower's answer holds no list of %s", l->who, l->items);
			json_decref(answer);
			rc = EXIT_INPUT;
			break;
		}
		if (first && l->header != NULL)
			l->header(l->ctx);
		first = 0;
		json_array_foreach(items, i, item)
			if (l->row(item, l->ctx) < 0)
				break;
		int more = json_is_true(json_object_get(answer, "more"));
		long long next = json_integer_value(json_object_get(answer, next_key));
		json_decref(answer);
		if (ferror(stdout) || !more)
			break;
		if (next <= 0 || next == from) {
			log_warnx("%s: the tower says there are more %s but gives no new %s", l->who,
				  l->items, next_key);
			rc = EXIT_INPUT;
			break;
		}
		if (!o->all) {
			/* stdout first, so that on a terminal the hint comes last. */
			fflush(stdout);
			log_warnx("%s: more %s than these; the next page: --%s %lld (or --all for "
				  "every one)",
				  l->who, l->items, o->cursor, next);
			break;
		}
		from = next;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_warn("%s: writing the list", l->who);
		return EXIT_OUTPUT;
	}
	return rc;
}

