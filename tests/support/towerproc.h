/* towerproc.h - a tower in the test's own process, for the tests that
 * need to be inside it: the allocation-failure sweep (tests/unit/sweep)
 * and the API fuzzer (tests/fuzz/fuzz_api.c). It listens on loopback; a
 * request is a new connection (Connection: close), written and read whole
 * with plain sockets (or GnuTLS, after tp_set_tls), so that nothing on the
 * client's side allocates through yg_malloc. */
#ifndef YAGURA_TESTS_TOWERPROC_H
#define YAGURA_TESTS_TOWERPROC_H

#include <stddef.h>

struct tower;

struct towerproc {
	char dir[64], store[512], key[128], vkey[256], schema[64];
	/* Bearer tokens: the first admin's, and one each for an operator of
	 * the organisation "Grid" (electricity), a sensor, an analyst, two
	 * overseers and an auditor of the office. */
	char admin[64], op[64], sensor[64], analyst[64], overseer[64], overseer2[64],
		auditor[64];
	struct tower *t;
	unsigned port;
	int tls; /* HTTPS: started after tp_set_tls */
};

struct tp_answer {
	int status;	 /* 0: the connection closed (or timed out) without an answer,
			    or with one cut short */
	int timed_out;	 /* 1: no answer within 30 s */
	int replayed;	 /* 1: it said Idempotent-Replayed: true */
	double seconds;	 /* from connect to the end of the answer */
	char body[16384];
};

/* Starts a tower on a new SQLite file under /tmp, or (pg non-NULL) in a
 * new schema of the PostgreSQL at pg, with checkpoints every second, and
 * makes the users above. 0, or -1 with a line in err. */
int tp_up(struct towerproc *w, const char *pg, unsigned threads, char *err, size_t errlen);

/* The same, with [stream] consuming alerts from the JetStream at nats
 * (one consumer thread, ack wait 2 s). */
int tp_up_nats(struct towerproc *w, const char *pg, const char *nats, unsigned threads, char *err,
	       size_t errlen);

/* From now on, towers started by tp_up wait at most s seconds for
 * PostgreSQL's answer ([tower] store_timeout); 0: the default. */
void tp_set_store_timeout(unsigned s);

/* From now on, towers started by tp_up serve HTTPS with dir's server.pem
 * and server.key (scripts/demo-tls.sh), and tp_call checks them against
 * dir's ca.pem; NULL: plain HTTP again. 0, or -1 with a line in err. */
int tp_set_tls(const char *dir, char *err, size_t errlen);

/* Stops the tower, then removes its directory and schema. */
void tp_down(struct towerproc *w, const char *pg);

/* One request with a body of blen bytes (body may be NULL); the answer in
 * a. -1 when the tower could not be reached or the request not written. */
int tp_call(const struct towerproc *w, const char *method, const char *path, const char *token,
	    const char *body, size_t blen, struct tp_answer *a);

/* The same with more header lines (each ending in CRLF; may be NULL). */
int tp_call_h(const struct towerproc *w, const char *method, const char *path, const char *token,
	      const char *headers, const char *body, size_t blen, struct tp_answer *a);

/* The integer after "key": in a's body, or -1; the string, or "". */
long tp_int(const struct tp_answer *a, const char *key);
void tp_str(const struct tp_answer *a, const char *key, char *out, size_t cap);

/* Runs sql on the PostgreSQL at url outside any tower. 0 or -1. */
int tp_pg_exec(const char *url, const char *sql, char *err, size_t errlen);

#endif
