/*
 * dnnq-fakedaemon: tests/fakedaemon.h's hostile daemon as a process, for
 * the Python client's tests (python/tests/test_hostile.py). It prints
 * "SOCKET HELLO_FAULTS MODEL_FAULTS" on one line, then reads commands on
 * stdin, one a line, and answers each with "ok" (or "error: ..."):
 *
 *   hello N      the next HELLO replies broken the Nth way (0: whole)
 *   model N      the next MODEL replies broken the Nth way (0: whole)
 *   mutate SEED  the next sessions' replies and region mutated (0: off)
 *   pause N      the worker leaves the ring alone (1) or serves it (0)
 *   flood N      the worker keeps the completion socket full (1) or not (0)
 *   blocking N   the worker clears O_NONBLOCK on the client's completion end
 *                before each completion (1) or not (0)
 *   endless N    INFO and MODEL_STATS answer every index, claiming it + N
 *                models (0: off)
 *   kill         a sudden death: the session closes, no beat, no work
 *   ended N      waits (up to 2 s) for N sessions to have ended
 *
 * and stops at the end of stdin.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tests/fakedaemon.h"

#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static struct fake_daemon fake;

/* One command; its answer's text (NULL: "ok"). */
static const char *command(const char *line)
{
	char word[16];
	unsigned long long v = 0;
	int n = sscanf(line, "%15s %llu", word, &v);
	if (n == 2 && (!strcmp(word, "hello") || !strcmp(word, "model"))) {
		bool hello = word[0] == 'h';
		if (v >= (hello ? FAKE_HELLO_NFAULTS : FAKE_MODEL_NFAULTS))
			return "error: no such fault";
		STORE(hello ? &fake.hello_fault : &fake.model_fault, (int)v);
	} else if (n == 2 && !strcmp(word, "mutate"))
		STORE(&fake.mutate_seed, (uint64_t)v);
	else if (n == 2 && !strcmp(word, "endless"))
		STORE(&fake.endless, (uint32_t)v);
	else if (n == 2 && !strcmp(word, "flood"))
		STORE(&fake.flood, v != 0);
	else if (n == 2 && !strcmp(word, "blocking"))
		STORE(&fake.blocking, v != 0);
	else if (n == 2 && !strcmp(word, "pause"))
		STORE(&fake.paused, v != 0);
	else if (n == 1 && !strcmp(word, "kill"))
		fake_daemon_kill(&fake);
	else if (n == 2 && !strcmp(word, "ended"))
		return fake_daemon_wait_ended(&fake, v) ? "error: sessions still open" : NULL;
	else
		return "error: unknown command";
	return NULL;
}

int main(void)
{
	if (fake_daemon_start(&fake)) {
		perror("dnnq-fakedaemon: start");
		return 1;
	}
	printf("%s %d %d\n", fake.path, FAKE_HELLO_NFAULTS, FAKE_MODEL_NFAULTS);
	fflush(stdout);
	char line[128];
	while (fgets(line, sizeof line, stdin)) {
		const char *err = command(line);
		printf("%s\n", err ? err : "ok");
		fflush(stdout);
	}
	fake_daemon_stop(&fake);
	return 0;
}
