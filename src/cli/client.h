/* client.h - calling a tower's API from the terminal commands. */
#ifndef YAGURA_CLI_CLIENT_H
#define YAGURA_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "client/client.h"

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
	const char *idem;		/* --idempotency-key: writes' (client_write) */
	int writes;			/* takes --idempotency-key: set after init */
};

void client_opts_init(struct client_opts *o, const char *cursor);

/* If argv[*i] is one of the options above, takes it (and its value,
 * advancing *i) and returns 1; returns 0 when it is not one, -1 (having
 * said why, as who) when its value is missing or out of range. */
int client_opt(const char *who, struct client_opts *o, int argc, char **argv, int *i);

/* A write a command makes (POST): sent with an Idempotency-Key, o->idem or
 * a new random one, and sent again with the same key, up to twice more
 * (after 1 s, then 2 s), when no answer came or the tower answered 502,
 * 503 or 504: a write the tower stored before its answer was lost is
 * answered again, not stored twice. As client_call; says each retry as
 * who. */
long client_write(const char *who, const struct client_opts *o, const char *token,
		  const char *path, const char *body, json_t **answer);

/* The token to send, from --token-file (read into buf, n bytes) or
 * $YAGURA_TOKEN; "" when there is none but a client certificate (--cert);
 * NULL, having said why, when there is neither, or --ca, --cert or --key
 * is wrong (client_tls_check). */
const char *client_token(const char *who, const struct client_opts *o, char *buf, size_t n);

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
/* For the commands that write. */
#define CLIENT_WRITE_USAGE                                                                         \
	"  --idempotency-key KEY     a write's key (default: a new one each run); a write\n"      \
	"                            that got no answer, or 502/503/504, is sent again\n"        \
	"                            with it up to twice, and stored once\n"

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


#endif
