/* stream.c - alerts through NATS JetStream with libnats; see stream.h. */
#include "stream/stream.h"

#include <assert.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"

#define ASYNC_MAX_PENDING 4096 /* unacknowledged asynchronous publishes */
#define URLS_MAX  16
#define FETCH_MAX 1024
#define NS_PER_S  1000000000LL
#define NS_PER_MS 1000000LL

struct stream {
	natsConnection *nc;
	jsCtx *js;
	char name[STREAM_TOKEN_MAX + 1];
	char prefix[STREAM_SUBJECT_MAX / 2];
	int timeout_ms;
	int64_t ack_wait_ns;
	unsigned consumers; /* open, to catch a close in the wrong order */
	struct stream_stats stats;
	/* The asynchronous publishes' answers, counted on libnats' thread. */
	_Atomic uint64_t async_stored, async_failed;
	/* stream_publish_alerts(): the batch in flight (ok[i] set by the
	 * answers, which name it by gen and index in a header). */
	pthread_mutex_t batch_mu;
	uint64_t batch_gen;
	unsigned char *batch_ok;
	int batch_n;
	_Atomic uint64_t batch_dups;
	char err[320];
};

struct stream_msg {
	struct stream_consumer *c;
	natsMsg *msg;
	bool done;
	char sector[STREAM_TOKEN_MAX + 1];
	char sensor[STREAM_TOKEN_MAX + 1];
};

struct stream_consumer {
	struct stream *s;
	natsSubscription *sub;
	natsMsg *msgs[FETCH_MAX]; /* the last fetch's: ours, destroyed at the next */
	int nmsgs;
	struct stream_msg handles[FETCH_MAX];
	char durable[STREAM_TOKEN_MAX + 1];
};

/* Sets s->err from a format, then ": " and what libnats says about st (its
 * thread's last error when it has one), on one line. */
static void fail(struct stream *s, natsStatus st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct stream *s, natsStatus st, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	if (k < 0)
		k = 0;
	if (st != NATS_OK && (size_t)k < sizeof(s->err)) {
		natsStatus last = NATS_OK;
		const char *why = nats_GetLastError(&last);

		if (why == NULL || why[0] == '\0' || last != st)
			why = natsStatus_GetText(st);
		/* libnats starts its text with "(conn.c:2088): ": not for users. */
		if (why[0] == '(' && strstr(why, "): ") != NULL)
			why = strstr(why, "): ") + 3;
		snprintf(s->err + k, sizeof(s->err) - (size_t)k, ": %s", why);
	}
	for (char *p = s->err; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int stream_token_check(const char *tok)
{
	size_t n = tok != NULL ? strlen(tok) : 0;

	if (n == 0 || n > STREAM_TOKEN_MAX)
		return YG_EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)tok[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '.' || ch == '*' || ch == '>')
			return YG_EINVAL;
	}
	return YG_OK;
}

/* A subject or filter: dot-separated tokens, each a stream_token_check
 * token, or, with wildcards, "*" anywhere or ">" last. */
static int subject_check(const char *subj, bool wildcards)
{
	char tok[STREAM_TOKEN_MAX + 1];
	const char *p = subj, *dot;
	size_t n;

	if (subj == NULL || strlen(subj) >= STREAM_SUBJECT_MAX)
		return YG_EINVAL;
	for (;;) {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > STREAM_TOKEN_MAX)
			return YG_EINVAL;
		memcpy(tok, p, n);
		tok[n] = '\0';
		if (wildcards && strcmp(tok, "*") == 0)
			;
		else if (wildcards && strcmp(tok, ">") == 0 && dot == NULL)
			;
		else if (stream_token_check(tok) < 0)
			return YG_EINVAL;
		if (dot == NULL)
			return YG_OK;
		p = dot + 1;
	}
}

static int id_check(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	if (n == 0 || n > STREAM_ID_MAX)
		return YG_EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
			return YG_EINVAL;
	return YG_OK;
}

/* Splits a comma-separated URL list into buf (NUL-separated) and urls[];
 * each must be a nats:// or tls:// URL with a host and a port, or host:port. */
