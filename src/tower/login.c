/* login.c - people in a browser (issue 15, docs/dashboard.md): passwords,
 * sessions, and each user's language and time zone.
 *
 *   POST   /api/v1/session              {"name", "password"} → a session
 *   GET    /api/v1/session              who the caller is (and its CSRF token)
 *   DELETE /api/v1/session              logout
 *   PUT    /api/v1/session/preferences  {"language", "time_zone"}
 *   POST   /api/v1/session/password     {"current", "new"}
 *   PUT    /api/v1/users/{id}/password  {"password"}, by an admin
 *   GET    /api/v1/users                the users, for an admin
 *
 * A session is a token like an API token (auth.h: "ygs_" and 32 random
 * bytes, only its hash stored) that the browser keeps in an HttpOnly,
 * SameSite=Strict cookie and the HTTP layer accepts in place of a bearer
 * token. A change made with it must carry the session's CSRF token
 * (tw_csrf_token: a keyed hash of the cookie, given to the page at login
 * and by GET /api/v1/session). Machines keep their API tokens.
 *
 * Passwords are stored as Argon2id strings (libsodium). Verifying one
 * costs 64 MiB and a tenth of a second, so at most PW_SLOTS run at once,
 * and a name that failed PW_FAILS times in PW_WINDOW_S is refused (429)
 * until the window passes: guessing is slow, and holds no more memory
 * than the slots. An unknown name costs the same as a wrong password.
 *
 * A session ends at its lifetime ([sessions] lifetime, 8h by default),
 * at logout, or when its user's password changes: sessions opened before
 * the change are refused (session.c), with no row rewritten. Opening and
 * ending sessions, passwords and preferences are changes like any other:
 * through the service layer into the transparency log. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/hash.h"
#include "base/log.h"
#include "tower/tower_int.h"

#define PASSWORD_MIN	 12   /* characters (bytes) a password has at least */
#define PASSWORD_MAX	 1024 /* and at most: Argon2 takes any length, a body need not */
#define PW_SLOTS	 2    /* Argon2id verifications at once */
#define PW_WAIT_S	 10   /* for a slot, before 503 */
#define PW_FAILS	 5    /* failed logins of a name ... */
#define PW_WINDOW_S	 900  /* ... in this many seconds: refused until the window ends */
#define FAIL_SETS	 1024 /* the failures' table: sets of FAIL_WAYS names */
#define FAIL_WAYS	 4
#define LANGUAGE_DEFAULT "ja"
#define TZ_DEFAULT	 "Asia/Tokyo"
#define TZ_DIR		 "/usr/share/zoneinfo/"

/* ---- the cost of a guess ------------------------------------------------ */

struct fail_slot {
	char name[64]; /* a name's first 63 bytes; "" free */
	int64_t since; /* the window's start, seconds */
	unsigned n;
};

static struct {
	pthread_once_t once;
	sem_t slots;
	pthread_mutex_t mu;
	struct fail_slot fails[FAIL_SETS][FAIL_WAYS];
	char dummy[crypto_pwhash_STRBYTES]; /* verified for unknown names */
	bool ready;
} pw = {.once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER};

