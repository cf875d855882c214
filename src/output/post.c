#include "output/post.h"

#include <stdbool.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/jbuf.h"
#include "base/log.h"

#define BATCH_MAX 500
#define PBUF 2600 /* a spool path and a suffix */
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000

/* The HTTP sender: a tower's /api/v1/alerts. */
struct http_sender {
	char url[1024];
	char auth[256]; /* the Authorization header; "": none (a client certificate) */
	struct poster_tls tls;
	CURL *curl;    /* made on the poster's thread, at the first batch */
	struct jbuf b; /* the body */
	int b_on;
};

struct poster {
	struct poster_sender snd;
	struct http_sender *http; /* owned: poster_new's sender; NULL with poster_open's */
	char dir[1024];
	char cur[1200]; /* the segment this run appends to */
	int fd;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;
	int drained;	 /* the sender found nothing to send (under mu) */
	struct poster_stats st;
};

/* Segments are "alerts-<time>-<pid>.jsonl"; a segment's progress is kept
 * in the same name + ".sent": the byte offset up to which the tower has
 * acknowledged it. */
static int is_segment(const char *name)
{
	size_t n = strlen(name);

	return strncmp(name, "alerts-", 7) == 0 && n > 13 && strcmp(name + n - 6, ".jsonl") == 0;
}

static uint64_t offset_read(const char *seg)
{
	char path[PBUF], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s.sent", seg);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return strtoull(buf, NULL, 10);
}

static int offset_write(const char *seg, uint64_t off)
{
	char path[PBUF], tmp[PBUF + 8];
	FILE *f;

	snprintf(path, sizeof(path), "%s.sent", seg);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return YG_EIO;
	fprintf(f, "%llu\n", (unsigned long long)off);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		return YG_EIO;
	}
	fclose(f);
	return rename(tmp, path) == 0 ? 0 : YG_EIO;
}