static int urls_split(const char *list, char *buf, size_t bufn, const char **urls, int *n,
                      char *err, size_t errn)
{
	size_t len = list != NULL ? strlen(list) : 0;
	char *p, *save = NULL;

	*n = 0;
	if (len == 0 || len >= bufn) {
		snprintf(err, errn, "stream: server URL list is %s",
		         len == 0 ? "empty" : "too long");
		return YG_EINVAL;
	}
	memcpy(buf, list, len + 1);
	for (p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		const char *hp = p, *colon;
		long port;

		if (*n == URLS_MAX) {
			snprintf(err, errn, "stream: more than %d server URLs", URLS_MAX);
			return YG_EINVAL;
		}
		if (strstr(p, "://") != NULL) {
			if (strncmp(p, "nats://", 7) != 0 && strncmp(p, "tls://", 6) != 0) {
				snprintf(
				    err, errn,
				    "stream: server URL '%.80s': scheme is not nats:// or tls://",
				    p);
				return YG_EINVAL;
			}
			hp = strstr(p, "://") + 3;
		}
		colon = strrchr(hp, ':');
		port = colon != NULL && colon[1] != '\0' &&
		               strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
		               strlen(colon + 1) <= 5
		           ? strtol(colon + 1, NULL, 10)
		           : 0;
		if (hp[0] == '\0' || strpbrk(p, " \t\r\n") != NULL || colon == hp || port < 1 ||
		    port > 65535) {
			snprintf(err, errn, "stream: server URL '%.80s': not HOST:PORT", p);
			return YG_EINVAL;
		}
		urls[(*n)++] = p;
	}
	if (*n == 0) {
		snprintf(err, errn, "stream: server URL list is empty");
		return YG_EINVAL;
	}
	return YG_OK;
}

int stream_auth_set(struct stream_auth *a, const char *key, const char *value, char *why,
		    size_t n)
{
	char *slot = strcmp(key, "user") == 0		 ? a->user
		     : strcmp(key, "password_file") == 0 ? a->password_file
		     : strcmp(key, "creds") == 0	 ? a->creds
		     : strcmp(key, "ca") == 0		 ? a->ca
		     : strcmp(key, "cert") == 0		 ? a->cert
		     : strcmp(key, "key") == 0		 ? a->key
							 : NULL;
	size_t max = slot == a->user ? sizeof(a->user) : STREAM_PATH_MAX;

	if (slot == NULL)
		return 0;
	if (*value == '\0' || strlen(value) >= max) {
		snprintf(why, n, "[stream] %s: %s", key, *value ? "too long" : "empty");
		return YG_EINVAL;
	}
	if (slot == a->user && strcspn(value, " \t\r\n") != strlen(value)) {
		snprintf(why, n, "[stream] user: '%.80s' has a blank", value);
		return YG_EINVAL;
	}
	memcpy(slot, value, strlen(value) + 1);
	return 1;
}

int stream_auth_check(const struct stream_auth *a, char *why, size_t n)
{
	const char *const secret[] = {a->password_file, a->creds, a->key};

	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		struct stat sb;

		if (secret[i][0] && stat(secret[i], &sb) == 0 && (sb.st_mode & 077) != 0) {
			snprintf(why, n, "[stream] %s can be read by others (mode %04o): chmod 600 %s",
				 secret[i], (unsigned)(sb.st_mode & 07777), secret[i]);
			return YG_EINVAL;
		}
	}
	if (!a->user[0] != !a->password_file[0]) {
		snprintf(why, n, "[stream] user and password_file go together");
		return YG_EINVAL;
	}
	if (!a->cert[0] != !a->key[0]) {
		snprintf(why, n, "[stream] cert and key go together");
		return YG_EINVAL;
	}
	if (a->user[0] && a->creds[0]) {
		snprintf(why, n, "[stream] user and creds: one or the other");
		return YG_EINVAL;
	}
	return 0;
}

/* The password: the file's first line, without its end. */
static int password_read(struct stream *s, const char *path, char *pw, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t len;

	if (f == NULL || fgets(pw, (int)n, f) == NULL) {
		snprintf(s->err, sizeof(s->err), "stream: cannot read the password in %.200s",
			 path);
		if (f != NULL)
			fclose(f);
		return YG_EIO;
	}
	fclose(f);
	len = strcspn(pw, "\r\n");
	pw[len] = '\0';
	if (len == 0) {
		snprintf(s->err, sizeof(s->err), "stream: %.200s: empty password", path);
		return YG_EINVAL;
	}
	return 0;
}

/* The client's credentials and the servers' trust onto o; s->err says
 * what failed. */
