/* test_sweep.c - the allocation-failure sweeps (issue 18), as SQLite's own
 * tests do them: for every N, the Nth allocation fails, once and (a second
 * pass) from then on, until an N is reached at which the work ran to its end
 * without meeting a failure. jansson's and SQLite's allocations go through
 * the same counter (json_set_alloc_funcs, SQLITE_CONFIG_MALLOC), so a failure
 * can fall inside a library as well as in yagura's own code.
 *
 *   * The sensor's packet path (capture, decoder, flows, detectors, attack
 *     sources, indicators, EVE): never a crash, and a run that met no
 *     failure writes what a run without the sweep writes.
 *   * The tower, in this process, over HTTP on loopback: reports, alert
 *     batches, cases proposed and approved, checkpoints, reads. Each answer
 *     is the success, or a 5xx in the JSON error shape (never a 4xx: a
 *     failed allocation is not the client's fault), or, failing from then
 *     on, no answer at all where even the error could not be made. A
 *     refused write stores nothing; every row stored is complete, which
 *     `yagura audit verify --store` checks at the end against the log,
 *     after the log covers every entry.
 *   * Leaks: the sanitizer pass (.ci/run) runs this under LeakSanitizer.
 *
 * The tower's sweep runs on SQLite, and on PostgreSQL when
 * YAGURA_TEST_PG_URL names one (unit.sweep.postgres, with the pg fixture).
 * The stream consumer's (test_stream) runs when YAGURA_TEST_NATS_URL names
 * a nats-server with JetStream (unit.sweep.stream starts one).
 *
 * argv[1]: the yagura binary, for audit verify; argv[2], optional: the
 * one test to run (test_sensor_path, test_tower, test_tower_tls,
 * test_tower_postgres, test_stream). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gmp.h>
#include <jansson.h>
#include <nats/nats.h>
#include <sqlite3.h>

#include "base/alloc.h"
#include "capture/capture.h"
#include "detect/sources.h"
#include "intel/intel.h"
#include "output/eve.h"
#include "pipeline/pipeline.h"
#include "store/store.h"
#include "tower/tower.h"
#include "towerproc.h"

#define MAX_N 200000 /* a sweep that has not ended by then is a failure */

static const char *yagura_bin;

/* --- the libraries' allocators, through the same counter --- */

static sqlite3_mem_methods sqlite_real;

static void *sqlite_malloc(int n)
{
	return yg_alloc_fail_now() ? NULL : sqlite_real.xMalloc(n);
}

static void *sqlite_realloc(void *p, int n)
{
	return yg_alloc_fail_now() ? NULL : sqlite_real.xRealloc(p, n);
}

static void *json_malloc(size_t n)
{
	return yg_malloc(n);
}

static void hooks_install(void)
{
	sqlite3_mem_methods m;

	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_real) != SQLITE_OK)
		abort();
	m = sqlite_real;
	m.xMalloc = sqlite_malloc;
	m.xRealloc = sqlite_realloc;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
		abort();
	json_set_alloc_funcs(json_malloc, free);
}

/* Every other library's allocations (libmicrohttpd, libpq, libnats,
 * GnuTLS, libsodium, libc's own) count too, through malloc itself: this
 * program replaces malloc, calloc and realloc and hands them to glibc's.
 * The test's own thread is exempt (its client, its checks), so that the
 * failure falls in the tower's threads. Not under AddressSanitizer, which
 * replaces malloc itself; there only yagura's, jansson's, SQLite's and
 * YAJL's allocations count. An allocation through yg_malloc is counted
 * twice (yg_malloc asks, then malloc does), which only spaces the sweep's
 * steps: either refusal is the same NULL to the caller. */
#if defined(__SANITIZE_ADDRESS__)
#define SWEEP_ALL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWEEP_ALL 0
#endif
#endif
#ifndef SWEEP_ALL
#define SWEEP_ALL 1
#endif

static _Thread_local int sweep_exempt;