static void pw_init(void)
{
	static const char some[] = "a password nobody has, for names nobody has";

	if (sodium_init() < 0 || sem_init(&pw.slots, 0, PW_SLOTS) < 0)
		return;
	pw.ready = crypto_pwhash_str(pw.dummy, some, sizeof(some) - 1,
				     crypto_pwhash_OPSLIMIT_INTERACTIVE,
				     crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

/* Takes a slot for Argon2id; false: none came free in PW_WAIT_S. */
static bool pw_enter(void)
{
	struct timespec ts;

	pthread_once(&pw.once, pw_init);
	if (!pw.ready)
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += PW_WAIT_S;
	while (sem_timedwait(&pw.slots, &ts) < 0)
		if (errno != EINTR)
			return false;
	return true;
}

static void pw_leave(void)
{
	sem_post(&pw.slots);
}

/* The name's slot in the failures' table, found or made (the set's
 * oldest given up); NULL: none needed (lookup only, not there). Under mu. */
static struct fail_slot *fail_slot(const char *name, int64_t now, bool make)
{
	size_t n = strnlen(name, sizeof(pw.fails[0][0].name) - 1);
	struct fail_slot *set = pw.fails[yg_hash64(name, n) % FAIL_SETS], *old = &set[0];

	for (int i = 0; i < FAIL_WAYS; i++) {
		if (set[i].name[0] != '\0' && strlen(set[i].name) == n && memcmp(set[i].name, name, n) == 0)
			return &set[i];
		if (set[i].name[0] == '\0' || now - set[i].since >= PW_WINDOW_S)
			old = &set[i], old->name[0] = '\0';
		else if (old->name[0] != '\0' && set[i].since < old->since)
			old = &set[i];
	}
	if (!make)
		return NULL;
	snprintf(old->name, sizeof(old->name), "%s", name);
	old->since = now;
	old->n = 0;
	return old;
}

/* Seconds until name may try again; 0: now. */
static int64_t fail_wait(const char *name)
{
	int64_t now = tw_now_us() / 1000000, wait = 0;
	struct fail_slot *f;

	pthread_mutex_lock(&pw.mu);
	f = fail_slot(name, now, false);
	if (f != NULL && f->n >= PW_FAILS && now - f->since < PW_WINDOW_S)
		wait = PW_WINDOW_S - (now - f->since);
	pthread_mutex_unlock(&pw.mu);
	return wait;
}

static void fail_count(const char *name, bool failed)
{
	int64_t now = tw_now_us() / 1000000;
	struct fail_slot *f;

	pthread_mutex_lock(&pw.mu);
	f = fail_slot(name, now, failed);
	if (f != NULL && failed) {
		if (now - f->since >= PW_WINDOW_S)
			f->since = now, f->n = 0;
		f->n++;
	} else if (f != NULL) {
		f->name[0] = '\0';
	}
	pthread_mutex_unlock(&pw.mu);
}

/* Whether password is user's (hash: its stored Argon2id string, NULL for
 * none or no such user: then the dummy's cost is spent all the same).
 * -1: no slot came free. */
static int pw_check(const char *hash, const char *password)
{
	int ok;

	if (!pw_enter())
		return -1;
	ok = crypto_pwhash_str_verify(hash != NULL ? hash : pw.dummy, password,
				      strlen(password)) == 0;
	pw_leave();
	return ok && hash != NULL;
}

static int pw_hash(const char *password, char out[crypto_pwhash_STRBYTES])
{
	int rc;

	if (!pw_enter())
		return YG_ELIMIT;
	rc = crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			       crypto_pwhash_MEMLIMIT_INTERACTIVE);
	pw_leave();
	return rc == 0 ? 0 : YG_ENOMEM;
}

/* A new password's fault, or NULL when it will do. */
static const char *pw_fault(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (s == NULL)
		return "is required: a string";
	if (n < PASSWORD_MIN)
		return "must be at least 12 characters";
	if (n > PASSWORD_MAX)
		return "must be at most 1024 bytes";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "must not hold control characters";
	return NULL;
}

/* ---- the user, as a page needs it --------------------------------------- */

static json_t *user_json(const struct store_res *r)
{
	json_t *u = json_object(), *sectors = json_array();
	const char *sec = store_res_isnull(r, 0, tw_col(r, "sectors"))
				  ? ""
				  : store_res_text(r, 0, tw_col(r, "sectors"));
	size_t lang = tw_col(r, "language"), tz = tw_col(r, "time_zone");

	for (const char *s = sec; *s != '\0';) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);

		json_array_append_new(sectors, json_stringn(s, n));
		s += n + (comma != NULL);
	}
	json_object_set_new(u, "id", json_integer(store_res_int64(r, 0, tw_col(r, "id"))));
	json_object_set_new(u, "name", json_string(store_res_text(r, 0, tw_col(r, "name"))));
	json_object_set_new(u, "role", json_string(store_res_text(r, 0, tw_col(r, "role"))));
	if (store_res_isnull(r, 0, tw_col(r, "org_id")))
		json_object_set_new(u, "org", json_null());
	else
		json_object_set_new(
			u, "org",
			json_pack("{s:I,s:s,s:s}", "id",
				  (json_int_t)store_res_int64(r, 0, tw_col(r, "org_id")), "name",
				  store_res_text(r, 0, tw_col(r, "org_name")), "sector",
				  store_res_text(r, 0, tw_col(r, "org_sector"))));
	json_object_set_new(u, "sectors", sectors);
	json_object_set_new(u, "language",
			    json_string(store_res_isnull(r, 0, lang) ? LANGUAGE_DEFAULT
								     : store_res_text(r, 0, lang)));
	json_object_set_new(u, "time_zone", json_string(store_res_isnull(r, 0, tz)
								? TZ_DEFAULT
								: store_res_text(r, 0, tz)));
	return u;
}