static size_t discard(void *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* Notes why an attempt failed, for the run's last word (poster_stats.why). */
static void failed_because(struct poster *p, const char *why)
{
	pthread_mutex_lock(&p->mu);
	snprintf(p->st.why, sizeof(p->st.why), "%s", why);
	pthread_mutex_unlock(&p->mu);
}

/* POSTs {"alerts": [lines]}; returns the HTTP status, or 0 when the tower
 * could not be reached or did not answer in HTTP (the reason in why). */
static long post_batch(struct http_sender *h, const char *body, size_t len, char *why,
		       size_t whylen)
{
	struct curl_slist *hd = NULL;
	long status = 0;
	char url[1100];
	CURL *curl = h->curl;

	snprintf(url, sizeof(url), "%s/api/v1/alerts", h->url);
	hd = curl_slist_append(hd, "Content-Type: application/json");
	if (h->auth[0] != '\0')
		hd = curl_slist_append(hd, h->auth);
	curl_easy_reset(curl);
	if (h->tls.ca != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, h->tls.ca);
	if (h->tls.cert != NULL) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, h->tls.cert);
		curl_easy_setopt(curl, CURLOPT_SSLKEY, h->tls.key);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	CURLcode cc = curl_easy_perform(curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(why, whylen, "the tower at %s could not be reached (%s)", h->url,
			 curl_easy_strerror(cc));
	curl_slist_free_all(hd);
	return status;
}

/* The HTTP sender's send (struct poster_sender): one POST for the batch,
 * all of it acknowledged by a 2xx or none. */
static int http_send(void *ctx, const struct poster_line *lines, int n, char *why, size_t whylen)
{
	struct http_sender *h = ctx;

	if (h->curl == NULL && (h->curl = curl_easy_init()) == NULL) {
		snprintf(why, whylen, "cannot start an HTTP client");
		return 0;
	}
	if (!h->b_on) {
		if (jbuf_init(&h->b, 1 << 16, 64u << 20) < 0) {
			snprintf(why, whylen, "out of memory");
			return 0;
		}
		h->b_on = 1;
	}
	jbuf_reset(&h->b);
	jbuf_lit(&h->b, "{\"alerts\":[");
	for (int i = 0; i < n; i++) {
		if (i)
			jbuf_putc(&h->b, ',');
		jbuf_put(&h->b, lines[i].p, lines[i].len);
	}
	jbuf_lit(&h->b, "]}");
	if (h->b.err) {
		snprintf(why, whylen, "a batch of %d alerts is too big for one request", n);
		return 0;
	}
	long status = post_batch(h, h->b.buf, h->b.len, why, whylen);
	if (status >= 200 && status < 300)
		return n;
	if (status == 400 || status == 413 || status == 422) {
		log_warnx("post: the tower refused a batch (HTTP %ld)", status);
		snprintf(why, whylen, "the tower refused a batch (HTTP %ld)", status);
		return POSTER_REJECTED;
	}
	if (status == 401 || status == 403) {
		log_warnx("post: the tower refused the token (HTTP %ld); alerts stay spooled",
			  status);
		snprintf(why, whylen, "the tower refused the token (HTTP %ld)", status);
	} else if (status == 404 || status == 405 || status == 501) {
		snprintf(why, whylen, "%s has no yagura alerts API (HTTP %ld): is it a tower?",
			 h->url, status);
	} else if (status != 0) {
		snprintf(why, whylen, "the tower answered HTTP %ld", status);
	}
	return 0;
}

static void http_free(struct http_sender *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	if (h->b_on)
		jbuf_fini(&h->b);
	free(h);
}

/* Hands what one segment holds past its offset to the sender, a batch at
 * a time, and moves the offset past what it acknowledged. Returns 1 when
 * it sent something, 0 when there was nothing (or the segment was set
 * aside), -1 on a failed attempt. */
static int send_segment(struct poster *p, const char *seg, struct jbuf *b)
{
	uint64_t off = offset_read(seg), end;
	struct stat sb;
	char *line = NULL;
	size_t cap = 0, starts[BATCH_MAX];
	struct poster_line lines[BATCH_MAX];
	char why[sizeof(p->st.why)] = "";
	ssize_t n;
	int count = 0, acked;
	FILE *f = fopen(seg, "r");

	if (f == NULL)
		return 0;
	if (fstat(fileno(f), &sb) < 0 || (uint64_t)sb.st_size <= off ||
	    fseeko(f, (off_t)off, SEEK_SET) < 0) {
		fclose(f);
		return 0;
	}
	jbuf_reset(b);
	while (count < BATCH_MAX && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break; /* a line still being written */
		starts[count++] = b->len;
		jbuf_put(b, line, (size_t)n);
	}
	free(line);
	fclose(f);
	if (count == 0)
		return 0;
	if (b->err)
		return -1;
	/* Pointers only now: the buffer may have moved while it grew. */
	for (int i = 0; i < count; i++) {
		size_t e = i + 1 < count ? starts[i + 1] : b->len;
		lines[i].p = b->buf + starts[i];
		lines[i].len = e - starts[i] - 1;
	}
	acked = p->snd.send(p->snd.ctx, lines, count, why, sizeof(why));
	if (acked == POSTER_REJECTED) {
		char aside[PBUF + 16];
		snprintf(aside, sizeof(aside), "%s.rejected", seg);
		if (rename(seg, aside) == 0)
			log_warnx("%s: %s: %s; the segment is set aside as %s", p->snd.name, seg,
				  why[0] ? why : "a batch was refused", aside);
		return 0;
	}
	if (acked < 0)
		acked = 0;
	if (acked > count)
		acked = count;
	if (acked > 0) {
		end = off;
		for (int i = 0; i < acked; i++)
			end += (uint64_t)lines[i].len + 1;
		if (offset_write(seg, end) < 0)
			log_warn("%s: %s.sent", p->snd.name, seg);
		pthread_mutex_lock(&p->mu);
		p->st.sent += (uint64_t)acked;
		pthread_mutex_unlock(&p->mu);
	}
	if (acked < count) {
		failed_because(p, why[0] ? why : "no acknowledgement");
		return -1;
	}
	return 1;
}

/* Removes fully sent segments other than the current one. */
static void segment_done(struct poster *p, const char *seg)
{
	struct stat sb;
	char path[PBUF];

	if (strcmp(seg, p->cur) == 0 || stat(seg, &sb) < 0 || offset_read(seg) < (uint64_t)sb.st_size)
		return;
	snprintf(path, sizeof(path), "%s.sent", seg);
	unlink(seg);
	unlink(path);
}

static void *sender(void *arg)
{
	struct poster *p = arg;
	struct jbuf b;
	unsigned backoff = 0;

	if (jbuf_init(&b, 1 << 16, 64u << 20) < 0) {
		log_warnx("%s: cannot start the sender", p->snd.name);
		return NULL;
	}
	for (;;) {
		int sent = 0, failed = 0;
		DIR *d = opendir(p->dir);
		struct dirent *de;
		char seg[PBUF - 8];

		while (d != NULL && (de = readdir(d)) != NULL && !failed) {
			if (!is_segment(de->d_name))
				continue;
			snprintf(seg, sizeof(seg), "%s/%s", p->dir, de->d_name);
			int r;
			while ((r = send_segment(p, seg, &b)) > 0)
				sent = 1;
			if (r < 0)
				failed = 1;
			else
				segment_done(p, seg);
		}
		if (d != NULL)
			closedir(d);
		pthread_mutex_lock(&p->mu);
		if (failed) {
			p->st.retries++;
			backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
		} else {
			backoff = 0;
		}
		p->drained = !failed && !sent;
		if (p->drained)
			pthread_cond_broadcast(&p->cv);
		if (p->stopping && (p->drained || p->stopping > 1)) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned ms = failed ? backoff : sent ? 0 : 100;
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (ms)
			pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		pthread_mutex_unlock(&p->mu);
	}
	jbuf_fini(&b);
	return NULL;
}

int poster_open(const struct poster_sender *snd, const char *dir, struct poster **out,
		char *err, size_t errlen)
{
	struct poster *p;

	*out = NULL;
	if (strlen(dir) >= sizeof(p->dir) - 64) {
		snprintf(err, errlen, "spool path too long");
		return YG_EINVAL;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return YG_EIO;
	}
	p = yg_calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	p->snd = *snd;
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	snprintf(p->cur, sizeof(p->cur), "%s/alerts-%lld-%d.jsonl", dir, (long long)time(NULL),
		 (int)getpid());
	p->fd = open(p->cur, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (p->fd < 0) {
		snprintf(err, errlen, "%s: %s", p->cur, strerror(errno));
		free(p);
		return YG_EIO;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->thread, NULL, sender, p) != 0) {
		snprintf(err, errlen, "cannot start the sender thread");
		close(p->fd);
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p);
		return YG_EIO;
	}
	*out = p;
	return 0;
}