#if SWEEP_ALL
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* Two libraries below GnuTLS cannot survive a refusal, and nothing
 * yagura does can change that, so their allocations are not swept:
 * - GMP (nettle's arithmetic) aborts the process, by design: its
 *   allocation functions may not return NULL (GMP manual, "Custom
 *   Allocation"), and GnuTLS's own abort too. The TLS sweep met it at
 *   once ("GNU MP: Cannot allocate memory", SIGABRT). main() gives GMP
 *   functions of glibc's, after GnuTLS has set its own;
 * - libtasn1 4.19 dereferences what it did not get: a segfault in
 *   asn1_create_element(), under gnutls_privkey_sign_data2(), in the
 *   tower's half of a handshake. Its allocations are served even when
 *   their turn to fail comes (the sweep goes on to the next).
 * A tower whose memory runs out there exits, and is restarted; what it
 * acknowledged is stored (integration.tower_kill). docs/security.md. */
static int unswept(const void *caller)
{
	Dl_info di;

	return dladdr(caller, &di) != 0 && di.dli_fname != NULL &&
	       strstr(di.dli_fname, "/libtasn1.") != NULL;
}

static void *gmp_alloc(size_t n)
{
	void *p = __libc_malloc(n);

	if (p == NULL)
		abort();
	return p;
}

static void *gmp_realloc(void *p, size_t old, size_t n)
{
	(void)old;
	if ((p = __libc_realloc(p, n)) == NULL)
		abort();
	return p;
}

static void gmp_free(void *p, size_t n)
{
	(void)n;
	__libc_free(p);
}

static int refuse(const void *caller)
{
	if (sweep_exempt || !yg_alloc_fail_now() || unswept(caller))
		return 0;
	errno = ENOMEM;
	return 1;
}

void *malloc(size_t n)
{
	return refuse(__builtin_return_address(0)) ? NULL : __libc_malloc(n);
}

void *calloc(size_t nmemb, size_t size)
{
	return refuse(__builtin_return_address(0)) ? NULL : __libc_calloc(nmemb, size);
}

void *realloc(void *p, size_t n)
{
	return refuse(__builtin_return_address(0)) ? NULL : __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}
#endif

enum mode { ONCE, FROM_THEN_ON };

static void fail_at(enum mode m, long n)
{
	if (m == ONCE)
		yg_alloc_fail_once(n);
	else
		yg_alloc_fail_after(n);
}

static const char *mode_name(enum mode m)
{
	return m == ONCE ? "once" : "from then on";
}

/* --- the sensor's packet path --- */

struct frames {
	struct frame f[64];
	uint8_t *data[64];
	size_t n;
};

static void frames_read(const char *path, struct frames *fs)
{
	struct capture *c;
	char err[256];
	struct frame f;
	int rc;

	assert_int_equal(capture_open(path, &c, err, sizeof(err)), 0);
	fs->n = 0;
	while ((rc = capture_next(c, &f)) > 0 && fs->n < 64) {
		fs->data[fs->n] = malloc(f.caplen);
		assert_non_null(fs->data[fs->n]);
		memcpy(fs->data[fs->n], f.data, f.caplen);
		fs->f[fs->n] = f;
		fs->f[fs->n].data = fs->data[fs->n];
		fs->n++;
	}
	assert_true(rc >= 0);
	capture_close(c);
	assert_true(fs->n > 20);
}

static const char intel_list[] = "192.168.1.0/24\n10.0.0.0/8\nexample.com\n"
				 "http://u.example/x\n2001:db8::/32\n";

/* One run of the whole path over fs into a temporary file; the file's
 * bytes in *out (malloc'd) when every part could be made, else NULL.
 * Returns 0, or YG_ENOMEM when a part could not be made. */
static int sensor_run(const struct frames *fs, char **out, size_t *outlen)
{
	struct detect_config dc;
	struct pipeline_config cfg = {
		.flow = {.max_flows = 256, .idle_timeout_us = 1000000,
			 .active_timeout_us = 300000000, .closed_timeout_us = 1000000},
		.meta = META_STANDARD,
	};
	struct pipeline_shared *sh = NULL;
	struct pipeline *p = NULL;
	struct sources *src = NULL;
	struct intel_builder *b = NULL;
	struct intel_snapshot *snap = NULL;
	struct intel_handle *ih = NULL;
	struct intel_report rep;
	struct eve *e = NULL;
	FILE *f = tmpfile();
	int rc = YG_ENOMEM;

	assert_non_null(f);
	*out = NULL;
	sweep_exempt = 0; /* the sensor runs on this thread: its libraries count */
	detect_config_defaults(&dc);
	intel_report_init(&rep);
	if ((b = intel_builder_new(0)) == NULL)
		goto done;
	if (intel_load_buffer(b, "l", intel_list, strlen(intel_list), INTEL_FORMAT_AUTO, NULL,
			      &rep) != 0)
		goto done;
	rc = intel_builder_finish(b, &snap);
	b = NULL; /* freed by finish, whatever the outcome */
	if (rc != 0) {
		rc = YG_ENOMEM;
		goto done;
	}
	rc = YG_ENOMEM;
	if ((ih = intel_handle_new()) == NULL)
		goto done;
	intel_handle_publish(ih, snap);
	snap = NULL;
	if ((src = sources_new(64)) == NULL || (sh = pipeline_shared_new(&dc)) == NULL)
		goto done;
	if ((e = eve_new(fileno(f))) == NULL)
		goto done;
	cfg.detect = &dc;
	cfg.shared = sh;
	cfg.sources = src;
	cfg.intel = ih;
	if ((p = pipeline_new(&cfg, e)) == NULL)
		goto done;
	pipeline_frames(p, fs->f, fs->n);
	pipeline_finish(p);
	rc = 0;
done:
	if (p != NULL)
		pipeline_free(p);
	if (sh != NULL)
		pipeline_shared_free(sh);
	if (e != NULL && eve_free(e) != 0 && rc == 0)
		rc = YG_ENOMEM;
	if (src != NULL) {
		/* The sources as the sensor writes them at the end. */
		if (rc == 0 && sources_write_json(src, f, NULL, NULL) != 0)
			rc = YG_ENOMEM;
		sources_free(src);
	}
	if (ih != NULL)
		intel_handle_free(ih);
	if (snap != NULL)
		intel_snapshot_release(snap);
	if (b != NULL)
		intel_builder_free(b);
	sweep_exempt = 1;
	if (rc == 0) {
		long len;

		fflush(f);
		len = ftell(f);
		*out = malloc((size_t)len + 1);
		assert_non_null(*out);
		rewind(f);
		assert_int_equal(fread(*out, 1, (size_t)len, f), (size_t)len);
		(*out)[len] = 0;
		*outlen = (size_t)len;
	}
	fclose(f);
	return rc;
}

static void test_sensor_path(void **state)
{
	struct frames fs;
	char *want, *got;
	size_t wantlen, gotlen;

	(void)state;
	frames_read(YG_SOURCE_DIR "/tests/pcap/mixed/input.pcap", &fs);
	assert_int_equal(sensor_run(&fs, &want, &wantlen), 0);
	assert_true(strstr(want, "\"event_type\":\"flow\"") != NULL);
	for (enum mode m = ONCE; m <= FROM_THEN_ON; m++) {
		long n, refused = 1, clean = 0, made = 0;

		for (n = 0; n < MAX_N && refused > 0; n++) {
			int rc;

			fail_at(m, n);
			rc = sensor_run(&fs, &got, &gotlen);
			refused = yg_alloc_failures();
			yg_alloc_fail_after(-1);
			if (rc != 0) {
				assert_int_equal(rc, YG_ENOMEM);
				assert_true(refused > 0);
				clean++;
				continue;
			}
			made++;
			if (refused == 0) { /* nothing failed: the output is whole */
				assert_int_equal(gotlen, wantlen);
				assert_memory_equal(got, want, wantlen);
			}
			free(got);
		}
		assert_true(refused == 0);
		print_message("  sensor path, failing %s: %ld allocations; %ld runs refused, %ld "
			      "ran on\n", mode_name(m), n - 1, clean, made);
	}
	free(want);
	for (size_t i = 0; i < fs.n; i++)
		free(fs.data[i]);
}

/* --- the tower, over HTTP on loopback --- */

struct tw {
	struct towerproc p;
	struct store *st;     /* the test's own handle, for counting rows */
	long stored_on_error; /* writes answered 5xx that stored their row anyway */
	long retried;	      /* writes sent again with their Idempotency-Key */
	long replayed;	      /* of those, answered from the first */
	char hdr[128];	      /* an Idempotency-Key line for the next requests, or "" */
	/* The last request, to send again */
	char method[8], path[256], token[64], body[1024];
	bool has_body;
};

#define answer tp_answer

static void call(struct tw *w, const char *method, const char *path, const char *token,
		 const char *body, struct answer *a)
{
	snprintf(w->method, sizeof(w->method), "%s", method);
	snprintf(w->path, sizeof(w->path), "%s", path);
	snprintf(w->token, sizeof(w->token), "%s", token);
	snprintf(w->body, sizeof(w->body), "%s", body ? body : "");
	w->has_body = body != NULL;
	assert_int_equal(tp_call_h(&w->p, method, path, token, w->hdr[0] ? w->hdr : NULL, body,
				   body ? strlen(body) : 0, a),
			 0);
}

/* The last request again, as a client retries it: same key, same body. */
static void retry(struct tw *w, struct answer *a)
{
	assert_int_equal(tp_call_h(&w->p, w->method, w->path, w->token, w->hdr[0] ? w->hdr : NULL,
				   w->has_body ? w->body : NULL, strlen(w->body), a),
			 0);
}

static long count_rows(struct tw *w, const char *sql)
{
	struct store_conn *c;
	struct store_res *r = NULL;
	long n;

	assert_int_equal(store_conn_get(w->st, &c), 0);
	assert_int_equal(store_exec(c, sql, NULL, 0, &r, NULL), 0);
	n = (long)store_res_int64(r, 0, 0);
	store_res_free(r);
	store_conn_put(c);
	return n;
}

/* Asks for checkpoints until one covers every entry written. The entries
 * are counted again each time: a write whose client gave up (the sweep
 * saw the connection close) may still commit after the count. */
static void log_covers(struct tw *w)
{
	long entries = count_rows(w, "SELECT COUNT(*) FROM log_entries"), size = -1, first = entries;
	struct answer a;

	for (int i = 0; i < 300 && size != entries; i++) {
		if (i > 0)
			entries = count_rows(w, "SELECT COUNT(*) FROM log_entries");
		call(w, "POST", "/api/v1/log/checkpoint", w->p.auditor, "", &a);
		if (a.status == 200) {
			const char *nl = strchr(a.body, '\n');
			size = nl ? strtol(nl + 1, NULL, 10) : -1;
		}
		if (size != entries)
			usleep(100000);
	}
	if (size != entries)
		fail_msg("the log covers %ld of %ld entries", size, entries);
	print_message("  the log covers all %ld entries (%ld when first counted)\n", entries, first);
}

/* Once the log covers every entry: audit verify --store, from outside. */
static void tower_down_and_verify(struct tw *w, const char *pg)
{
	char cmd[2048];
	int rc;

	log_covers(w);
	store_close(w->st);
	tower_stop(w->p.t);
	w->p.t = NULL;
	snprintf(cmd, sizeof(cmd), "'%s' audit verify --store '%s' --key '%s' >&2", yagura_bin,
		 w->p.store, w->p.vkey);
	rc = system(cmd);
	assert_true(WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 0);
	tp_down(&w->p, pg);
}

/* One kind of request, swept. prepare (may be NULL) runs before each
 * request without failures; req makes the request; rows counts what a
 * success adds (NULL: a read). */
struct op {
	const char *name;
	int ok; /* the status of a success */
	void (*prepare)(struct tw *w, long n);
	void (*req)(struct tw *w, long n, struct answer *a);
	const char *rows; /* SELECT COUNT(*) of what it writes */
	long per;	  /* rows a success adds */
	const char *whole; /* what a success's answer holds, when whole */
	/* What an answer with the success's status holds when it says the
	 * write was refused (TAXII's status resource: failure_count), or NULL */
	const char *refusal;
	/* Sent with an Idempotency-Key: an answer other than the success is
	 * followed by the same request again, as a client retries, which
	 * must succeed with the write stored once in all. */
	bool keyed;
};

static char prepared_path[128];

static void report_as(struct tw *w, const char *token, const char *what, long n,
		      struct answer *a)
{
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"category\":\"malware\",\"summary\":\"%s %ld\",\"severity\":\"medium\","
		 "\"detected_at\":\"2026-11-22T00:00:00Z\"}",
		 what, n);
	call(w, "POST", "/api/v1/reports", token, body, a);
}

static void req_report(struct tw *w, long n, struct answer *a)
{
	report_as(w, w->p.op, "sweep", n, a);
}

/* A report with a token the tower never issued: refused (401) or, when
 * even that cannot be answered, closed; never run. Until the refusal's
 * failed queueing was seen, the next call for the request ran the handler
 * without a principal. */
static void req_report_badtoken(struct tw *w, long n, struct answer *a)
{
	report_as(w, "ygt_0000000000000000000000000000000000000000000", "forged", n, a);
}

static void req_alerts(struct tw *w, long n, struct answer *a)
{
	static long batch;
	char body[1024];
	int len = snprintf(body, sizeof(body), "{\"alerts\":[");

	batch++;
	for (int k = 0; k < 3; k++)
		len += snprintf(body + len, sizeof(body) - (size_t)len,
				"%s{\"alert_id\":\"b%ld-%ld-%d\",\"timestamp\":"
				"\"2026-11-22T00:00:00.000000+0000\",\"src_ip\":\"203.0.113.%d\","
				"\"dest_ip\":\"10.0.0.1\",\"alert\":{\"signature_id\":9100001,"
				"\"severity\":2}}",
				k ? "," : "", batch, n, k, 1 + k);
	snprintf(body + len, sizeof(body) - (size_t)len, "]}");
	call(w, "POST", "/api/v1/alerts", w->p.sensor, body, a);
}

static void req_case(struct tw *w, long n, struct answer *a)
{
	static long k;
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"action\":\"sinkhole\",\"target\":\"c2-%ld-%ld.example.net\","
		 "\"justification\":\"C2 domain\",\"duration\":\"2h\"}",
		 ++k, n);
	call(w, "POST", "/api/v1/cases", w->p.analyst, body, a);
}

