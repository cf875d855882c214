/* writedir.c - the countermeasure files on disk, each replaced atomically. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "counter/counter_int.h"

#define CM_FILE_MAX (64u << 20) /* per file */

/* 1 if dirfd/name holds exactly len bytes equal to p. */
static int same_content(int dirfd, const char *name, const char *p, size_t len)
{
	char buf[65536];
	struct stat st;
	size_t off = 0;
	int fd, same = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len)
		goto out;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r == 0 && off != len) || (size_t)r > len - off)
			goto out;
		if (r == 0)
			break;
		if (memcmp(buf, p + off, (size_t)r) != 0)
			goto out;
		off += (size_t)r;
	}
	same = 1;
out:
	close(fd);
	return same;
}

/* Writes p to dirfd/name through a temporary file, fsync and rename.
 * Returns 0 (1 if the file was already so) or YG_EIO with err set. */
static int put_file(int dirfd, const char *dirname, const char *name, const char *p, size_t len,
                    char *err, size_t errlen)
{
	char tmp[300];
	size_t off = 0;
	int fd;

	if (same_content(dirfd, name, p, len))
		return 1;
	snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid());
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			errno = e;
			goto fail_unlink;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		goto fail_unlink;
	}
	if (close(fd) < 0)
		goto fail_unlink;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail_unlink;
	return 0;
fail_unlink:;
	int e = errno;
	unlinkat(dirfd, tmp, 0);
	errno = e;
fail:
	snprintf(err, errlen, "%s/%s: %s", dirname, name, strerror(errno));
	return YG_EIO;
}

static int sync_dir(int dirfd, const char *dirname, char *err, size_t errlen)
{
	if (fsync(dirfd) < 0) {
		snprintf(err, errlen, "%s: fsync: %s", dirname, strerror(errno));
		return YG_EIO;
	}
	return 0;
}

/* Removes notices/<id>.txt and .json whose id no active notice case has. */
static int prune_notices(int ndir, const char *dirname, const struct cm_item *it, size_t k,
                         int *changed, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(ndir);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s/notices: %s", dirname, strerror(errno));
		return YG_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		long long id;
		int keep = 0;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue; /* not ours: temporary files, dot files */
		errno = 0;
		id = strtoll(de->d_name, &end, 10);
		if (errno != 0 || (strcmp(end, ".txt") != 0 && strcmp(end, ".json") != 0))
			continue;
		for (size_t i = 0; i < k && !keep; i++)
			keep = it[i].c->id == id;
		if (keep)
			continue;
		if (unlinkat(ndir, de->d_name, 0) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "%s/notices/%s: %s", dirname, de->d_name,
			         strerror(errno));
			closedir(d);
			return YG_EIO;
		}
		*changed = 1;
	}
	closedir(d);
	return 0;
}

int cm_write_dir(const char *dir, const struct cm_case *c, size_t n, uint32_t serial, int64_t now,
                 const struct cm_config *cfg, char *err, size_t errlen)
{
	struct cm_item *it = NULL;
	struct jbuf rpz = {0}, nft = {0}, bird = {0}, list = {0}, note = {0};
	size_t k = 0;
	int dirfd = -1, ndir = -1, rc, changed = 0, nchanged = 0, with_bird;
	char name[64];

	err[0] = '\0';
	/* Everything is checked and rendered before the first write. */
	for (size_t i = 0; i < n; i++)
		if ((rc = cm_case_check(&c[i], cfg, err, errlen)) < 0)
			return rc;
	if ((rc = cm_config_check(cfg, err, errlen)) < 0)
		return rc;
	if ((rc = cm_select(c, n, CM_NOTICE, now, cfg, &it, &k)) < 0) {
		snprintf(err, errlen, "cases: %s (two cases with one id?)", yg_strerror(rc));
		goto out;
	}
	with_bird = cfg && cfg->bgp_local_as && cfg->bgp_router_id && cfg->bgp_neighbor &&
	            cfg->bgp_neighbor_as;
	if ((rc = jbuf_init(&rpz, 4096, CM_FILE_MAX)) < 0 ||
	    (rc = jbuf_init(&nft, 4096, CM_FILE_MAX)) < 0 ||
	    (rc = jbuf_init(&bird, 4096, CM_FILE_MAX)) < 0 ||
	    (rc = jbuf_init(&list, 4096, CM_FILE_MAX)) < 0 ||
	    (rc = jbuf_init(&note, 4096, CM_FILE_MAX)) < 0)
		goto fail_render;
	if ((rc = cm_rpz(c, n, serial, now, cfg, &rpz)) < 0 ||
	    (rc = cm_nft(c, n, now, cfg, &nft)) < 0 ||
	    (with_bird && (rc = cm_bird(c, n, now, cfg, &bird)) < 0) ||
	    (rc = cm_blocklist(c, n, now, &list)) < 0)
		goto fail_render;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		rc = YG_EIO;
		goto out;
	}
	if ((rc = put_file(dirfd, dir, "rpz.zone", rpz.buf, rpz.len, err, errlen)) < 0)
		goto out;
	changed |= rc == 0;
	if ((rc = put_file(dirfd, dir, "nftables.nft", nft.buf, nft.len, err, errlen)) < 0)
		goto out;
	changed |= rc == 0;
	if (with_bird) {
		if ((rc = put_file(dirfd, dir, "bird.conf", bird.buf, bird.len, err, errlen)) < 0)
			goto out;
		changed |= rc == 0;
	}
	if ((rc = put_file(dirfd, dir, "blocklist.txt", list.buf, list.len, err, errlen)) < 0)
		goto out;
	changed |= rc == 0;

	if (mkdirat(dirfd, "notices", 0755) == 0)
		changed = 1;
	else if (errno != EEXIST) {
		snprintf(err, errlen, "%s/notices: %s", dir, strerror(errno));
		rc = YG_EIO;
		goto out;
	}
	ndir = openat(dirfd, "notices", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (ndir < 0) {
		snprintf(err, errlen, "%s/notices: %s", dir, strerror(errno));
		rc = YG_EIO;
		goto out;
	}
	for (size_t i = 0; i < k; i++) {
		for (int json = 0; json < 2; json++) {
			jbuf_reset(&note);
			rc = json ? cm_notice_json(it[i].c, cfg, &note)
			          : cm_notice_text(it[i].c, cfg, &note);
			if (rc < 0)
				goto fail_render;
			snprintf(name, sizeof(name), "%lld.%s", (long long)it[i].c->id,
			         json ? "json" : "txt");
			if ((rc = put_file(ndir, dir, name, note.buf, note.len, err, errlen)) < 0)
				goto out;
			nchanged |= rc == 0;
		}
	}
	if ((rc = prune_notices(ndir, dir, it, k, &nchanged, err, errlen)) < 0)
		goto out;
	if (nchanged && (rc = sync_dir(ndir, dir, err, errlen)) < 0)
		goto out;
	rc = changed ? sync_dir(dirfd, dir, err, errlen) : 0;
	goto out;
fail_render:
	snprintf(err, errlen, "rendering the countermeasures: %s", yg_strerror(rc));
out:
	if (ndir >= 0)
		close(ndir);
	if (dirfd >= 0)
		close(dirfd);
	jbuf_fini(&rpz);
	jbuf_fini(&nft);
	jbuf_fini(&bird);
	jbuf_fini(&list);
	jbuf_fini(&note);
	free(it);
	return rc;
}