static natsStatus auth_apply(struct stream *s, natsOptions *o, const struct stream_auth *a)
{
	natsStatus st = NATS_OK;
	const char *what = NULL;
	char pw[512];

	if (a->user[0]) {
		if (password_read(s, a->password_file, pw, sizeof(pw)) < 0)
			return NATS_ERR;
		st = natsOptions_SetUserInfo(o, a->user, pw);
		explicit_bzero(pw, sizeof(pw));
		what = "user";
	}
	if (st == NATS_OK && a->creds[0]) {
		st = natsOptions_SetUserCredentialsFromFiles(o, a->creds, NULL);
		what = a->creds;
	}
	if (st == NATS_OK && a->ca[0]) {
		st = natsOptions_LoadCATrustedCertificates(o, a->ca);
		what = a->ca;
	}
	if (st == NATS_OK && a->cert[0]) {
		st = natsOptions_LoadCertificatesChain(o, a->cert, a->key);
		what = a->cert;
	}
	if (st != NATS_OK)
		fail(s, st, "stream: %.200s", what);
	return st;
}

#define BATCH_HEADER "Yagura-Batch" /* GEN.INDEX of stream_publish_alerts() */

/* An asynchronous publish answered, on libnats' thread: an alert of the
 * batch in flight, or a record of stream_publish_async(). */
static void async_answer(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *arg)
{
	struct stream *s = arg;
	const char *tag = NULL;

	(void)js;
	(void)pae;
	if (natsMsgHeader_Get(msg, BATCH_HEADER, &tag) == NATS_OK && tag != NULL) {
		unsigned long long gen = 0;
		int idx = -1;

		if (sscanf(tag, "%llu.%d", &gen, &idx) == 2) {
			pthread_mutex_lock(&s->batch_mu);
			if (gen == s->batch_gen && s->batch_ok != NULL && idx >= 0 &&
			    idx < s->batch_n && pa != NULL) {
				s->batch_ok[idx] = 1;
				if (pa->Duplicate)
					s->batch_dups++;
			}
			pthread_mutex_unlock(&s->batch_mu);
		}
	} else if (pa != NULL) {
		s->async_stored++;
	} else {
		s->async_failed++;
	}
	natsMsg_Destroy(msg);
}

static int connect_to(struct stream *s, const struct stream_config *cfg, char *err, size_t n)
{
	char buf[1024];
	const char *urls[URLS_MAX];
	int nurls, rc;
	natsOptions *o = NULL;
	natsStatus st;
	jsOptions jo;

	rc = urls_split(cfg->urls, buf, sizeof(buf), urls, &nurls, err, n);
	if (rc < 0)
		return rc;
	st = natsOptions_Create(&o);
	if (st == NATS_OK)
		st = natsOptions_SetServers(o, urls, nurls);
	if (st == NATS_OK)
		st = natsOptions_SetTimeout(o, s->timeout_ms);
	if (st == NATS_OK)
		st = natsOptions_SetName(o, cfg->client_name != NULL ? cfg->client_name : "yagura");
	/* Once connected, keep trying the other servers for ever: a publish
	 * or fetch in the meantime fails with a timeout and the caller retries. */
	if (st == NATS_OK)
		st = natsOptions_SetMaxReconnect(o, -1);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectWait(o, 200);
	if (st != NATS_OK) {
		fail(s, st, "stream: options");
		goto out;
	}
	if ((st = auth_apply(s, o, &cfg->auth)) != NATS_OK)
		goto out;
	st = natsConnection_Connect(&s->nc, o);
	if (st != NATS_OK) {
		fail(s, st, "stream: cannot connect to %.120s", cfg->urls);
		goto out;
	}
	jsOptions_Init(&jo);
	jo.Wait = s->timeout_ms;
	jo.PublishAsync.MaxPending = ASYNC_MAX_PENDING;
	jo.PublishAsync.AckHandler = async_answer;
	jo.PublishAsync.AckHandlerClosure = s;
	jo.PublishAsync.StallWait = s->timeout_ms;
	st = natsConnection_JetStream(&s->js, s->nc, &jo);
	if (st != NATS_OK)
		fail(s, st, "stream: JetStream context on %.120s", cfg->urls);
out:
	natsOptions_Destroy(o);
	if (st != NATS_OK) {
		snprintf(err, n, "%s", s->err);
		return YG_EIO;
	}
	return YG_OK;
}