static void prepare_case(struct tw *w, long n)
{
	struct answer a;

	req_case(w, n, &a);
	assert_int_equal(a.status, 201);
	snprintf(prepared_path, sizeof(prepared_path), "/api/v1/cases/%ld/approve",
		 tp_int(&a, "id"));
}

static void req_approve(struct tw *w, long n, struct answer *a)
{
	(void)n;
	call(w, "POST", prepared_path, w->p.overseer, "{\"reason\":\"ok\"}", a);
}

static void req_checkpoint(struct tw *w, long n, struct answer *a)
{
	(void)n;
	call(w, "POST", "/api/v1/log/checkpoint", w->p.auditor, "", a);
}

static void req_read_reports(struct tw *w, long n, struct answer *a)
{
	(void)n;
	call(w, "GET", "/api/v1/reports?limit=5", w->p.op, NULL, a);
}

static void req_read_sources(struct tw *w, long n, struct answer *a)
{
	(void)n;
	call(w, "GET", "/api/v1/sources", w->p.analyst, NULL, a);
}

static void req_read_proof(struct tw *w, long n, struct answer *a)
{
	(void)n;
	call(w, "GET", "/api/v1/log/inclusion?index=0&size=2", w->p.auditor, NULL, a);
}

static void req_asset(struct tw *w, long n, struct answer *a)
{
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"product\":\"PLC %ld\",\"role\":\"control\",\"addresses\":[\"192.0.2.%ld/32\"]}",
		 n, n & 255);
	call(w, "POST", "/api/v1/assets", w->p.op, body, a);
}

