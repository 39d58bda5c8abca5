/* dnnq_default_socket: the rule of shm/dnnq_socket.h. */
#include <stdio.h>

#include "shm/dnnq_socket.h"

char *dnnq_default_socket(uid_t uid, const char *xdg, char *buf, size_t len)
{
	size_t cap = len < DNNQ_SOCKET_PATH_MAX ? len : DNNQ_SOCKET_PATH_MAX;
	int n = -1;
	if (uid != 0 && xdg && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/dnnq/dnnqd.sock", xdg);
	if (n < 0 || (size_t)n >= cap)
		snprintf(buf, len, "%s", DNNQ_SYSTEM_SOCKET);
	return buf;
}