/* Creates the stream, or brings its configuration to cfg's. */
static int ensure_stream(struct stream *s, const struct stream_config *cfg)
{
	if (cfg->manage == STREAM_MANAGE_NONE)
		return YG_OK;
	char subject[STREAM_SUBJECT_MAX];
	const char *subjects[1] = {subject};
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus st;
	bool exists;

	snprintf(subject, sizeof(subject), "%s.>", s->prefix);
	jsStreamConfig_Init(&sc);
	sc.Name = s->name;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Retention = cfg->retention == STREAM_RETAIN_INTEREST    ? js_InterestPolicy
	               : cfg->retention == STREAM_RETAIN_WORKQUEUE ? js_WorkQueuePolicy
	                                                           : js_LimitsPolicy;
	sc.MaxAge = cfg->max_age_s > 0 ? cfg->max_age_s * NS_PER_S : 0;
	sc.MaxBytes = cfg->max_bytes > 0 ? cfg->max_bytes : -1;
	/* Full: refuse the new alert (the publisher keeps it and retries), do
	 * not silently drop the oldest one that nobody may have read yet. */
	sc.Discard = js_DiscardNew;
	sc.Storage = js_FileStorage;
	sc.Replicas = cfg->replicas > 0 ? cfg->replicas : 1;
	sc.Duplicates = (cfg->duplicate_window_s > 0 ? cfg->duplicate_window_s : 120) * NS_PER_S;

	st = js_GetStreamInfo(&si, s->js, s->name, NULL, &jerr);
	exists = st == NATS_OK;
	jsStreamInfo_Destroy(si);
	si = NULL;
	if (st != NATS_OK && st != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
		fail(s, st, "stream: looking up stream %s", s->name);
		return YG_EIO;
	}
	jerr = 0;
	if (exists && cfg->manage == STREAM_MANAGE_CREATE)
		return YG_OK; /* the stream's owner set it up: not ours to change */
	if (exists)
		st = js_UpdateStream(&si, s->js, &sc, NULL, &jerr);
	else
		st = js_AddStream(&si, s->js, &sc, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (st != NATS_OK) {
		fail(s, st, "stream: %s stream %s (subjects %s, %d replicas, JetStream error %d)",
		     exists ? "updating" : "creating", s->name, subject, (int)sc.Replicas,
		     (int)jerr);
		return YG_EIO;
	}
	return YG_OK;
}

int stream_open(const struct stream_config *cfg, struct stream **out, char *err, size_t n)
{
	const char *name = cfg->name != NULL ? cfg->name : "YAGURA_ALERTS";
	const char *prefix = cfg->prefix != NULL ? cfg->prefix : "yagura.alerts";
	struct stream *s = NULL;
	int rc;

	*out = NULL;
	if (stream_token_check(name) < 0) {
		snprintf(err, n, "stream: stream name '%.80s' is not a subject token", name);
		return YG_EINVAL;
	}
	if (subject_check(prefix, false) < 0 || strlen(prefix) >= sizeof(s->prefix)) {
		snprintf(err, n, "stream: subject prefix '%.80s' is not dot-separated tokens",
		         prefix);
		return YG_EINVAL;
	}
	if (cfg->replicas < 0 || cfg->replicas > 5 || cfg->max_age_s < 0 || cfg->max_bytes < 0 ||
	    cfg->duplicate_window_s < 0 || cfg->timeout_ms < 0 || cfg->ack_wait_ms < 0) {
		snprintf(err, n, "stream: replicas must be 1 to 5, limits and times not negative");
		return YG_EINVAL;
	}
	s = yg_calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, n, "stream: out of memory");
		return YG_ENOMEM;
	}
	pthread_mutex_init(&s->batch_mu, NULL);
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->prefix, sizeof(s->prefix), "%s", prefix);
	s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
	s->ack_wait_ns = (int64_t)(cfg->ack_wait_ms > 0 ? cfg->ack_wait_ms : 30000) * NS_PER_MS;
	rc = connect_to(s, cfg, err, n);
	if (rc == YG_OK) {
		rc = ensure_stream(s, cfg);
		if (rc < 0)
			snprintf(err, n, "%s", s->err);
	}
	if (rc < 0) {
		stream_close(s);
		return rc;
	}
	s->err[0] = '\0';
	*out = s;
	return YG_OK;
}

void stream_close(struct stream *s)
{
	if (s == NULL)
		return;
	assert(s->consumers == 0); /* their subscriptions live on s's connection */
	jsCtx_Destroy(s->js);
	if (s->nc != NULL) {
		natsConnection_Close(s->nc);
		natsConnection_Destroy(s->nc);
	}
	pthread_mutex_destroy(&s->batch_mu);
	free(s);
}