static void req_authorization(struct tw *w, long n, struct answer *a)
{
	char body[256], until[32];
	time_t t = time(NULL) + 86400;
	struct tm tm;

	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	snprintf(body, sizeof(body),
		 "{\"sensor\":\"sensor1\",\"prefixes\":[\"10.%ld.%ld.0/24\"],\"purpose\":\"sweep\","
		 "\"until\":\"%s\"}",
		 (n >> 8) & 255, n & 255, until);
	call(w, "POST", "/api/v1/monitoring/authorizations", w->p.analyst, body, a);
}

static char objects[160]; /* a TAXII collection's objects/ path */

static void req_taxii_post(struct tw *w, long n, struct answer *a)
{
	static long k;
	char body[1024];

	(void)n;
	snprintf(body, sizeof(body),
		 "{\"objects\":[{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		 "\"id\":\"indicator--00000000-0000-4000-8000-%012ld\","
		 "\"created\":\"2026-11-01T00:00:00.000Z\",\"modified\":\"2026-11-01T00:00:00.000Z\","
		 "\"pattern\":\"[ipv4-addr:value = '198.51.100.7']\",\"pattern_type\":\"stix\","
		 "\"valid_from\":\"2026-11-01T00:00:00Z\"}]}",
		 ++k);
	call(w, "POST", objects, w->p.analyst, body, a);
}

