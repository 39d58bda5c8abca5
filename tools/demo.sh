#!/bin/sh
# tools/demo.sh BUILD — what `make demo` shows once the build is done: an
# ONNX model converted, then served by dnnqd to dnnqctl through shared
# memory.
#
# Converts the digits CNN (tests/onnx/digits/cnn.onnx, trained by
# tools/mkonnx.py on scikit-learn's handwritten digits) with dnnq-convert,
# calibrated on the 128 images shipped beside it, into a temporary
# directory; starts BUILD/bin/dnnqd there (its own socket, every other
# setting the default: dnnqd runs on its embedded default config, no
# --config), waits until it answers, runs one `dnnqctl infer` on a held-out
# test image, checks the predicted digit against the image's label, and
# stops the daemon with SIGTERM, which must end it with status 0. The trap
# stops the daemon and removes the directory however the script ends.
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

digits=tests/onnx/digits
label=$(sed -n 's/^ *"demo_label": *\([0-9]*\).*/\1/p' "$digits/digits.json")
say "dnnq-convert $digits/cnn.onnx --calib calib_x.npy --per-channel"
say "  (Conv+ReLU, MaxPool, Conv+ReLU, MaxPool, Flatten, Gemm: fp32 top-1 96.9 %)"
"$bin/dnnq-convert" "$digits/cnn.onnx" -o "$tmp/digits.dnnq" --calib "$digits/calib_x.npy" \
	--per-channel | sed 's/^/  /'

"$bin/dnnqd" --socket "$sock" --model "digits=$tmp/digits.dnnq" >"$tmp/dnnqd.log" 2>&1 &
pid=$!
wait_ready
say "dnnqd (pid $pid) is ready on $sock"

say "dnnqctl infer digits --input input=demo_x.npy (a held-out image of a $label)"
"$bin/dnnqctl" --socket "$sock" infer digits --input "input=$digits/demo_x.npy" \
	--output-dir "$tmp" >"$tmp/infer.out"
sed 's/^/  /' "$tmp/infer.out"
got=$(sed -n '/^output logits/{n;s/^ *predicted class \([0-9]*\).*/\1/p;}' "$tmp/infer.out")
latency=$(sed -n 's/^model digits, batch 1: \(.*\)$/\1/p' "$tmp/infer.out")
if [ "$got" != "$label" ]; then
	say "FAIL: dnnqd read the digit as '$got', the label says $label"
	exit 1
fi
say "dnnqd read the digit as $got (the label says $label), latency $latency"

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