#define USER_SELECT                                                                          \
	"SELECT u.id, u.name, u.role, u.org_id, u.sectors, u.disabled, o.name AS org_name, "  \
	"o.sector AS org_sector, pr.language, pr.time_zone, pw.hash AS password "            \
	"FROM users u LEFT JOIN orgs o ON o.id = u.org_id "                                  \
	"LEFT JOIN user_preferences pr ON pr.user_id = u.id "                                \
	"LEFT JOIN user_passwords pw ON pw.user_id = u.id "

/* The user with this id (or name), one row of USER_SELECT; -1 answered. */
static int user_read(struct tower *t, struct http_response *resp, int64_t id, const char *name,
		     struct store_res **r)
{
	struct store_param ps[] = {name != NULL ? store_text(name) : store_int64(id)};

	return tw_query(t, resp, name != NULL ? USER_SELECT "WHERE u.name = ?" : USER_SELECT "WHERE u.id = ?",
			ps, 1, r);
}

/* ---- sessions ----------------------------------------------------------- */

struct session_open {
	struct principal p;		    /* who; its session_id set once stored */
	int64_t expires;		    /* out */
	char text[TOKEN_TEXT_LEN + 1];	    /* out: the cookie's value */
};

static int session_open_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	struct session_open *in = arg;
	uint8_t h[TOKEN_HASH_LEN];
	char hh[TOKEN_HASH_LEN * 2 + 1];
	int64_t id;
	int rc;

	if ((rc = session_token_new(in->text, h)) < 0)
		return rc;
	tw_hex(h, sizeof(h), hh);
	in->expires = x->now + x->t->cfg.session_lifetime_s * 1000000;
	struct store_param ps[] = {store_int64(in->p.user_id), store_text(hh), store_int64(x->now),
				   store_int64(in->expires)};
	if ((rc = svc_write(x, c, REC_SESSIONS,
			    "INSERT INTO sessions (user_id, hash, created, expires) VALUES (?, ?, ?, ?)",
			    ps, 4, &id)) < 0)
		return rc;
	in->p.session_id = id; /* the entry says which session made the change: this one */
	return svc_changed(x, c, CHANGE_SESSION_OPEN, id);
}

static void cookie_set(struct tower *t, struct http_response *resp, const char *value,
		       int64_t max_age)
{
	char c[TOKEN_TEXT_LEN + 160];

	snprintf(c, sizeof(c), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
		 TW_SESSION_COOKIE, value, (long long)max_age, tw_tls(t) ? "; Secure" : "");
	(void)http_response_header(resp, "Set-Cookie", c);
}

/* The answer to a login (or a password change): the user, the session's
 * CSRF token and end, and its cookie. */
static int session_answer(struct tower *t, struct http_response *resp, int status,
			  struct session_open *s, json_t *user)
{
	char csrf[TOKEN_HASH_LEN * 2 + 1];

	if (tw_csrf_token(s->text, csrf) < 0) {
		json_decref(user);
		return tw_fail(resp, 500, "internal_error", "no CSRF token could be made");
	}
	cookie_set(t, resp, s->text, t->cfg.session_lifetime_s);
	http_response_header(resp, "Cache-Control", "no-store");
	http_response_json(resp, status,
			   json_pack("{s:o,s:s,s:o}", "user", user, "csrf", csrf, "expires",
				     tw_time(s->expires)));
	sodium_memzero(s->text, sizeof(s->text));
	return 0;
}

