#!/bin/sh
# tools/demo.sh BUILD — what `make demo` shows once the build is done: dnnqd
# serving a model to dnnqctl through shared memory.
#
# Writes the demo model and its input with BUILD/bin/dnnq-mkdemo into a
# temporary directory, starts BUILD/bin/dnnqd there (its own socket, every
# other setting the default), waits until it answers, runs one
# `dnnqctl infer`, checks the daemon's class against the engine run
# in-process, and stops the daemon with SIGTERM, which must end it with
# status 0. dnnqd runs on its embedded default config (no --config). The
# trap stops the daemon and removes the directory however the script ends.
set -eu
build=${1:-build}
bin=$build/bin
tmp=$(mktemp -d /tmp/dnnq-demo-XXXXXX)
sock=$tmp/dnnqd.sock
pid=

say() { printf 'demo: %s\n' "$*"; }

cleanup() {
	status=$?
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ "$status" != 0 ] && [ -s "$tmp/dnnqd.log" ]; then
		say "dnnqd's log:"
		sed 's/^/  /' "$tmp/dnnqd.log" >&2
	fi
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Until dnnqctl gets an answer (10 s), failing early when dnnqd exits.
wait_ready() {
	i=0
	until "$bin/dnnqctl" --socket "$sock" status >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || { say "dnnqd exited before it served"; return 1; }
		i=$((i + 1))
		[ "$i" -le 200 ] || { say "dnnqd did not answer within 10 s"; return 1; }
		sleep 0.05
	done
}

say "demo model with synthetic weights; the digits CNN replaces it with issue 6"
say "  (model 'multi' of tools/serve-fixture.h: inputs a, b u8 [1,6,6,4] -> Add ->"
say "   Conv 3x3 + ReLU -> MaxPool 2x2 -> FC 10 -> logits u8, Softmax -> prob f32)"
expected=$("$bin/dnnq-mkdemo" "$tmp")

"$bin/dnnqd" --socket "$sock" --model "demo=$tmp/demo.dnnq" >"$tmp/dnnqd.log" 2>&1 &
pid=$!
wait_ready
say "dnnqd (pid $pid) is ready on $sock"

say "dnnqctl infer demo --input a=a.npy --input b=b.npy"
"$bin/dnnqctl" --socket "$sock" infer demo --input "a=$tmp/a.npy" --input "b=$tmp/b.npy" \
	--output-dir "$tmp" >"$tmp/infer.out"
sed 's/^/  /' "$tmp/infer.out"
got=$(sed -n '/^output prob/{n;s/^ *predicted class \([0-9]*\).*/\1/p;}' "$tmp/infer.out")
latency=$(sed -n 's/^model demo, batch 1: \(.*\)$/\1/p' "$tmp/infer.out")
if [ "$got" != "$expected" ]; then
	say "FAIL: dnnqd predicted class '$got', the engine in-process $expected"
	exit 1
fi
say "predicted class $got (the engine in-process agrees), latency $latency"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
if [ "$status" != 0 ]; then
	say "FAIL: dnnqd exited with status $status after SIGTERM"
	exit 1
fi
say "dnnqd stopped cleanly (SIGTERM, exit status 0); its log:"
sed 's/^/  /' "$tmp/dnnqd.log"
