/* dnnq_path_walk: the walk of shm/dnnq_path.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shm/dnnq_path.h"

int dnnq_path_walk(const char *path, bool last, dnnq_walk_fn *fn, void *arg, char *at)
{
	char rest[PATH_MAX], next[PATH_MAX], target[PATH_MAX];
	struct stat st;
	at[0] = '\0';
	if (path[0] != '/' && !getcwd(at, PATH_MAX))
		return DNNQ_WALK_CWD;
	if ((size_t)snprintf(rest, sizeof rest, "%s/%s", at, path) >= sizeof rest)
		return DNNQ_WALK_LONG;
	strcpy(at, "/");
	int rc = lstat(at, &st) ? DNNQ_WALK_MISSING : fn(arg, at, &st);
	if (rc)
		return rc;
	at[0] = '\0';           /* "" is /: each name adds "/name" */
	unsigned links = 0;
	for (const char *p = rest; *p;) {
		size_t len = strcspn(p, "/");
		const char *name = p;
		p += len + strspn(p + len, "/");
		if (!*p && !last)
			break;  /* name is the last: at is its directory */
		if (!len || (len == 1 && name[0] == '.'))
			continue;
		if (len == 2 && name[0] == '.' && name[1] == '.') {
			char *up = strrchr(at, '/');    /* none in "", /'s own ".." */
			if (up)
				*up = '\0';
			continue;
		}
		size_t an = strlen(at);
		if (an + 1 + len >= PATH_MAX)
			return DNNQ_WALK_LONG;
		snprintf(at + an, PATH_MAX - an, "/%.*s", (int)len, name);
		if (lstat(at, &st))
			return DNNQ_WALK_MISSING;
		if (S_ISLNK(st.st_mode) && ++links > 40)
			return DNNQ_WALK_LOOP;
		if ((rc = fn(arg, at, &st)))
			return rc;
		if (!S_ISLNK(st.st_mode))
			continue;
		ssize_t t = readlink(at, target, sizeof target - 1);
		if (t <= 0) {
			if (!t)
				errno = ENOENT; /* the kernel's answer for an empty target */
			return DNNQ_WALK_READLINK;
		}
		target[t] = '\0';
		if ((size_t)snprintf(next, sizeof next, "%s/%s", target, p) >= sizeof next)
			return DNNQ_WALK_LONG;
		memcpy(rest, next, sizeof rest);
		p = rest;
		at[target[0] == '/' ? 0 : an] = '\0';
	}
	if (!*at)
		strcpy(at, "/");
	return 0;
}