static int login(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"name", "password", NULL};
	struct tower *t = ctx;
	const json_t *b = http_request_json(req);
	const char *name = json_string_value(json_object_get(b, "name")),
		   *password = json_string_value(json_object_get(b, "password"));
	struct store_res *r = NULL;
	struct session_open s;
	struct svc_result res;
	char after[24];
	int64_t wait;
	int ok;

	if (tw_only_fields(resp, b, fields, "login") < 0)
		return 0;
	if (name == NULL || password == NULL || strlen(name) > 200 ||
	    strlen(password) > PASSWORD_MAX) {
		http_response_error(resp, 422, "validation_failed", "the login is not valid");
		if (name == NULL || strlen(name) > 200)
			http_response_error_field(resp, "name", "is required: a user's name");
		if (password == NULL || strlen(password) > PASSWORD_MAX)
			http_response_error_field(resp, "password",
						  "is required: a string of at most 1024 bytes");
		return 0;
	}
	if ((wait = fail_wait(name)) > 0) {
		snprintf(after, sizeof(after), "%lld", (long long)wait);
		http_response_header(resp, "Retry-After", after);
		return tw_fail(resp, 429, "too_many_attempts",
			       "too many failed logins for this name: try again later");
	}
	if (user_read(t, resp, 0, name, &r) < 0)
		return 0;
	bool found = store_res_nrows(r) == 1;
	const char *hash = found && !store_res_isnull(r, 0, tw_col(r, "password"))
				   ? store_res_text(r, 0, tw_col(r, "password"))
				   : NULL;
	if ((ok = pw_check(hash, password)) < 0) {
		store_res_free(r);
		return tw_fail(resp, 503, "busy", "the tower is checking other logins: try again");
	}
	if (!ok || !store_res_isnull(r, 0, tw_col(r, "disabled"))) {
		store_res_free(r);
		fail_count(name, true);
		log_info("tower: failed login for a name of %zu bytes from %s", strlen(name),
			 http_request_remote(req));
		return tw_fail(resp, 401, "bad_credentials", "wrong name or password");
	}
	fail_count(name, false);
	memset(&s, 0, sizeof(s));
	s.p.user_id = store_res_int64(r, 0, tw_col(r, "id"));
	s.p.role = role_parse(store_res_text(r, 0, tw_col(r, "role")));
	s.p.org_id = store_res_int64(r, 0, tw_col(r, "org_id"));
	json_t *user = user_json(r);
	store_res_free(r);
	if (svc_run(t, t->st, &s.p, false, session_open_body, &s, &res) < 0) {
		json_decref(user);
		return svc_answer(resp, &res);
	}
	return session_answer(t, resp, 201, &s, user);
}

static int session_get(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p = http_request_principal(req);
	struct store_res *r = NULL;
	char csrf[TOKEN_HASH_LEN * 2 + 1];
	json_t *out;

	if (user_read(t, resp, p->user_id, NULL, &r) < 0)
		return 0;
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		return tw_fail(resp, 404, "not_found", "no such user");
	}
	out = json_pack("{s:o}", "user", user_json(r));
	store_res_free(r);
	if (p->session_id != 0) {
		/* The cookie's, unless the session's token came in a header. */
		const char *cookie = http_request_cookie(req, TW_SESSION_COOKIE);
		struct store_param ps[] = {store_int64(p->session_id)};

		if (tw_query(t, resp, "SELECT expires FROM sessions WHERE id = ?", ps, 1, &r) < 0) {
			json_decref(out);
			return 0;
		}
		if (store_res_nrows(r) == 1)
			json_object_set_new(out, "expires", tw_time(store_res_int64(r, 0, 0)));
		store_res_free(r);
		if (cookie != NULL && tw_csrf_token(cookie, csrf) == 0)
			json_object_set_new(out, "csrf", json_string(csrf));
	}
	http_response_header(resp, "Cache-Control", "no-store");
	http_response_json(resp, 200, out);
	return 0;
}

static int session_close_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	const int64_t *id = arg;
	struct store_param ps[] = {store_int64(x->now), store_int64(*id)};
	int rc = svc_write(x, c, REC_SESSIONS,
			   "UPDATE sessions SET ended = ? WHERE id = ? AND ended IS NULL", ps, 2,
			   NULL);

	if (rc == YG_ENOTFOUND)
		return svc_refuse(x->res, SVC_NOT_FOUND, "not_found", "the session has ended");
	return rc < 0 ? rc : svc_changed(x, c, CHANGE_SESSION_CLOSE, *id);
}

