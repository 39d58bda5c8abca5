/*
 * What the config asks of the system (conf/internal.h): the CPUs this
 * process may run on, user and group names, the default socket path and
 * the directory relative model paths are resolved against. Kept apart so
 * the parser proper reads only its buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/internal.h"
#include "shm/dnnq_socket.h"

#define LOOKUP_BUF_MAX (1u << 20)

_Static_assert(DNNQ_CONFIG_CPUS_MAX == CPU_SETSIZE, "one worker slot per possible CPU");

int conf_affinity(cpu_set_t *s)
{
	CPU_ZERO(s);
	return sched_getaffinity(0, sizeof *s, s) ? -errno : 0;
}

/* "0-3,8": the set as a CPU list, cut short when buf is. */
void dnnq_config_format_cpus(const cpu_set_t *s, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (int c = 0; c < CPU_SETSIZE && n < len; c++) {
		if (!CPU_ISSET(c, s))
			continue;
		int e = c;
		while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, s))
			e++;
		n += (size_t)snprintf(buf + n, len - n, e > c ? "%s%d-%d" : "%s%d", n ? "," : "", c, e);
		c = e;
	}
}

/* The rule both dnnqd and the client library follow (shm/dnnq_socket.h). */
void conf_default_socket(char *buf, size_t len)
{
	dnnq_default_socket(geteuid(), getenv("XDG_RUNTIME_DIR"), buf, len);
}

/* One getpwnam_r / getgrnam_r call into buf; the id through *id. */
static int lookup_once(enum conf_id_kind kind, const char *name, char *buf, size_t size,
                       uint32_t *id, bool *found)
{
	struct passwd pw, *pwr = NULL;
	struct group gr, *grr = NULL;
	int e = kind == CONF_USER ? getpwnam_r(name, &pw, buf, size, &pwr)
	                          : getgrnam_r(name, &gr, buf, size, &grr);
	*found = pwr || grr;
	if (*found)
		*id = pwr ? (uint32_t)pwr->pw_uid : (uint32_t)grr->gr_gid;
	/* these mean "no such name" for some NSS modules */
	return e == ENOENT || e == ESRCH || e == EBADF || e == EPERM ? 0 : e;
}

int conf_lookup_id(enum conf_id_kind kind, const char *name, uint32_t *id, int *err)
{
	long hint = sysconf(kind == CONF_USER ? _SC_GETPW_R_SIZE_MAX : _SC_GETGR_R_SIZE_MAX);
	size_t size = hint > 0 && hint < (long)LOOKUP_BUF_MAX ? (size_t)hint : 16384;
	bool found = false;
	int e = ERANGE, rc = 0;
	char *buf = NULL;
	while (e == ERANGE && size <= LOOKUP_BUF_MAX) {
		char *b = realloc(buf, size);
		if (!b) {
			rc = DNNQ_E_NOMEM;
			goto out;
		}
		buf = b;
		e = lookup_once(kind, name, buf, size, id, &found);
		size *= 2;
	}
	*err = e;
	rc = e ? DNNQ_E_IO : found ? 0 : DNNQ_E_NOTFOUND;
out:
	free(buf);
	return rc;
}

int conf_base_dir(const char *file, char **out)
{
	const char *slash = file ? strrchr(file, '/') : NULL;
	size_t dlen = slash ? (size_t)(slash - file) : 0;
	char *cwd = NULL;
	*out = NULL;
	if (slash && file[0] == '/') {
		*out = strndup(file, dlen ? dlen : 1);
		return *out ? 0 : DNNQ_E_NOMEM;
	}
	if (!(cwd = getcwd(NULL, 0)))
		return errno == ENOMEM ? DNNQ_E_NOMEM : DNNQ_E_IO;
	if (!slash || (dlen == 1 && file[0] == '.')) {
		*out = cwd;
		return 0;
	}
	int n = asprintf(out, "%s/%.*s", strcmp(cwd, "/") ? cwd : "", (int)dlen, file);
	free(cwd);
	if (n < 0)
		*out = NULL;
	return n < 0 ? DNNQ_E_NOMEM : 0;
}