static void req_taxii_get(struct tw *w, long n, struct answer *a)
{
	char path[256];

	(void)n;
	snprintf(path, sizeof(path), "%s?match[type]=indicator&limit=5&added_after=2026-01-01T00:00:00Z",
		 objects);
	call(w, "GET", path, w->p.op, NULL, a);
}

static const struct op ops[] = {
	{"POST /api/v1/reports", 201, NULL, req_report, "SELECT COUNT(*) FROM reports", 1,
	 "\"next_due\":", NULL, true},
	{"POST /api/v1/reports, bad token", 401, NULL, req_report_badtoken,
	 "SELECT COUNT(*) FROM reports", 0, "invalid token", NULL, false},
	{"POST /api/v1/alerts", 200, NULL, req_alerts, "SELECT COUNT(*) FROM alerts", 3,
	 "\"accepted\":3", NULL, false},
	{"POST /api/v1/cases", 201, NULL, req_case, "SELECT COUNT(*) FROM cases", 1,
	 "\"decisions\":[", NULL, true},
	{"POST /api/v1/cases/{id}/approve", 200, prepare_case, req_approve,
	 "SELECT COUNT(*) FROM case_decisions WHERE decision = 'approve'", 1, "{\"decision\":\"approve\"", NULL, true},
	{"POST /api/v1/log/checkpoint", 200, NULL, req_checkpoint, NULL, 0, "\n\n\xe2\x80\x94 ", NULL, false},
	{"GET /api/v1/reports", 200, NULL, req_read_reports, NULL, 0, "\"next_due\":", NULL, false},
	{"GET /api/v1/sources", 200, NULL, req_read_sources, NULL, 0, "\"sources\":", NULL, false},
	{"GET /api/v1/log/inclusion", 200, NULL, req_read_proof, NULL, 0, "\"proof\":[", NULL, false},
	{"POST /api/v1/assets", 201, NULL, req_asset, "SELECT COUNT(*) FROM assets", 1,
	 "\"addresses\":[\"192.0.2.", NULL, true},
	{"POST /api/v1/monitoring/authorizations", 201, NULL, req_authorization,
	 "SELECT COUNT(*) FROM authorizations", 1, "\"prefixes\":[\"10.", NULL, true},
	{"POST /taxii2/.../objects/", 202, NULL, req_taxii_post, "SELECT COUNT(*) FROM stix_objects",
	 1, "\"success_count\":1", "\"failure_count\":1", false},
	{"GET /taxii2/.../objects/", 200, NULL, req_taxii_get, NULL, 0, "\"objects\":[", NULL, false},
};

/* A keyed write sent again after answer a: it must succeed, and the write
 * be stored once in all; a write the first request stored, and a success,
 * must be answered from the first (Idempotent-Replayed), about the same
 * record. */
