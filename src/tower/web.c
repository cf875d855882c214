/* web.c - the dashboard's files (issue 15, docs/dashboard.md), served at
 * "/" from [web] root (yagura tower --web DIR): what `npm run build` made
 * of web/. The API keeps its own paths; everything else is a file of the
 * root, or, for a path with no extension (a page of the dashboard, which
 * routes in the browser), its index.html.
 *
 * A file is read on each request (the page cache keeps it): nothing to
 * reload when the dashboard is rebuilt. Its name must be plain segments,
 * no "." or ".." and no hidden files, and the file is opened relative to
 * the root without following links, so no request reads outside it. The
 * pages may load only the tower's own scripts (Content-Security-Policy). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tower/tower_int.h"

#define WEB_FILE_MAX (4u << 20) /* bytes of one file */
#define WEB_PATH_MAX 512

static const struct {
	const char *ext, *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
	{".txt", "text/plain; charset=utf-8"},
	{".map", "application/json"},
};

static const char *type_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* Whether rel ("assets/x.js") is a path the root may serve. */
static bool rel_ok(const char *rel)
{
	size_t n = strlen(rel);

	if (n == 0 || n >= WEB_PATH_MAX)
		return false;
	for (const char *s = rel; *s != '\0';) {
		const char *slash = strchr(s, '/');
		size_t len = slash ? (size_t)(slash - s) : strlen(s);

		if (len == 0 || s[0] == '.')
			return false;
		for (size_t i = 0; i < len; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
				return false;
		s += len + (slash != NULL);
	}
	return true;
}

/* Opens rel under the root directory root_fd, following no link on the
 * way. -1 with errno. */
static int open_under(int root_fd, const char *rel)
{
	char seg[WEB_PATH_MAX];
	int dir = dup(root_fd);

	while (dir >= 0) {
		const char *slash = strchr(rel, '/');
		size_t len = slash ? (size_t)(slash - rel) : strlen(rel);
		int fd;

		memcpy(seg, rel, len);
		seg[len] = '\0';
		fd = openat(dir, seg,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (slash ? O_DIRECTORY : 0));
		close(dir);
		if (slash == NULL || fd < 0)
			return fd;
		dir = fd;
		rel = slash + 1;
	}
	return -1;
}

static int web_file(struct http_request *req, struct http_response *resp, void *ctx)
{
	struct tower *t = ctx;
	const char *path = http_request_path(req), *rel = path + 1, *type;
	char index[] = "index.html";
	struct stat st;
	int root, fd;
	char *buf;

	if (strncmp(path, "/api/", 5) == 0 || strncmp(path, "/taxii2/", 8) == 0 ||
	    strncmp(path, "/log/", 5) == 0)
		return tw_fail(resp, 404, "not_found", "no such resource");
	if (t->cfg.web_root == NULL)
		return tw_fail(resp, 404, "not_found",
			       "the dashboard is not installed here: see [web] root");
	/* A page of the dashboard (no extension) is its index.html. */
	const char *last = strrchr(path, '/');
	if (*rel == '\0' || strchr(last, '.') == NULL)
		rel = index;
	if (!rel_ok(rel) || (type = type_of(rel)) == NULL)
		return tw_fail(resp, 404, "not_found", "no such file");
	if ((root = open(t->cfg.web_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tw_fail(resp, 404, "not_found", "the dashboard's directory cannot be opened");
	fd = open_under(root, rel);
	close(root);
	if (fd < 0)
		return tw_fail(resp, 404, "not_found", "no such file");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_FILE_MAX) {
		close(fd);
		return tw_fail(resp, 404, "not_found", "no such file");
	}
	buf = http_arena_alloc(http_request_arena(req), (size_t)st.st_size + 1);
	ssize_t got = 0;
	while (buf != NULL && got < st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)(st.st_size - got));
		if (n <= 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	if (buf == NULL || got != st.st_size)
		return tw_fail(resp, 500, "internal_error", "the file cannot be read");
	/* The build names its assets by their content: they never change. */
	http_response_header(resp, "Cache-Control",
			     strncmp(rel, "assets/", 7) == 0 ? "public, max-age=31536000, immutable"
							     : "no-cache");
	http_response_header(resp, "Content-Security-Policy",
			     "default-src 'self'; img-src 'self' data:; style-src 'self' "
			     "'unsafe-inline'; object-src 'none'; base-uri 'none'; "
			     "frame-ancestors 'none'; form-action 'self'");
	http_response_header(resp, "X-Content-Type-Options", "nosniff");
	http_response_header(resp, "Referrer-Policy", "no-referrer");
	return http_response_body(resp, 200, type, buf, (size_t)got) < 0 ? -1 : 0;
}

const struct tower_route tw_web_routes[] = {
	{HTTP_GET, "/", 0, web_file},
	{HTTP_GET, "/{path...}", 0, web_file},
	{0, NULL, 0, NULL},
};
