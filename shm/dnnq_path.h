/*
 * A path walked name by name as the kernel resolves it, for callers that
 * judge what the way passes through: dnnqd every symlink on the way to a
 * model, config or socket directory (conf/api.c), libdnnq-client every
 * directory on the way to the daemon's socket (client/control.c). realpath
 * answers only where the way ends; these need each step.
 *
 * The walk starts at / (a relative path is the working directory's, whose
 * names are walked too: getcwd's has no link, so they are judged as
 * names), and lstats each name: "." stays, ".." goes up (/'s own ".." is
 * /), a symlink's target is put in front of the rest of the path, an
 * absolute one starting again at /, and at most 40 links are followed (the
 * kernel's limit). libc only: it is compiled into libdnnq-client.
 */
#ifndef DNNQ_PATH_H
#define DNNQ_PATH_H

#include <stdbool.h>
#include <sys/stat.h>

/* Why a walk stopped short (errno, where there is one, says more; `at`
 * names the name it stopped at). A callback's own result is negative. */
enum dnnq_walk_stop {
	DNNQ_WALK_CWD = 1,      /* getcwd failed */
	DNNQ_WALK_MISSING,      /* lstat of at failed: a name that is not there */
	DNNQ_WALK_READLINK,     /* readlink of the link at failed, or read nothing */
	DNNQ_WALK_LONG,         /* the way, or a target with the rest, outgrew PATH_MAX */
	DNNQ_WALK_LOOP,         /* a 41st link */
};

/* Called with the path so far and its lstat for / first, then for each name
 * walked (a link before it is counted past 40 is not judged: the walk stops
 * with DNNQ_WALK_LOOP there): 0 goes on, a negative value stops the walk
 * and is its result. */
typedef int dnnq_walk_fn(void *arg, const char *at, const struct stat *st);

/* Walks path, calling fn(arg, ...) on the way; with last false the last
 * name (whatever it is: path names a file to be created, or a socket) is
 * not walked. at (PATH_MAX bytes): where the walk ended, the last
 * directory reached when last is false, or the name it stopped at.
 * Returns 0, fn's negative result or a dnnq_walk_stop, errno kept. */
int dnnq_path_walk(const char *path, bool last, dnnq_walk_fn *fn, void *arg, char *at);

#endif
