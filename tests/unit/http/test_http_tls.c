/* test_http_tls.c - HTTPS in the HTTP core (tls.c): the start-up checks of
 * the certificate, key and client CA files, each refusal in one line; and a
 * real server on loopback, called by a GnuTLS client with and without a
 * client certificate, handing the auth hook the credential it should. The
 * certificates are made here, with GnuTLS, in a scratch directory. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "http/http.h"

static char dir[64];

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *name, const void *p, size_t len, mode_t mode)
{
	char path[128];
	FILE *f;

	path_of(path, sizeof(path), name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

struct pki_cert {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
};

/* A P-256 key and a certificate for cn: a CA when issuer is NULL (self-
 * signed), else a leaf for TLS clients (client) or servers (127.0.0.1). */
static void make_cert(struct pki_cert *c, const char *cn, const struct pki_cert *issuer,
                      bool client, unsigned char serial)
{
	time_t now = time(NULL);
	unsigned char ip[4] = {127, 0, 0, 1};

	assert_int_equal(gnutls_x509_privkey_init(&c->key), 0);
	assert_int_equal(
	    gnutls_x509_privkey_generate(c->key, GNUTLS_PK_ECDSA,
	                                 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
	    0);
	assert_int_equal(gnutls_x509_crt_init(&c->crt), 0);
	gnutls_x509_crt_set_version(c->crt, 3);
	gnutls_x509_crt_set_serial(c->crt, &serial, 1);
	gnutls_x509_crt_set_activation_time(c->crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(c->crt, now + 86400);
	gnutls_x509_crt_set_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
	assert_int_equal(gnutls_x509_crt_set_key(c->crt, c->key), 0);
	if (issuer == NULL) {
		gnutls_x509_crt_set_basic_constraints(c->crt, 1, -1);
		gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_KEY_CERT_SIGN);
	} else {
		gnutls_x509_crt_set_basic_constraints(c->crt, 0, -1);
		gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
		gnutls_x509_crt_set_key_purpose_oid(
		    c->crt, client ? GNUTLS_KP_TLS_WWW_CLIENT : GNUTLS_KP_TLS_WWW_SERVER, 0);
		if (!client)
			gnutls_x509_crt_set_subject_alt_name(c->crt, GNUTLS_SAN_IPADDRESS, ip,
			                                     sizeof(ip), GNUTLS_FSAN_SET);
	}
	assert_int_equal(gnutls_x509_crt_sign2(c->crt, issuer ? issuer->crt : c->crt,
	                                       issuer ? issuer->key : c->key, GNUTLS_DIG_SHA256, 0),
	                 0);
}

/* NAME.pem and NAME.key (mode key_mode). */
static void save_cert(const struct pki_cert *c, const char *name, mode_t key_mode)
{
	gnutls_datum_t d;
	char fn[64];

	assert_int_equal(gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &d), 0);
	snprintf(fn, sizeof(fn), "%s.pem", name);
	write_file(fn, d.data, d.size, 0644);
	gnutls_free(d.data);
	assert_int_equal(gnutls_x509_privkey_export2(c->key, GNUTLS_X509_FMT_PEM, &d), 0);
	snprintf(fn, sizeof(fn), "%s.key", name);
	write_file(fn, d.data, d.size, key_mode);
	gnutls_free(d.data);
}

static void free_cert(struct pki_cert *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
}

/* "sha256:HEX" of c's DER, as the layer computes it. */
static void fingerprint(const struct pki_cert *c, char out[72])
{
	unsigned char md[32];
	size_t n = sizeof(md);
	gnutls_datum_t der;

	assert_int_equal(gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER, &der), 0);
	assert_int_equal(gnutls_fingerprint(GNUTLS_DIG_SHA256, &der, md, &n), 0);
	gnutls_free(der.data);
	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < n; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

static char client_fp[72];

