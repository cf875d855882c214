/* client.h - calling a tower's API from the terminal commands. */
#ifndef YAGURA_CLI_CLIENT_H
#define YAGURA_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* One request to base + path with a bearer token (body and idempotency
 * key optional). Returns the HTTP status, 0 when the tower could not be
 * reached; *answer is the parsed JSON reply or NULL (caller decrefs). */
long client_call(const char *base, const char *token, const char *method, const char *path,
		 const char *body, const char *idem, json_t **answer);

/* The same for an answer that need not be JSON: a body of blen bytes of
 * type ctype (body NULL: none), and the answer's bytes whole in *out
 * (NUL-terminated; the caller frees) and *len. Returns the HTTP status, 0
 * when the tower could not be reached, -1 when the answer passed max
 * bytes; *out is NULL unless the status is positive. */
long client_call_raw(const char *base, const char *token, const char *method, const char *path,
		     const char *ctype, const char *body, size_t blen, size_t max, char **out,
		     size_t *len);

/* A GET of base + path (a TAXII server's, say) sending Accept: accept,
 * the answer as client_call_raw gives it, and the value of the answer's
 * header hname (any case) in hval, hn bytes: "" when it is absent or too
 * long to hold whole. */
long client_get_header(const char *base, const char *token, const char *path,
		       const char *accept, size_t max, char **out, size_t *len, const char *hname,
		       char *hval, size_t hn);

/* An https:// tower: trust the CA in the PEM file ca (NULL: the system's
 * CAs) and present the client certificate cert with its key (both NULL:
 * none). Process-wide, for every later request; the strings are borrowed.
 * Call it before starting threads that call a tower. */
void client_set_tls(const char *ca, const char *cert, const char *key);

/* Checks --ca, --cert and its key as given (NULL: not given): cert and key
 * together, each file readable. Returns 0, or -1 having said why, as who
 * (who "analyze" names the key's option --key, others --cert-key). */
int client_tls_check(const char *who, const char *ca, const char *cert, const char *key);

/* Bounds the calling thread's later requests to secs seconds (default 60),
 * and names why its last request reached no tower (curl's words; "no
 * answer" when it has none). Both per thread. */
void client_set_timeout(long secs);
const char *client_last_error(void);

/* Prints the tower's refusal, one bad field a line; returns the exit
 * status for it (EXIT_INPUT, or EXIT_OUTPUT when unreachable). */
int client_refused(const char *who, long status, json_t *answer, const char *base);

/* Names the input a refused field came from ("addresses[2]" -> "--address
 * 10.0.0.1/24") into buf; returns 0, or -1 to keep the tower's name. */
typedef int (*client_field_name_fn)(const char *field, char *buf, size_t n, void *ctx);

/* client_refused, but a refusal whose every field namer names prints one
 * line a field, "who: INPUT: reason", and no heading. */
int client_refused_named(const char *who, long status, json_t *answer, const char *base,
			 client_field_name_fn namer, void *ctx);

/* Prints a JSON answer, indented; returns EXIT_OK. */
int client_print(json_t *answer);

/* Writes v as one line of compact JSON. Like client_print, what the
 * terminal could take for a control (DEL, and C1 characters, which JSON
 * leaves raw) is written as a \u escape. Returns 0, or -1 on a write error. */
int client_print_line(FILE *out, const json_t *v);

/* A stored string as a terminal may show it, in buf (n bytes, cut at a
 * character boundary): control characters (C0, DEL, C1) become '?', so
 * that nothing a tower stores can move the cursor, clear the screen or
 * forge lines. Returns buf, or "-" when v is not a string. */
const char *client_term_safe(const json_t *v, char *buf, size_t n);

/* What every command that calls a tower takes. */
struct client_opts {
	const char *base;	/* --tower, $YAGURA_TOWER, or the default */
	const char *token_file; /* --token-file; else $YAGURA_TOKEN */
	const char *ca;		/* --ca: the CA of an https:// tower (client_set_tls) */
	const char *cert, *key; /* --cert, --cert-key (--key is the log's verifier key in
				   yagura audit): a client certificate, instead of a token */
	const char *cursor;	/* list commands: "before" or "after" (the option
				   and the query parameter); NULL: none */
	unsigned long long limit, from; /* --limit (0: default), --before/--after (0: none) */
	int all;			/* --all */
};

void client_opts_init(struct client_opts *o, const char *cursor);

