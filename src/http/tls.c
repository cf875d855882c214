/* tls.c - HTTPS for the server: the certificate, key and client CA files
 * read and checked once at start, and a client certificate turned into a
 * credential after libmicrohttpd's GnuTLS handshake.
 *
 * libmicrohttpd does the TLS; with a client CA it asks every client for a
 * certificate (GNUTLS_CERT_REQUEST: asked, not required), and the chain a
 * client sends is verified here, against that CA, for the TLS client
 * purpose, when a request needs a credential and carries no bearer token.
 * Nothing is cached per connection: verification costs a signature check
 * or two, which is small beside the store lookup that follows it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "http/http_int.h"

/* PEM files larger than this are not certificates or keys. */
#define TLS_FILE_MAX (1u << 20)

/* Reads path whole, NUL-terminated, into *out. Returns 0, or YG_EIO /
 * YG_EINVAL with "PATH: why" in err. key: the file must be private. */
static int read_pem(const char *path, bool key, char **out, size_t *len, char *err, size_t n)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = YG_EIO;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, n, "%s: %s", path,
		         errno == ENOENT ? "no such file" : strerror(errno));
		return YG_EIO;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = YG_EINVAL;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, n, "%s: not a regular file", path);
		goto out;
	}
	/* A key others can read is a key others may have copied. */
	if (key && (st.st_mode & 077) != 0) {
		snprintf(err, n,
		         "%s: the private key may be read by group or others (mode %04o): "
		         "chmod 600 it",
		         path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size <= 0 || (uintmax_t)st.st_size > TLS_FILE_MAX) {
		snprintf(err, n, "%s: %s", path, st.st_size <= 0 ? "empty" : "larger than 1 MiB");
		goto out;
	}
	rc = YG_ENOMEM;
	if ((buf = yg_malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, n, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, n, "%s: %s", path,
			         r < 0 ? strerror(errno) : "shorter than it was");
			rc = YG_EIO;
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	rc = YG_EINVAL;
	if (strstr(buf, "-----BEGIN ") == NULL) {
		snprintf(err, n, "%s: not PEM (no -----BEGIN line)", path);
		goto out;
	}
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, got);
		free(buf);
	}
	close(fd);
	return rc;
}

/* The certificates of a PEM file: at least one. */
static int import_certs(const char *path, const char *pem, size_t len, gnutls_x509_crt_t **list,
                        unsigned *count, char *err, size_t n)
{
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
	int g = gnutls_x509_crt_list_import2(list, count, &d, GNUTLS_X509_FMT_PEM, 0);

	if (g < 0 || *count == 0) {
		snprintf(err, n, "%s: no PEM certificate in it (%s)", path,
		         g < 0 ? gnutls_strerror(g) : "none found");
		return YG_EINVAL;
	}
	return 0;
}

static void free_certs(gnutls_x509_crt_t *list, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
}

/* The server's certificate and key belong together, and the certificate
 * is in its validity period (a warning only: a clock may be wrong). */
static int check_pair(const struct http_config *cfg, const struct http_tls *t, char *err, size_t n)
{
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t kd = {(unsigned char *)t->key, (unsigned)t->key_len};
	unsigned char cid[64], kid[64];
	size_t cl = sizeof(cid), kl = sizeof(kid);
	unsigned ncrt = 0;
	time_t now = time(NULL);
	int g, rc;

	if ((rc = import_certs(cfg->tls_cert, t->cert, t->cert_len, &crts, &ncrt, err, n)) < 0)
		return rc;
	rc = YG_EINVAL;
	if (gnutls_x509_privkey_init(&key) < 0) {
		snprintf(err, n, "%s: out of memory", cfg->tls_key);
		rc = YG_ENOMEM;
		goto out;
	}
	g = gnutls_x509_privkey_import2(key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (g < 0) {
		snprintf(err, n, "%s: no usable PEM private key in it (%s%s)", cfg->tls_key,
		         gnutls_strerror(g),
		         g == GNUTLS_E_DECRYPTION_FAILED ? "; an encrypted key is not supported"
		                                         : "");
		goto out;
	}
	if (gnutls_x509_crt_get_key_id(crts[0], GNUTLS_KEYID_USE_SHA256, cid, &cl) < 0 ||
	    gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, kid, &kl) < 0 ||
	    cl != kl || memcmp(cid, kid, cl) != 0) {
		snprintf(err, n, "%s: the key is not the one of the certificate in %s",
		         cfg->tls_key, cfg->tls_cert);
		goto out;
	}
	if (gnutls_x509_crt_get_expiration_time(crts[0]) < now)
		log_warnx("http: %s: the certificate has expired: clients will refuse it",
		          cfg->tls_cert);
	else if (gnutls_x509_crt_get_activation_time(crts[0]) > now)
		log_warnx("http: %s: the certificate is not valid yet: clients will refuse it",
		          cfg->tls_cert);
	rc = 0;
out:
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	free_certs(crts, ncrt);
	return rc;
}