static void retried(struct tw *w, const struct op *o, enum mode m, long n, const struct answer *a,
		    long before, long after)
{
	struct answer b;
	long again;

	retry(w, &b);
	again = count_rows(w, o->rows);
	if (b.status != o->ok || strstr(b.body, o->whole) == NULL)
		fail_msg("%s at %ld (%s), retried with its key after %d: %d %s", o->name, n,
			 mode_name(m), a->status, b.status, b.body);
	if (again - before != o->per)
		fail_msg("%s at %ld (%s), retried with its key after %d: %ld rows stored in all",
			 o->name, n, mode_name(m), a->status, again - before);
	if ((after != before) != (b.replayed != 0))
		fail_msg("%s at %ld (%s): the first request stored %ld rows; the retry %s", o->name,
			 n, mode_name(m), after - before,
			 b.replayed ? "was a replay" : "was not a replay");
	/* The same record (a case answered again as it now stands may have
	 * been activated meanwhile). */
	if (a->status == o->ok && tp_int(a, "id") != tp_int(&b, "id"))
		fail_msg("%s at %ld (%s): replayed %s, first %s", o->name, n, mode_name(m), b.body,
			 a->body);
	w->retried++;
	w->replayed += b.replayed;
}

static void sweep_op(struct tw *w, const struct op *o, enum mode m)
{
	long n, refused = 1, oks = 0, errs = 0, closed = 0;
	const char *only = getenv("SWEEP_ONLY"), *from = getenv("SWEEP_FROM");

	/* To look at one finding: SWEEP_ONLY="POST /api/v1/cases" SWEEP_FROM=138 */
	if (only != NULL && strcmp(only, o->name) != 0)
		return;
	for (n = from != NULL ? atol(from) : 0; n < MAX_N && refused > 0; n++) {
		struct answer a;
		long before = 0, after;
		bool refused_ok = false;

		if (o->prepare != NULL)
			o->prepare(w, n);
		if (o->rows != NULL)
			before = count_rows(w, o->rows);
		if (o->keyed)
			snprintf(w->hdr, sizeof(w->hdr), "Idempotency-Key: sweep-%d-%d-%ld\r\n",
				 (int)(o - ops), (int)m, n);
		fail_at(m, n);
		o->req(w, n, &a);
		refused = yg_alloc_failures();
		yg_alloc_fail_after(-1);
		if (getenv("SWEEP_VERBOSE") != NULL)
			fprintf(stderr, "sweep: %s %s n=%ld refused=%ld: %d %.300s\n", o->name,
				mode_name(m), n, refused, a.status, a.body);
		if (a.status == o->ok && o->refusal != NULL && strstr(a.body, o->refusal) != NULL) {
			refused_ok = true; /* stores nothing, checked below */
			errs++;
		} else if (a.status == o->ok) {
			if (strstr(a.body, o->whole) == NULL)
				fail_msg("%s at %ld (%s): %d without %s: %s", o->name, n, mode_name(m),
					 a.status, o->whole, a.body);
			oks++;
		} else if (a.status >= 500 && a.status <= 599) {
			/* The JSON error shape, when it could be made at all. */
			if (strstr(a.body, "\"error\"") == NULL &&
			    strstr(a.body, "\"http_status\"") == NULL && m == ONCE) /* TAXII's */
				fail_msg("%s at %ld (%s): %d without the JSON error: %s", o->name, n,
					 mode_name(m), a.status, a.body);
			errs++;
		} else if (a.status == 0 && refused > 0 && (m == FROM_THEN_ON || SWEEP_ALL)) {
			/* No answer: even the error could not be made, or (malloc
			 * swept) libmicrohttpd could not take the connection. */
			closed++;
		} else {
			fail_msg("%s with allocation %ld failing %s: %d %s", o->name, n, mode_name(m),
				 a.status, a.body);
		}
		if (refused == 0 && (a.status != o->ok || refused_ok))
			fail_msg("%s with no failure met: %d %s", o->name, a.status, a.body);
		if (o->rows == NULL)
			continue;
		after = count_rows(w, o->rows);
		if (refused_ok) {
			if (after != before)
				fail_msg("%s at %ld (%s): said refused, stored %ld rows", o->name, n,
					 mode_name(m), after - before);
		} else if (a.status == o->ok) {
			if (after - before != o->per)
				fail_msg("%s acknowledged at %ld (%s) but stored %ld rows", o->name, n,
					 mode_name(m), after - before);
		} else if (after != before) {
			/* The failure fell after the commit: stored, whole (audit
			 * verify says so at the end), and answered as an error. */
			if (after - before != o->per)
				fail_msg("%s refused at %ld (%s) but stored %ld of %ld rows", o->name,
					 n, mode_name(m), after - before, o->per);
			w->stored_on_error++;
		}
		if (o->keyed && (a.status != o->ok || refused == 0))
			retried(w, o, m, n, &a, before, after);
		w->hdr[0] = 0;
	}
	if (refused != 0)
		fail_msg("%s: the sweep did not end by %d allocations", o->name, MAX_N);
	print_message("  %-32s failing %-12s: %5ld allocations; %ld ok, %ld 5xx, %ld closed\n",
		      o->name, mode_name(m), n - 1, oks, errs, closed);
}