const char *stream_error(const struct stream *s)
{
	return s->err;
}

void stream_stats_get(const struct stream *s, struct stream_stats *out)
{
	*out = s->stats;
	out->async_stored = s->async_stored;
	out->async_failed = s->async_failed;
}

/* Sector and sensor as subject tokens; 0 or YG_EINVAL with s->err set. */
static int names_check(struct stream *s, const char *sector, const char *sensor)
{
	if (stream_token_check(sector) < 0 || stream_token_check(sensor) < 0) {
		fail(s, NATS_OK, "stream: sector '%.*s' or sensor '%.*s' is not a subject token",
		     70, sector != NULL ? sector : "(null)", 70,
		     sensor != NULL ? sensor : "(null)");
		return YG_EINVAL;
	}
	return YG_OK;
}

/* An alert's id and size as the stream takes them; 0 or YG_EINVAL with
 * s->err set. */
static int alert_check(struct stream *s, const char *alert_id, size_t len)
{
	if (id_check(alert_id) < 0) {
		fail(s, NATS_OK, "stream: alert id '%.80s' is empty, longer than %d or not printable",
		     alert_id != NULL ? alert_id : "(null)", STREAM_ID_MAX);
		return YG_EINVAL;
	}
	if (len > (size_t)natsConnection_GetMaxPayload(s->nc)) {
		fail(s, NATS_OK, "stream: alert %s is %zu bytes, more than the server's %lld",
		     alert_id, len, (long long)natsConnection_GetMaxPayload(s->nc));
		return YG_EINVAL;
	}
	return YG_OK;
}

int stream_publish_async(struct stream *s, const char *sector, const char *sensor,
			 const char *data, size_t len)
{
	char subject[STREAM_SUBJECT_MAX];
	natsStatus st;

	if (names_check(s, sector, sensor) < 0)
		return YG_EINVAL;
	if (len > (size_t)natsConnection_GetMaxPayload(s->nc)) {
		fail(s, NATS_OK, "stream: a record of %zu bytes, more than the server's %lld", len,
		     (long long)natsConnection_GetMaxPayload(s->nc));
		return YG_EINVAL;
	}
	snprintf(subject, sizeof(subject), "%s.%s.%s", s->prefix, sector, sensor);
	st = js_PublishAsync(s->js, subject, data, (int)len, NULL);
	if (st != NATS_OK) {
		fail(s, st, "stream: publishing on %s", subject);
		return YG_EIO;
	}
	s->stats.async_sent++;
	return YG_OK;
}

int stream_publish_async_wait(struct stream *s, int timeout_ms)
{
	jsPubOptions po;
	natsMsgList left = {0};
	natsStatus st;

	jsPubOptions_Init(&po);
	po.MaxWait = timeout_ms > 0 ? timeout_ms : 1;
	st = js_PublishAsyncComplete(s->js, &po);
	if (st == NATS_OK)
		return YG_OK;
	/* What is still out is taken back, counted and dropped. */
	if (js_PublishAsyncGetPendingList(&left, s->js) == NATS_OK) {
		s->async_failed += (uint64_t)left.Count;
		natsMsgList_Destroy(&left);
	}
	fail(s, st, "stream: asynchronous publishes unanswered after %d ms", timeout_ms);
	return YG_EIO;
}

int stream_publish_alert(struct stream *s, const char *sector, const char *sensor,
                         const char *alert_id, const char *json, size_t len)
{
	char subject[STREAM_SUBJECT_MAX], msg_id[STREAM_TOKEN_MAX + 1 + STREAM_ID_MAX + 1];
	jsPubOptions po;
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsStatus st;

	if (names_check(s, sector, sensor) < 0 || alert_check(s, alert_id, len) < 0)
		return YG_EINVAL;
	snprintf(subject, sizeof(subject), "%s.%s.%s", s->prefix, sector, sensor);
	snprintf(msg_id, sizeof(msg_id), "%s.%s", sensor, alert_id);
	jsPubOptions_Init(&po);
	po.MsgId = msg_id;
	po.MaxWait = s->timeout_ms;
	po.ExpectStream = s->name;
	st = js_Publish(&pa, s->js, subject, json, (int)len, &po, &jerr);
	if (st != NATS_OK) {
		s->stats.publish_errors++;
		if (st == NATS_TIMEOUT || st == NATS_NO_RESPONDERS)
			fail(s, st, "stream: no acknowledgement for alert %s on %s within %d ms",
			     alert_id, subject, s->timeout_ms);
		else
			fail(s, st, "stream: publishing alert %s on %s (JetStream error %d)",
			     alert_id, subject, (int)jerr);
		jsPubAck_Destroy(pa);
		return YG_EIO;
	}
	if (pa->Duplicate)
		s->stats.duplicates++;
	else
		s->stats.published++;
	jsPubAck_Destroy(pa);
	return YG_OK;
}