static int logout(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p = http_request_principal(req);
	struct svc_result res;
	int64_t id = p->session_id;

	if (id == 0)
		return tw_fail(resp, 400, "not_a_session",
			       "this is an API token, not a browser session: an admin revokes it");
	if (svc_run(t, t->st, p, false, session_close_body, &id, &res) < 0)
		return svc_answer(resp, &res);
	tw_auth_forget_all(t);
	cookie_set(t, resp, "", 0);
	http_response_status(resp, 204);
	return 0;
}

/* ---- preferences -------------------------------------------------------- */

/* Whether name is a time zone of the system's database (tzdata): a file
 * under TZ_DIR that begins as one does. */
static bool tz_known(const char *name)
{
	char path[sizeof(TZ_DIR) + 64], magic[4];
	size_t n = strlen(name);
	int fd;
	bool ok;

	if (n == 0 || n > 63 || name[0] == '/' || strstr(name, "..") != NULL ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") != n)
		return false;
	snprintf(path, sizeof(path), TZ_DIR "%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return false;
	ok = read(fd, magic, sizeof(magic)) == sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

struct prefs {
	int64_t user_id;
	char language[8], time_zone[64];
};

static int prefs_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	const struct prefs *in = arg;
	struct store_param ps[] = {store_int64(in->user_id), store_text(in->language),
				   store_text(in->time_zone), store_int64(x->now)};
	int rc = svc_write(x, c, REC_USER_PREFERENCES,
			   "INSERT INTO user_preferences (user_id, language, time_zone, changed) "
			   "VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
			   "language = excluded.language, time_zone = excluded.time_zone, "
			   "changed = excluded.changed",
			   ps, 4, NULL);

	return rc < 0 ? rc : svc_changed(x, c, CHANGE_USER_PREFERENCES, in->user_id);
}

static int preferences_put(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"language", "time_zone", NULL};
	struct tower *t = ctx;
	const struct principal *p = http_request_principal(req);
	const json_t *b = http_request_json(req);
	const json_t *jl = json_object_get(b, "language"), *jz = json_object_get(b, "time_zone");
	const char *lang = json_string_value(jl), *tz = json_string_value(jz);
	struct store_res *r = NULL;
	struct svc_result res;
	struct prefs in = {.user_id = p->user_id};
	bool bad = false;

	if (tw_only_fields(resp, b, fields, "preferences") < 0)
		return 0;
	http_response_error(resp, 422, "validation_failed", "the preferences are not valid");
	if ((jl != NULL && (lang == NULL || (strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0))))
		bad |= http_response_error_field(resp, "language", "must be ja or en") == 0;
	if (jz != NULL && (tz == NULL || !tz_known(tz)))
		bad |= http_response_error_field(resp, "time_zone",
						 "must be a time zone such as Asia/Tokyo") == 0;
	if (jl == NULL && jz == NULL)
		bad |= http_response_error_field(resp, "language",
						 "give language, time_zone or both") == 0;
	if (bad)
		return 0;
	if (user_read(t, resp, p->user_id, NULL, &r) < 0)
		return 0;
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		return tw_fail(resp, 404, "not_found", "no such user");
	}
	json_t *u = user_json(r);
	store_res_free(r);
	snprintf(in.language, sizeof(in.language), "%s",
		 lang ? lang : json_string_value(json_object_get(u, "language")));
	snprintf(in.time_zone, sizeof(in.time_zone), "%s",
		 tz ? tz : json_string_value(json_object_get(u, "time_zone")));
	if (svc_run(t, t->st, p, false, prefs_body, &in, &res) < 0) {
		json_decref(u);
		return svc_answer(resp, &res);
	}
	json_object_set_new(u, "language", json_string(in.language));
	json_object_set_new(u, "time_zone", json_string(in.time_zone));
	http_response_json(resp, 200, u);
	return 0;
}

/* ---- passwords ---------------------------------------------------------- */

struct pw_set {
	int64_t user_id;
	char hash[crypto_pwhash_STRBYTES];
};