/* only: the names of the ops to sweep, NULL-terminated; NULL: all. */
static void sweep_tower(const char *pg, const char *const *only)
{
	struct tw w;
	struct answer a;

	char err[256];

	memset(&w, 0, sizeof(w));
	if (tp_up(&w.p, pg, 2, err, sizeof(err)) < 0)
		fail_msg("tower: %s", err);
	assert_int_equal(store_open(w.p.store, &w.st, err, sizeof(err)), 0);
	call(&w, "GET", "/taxii2/api/collections/", w.p.op, NULL, &a);
	{
		const char *id = strstr(a.body, "\"id\":\"");

		assert_non_null(id);
		snprintf(objects, sizeof(objects), "/taxii2/api/collections/%.36s/objects/", id + 6);
	}
	/* Something to read: a report, an alert batch, two log entries. */
	req_report(&w, -1, &a);
	assert_int_equal(a.status, 201);
	req_alerts(&w, -1, &a);
	assert_int_equal(a.status, 200);
	log_covers(&w);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		bool listed = only == NULL;

		for (const char *const *o = only; o != NULL && *o != NULL; o++)
			listed |= strcmp(*o, ops[i].name) == 0;
		for (enum mode m = ONCE; listed && m <= FROM_THEN_ON; m++)
			sweep_op(&w, &ops[i], m);
	}
	print_message("  %ld writes answered 5xx had stored their rows whole\n", w.stored_on_error);
	print_message("  %ld keyed writes sent again: %ld answered from the first, the rest "
		      "stored then; none twice\n",
		      w.retried, w.replayed);
	assert_true(w.replayed > 0 || getenv("SWEEP_ONLY") != NULL);
	/* Still serving, and the log whole. */
	req_report(&w, -2, &a);
	assert_int_equal(a.status, 201);
	tower_down_and_verify(&w, pg);
}

static void test_tower(void **state)
{
	(void)state;
	sweep_tower(NULL, NULL);
}

/* Over HTTPS (libmicrohttpd with GnuTLS, the certificates of
 * scripts/demo-tls.sh): GnuTLS's allocations in the tower's handshakes and
 * records count (not under ASan). The TLS layer is the same for every
 * route, so a keyed write, a refused one and a read stand for all. */