int stream_publish_alerts(struct stream *s, const char *sector, const char *sensor,
			  const char *const *alert_ids, const char *const *jsons,
			  const size_t *lens, int n)
{
	char subject[STREAM_SUBJECT_MAX], msg_id[STREAM_TOKEN_MAX + 1 + STREAM_ID_MAX + 1];
	char tag[48];
	unsigned char *ok;
	natsStatus st = NATS_OK;
	int sent = 0, done = 0;
	uint64_t gen;

	if (names_check(s, sector, sensor) < 0)
		return YG_EINVAL;
	if (n <= 0)
		return 0;
	if (alert_check(s, alert_ids[0], lens[0]) < 0)
		return YG_EINVAL;
	if ((ok = yg_calloc((size_t)n, 1)) == NULL) {
		fail(s, NATS_OK, "stream: out of memory");
		return 0;
	}
	snprintf(subject, sizeof(subject), "%s.%s.%s", s->prefix, sector, sensor);
	pthread_mutex_lock(&s->batch_mu);
	gen = ++s->batch_gen;
	s->batch_ok = ok;
	s->batch_n = n;
	s->batch_dups = 0;
	pthread_mutex_unlock(&s->batch_mu);
	for (; sent < n; sent++) {
		natsMsg *m = NULL;
		jsPubOptions po;

		if (sent > 0 && alert_check(s, alert_ids[sent], lens[sent]) < 0)
			break; /* the ones before go; this one is the caller's */
		snprintf(msg_id, sizeof(msg_id), "%s.%s", sensor, alert_ids[sent]);
		snprintf(tag, sizeof(tag), "%llu.%d", (unsigned long long)gen, sent);
		jsPubOptions_Init(&po);
		po.MsgId = msg_id;
		po.ExpectStream = s->name;
		st = natsMsg_Create(&m, subject, NULL, jsons[sent], (int)lens[sent]);
		if (st == NATS_OK)
			st = natsMsgHeader_Set(m, BATCH_HEADER, tag);
		if (st == NATS_OK)
			st = js_PublishMsgAsync(s->js, &m, &po);
		natsMsg_Destroy(m); /* NULL once the library took it */
		if (st != NATS_OK) {
			fail(s, st, "stream: publishing alert %s on %s", alert_ids[sent], subject);
			break;
		}
	}
	if (sent > 0) {
		jsPubOptions po;
		natsMsgList left = {0};

		jsPubOptions_Init(&po);
		po.MaxWait = s->timeout_ms;
		if (js_PublishAsyncComplete(s->js, &po) != NATS_OK &&
		    js_PublishAsyncGetPendingList(&left, s->js) == NATS_OK)
			natsMsgList_Destroy(&left); /* sent again with the same ids */
	}
	pthread_mutex_lock(&s->batch_mu);
	while (done < sent && ok[done])
		done++;
	s->batch_ok = NULL;
	s->batch_n = 0;
	s->stats.duplicates += s->batch_dups;
	pthread_mutex_unlock(&s->batch_mu);
	s->stats.published += (uint64_t)done - (uint64_t)s->batch_dups;
	if (done < sent) {
		s->stats.publish_errors++;
		fail(s, NATS_OK, "stream: no acknowledgement for alert %s on %s within %d ms",
		     alert_ids[done], subject, s->timeout_ms);
	}
	free(ok);
	return done;
}

int stream_consumer_open(struct stream *s, const char *durable, const char *filter,
                         struct stream_consumer **out)
{
	char all[STREAM_SUBJECT_MAX];
	struct stream_consumer *c;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus st;