int poster_new(const char *url, const char *token, const struct poster_tls *tls,
	       const char *dir, struct poster **out, char *err, size_t errlen)
{
	struct http_sender *h;
	struct poster_sender snd;
	bool cert = tls != NULL && tls->cert != NULL;
	int rc;

	*out = NULL;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "'%s' is not an http:// or https:// URL", url);
		return YG_EINVAL;
	}
	if ((token == NULL || *token == '\0') && !cert) {
		snprintf(err, errlen, "no token (set YAGURA_TOKEN or use --token-file)");
		return YG_EINVAL;
	}
	if (token == NULL)
		token = "";
	if (strlen(url) >= sizeof(h->url) || strlen(token) > 200) {
		snprintf(err, errlen, "URL, token or spool path too long");
		return YG_EINVAL;
	}
	if ((h = yg_calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return YG_ENOMEM;
	}
	snprintf(h->url, sizeof(h->url), "%s", url);
	if (h->url[strlen(h->url) - 1] == '/')
		h->url[strlen(h->url) - 1] = '\0';
	if (*token != '\0')
		snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", token);
	if (tls != NULL)
		h->tls = *tls;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snd.name = "post";
	snd.send = http_send;
	snd.ctx = h;
	rc = poster_open(&snd, dir, out, err, errlen);
	if (rc < 0) {
		http_free(h);
		return rc;
	}
	(*out)->http = h;
	return 0;
}

int poster_add(struct poster *p, const char *json, size_t len)
{
	char nl = '\n';
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	/* One write per line keeps lines whole for the sender's reads. */
	char *buf = yg_malloc(len + 1);
	if (buf == NULL) {
		rc = YG_ENOMEM;
	} else {
		memcpy(buf, json, len);
		buf[len] = nl;
		if (write(p->fd, buf, len + 1) != (ssize_t)(len + 1))
			rc = YG_EIO;
		free(buf);
	}
	if (rc == 0)
		p->st.spooled++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Lines still in the spool. */
static uint64_t spool_left(struct poster *p)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	uint64_t left = 0;
	char seg[PBUF - 8];

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (!is_segment(de->d_name))
			continue;
		snprintf(seg, sizeof(seg), "%s/%s", p->dir, de->d_name);
		FILE *f = fopen(seg, "r");
		if (f == NULL)
			continue;
		if (fseeko(f, (off_t)offset_read(seg), SEEK_SET) == 0) {
			int c;
			while ((c = getc(f)) != EOF)
				left += c == '\n';
		}
		fclose(f);
	}
	if (d != NULL)
		closedir(d);
	return left;
}

void poster_finish(struct poster *p, unsigned wait_s, struct poster_stats *stats)
{
	struct timespec deadline;

	if (p == NULL)
		return;
	fsync(p->fd);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_s;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	p->drained = 0;
	pthread_cond_broadcast(&p->cv);
	while (!p->drained) {
		if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) != 0)
			break;
	}
	p->stopping = 2; /* give up now: the spool keeps the rest */
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	close(p->fd);
	/* A fully sent segment of this run can go. */
	{
		struct stat sb;
		char path[PBUF];
		if (stat(p->cur, &sb) == 0 && offset_read(p->cur) >= (uint64_t)sb.st_size) {
			snprintf(path, sizeof(path), "%s.sent", p->cur);
			unlink(p->cur);
			unlink(path);
		}
	}
	p->st.left = spool_left(p);
	if (stats != NULL)
		*stats = p->st;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	http_free(p->http);
	free(p);
}