static int pw_set_body(struct store_conn *c, struct svc_tx *x, void *arg)
{
	const struct pw_set *in = arg;
	struct store_param ps[] = {store_int64(in->user_id), store_text(in->hash),
				   store_int64(x->now)};
	int rc = svc_write(x, c, REC_USER_PASSWORDS,
			   "INSERT INTO user_passwords (user_id, hash, changed) VALUES (?, ?, ?) "
			   "ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, "
			   "changed = excluded.changed",
			   ps, 3, NULL);

	if (rc == YG_EINVAL) /* the foreign key */
		return svc_refuse(x->res, SVC_NOT_FOUND, "not_found", "no such user");
	return rc < 0 ? rc : svc_changed(x, c, CHANGE_USER_PASSWORD, in->user_id);
}

/* Hashes and stores a new password for user_id; 0, or -1 answered. */
static int pw_store(struct tower *t, struct http_response *resp, const struct principal *p,
		    int64_t user_id, const char *password)
{
	struct pw_set in = {.user_id = user_id};
	struct svc_result res;
	int rc = pw_hash(password, in.hash);

	if (rc < 0)
		return tw_fail(resp, 503, "busy", "the tower is checking other passwords: try again"),
		       -1;
	rc = svc_run(t, t->st, p, false, pw_set_body, &in, &res);
	sodium_memzero(in.hash, sizeof(in.hash));
	if (rc < 0)
		return svc_answer(resp, &res), -1;
	tw_auth_forget_all(t); /* the user's sessions end now, not at the cache's TTL */
	return 0;
}

static int password_change(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"current", "new", NULL};
	struct tower *t = ctx;
	const struct principal *p = http_request_principal(req);
	const json_t *b = http_request_json(req);
	const char *cur = json_string_value(json_object_get(b, "current")),
		   *neu = json_string_value(json_object_get(b, "new")), *fault = pw_fault(neu);
	struct store_res *r = NULL;
	int ok;

	/* Who first, then what they sent (as tw_need() does for the rest). */
	if (p->role == ROLE_SENSOR)
		return tw_fail(resp, 403, "forbidden", "a sensor has no password");
	if (tw_only_fields(resp, b, fields, "password change") < 0)
		return 0;
	if (cur == NULL || strlen(cur) > PASSWORD_MAX || fault != NULL) {
		http_response_error(resp, 422, "validation_failed", "the password change is not valid");
		if (cur == NULL || strlen(cur) > PASSWORD_MAX)
			http_response_error_field(resp, "current", "is required: the password now");
		if (fault != NULL)
			http_response_error_field(resp, "new", fault);
		return 0;
	}
	if (user_read(t, resp, p->user_id, NULL, &r) < 0)
		return 0;
	const char *name = store_res_nrows(r) == 1 ? store_res_text(r, 0, tw_col(r, "name")) : "";
	char name_copy[201];
	snprintf(name_copy, sizeof(name_copy), "%s", name);
	if (fail_wait(name_copy) > 0) {
		store_res_free(r);
		return tw_fail(resp, 429, "too_many_attempts",
			       "too many wrong passwords for this name: try again later");
	}
	ok = pw_check(store_res_nrows(r) == 1 && !store_res_isnull(r, 0, tw_col(r, "password"))
			      ? store_res_text(r, 0, tw_col(r, "password"))
			      : NULL,
		      cur);
	if (ok <= 0) {
		store_res_free(r);
		if (ok < 0)
			return tw_fail(resp, 503, "busy", "the tower is checking other logins");
		fail_count(name_copy, true);
		http_response_error(resp, 422, "validation_failed", "the password change is not valid");
		http_response_error_field(resp, "current", "is not your password");
		return 0;
	}
	json_t *user = user_json(r);
	store_res_free(r);
	if (pw_store(t, resp, p, p->user_id, neu) < 0) {
		json_decref(user);
		return 0;
	}
	/* Every session of the user ended with the change, this one too: a
	 * browser that changed it goes on in a new one. */
	struct session_open s;
	struct svc_result res;
	memset(&s, 0, sizeof(s));
	s.p = *p;
	s.p.session_id = 0;
	if (p->session_id == 0) {
		json_decref(user);
		http_response_status(resp, 204);
		return 0;
	}
	if (svc_run(t, t->st, &s.p, false, session_open_body, &s, &res) < 0) {
		json_decref(user);
		cookie_set(t, resp, "", 0);
		return svc_answer(resp, &res);
	}
	return session_answer(t, resp, 200, &s, user);
}

