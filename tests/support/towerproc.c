#include "towerproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "store/store.h"
#include "tower/tower.h"

static char tls_cert[256], tls_key[256];
static gnutls_certificate_credentials_t tls_trust;

int tp_set_tls(const char *dir, char *err, size_t errlen)
{
	char ca[256];
	int rc;

	if (tls_trust != NULL) {
		gnutls_certificate_free_credentials(tls_trust);
		tls_trust = NULL;
	}
	tls_cert[0] = tls_key[0] = 0;
	if (dir == NULL)
		return 0;
	snprintf(tls_cert, sizeof(tls_cert), "%s/server.pem", dir);
	snprintf(tls_key, sizeof(tls_key), "%s/server.key", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	if ((rc = gnutls_certificate_allocate_credentials(&tls_trust)) < 0 ||
	    (rc = gnutls_certificate_set_x509_trust_file(tls_trust, ca, GNUTLS_X509_FMT_PEM)) < 1) {
		snprintf(err, errlen, "%s: %s", ca, rc < 0 ? gnutls_strerror(rc) : "no certificate");
		return -1;
	}
	return 0;
}

/* One connection's reads and writes, over TLS when s is set. EINTR (see
 * below) and GnuTLS's AGAIN/INTERRUPTED are retried by the callers. */
struct tp_io {
	int fd;
	gnutls_session_t s;
};

static ssize_t io_write(struct tp_io *io, const char *p, size_t n)
{
	ssize_t r;

	if (io->s == NULL)
		return write(io->fd, p, n);
	while ((r = gnutls_record_send(io->s, p, n)) == GNUTLS_E_INTERRUPTED ||
	       r == GNUTLS_E_AGAIN)
		;
	return r < 0 ? -1 : r;
}

/* -2: timed out (SO_RCVTIMEO) */
static ssize_t io_read(struct tp_io *io, char *p, size_t n)
{
	ssize_t r;

	if (io->s == NULL) {
		r = read(io->fd, p, n);
		return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? -2 : r;
	}
	while ((r = gnutls_record_recv(io->s, p, n)) == GNUTLS_E_INTERRUPTED)
		;
	if (r == GNUTLS_E_AGAIN)
		return -2;
	return r < 0 ? (r == GNUTLS_E_PREMATURE_TERMINATION ? 0 : -1) : r;
}

/* The client's half of a handshake, the server's certificate checked for
 * 127.0.0.1: 0, or -1 (the tower closed the connection or refused). */
static int io_tls(struct tp_io *io)
{
	int rc;

	if (gnutls_init(&io->s, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL) < 0) {
		io->s = NULL;
		return -1;
	}
	if (gnutls_set_default_priority(io->s) < 0 ||
	    gnutls_credentials_set(io->s, GNUTLS_CRD_CERTIFICATE, tls_trust) < 0)
		return -1;
	gnutls_session_set_verify_cert(io->s, "127.0.0.1", 0);
	gnutls_transport_set_int(io->s, io->fd);
	gnutls_handshake_set_timeout(io->s, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
	while ((rc = gnutls_handshake(io->s)) < 0 && !gnutls_error_is_fatal(rc))
		;
	return rc < 0 ? -1 : 0;
}

static void io_close(struct tp_io *io)
{
	if (io->s != NULL)
		gnutls_deinit(io->s);
	close(io->fd);
}

int tp_call(const struct towerproc *w, const char *method, const char *path, const char *token,
	    const char *body, size_t blen, struct tp_answer *a)
{
	return tp_call_h(w, method, path, token, NULL, body, blen, a);
}

int tp_call_h(const struct towerproc *w, const char *method, const char *path, const char *token,
	      const char *headers, const char *body, size_t blen, struct tp_answer *a)
{
	static __thread char buf[65536 + 1024];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w->port)};
	struct timeval tv = {.tv_sec = 30};
	size_t have = 0, hlen;
	struct timespec t0, t1;
	const char *ctype;
	char *p;
	int len;
	struct tp_io io = {.fd = -1};
	ssize_t r = 0;

	a->status = 0;
	a->replayed = 0;
	a->timed_out = 0;
	a->seconds = 0;
	a->body[0] = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (body == NULL)
		blen = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((io.fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(io.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(io.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(io.fd);
		return -1;
	}
	if (w->tls && io_tls(&io) < 0) { /* closed without an answer */
		io_close(&io);
		return 0;
	}
	/* TAXII's media type under /taxii2/, JSON elsewhere. */
	ctype = strncmp(path, "/taxii2/", 8) == 0 ? "application/taxii+json;version=2.1"
						    : "application/json";
	len = snprintf(buf, sizeof(buf),
		       "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		       "%s%s%s%s"
		       "Accept: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
		       method, path, token ? "Authorization: Bearer " : "", token ? token : "",
		       token ? "\r\n" : "", headers ? headers : "", ctype, ctype, blen);
	if (len < 0 || (size_t)len + blen > sizeof(buf)) {
		io_close(&io);
		return -1;
	}
	hlen = (size_t)len;
	if (blen > 0)
		memcpy(buf + hlen, body, blen);
	/* A signal (libFuzzer's SIGALRM, every 601 s with its default
	 * -timeout) ends a read or write early with EINTR: a socket with
	 * SO_RCVTIMEO is never restarted (signal(7)). Go on after it; three
	 * fuzz_api runs stopped on an "unanswered" request at 10, 20 and 20
	 * minutes until this was seen. */
	for (size_t off = 0; off < hlen + blen;) {
		ssize_t n = io_write(&io, buf + off, hlen + blen - off);

		if (n < 0 && errno == EINTR && io.s == NULL)
			continue;
		if (n <= 0) {
			io_close(&io);
			return io.s != NULL ? 0 : -1; /* TLS: the tower closed it */
		}
		off += (size_t)n;
	}
	while (have < sizeof(buf) - 1) {
		r = io_read(&io, buf + have, sizeof(buf) - 1 - have);
		if (r == -1 && errno == EINTR && io.s == NULL)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	if (r == -2)
		a->timed_out = 1;
	io_close(&io);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	a->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	buf[have] = 0;
	if (have < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0)
		return 0;
	/* An answer cut short (its headers whole, less body than they
	 * announce: over TLS the body goes in records of its own, which a
	 * failure can stop) is no answer, as for any HTTP client. An answer
	 * to HEAD, and a 1xx, 204 or 304, has no body whatever its
	 * Content-Length says (RFC 9110, 6.4.1). */
	if ((p = strstr(buf, "\r\n\r\n")) == NULL)
		return 0;
	*p = 0;
	int status = atoi(buf + 9);
	int bodiless = strcmp(method, "HEAD") == 0 || status < 200 || status == 204 ||
		       status == 304;
	const char *cl = strcasestr(buf, "\r\nContent-Length:");
	if (!bodiless && cl != NULL && have < sizeof(buf) - 1 && /* not merely more than buf holds */
	    strtoul(cl + 17, NULL, 10) > have - (size_t)(p + 4 - buf))
		return 0;
	a->status = status;
	a->replayed = strstr(buf, "\r\nIdempotent-Replayed: true") != NULL;
	snprintf(a->body, sizeof(a->body), "%s", p + 4);
	return 0;
}

long tp_int(const struct tp_answer *a, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(a->body, pat)) == NULL)
		return -1;
	return strtol(p + strlen(pat), NULL, 10);
}

void tp_str(const struct tp_answer *a, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = 0;
	if ((p = strstr(a->body, pat)) == NULL)
		return;
	p += strlen(pat);
	if ((q = strchr(p, '"')) != NULL && (size_t)(q - p) < cap)
		snprintf(out, cap, "%.*s", (int)(q - p), p);
}

int tp_pg_exec(const char *url, const char *sql, char *err, size_t errlen)
{
	struct store_opts o = {.no_migrate = 1, .pool_size = 1};
	struct store_conn *c;
	struct store *st;
	int rc;

	if (store_open_ex(url, &o, &st, err, errlen) < 0)
		return -1;
	if ((rc = store_conn_get(st, &c)) == 0) {
		if ((rc = store_exec(c, sql, NULL, 0, NULL, NULL)) < 0)
			snprintf(err, errlen, "%s: %s", sql, store_conn_errmsg(c));
		store_conn_put(c);
	} else {
		snprintf(err, errlen, "no connection");
	}
	store_close(st);
	return rc < 0 ? -1 : 0;
}

/* A user of role (in org when > 0) and a token for it into tok. */
static int token_for(const struct towerproc *w, const char *name, const char *role, long org,
		     char *tok, char *err, size_t errlen)
{
	char body[256];
	struct tp_answer a;
	long uid;

	if (org > 0)
		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"%s\",\"org_id\":%ld}", name,
			 role, org);
	else
		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"role\":\"%s\"}", name, role);
	if (tp_call(w, "POST", "/api/v1/users", w->admin, body, strlen(body), &a) < 0 ||
	    a.status != 201 || (uid = tp_int(&a, "id")) <= 0) {
		snprintf(err, errlen, "POST /api/v1/users %s: %d %s", name, a.status, a.body);
		return -1;
	}
	snprintf(body, sizeof(body), "{\"user_id\":%ld}", uid);
	if (tp_call(w, "POST", "/api/v1/tokens", w->admin, body, strlen(body), &a) < 0 ||
	    a.status != 201) {
		snprintf(err, errlen, "POST /api/v1/tokens %s: %d %s", name, a.status, a.body);
		return -1;
	}
	tp_str(&a, "token", tok, 64);
	if (tok[0] == 0) {
		snprintf(err, errlen, "no token for %s: %s", name, a.body);
		return -1;
	}
	return 0;
}

