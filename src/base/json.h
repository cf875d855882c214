/* json.h - jansson, made to say when it ran out of memory.
 *
 * jansson 2.14 does not always say so itself: a string it could not copy
 * while parsing is reported as a syntax error, and a byte it could not
 * append to a string is dropped without a word ("2026-11-22T00:00:00Z" is
 * read as "2026-11-22T00:0:00Z"; found by tests/unit/sweep). So jansson
 * allocates through yg_malloc, which notes a failure on the thread, and
 * these parse functions throw away whatever was parsed while one happened:
 * NULL, with the error's code json_error_out_of_memory. Use them for every
 * parse.
 *
 * Writing is no better: jansson 2.14's dump ignores the result of writing
 * an object's key (dump.c, "dump_string(key, ...)" unchecked), so a key
 * whose bytes could not be appended is left out and the dump succeeds:
 * {"id":3,":1,...} was stored as a report's receipt (found by
 * tests/unit/sweep). yg_json_dumps() throws such a text away; a dump
 * callback must keep failing once it has failed, so that the next checked
 * write ends the dump (src/http/server.c). Use it for every dump. */
#ifndef YAGURA_BASE_JSON_H
#define YAGURA_BASE_JSON_H

#include <stddef.h>

#include <jansson.h>

/* Makes jansson allocate through yg_malloc; once per process, also done by
 * the functions below. */
void yg_json_init(void);

/* json_loadb(), or NULL with err. jansson's error text quotes the input
 * near the error byte for byte: here its control characters become '?',
 * so that the text is one line wherever it goes (an error body, a log
 * line) and cannot forge lines of its own (fuzz_intel_taxii found a
 * newline in an error). */
json_t *yg_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);
json_t *yg_json_loads(const char *s, size_t flags, json_error_t *err);

/* The same cleaning, for an error from jansson's other loaders. */
void yg_json_err_clean(json_error_t *err);

/* json_dumps(), or NULL when an allocation failed while it ran. */
char *yg_json_dumps(const json_t *j, size_t flags);

/* Whether err says out of memory: the client is to try again, the input
 * was not judged. */
int yg_json_oom(const json_error_t *err);

#endif
