/* client.h - calling a tower's API from the terminal commands. */
#ifndef YAGURA_CLI_CLIENT_H
#define YAGURA_CLI_CLIENT_H

#include <jansson.h>

/* One request to base + path with a bearer token (body and idempotency
 * key optional). Returns the HTTP status, 0 when the tower could not be
 * reached; *answer is the parsed JSON reply or NULL (caller decrefs). */
long client_call(const char *base, const char *token, const char *method, const char *path,
		 const char *body, const char *idem, json_t **answer);

/* Prints the tower's refusal, one bad field a line; returns the exit
 * status for it (EXIT_INPUT, or EXIT_OUTPUT when unreachable). */
int client_refused(const char *who, long status, json_t *answer, const char *base);

/* Prints a JSON answer, indented; returns EXIT_OK. */
int client_print(json_t *answer);

#endif