static int setup(void **state)
{
	struct pki_cert ca, other, srv, cli, stranger;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/yg-http-tls-XXXXXX");
	assert_non_null(mkdtemp(dir));
	make_cert(&ca, "test CA", NULL, false, 1);
	make_cert(&other, "other CA", NULL, false, 2);
	make_cert(&srv, "localhost", &ca, false, 3);
	make_cert(&cli, "sensor-7", &ca, true, 4);
	make_cert(&stranger, "sensor-7", &other, true, 5);
	save_cert(&ca, "ca", 0600);
	save_cert(&other, "other", 0600);
	save_cert(&srv, "server", 0600);
	save_cert(&cli, "client", 0600);
	save_cert(&stranger, "stranger", 0600);
	fingerprint(&cli, client_fp);
	{ /* the server's key again, readable by others */
		gnutls_datum_t d;

		assert_int_equal(gnutls_x509_privkey_export2(srv.key, GNUTLS_X509_FMT_PEM, &d), 0);
		write_file("open.key", d.data, d.size, 0644);
		gnutls_free(d.data);
	}
	write_file("junk.pem", "not a certificate\n", 18, 0644);
	write_file("junk.key", "not a key\n", 10, 0600);
	free_cert(&ca);
	free_cert(&other);
	free_cert(&srv);
	free_cert(&cli);
	free_cert(&stranger);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- start-up checks ---- */

struct tls_case {
	const char *cert, *key, *ca, *prio; /* file names in dir; NULL: not set */
	int rc;
	const char *says; /* in the message */
};

static void test_check(void **state)
{
	static const struct tls_case cases[] = {
	    {NULL, NULL, NULL, NULL, 0, NULL},
	    {"server.pem", "server.key", NULL, NULL, 0, NULL},
	    {"server.pem", "server.key", "ca.pem", NULL, 0, NULL},
	    {"server.pem", NULL, NULL, NULL, YG_EINVAL, "a certificate without its key"},
	    {NULL, "server.key", NULL, NULL, YG_EINVAL, "without a certificate"},
	    {"absent.pem", "server.key", NULL, NULL, YG_EIO, "absent.pem: no such file"},
	    {"server.pem", "open.key", NULL, NULL, YG_EINVAL,
	     "open.key: the private key may be read by group or others (mode 0644): chmod 600 it"},
	    {"junk.pem", "server.key", NULL, NULL, YG_EINVAL, "junk.pem: not PEM"},
	    {"server.pem", "junk.key", NULL, NULL, YG_EINVAL, "junk.key: not PEM"},
	    {"server.pem", "client.key", NULL, NULL, YG_EINVAL,
	     "client.key: the key is not the one of the certificate in"},
	    {"server.pem", "server.key", "junk.pem", NULL, YG_EINVAL, "junk.pem: not PEM"},
	    {"server.pem", "server.key", NULL, "NORMAL:+NOT-A-THING", YG_EINVAL,
	     "priorities 'NORMAL:+NOT-A-THING'"},
	    {"server.pem", "server.key", NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.3", 0, NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tls_case *c = &cases[i];
		char cert[128], key[128], ca[128], err[512] = "";
		struct http_config cfg = {.listen = "127.0.0.1:0"};

		if (c->cert != NULL) {
			path_of(cert, sizeof(cert), c->cert);
			cfg.tls_cert = cert;
		}
		if (c->key != NULL) {
			path_of(key, sizeof(key), c->key);
			cfg.tls_key = key;
		}
		if (c->ca != NULL) {
			path_of(ca, sizeof(ca), c->ca);
			cfg.tls_client_ca = ca;
		}
		cfg.tls_priorities = c->prio;
		int rc = http_tls_check(&cfg, err, sizeof(err));
		if (rc != c->rc || (c->says != NULL && strstr(err, c->says) == NULL) ||
		    strchr(err, '\n') != NULL)
			fail_msg("case %zu: rc %d (wanted %d), '%s' (wanted '%s')", i, rc, c->rc,
			         err, c->says ? c->says : "");
	}
}

/* ---- a server ---- */

static const char *seen_kind;
static char seen_value[128], seen_subject[128];

static int resolver(void *ctx, struct http_request *req, const struct http_credential *cred,
                    void **principal)
{
	(void)ctx;
	(void)req;
	seen_kind = cred->kind == HTTP_CRED_CERT ? "cert" : "bearer";
	snprintf(seen_value, sizeof(seen_value), "%s", cred->value);
	snprintf(seen_subject, sizeof(seen_subject), "%s", cred->subject ? cred->subject : "-");
	if ((cred->kind == HTTP_CRED_BEARER && strcmp(cred->value, "good-token") == 0) ||
	    (cred->kind == HTTP_CRED_CERT && strcmp(cred->value, client_fp) == 0)) {
		*principal = "someone";
		return 0;
	}
	return YG_ENOTFOUND;
}

static int who(struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)ctx;
	return http_response_body(resp, 200, "text/plain", http_request_principal(req), 7);
}

/* GET /who over TLS from a GnuTLS client, with the client certificate
 * NAME.pem when name is not NULL and the bearer token when token is not.
 * Returns the status, 0 when the handshake failed; the body in body. */
static int tls_get(unsigned port, const char *name, const char *token, char *body, size_t n)
{
	gnutls_certificate_credentials_t xc;
	gnutls_session_t s;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char ca[128], cert[128], key[128], req[256], buf[4096];
	size_t got = 0;
	int fd, rc, status = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	path_of(ca, sizeof(ca), "ca.pem");
	assert_int_equal(gnutls_certificate_allocate_credentials(&xc), 0);
	assert_true(gnutls_certificate_set_x509_trust_file(xc, ca, GNUTLS_X509_FMT_PEM) > 0);
	if (name != NULL) {
		char fn[32];

		snprintf(fn, sizeof(fn), "%s.pem", name);
		path_of(cert, sizeof(cert), fn);
		snprintf(fn, sizeof(fn), "%s.key", name);
		path_of(key, sizeof(key), fn);
		assert_int_equal(
		    gnutls_certificate_set_x509_key_file(xc, cert, key, GNUTLS_X509_FMT_PEM), 0);
	}
	assert_int_equal(gnutls_init(&s, GNUTLS_CLIENT), 0);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, xc);
	gnutls_session_set_verify_cert(s, NULL, 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	gnutls_transport_set_int(s, fd);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	body[0] = '\0';
	if (rc == 0) {
		int len = snprintf(
		    req, sizeof(req),
		    "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s%s%s\r\n",
		    token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
		assert_int_equal(gnutls_record_send(s, req, (size_t)len), len);
		for (;;) {
			ssize_t r = gnutls_record_recv(s, buf + got, sizeof(buf) - 1 - got);

			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		buf[got] = '\0';
		if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
			status = -1;
		const char *b = strstr(buf, "\r\n\r\n");
		snprintf(body, n, "%s", b ? b + 4 : "");
	}
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(xc);
	close(fd);
	return status;
}

static void test_https(void **state)
{
	char cert[128], key[128], ca[128], body[1024];
	struct http_config cfg = {.listen = "127.0.0.1:0", .threads = 2, .auth = resolver};
	struct http_server *srv;
	char *m = NULL;
	size_t mlen;

	(void)state;
	path_of(cert, sizeof(cert), "server.pem");
	path_of(key, sizeof(key), "server.key");
	path_of(ca, sizeof(ca), "ca.pem");
	cfg.tls_cert = cert;
	cfg.tls_key = key;
	cfg.tls_client_ca = ca;
	assert_int_equal(http_server_new(&cfg, &srv), 0);
	assert_int_equal(http_server_route(srv, HTTP_GET, "/who", HTTP_ROUTE_AUTH, who, NULL), 0);
	assert_int_equal(http_server_start(srv), 0);
	unsigned port = http_server_port(srv);

	/* The client certificate, verified: its fingerprint and CN. */
	assert_int_equal(tls_get(port, "client", NULL, body, sizeof(body)), 200);
	assert_string_equal(body, "someone");
	assert_string_equal(seen_kind, "cert");
	assert_string_equal(seen_value, client_fp);
	assert_string_equal(seen_subject, "sensor-7");
	/* A bearer token wins over the certificate. */
	assert_int_equal(tls_get(port, "client", "good-token", body, sizeof(body)), 200);
	assert_string_equal(seen_kind, "bearer");
	assert_int_equal(tls_get(port, "client", "bad-token", body, sizeof(body)), 401);
	/* No certificate: asked, not required; a token works. */
	assert_int_equal(tls_get(port, NULL, "good-token", body, sizeof(body)), 200);
	seen_kind = NULL;
	assert_int_equal(tls_get(port, NULL, NULL, body, sizeof(body)), 401);
	assert_non_null(strstr(body, "bearer token required"));
	assert_null(seen_kind);
	/* Another CA's certificate never reaches the hook (GnuTLS may not even
	 * send it: it is not of a CA the server named). */
	assert_int_equal(tls_get(port, "stranger", NULL, body, sizeof(body)), 401);
	assert_null(seen_kind);
	assert_int_equal(http_metrics_render(http_server_metrics(srv), &m, &mlen), 0);
	assert_non_null(strstr(m, "yagura_http_client_certificates_refused_total"));
	free(m);
	http_server_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_https),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