	*out = NULL;
	if (stream_token_check(durable) < 0) {
		fail(s, NATS_OK, "stream: durable name '%.80s' is not a subject token",
		     durable != NULL ? durable : "(null)");
		return YG_EINVAL;
	}
	snprintf(all, sizeof(all), "%s.>", s->prefix);
	if (filter == NULL)
		filter = all;
	if (subject_check(filter, true) < 0 || strncmp(filter, s->prefix, strlen(s->prefix)) != 0 ||
	    filter[strlen(s->prefix)] != '.') {
		fail(s, NATS_OK, "stream: filter '%.80s' is not a subject under %s", filter,
		     s->prefix);
		return YG_EINVAL;
	}
	c = yg_calloc(1, sizeof(*c));
	if (c == NULL) {
		fail(s, NATS_OK, "stream: out of memory");
		return YG_ENOMEM;
	}
	c->s = s;
	snprintf(c->durable, sizeof(c->durable), "%s", durable);
	jsSubOptions_Init(&so);
	so.Stream = s->name;
	so.Config.Durable = c->durable;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.AckWait = s->ack_wait_ns;
	so.Config.DeliverPolicy = js_DeliverAll;
	so.Config.MaxAckPending = 4 * FETCH_MAX;
	st = js_PullSubscribe(&c->sub, s->js, filter, c->durable, NULL, &so, &jerr);
	if (st != NATS_OK) {
		fail(s, st, "stream: consumer %s on %s (JetStream error %d)", durable, filter,
		     (int)jerr);
		free(c);
		return YG_EIO;
	}
	s->consumers++;
	*out = c;
	return YG_OK;
}

/* Destroys the last fetch's messages (acknowledged or not: an
 * unacknowledged one comes again after the ack wait). */
static void drop_msgs(struct stream_consumer *c)
{
	for (int i = 0; i < c->nmsgs; i++)
		natsMsg_Destroy(c->msgs[i]);
	c->nmsgs = 0;
}

/* Moves the messages of a list libnats filled into c->msgs, up to max of
 * them in all, and frees the list. */
static void take_list(struct stream_consumer *c, natsMsgList *l, int max)
{
	for (int i = 0; i < l->Count; i++) {
		if (c->nmsgs < max)
			c->msgs[c->nmsgs++] = l->Msgs[i];
		else
			natsMsg_Destroy(l->Msgs[i]); /* not ours to have: it comes again */
		l->Msgs[i] = NULL;
	}
	natsMsgList_Destroy(l);
}

void stream_consumer_close(struct stream_consumer *c)
{
	if (c == NULL)
		return;
	drop_msgs(c);
	/* Destroy, not Unsubscribe: the durable consumer stays on the server
	 * with its position, for the next instance. */
	natsSubscription_Destroy(c->sub);
	c->s->consumers--;
	free(c);
}

/* PREFIX.SECTOR.SENSOR into h's sector and sensor; both "" otherwise. */
static void subject_split(const struct stream *s, const char *subj, struct stream_msg *h)
{
	size_t np = strlen(s->prefix);
	const char *sec, *dot;

	h->sector[0] = h->sensor[0] = '\0';
	if (strncmp(subj, s->prefix, np) != 0 || subj[np] != '.')
		return;
	sec = subj + np + 1;
	dot = strchr(sec, '.');
	if (dot == NULL || (size_t)(dot - sec) > STREAM_TOKEN_MAX || strchr(dot + 1, '.') != NULL ||
	    strlen(dot + 1) > STREAM_TOKEN_MAX)
		return;
	memcpy(h->sector, sec, (size_t)(dot - sec));
	h->sector[dot - sec] = '\0';
	snprintf(h->sensor, sizeof(h->sensor), "%s", dot + 1);
}