int http_tls_load(const struct http_config *cfg, struct http_tls **out, char *err, size_t n)
{
	struct http_tls *t;
	gnutls_priority_t prio;
	const char *where = NULL;
	int rc, g;

	*out = NULL;
	if (cfg->tls_cert == NULL && cfg->tls_key == NULL && cfg->tls_client_ca == NULL)
		return 0;
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
		snprintf(err, n, "tls: %s",
		         cfg->tls_cert == NULL ? "a key or client CA without a certificate"
		                               : "a certificate without its key");
		return YG_EINVAL;
	}
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		snprintf(err, n, "tls: this libmicrohttpd was built without TLS");
		return YG_EINVAL;
	}
	if ((t = yg_calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, n, "tls: out of memory");
		return YG_ENOMEM;
	}
	if ((rc = read_pem(cfg->tls_cert, false, &t->cert, &t->cert_len, err, n)) < 0 ||
	    (rc = read_pem(cfg->tls_key, true, &t->key, &t->key_len, err, n)) < 0 ||
	    (rc = check_pair(cfg, t, err, n)) < 0)
		goto fail;
	if (cfg->tls_client_ca != NULL) {
		gnutls_x509_crt_t *cas = NULL;
		unsigned nca = 0;

		if ((rc = read_pem(cfg->tls_client_ca, false, &t->ca, &t->ca_len, err, n)) < 0 ||
		    (rc = import_certs(cfg->tls_client_ca, t->ca, t->ca_len, &cas, &nca, err, n)) <
		        0)
			goto fail;
		free_certs(cas, nca);
	}
	t->priorities =
	    strdup(cfg->tls_priorities != NULL ? cfg->tls_priorities : HTTP_TLS_PRIORITIES);
	if (t->priorities == NULL) {
		snprintf(err, n, "tls: out of memory");
		rc = YG_ENOMEM;
		goto fail;
	}
	g = gnutls_priority_init(&prio, t->priorities, &where);
	if (g < 0) {
		snprintf(err, n, "tls: priorities '%s': %s at '%s'", t->priorities,
		         gnutls_strerror(g), where != NULL ? where : "?");
		rc = YG_EINVAL;
		goto fail;
	}
	gnutls_priority_deinit(prio);
	*out = t;
	return 0;
fail:
	http_tls_free(t);
	return rc;
}

void http_tls_free(struct http_tls *t)
{
	if (t == NULL)
		return;
	if (t->key != NULL) {
		explicit_bzero(t->key, t->key_len);
		free(t->key);
	}
	free(t->cert);
	free(t->ca);
	free(t->priorities);
	free(t);
}

int http_tls_check(const struct http_config *cfg, char *err, size_t errlen)
{
	struct http_tls *t = NULL;
	int rc = http_tls_load(cfg, &t, err, errlen);

	http_tls_free(t);
	return rc;
}

int http_tls_peer(struct MHD_Connection *conn, struct http_arena *a, struct http_credential *cred)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_typed_vdata_st purpose = {
	    .type = GNUTLS_DT_KEY_PURPOSE_OID,
	    .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	gnutls_session_t s;
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crt = NULL;
	unsigned npeers = 0, status = 0;
	unsigned char md[32];
	size_t mdlen = sizeof(md);
	char fp[7 + 2 * sizeof(md) + 1], cn[256];
	size_t cnlen = sizeof(cn);

	if (ci == NULL || (s = ci->tls_session) == NULL)
		return 0;
	peers = gnutls_certificate_get_peers(s, &npeers);
	if (peers == NULL || npeers == 0)
		return 0;
	/* The chain against the configured CA (the credentials' trust list),
	 * its dates, and a key purpose that allows TLS client use. */
	if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 || status != 0)
		return YG_EINVAL;
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &peers[0], md, &mdlen) < 0 || mdlen != sizeof(md))
		return YG_EINVAL;
	memcpy(fp, "sha256:", 7);
	for (size_t i = 0; i < mdlen; i++)
		snprintf(fp + 7 + 2 * i, 3, "%02x", md[i]);
	cn[0] = '\0';
	if (gnutls_x509_crt_init(&crt) == 0 &&
	    gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnlen) != 0)
		cn[0] = '\0';
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	cred->kind = HTTP_CRED_CERT;
	cred->value = http_arena_strdup(a, fp);
	cred->subject = http_arena_strdup(a, cn);
	return cred->value != NULL && cred->subject != NULL ? 1 : YG_ENOMEM;
}