static void test_tower_tls(void **state)
{
	static const char *const only[] = {"POST /api/v1/reports", "POST /api/v1/reports, bad token",
					   "GET /api/v1/reports", NULL};
	char dir[] = "/tmp/yagura-sweep-tls-XXXXXX", cmd[512], err[256];

	(void)state;
	if (system("command -v openssl >/dev/null") != 0)
		skip(); /* scripts/setup.sh installs it */
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "'%s/scripts/demo-tls.sh' '%s/pki'", YG_SOURCE_DIR, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/pki", dir);
	if (tp_set_tls(cmd, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	sweep_tower(NULL, only);
	tp_set_tls(NULL, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

/* With libpq's allocations counted (not under ASan): libpq 15 waits for
 * ever when an allocation fails while it reads the start of a COPY (the
 * server waits for the data, libpq for a message it already has). The
 * store's answer deadline ends that wait, here after 10 s (connects too,
 * which libpq can hang the same way): the statement fails, the connection
 * is closed, and the server ends the transaction, so the log is not held
 * open. Not shorter: a connect to a server that other tests load may take
 * seconds, and a retry refused for that fails the sweep. */
static void test_tower_postgres(void **state)
{
	const char *pg = getenv("YAGURA_TEST_PG_URL");

	(void)state;
	if (pg == NULL || *pg == '\0')
		skip();
	tp_set_store_timeout(10);
	sweep_tower(pg, NULL);
	tp_set_store_timeout(0);
}

/* --- the tower's stream consumer ---
 *
 * One alert at a time is published on the JetStream at
 * YAGURA_TEST_NATS_URL (by libnats, whose allocations are not counted, so
 * the failure falls in the tower), with the Nth allocation failing once;
 * every alert must be stored, exactly once. A message the tower
 * acknowledged without storing (as it did when a record could not be read
 * for want of memory: it was refused, so acknowledged) never comes back and
 * fails the wait. The tower's own threads allocate beside the consumer, so
 * N counts theirs too; the sweep ends at the first N that no allocation
 * reached before the alert was stored. */

/* SELECT COUNT(*) that may meet the failure itself: -1 then. */
static long try_count(struct tw *w, const char *sql)
{
	struct store_conn *c;
	struct store_res *r = NULL;
	long n = -1;

	if (store_conn_get(w->st, &c) < 0)
		return -1;
	if (store_exec(c, sql, NULL, 0, &r, NULL) == 0)
		n = (long)store_res_int64(r, 0, 0);
	store_res_free(r);
	store_conn_put(c);
	return n;
}

static long metric_of(struct tw *w, const char *name)
{
	struct answer a;
	const char *at;

	call(w, "GET", "/metrics", w->p.admin, NULL, &a);
	assert_int_equal(a.status, 200);
	for (at = a.body; (at = strstr(at, name)) != NULL; at += strlen(name))
		if ((at == a.body || at[-1] == '\n') && at[strlen(name)] == ' ')
			return strtol(at + strlen(name) + 1, NULL, 10);
	return -1;
}

static void stream_publish_one(jsCtx *js, long n)
{
	char body[512], id[32];
	jsPubAck *ack = NULL;
	jsErrCode jerr = 0;
	natsStatus st;
	int len;

	snprintf(id, sizeof(id), "st-%ld", n);
	len = snprintf(body, sizeof(body),
		       "{\"alert_id\":\"%s\",\"timestamp\":\"2026-11-22T00:00:00.000000+0000\","
		       "\"src_ip\":\"203.0.113.7\",\"dest_ip\":\"10.0.0.1\",\"proto\":\"TCP\","
		       "\"alert\":{\"signature_id\":9100001,\"signature\":\"sweep \\u0041\","
		       "\"severity\":2}}",
		       id);
	for (int tries = 0; tries < 50; tries++) { /* the tower makes the stream */
		st = js_Publish(&ack, js, "yagura.alerts.electricity.sensor1", body, len, NULL,
				&jerr);
		jsPubAck_Destroy(ack);
		ack = NULL;
		if (st == NATS_OK)
			return;
		usleep(100000);
	}
	fail_msg("publish %s: %s (%d)", id, natsStatus_GetText(st), (int)jerr);
}

static void test_stream(void **state)
{
	const char *nats = getenv("YAGURA_TEST_NATS_URL");
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	struct tw w;
	char err[256], sql[128];
	long n, refused = 1, failed_in = 0, published = 0, naks;

	(void)state;
	if (nats == NULL || *nats == '\0')
		skip();
	memset(&w, 0, sizeof(w));
	if (tp_up_nats(&w.p, NULL, nats, 2, err, sizeof(err)) < 0)
		fail_msg("tower: %s", err);
	assert_int_equal(store_open(w.p.store, &w.st, err, sizeof(err)), 0);
	assert_int_equal(natsConnection_ConnectTo(&nc, nats), NATS_OK);
	assert_int_equal(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
	for (n = -1; n < MAX_N && refused > 0; n++) {
		long got = 0;
		int waited;

		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM alerts WHERE alert_id = 'st-%ld'",
			 n);
		if (n >= 0)
			yg_alloc_fail_once(n);
		stream_publish_one(js, n);
		published++;
		/* A nak backs the consumer off for a second; a lost ack or nak
		 * brings the message back after the ack wait (2 s). */
		for (waited = 0; waited < 600 && (got = try_count(&w, sql)) != 1; waited++)
			usleep(50000);
		refused = n >= 0 ? yg_alloc_failures() : 1;
		yg_alloc_fail_after(-1);
		if (got != 1)
			fail_msg("alert st-%ld: %ld stored after 30 s (allocation %ld refused: %ld)",
				 n, got, n, refused);
		if (waited > 10)
			failed_in++;
	}
	if (refused != 0)
		fail_msg("the stream sweep did not end by %d allocations", MAX_N);
	assert_int_equal(count_rows(&w, "SELECT COUNT(*) FROM alerts WHERE alert_id LIKE 'st-%'"),
			 published);
	naks = metric_of(&w, "yagura_stream_naks_total");
	print_message("  stream consumer, failing once: %ld allocations; %ld alerts published, "
		      "each stored once; %ld waited for a redelivery, %ld naks\n",
		      n - 1, published, failed_in, naks);
	assert_true(naks > 0); /* the failure did fall in the consumer */
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	tower_down_and_verify(&w, NULL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sensor_path),
		cmocka_unit_test(test_tower),
		cmocka_unit_test(test_tower_tls),
		cmocka_unit_test(test_tower_postgres),
		cmocka_unit_test(test_stream),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s YAGURA\n", argv[0]);
		return 2;
	}
	yagura_bin = argv[1];
	if (argc > 2) /* one test, by name */
		cmocka_set_test_filter(argv[2]);
	hooks_install();
#if SWEEP_ALL
	mp_set_memory_functions(gmp_alloc, gmp_realloc, gmp_free);
#endif
	sweep_exempt = 1;
	fprintf(stderr, "test_sweep: %s\n",
		SWEEP_ALL ? "every library's allocations count (malloc replaced)"
			  : "yagura's, jansson's, SQLite's and YAJL's allocations count");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