int stream_fetch(struct stream_consumer *c, int max, int timeout_ms, stream_fetch_cb cb, void *arg)
{
	struct stream *s = c->s;
	jsErrCode jerr = 0;
	natsStatus st = NATS_OK;
	int i;

	if (max < 1 || max > FETCH_MAX || timeout_ms < 1) {
		fail(s, NATS_OK,
		     "stream: fetch of %d messages in %d ms: batch is 1 to %d, time > 0", max,
		     timeout_ms, FETCH_MAX);
		return YG_EINVAL;
	}
	drop_msgs(c);
	/* Not while libnats reconnects: it would buffer the pull request and
	 * the wait would end as "no messages", fetch after fetch; back on a
	 * server, every buffered request is sent at once and answered to this
	 * subscription, more messages than the next fetch asks for, which
	 * libnats before 3.10 writes past the end of its array (nats.c #749:
	 * the tower crashed after the server's restart under load). */
	if (natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED) {
		fail(s, NATS_OK, "stream: fetch from consumer %s: not connected to a server "
		                 "(reconnecting)", c->durable);
		return YG_EIO;
	}
	/* Messages already waiting in the subscription are answers to pull
	 * requests of fetches that gave up before them (a slow server, a busy
	 * machine), and those requests may still be answering. libnats before
	 * 3.10 takes what waits, asks the server for the batch less that, and
	 * stops only on holding exactly that many: with half a batch or more
	 * waiting it never does, and writes past the end of its array as the
	 * old requests answer (js.c _fetch; test_late_answers). A fetch of one
	 * cannot overrun, so what waits is taken one at a time. */
	int pending = 0;
	if (natsSubscription_GetPending(c->sub, &pending, NULL) == NATS_OK && pending > 0) {
		while (c->nmsgs < max && pending > 0) {
			natsMsgList one = {0};

			st = natsSubscription_Fetch(&one, c->sub, 1, timeout_ms, &jerr);
			if (st != NATS_OK)
				break;
			take_list(c, &one, max);
			s->stats.late++;
			if (natsSubscription_GetPending(c->sub, &pending, NULL) != NATS_OK)
				pending = 0;
		}
	} else {
		natsMsgList list = {0};

		st = natsSubscription_Fetch(&list, c->sub, max, timeout_ms, &jerr);
		if (st == NATS_OK)
			take_list(c, &list, max);
	}
	if (c->nmsgs == 0 && st == NATS_TIMEOUT)
		return 0;
	if (c->nmsgs == 0 && st != NATS_OK) {
		fail(s, st, "stream: fetch from consumer %s (JetStream error %d)", c->durable,
		     (int)jerr);
		return YG_EIO;
	}
	for (i = 0; i < c->nmsgs; i++) {
		natsMsg *m = c->msgs[i];
		struct stream_delivery d = {0};
		jsMsgMetaData *meta = NULL;
		const char *id = NULL;

		struct stream_msg *h = &c->handles[i];
		const char *dot;

		*h = (struct stream_msg){.c = c, .msg = m, .done = false};
		d.subject = natsMsg_GetSubject(m);
		d.data = (const uint8_t *)natsMsg_GetData(m);
		d.len = (size_t)natsMsg_GetDataLength(m);
		d.msg_id =
		    natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id != NULL ? id : "";
		dot = strchr(d.msg_id, '.');
		d.alert_id = dot != NULL ? dot + 1 : "";
		subject_split(s, d.subject, h);
		d.sector = h->sector;
		d.sensor = h->sensor;
		if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
			d.seq = meta->Sequence.Stream;
			d.deliveries = meta->NumDelivered;
			jsMsgMetaData_Destroy(meta);
		}
		d.handle = &c->handles[i];
		s->stats.fetched++;
		if (cb(arg, &d) != 0) {
			i++;
			break;
		}
	}
	/* Handles past a stop are marked used: nobody got them. */
	for (int j = i; j < c->nmsgs; j++)
		c->handles[j] = (struct stream_msg){.c = c, .msg = c->msgs[j], .done = true};
	return i;
}

static int settle(struct stream_msg *m, bool ack)
{
	struct stream *s;
	natsStatus st;

	if (m == NULL || m->done)
		return YG_EINVAL;
	s = m->c->s;
	st = ack ? natsMsg_Ack(m->msg, NULL) : natsMsg_Nak(m->msg, NULL);
	if (st != NATS_OK) {
		fail(s, st, "stream: %s of message on %s", ack ? "ack" : "nak",
		     natsMsg_GetSubject(m->msg));
		return YG_EIO;
	}
	m->done = true;
	if (ack)
		s->stats.acked++;
	else
		s->stats.naked++;
	return YG_OK;
}

int stream_ack(struct stream_msg *m)
{
	return settle(m, true);
}

int stream_nak(struct stream_msg *m)
{
	return settle(m, false);
}

int stream_count(struct stream *s, uint64_t *msgs)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus st;

	*msgs = 0;
	st = js_GetStreamInfo(&si, s->js, s->name, NULL, &jerr);
	if (st != NATS_OK) {
		fail(s, st, "stream: info of stream %s (JetStream error %d)", s->name, (int)jerr);
		return YG_EIO;
	}
	*msgs = si->State.Msgs;
	jsStreamInfo_Destroy(si);
	return YG_OK;
}