/* If argv[*i] is one of the options above, takes it (and its value,
 * advancing *i) and returns 1; returns 0 when it is not one, -1 (having
 * said why, as who) when its value is missing or out of range. */
int client_opt(const char *who, struct client_opts *o, int argc, char **argv, int *i);

/* The token to send, from --token-file (read into buf, n bytes) or
 * $YAGURA_TOKEN; "" when there is none but a client certificate (--cert);
 * NULL, having said why, when there is neither, or --ca, --cert or --key
 * is wrong (client_tls_check). */
const char *client_token(const char *who, const struct client_opts *o, char *buf, size_t n);

/* A query string under construction, values percent-encoded ("+" in a
 * time zone would otherwise arrive as a space). Bounded: a query that
 * does not fit is an error, never a truncated request. */
struct client_query {
	char s[1024];
	size_t len;
	int overflow;
};

void client_query_init(struct client_query *q);
void client_query_add(struct client_query *q, const char *name, const char *value);

/* A list the tower pages with a cursor: GET path?query&limit=&CURSOR=
 * answers {"ITEMS": [...], "more": bool, "next_CURSOR": id}. */
struct client_list {
	const char *who;   /* "alerts list": the start of every message */
	const char *path;  /* "/api/v1/alerts" */
	const char *items; /* "alerts": the answer's array, and the word for them */
	void (*header)(void *ctx);		/* before the first row; may be NULL */
	int (*row)(const json_t *item, void *ctx); /* each row; -1 stops (write error) */
	void *ctx;
};

/* Shows one page (o->limit rows, default 100, from o->from), or every
 * page when o->all. A first page the tower says is not the last ends
 * with one line on stderr naming the option that shows the next one.
 * Returns the exit status: EXIT_OK, EXIT_INPUT (refused), EXIT_OUTPUT
 * (unreachable, or stdout could not be written). */
int client_list_run(const struct client_list *l, const struct client_opts *o, const char *token,
		    const struct client_query *filters);

/* Usage text for the options of client_opt, for a list command's help. */
#define CLIENT_LIST_USAGE                                                                          \
	"  --limit N                 rows a page, 1 to 1000 (default 100; 1000 with --all)\n"        \
	"  --all                     follow the pages to the end, each row once\n"
#define CLIENT_TOWER_USAGE                                                                         \
	"  --tower URL               the tower (default $YAGURA_TOWER or http://127.0.0.1:8080)\n"  \
	"  --token-file FILE         your API token (default $YAGURA_TOKEN)\n"                      \
	"  --ca FILE                 an https:// tower: trust the CA in FILE (PEM)\n"               \
	"  --cert FILE               a client certificate (PEM) the tower binds to a sensor,\n"      \
	"                            instead of a token; --cert-key FILE: its key\n"

/* ---- what the committee decides on: cases, monitoring authorizations ---- */

/* A command for orders (yagura case, yagura monitoring): the decisions
 * (approve, reject, withdraw, revoke ID --reason TEXT), show ID and list
 * [--state S] are the same for each; the command adds its own value
 * options and subcommands. */
struct order_cli {
	const char *who;  /* "case": the start of every message */
	const char *noun; /* "case", "authorization" */
	const char *path; /* "/api/v1/cases" */
	const char *items; /* "cases": the list's array */
	void (*usage)(FILE *out);
	/* Its value options: 1 when argv[*i] was one (taken, with its value),
	 * 0 when not, -1 after saying what is wrong. */
	int (*opt)(void *ctx, int argc, char **argv, int *i);
	/* Its other subcommands (pos[0]): fills path and *req (a POST; NULL:
	 * a GET) and returns -1 to go on, or an exit status to end with. */
	int (*other)(void *ctx, const char *const *pos, int npos, const struct client_opts *o,
		     const char *token, char *path, size_t cap, json_t **req);
	/* list: the filters it adds to ?state=, and its columns. */
	void (*list_filters)(void *ctx, struct client_query *q);
	void (*header)(void *ctx);
	int (*row)(const json_t *item, void *ctx);
};

/* Runs an order command. Returns its exit status. */
int order_cli_run(const struct order_cli *c, void *ctx, int argc, char **argv);

/* What a refusal's body says, in one line a terminal may show: TAXII's
 * error (title, description), this tower's {"error": {"message"}}, or
 * {"error": "..."}; "no reason given" when none of those. */
void client_refusal_text(const char *body, size_t len, char *out, size_t n);

#endif