static unsigned store_timeout_s;

void tp_set_store_timeout(unsigned s)
{
	store_timeout_s = s;
}

int tp_up(struct towerproc *w, const char *pg, unsigned threads, char *err, size_t errlen)
{
	return tp_up_nats(w, pg, NULL, threads, err, errlen);
}

int tp_up_nats(struct towerproc *w, const char *pg, const char *nats, unsigned threads, char *err,
	       size_t errlen)
{
	static const char grid[] = "{\"name\":\"Grid\",\"sector\":\"electricity\"}";
	struct tower_config cfg;
	struct tp_answer a;
	long org;

	memset(w, 0, sizeof(*w));
	w->tls = tls_trust != NULL;
	snprintf(w->dir, sizeof(w->dir), "/tmp/yagura-towerproc-XXXXXX");
	if (mkdtemp(w->dir) == NULL) {
		snprintf(err, errlen, "mkdtemp: %s", w->dir);
		return -1;
	}
	snprintf(w->key, sizeof(w->key), "%s/log.key", w->dir);
	if (pg != NULL) {
		char sql[128];

		snprintf(w->schema, sizeof(w->schema), "yg_towerproc_%d", (int)getpid());
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", w->schema);
		if (tp_pg_exec(pg, sql, err, errlen) < 0)
			return -1;
		snprintf(w->store, sizeof(w->store), "%s%coptions=-csearch_path%%3D%s", pg,
			 strchr(pg, '?') ? '&' : '?', w->schema);
	} else {
		snprintf(w->store, sizeof(w->store), "%s/store.db", w->dir);
	}
	if (tower_admin_init(w->store, "admin", w->admin, err, errlen) < 0 ||
	    tower_log_key(w->store, w->key, NULL, 1, w->vkey, sizeof(w->vkey), err, errlen) < 0)
		return -1;
	tower_config_defaults(&cfg);
	cfg.listen = "127.0.0.1:0";
	cfg.store = w->store;
	cfg.log_key = w->key;
	cfg.threads = threads;
	cfg.log_checkpoint_s = 1;
	cfg.store_timeout_s = store_timeout_s;
	if (w->tls) {
		cfg.tls_cert = tls_cert;
		cfg.tls_key = tls_key;
	}
	if (nats != NULL) { /* one consumer thread; unacknowledged comes back in 2 s */
		cfg.stream.enable = 1;
		cfg.stream.urls = nats;
		cfg.stream.consumers = 1;
		cfg.stream.batch = 16;
		cfg.stream.ack_wait_s = 2;
	}
	if (tower_start(&cfg, &w->t, err, errlen) < 0)
		return -1;
	w->port = tower_port(w->t);
	if (tp_call(w, "POST", "/api/v1/orgs", w->admin, grid, strlen(grid), &a) < 0 ||
	    a.status != 201 || (org = tp_int(&a, "id")) <= 0) {
		snprintf(err, errlen, "POST /api/v1/orgs: %d %s", a.status, a.body);
		return -1;
	}
	if (token_for(w, "op", "operator", org, w->op, err, errlen) < 0 ||
	    token_for(w, "sensor1", "sensor", 0, w->sensor, err, errlen) < 0 ||
	    token_for(w, "analyst", "analyst", 0, w->analyst, err, errlen) < 0 ||
	    token_for(w, "overseer", "overseer", 0, w->overseer, err, errlen) < 0 ||
	    token_for(w, "overseer2", "overseer", 0, w->overseer2, err, errlen) < 0 ||
	    token_for(w, "auditor", "auditor", 0, w->auditor, err, errlen) < 0)
		return -1;
	return 0;
}

void tp_down(struct towerproc *w, const char *pg)
{
	char cmd[256], err[256];

	if (w->t != NULL)
		tower_stop(w->t);
	w->t = NULL;
	if (pg != NULL && w->schema[0] != 0) {
		snprintf(cmd, sizeof(cmd), "DROP SCHEMA %s CASCADE", w->schema);
		if (tp_pg_exec(pg, cmd, err, sizeof(err)) < 0)
			fprintf(stderr, "towerproc: %s\n", err);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "towerproc: could not remove %s\n", w->dir);
}