static int password_set(struct http_request *req, struct http_response *resp, void *ctx)
{
	static const char *const fields[] = {"password", NULL};
	struct tower *t = ctx;
	const struct principal *p;
	const json_t *b = http_request_json(req);
	const char *pwd = json_string_value(json_object_get(b, "password")), *fault = pw_fault(pwd);
	int64_t id = tw_order_id(req);
	struct store_res *r = NULL;

	if (tw_need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE ||
	    tw_only_fields(resp, b, fields, "password") < 0)
		return 0;
	if (fault != NULL) {
		http_response_error(resp, 422, "validation_failed", "the password is not valid");
		http_response_error_field(resp, "password", fault);
		return 0;
	}
	if (id == 0 || user_read(t, resp, id, NULL, &r) < 0)
		return id == 0 ? tw_fail(resp, 404, "not_found", "no such user") : 0;
	if (store_res_nrows(r) != 1) {
		store_res_free(r);
		return tw_fail(resp, 404, "not_found", "no such user");
	}
	bool sensor = strcmp(store_res_text(r, 0, tw_col(r, "role")), "sensor") == 0;
	store_res_free(r);
	if (sensor) {
		http_response_error(resp, 422, "validation_failed", "the password is not valid");
		http_response_error_field(resp, "password",
					  "a sensor is a machine: it has a token, not a password");
		return 0;
	}
	if (pw_store(t, resp, p, id, pwd) < 0)
		return 0;
	http_response_status(resp, 204);
	return 0;
}

static int users_list(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const struct principal *p;
	const char *name = http_request_query(req, "name");
	struct store_res *r = NULL;
	json_t *a;

	if (tw_need(req, resp, ACT_ADMIN, &p) == SCOPE_NONE)
		return 0;
	struct store_param ps[] = {store_text(name != NULL ? name : ""),
				   store_text(name != NULL ? name : "")};
	if (tw_query(t, resp,
		     "SELECT u.id, u.name, u.role, u.org_id, u.sectors, u.disabled, "
		     "pw.changed AS password_changed FROM users u "
		     "LEFT JOIN user_passwords pw ON pw.user_id = u.id "
		     "WHERE ? = '' OR u.name = ? ORDER BY u.id",
		     ps, 2, &r) < 0)
		return 0;
	a = json_array();
	for (size_t i = 0; i < store_res_nrows(r); i++) {
		json_t *u = json_pack(
			"{s:I,s:s,s:s,s:b,s:b}", "id",
			(json_int_t)store_res_int64(r, i, tw_col(r, "id")), "name",
			store_res_text(r, i, tw_col(r, "name")), "role",
			store_res_text(r, i, tw_col(r, "role")), "has_password",
			!store_res_isnull(r, i, tw_col(r, "password_changed")), "disabled",
			!store_res_isnull(r, i, tw_col(r, "disabled")));
		if (!store_res_isnull(r, i, tw_col(r, "org_id")))
			json_object_set_new(u, "org_id",
					    json_integer(store_res_int64(r, i, tw_col(r, "org_id"))));
		json_array_append_new(a, u);
	}
	store_res_free(r);
	http_response_json(resp, 200, json_pack("{s:o}", "users", a));
	return 0;
}

const struct tower_route tw_login_routes[] = {
	{HTTP_POST, "/api/v1/session", HTTP_ROUTE_JSON, login},
	{HTTP_GET, "/api/v1/session", HTTP_ROUTE_AUTH, session_get},
	{HTTP_DELETE, "/api/v1/session", HTTP_ROUTE_AUTH, logout},
	{HTTP_PUT, "/api/v1/session/preferences", TW_AJ, preferences_put},
	{HTTP_POST, "/api/v1/session/password", TW_AJ, password_change},
	{HTTP_PUT, "/api/v1/users/{id}/password", TW_AJ, password_set},
	{HTTP_GET, "/api/v1/users", HTTP_ROUTE_AUTH, users_list},
	{0, NULL, 0, NULL},
};
