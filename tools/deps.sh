#!/bin/sh
# Installs the Debian packages dnnq needs, and only the missing ones.
#   tools/deps.sh          build + test packages (g++: make check builds a
#                          C++ program against the installed dnnq.h;
#                          systemd: systemd-analyze and
#                          systemd-socket-activate for the systemd suite;
#                          groff-base: it renders the man pages; clang and
#                          libclang-rt-14-dev: libFuzzer for `make fuzz`;
#                          libprotobuf-c-dev, protobuf-c-compiler and
#                          libonnx-dev: the ONNX importer, generated from
#                          onnx/onnx.proto at build time; libopenblas-dev:
#                          the engine's fp32 sgemm, engine/f32.c, and a
#                          benchmark peer; python3-numpy, python3-pytest and
#                          python3-mypy:
#                          the Python client's tests, `make check-python`;
#                          libonnx-testdata: ONNX's backend node tests,
#                          suite nodetests)
#   tools/deps.sh --bench  also the other benchmark peer (oneDNN) and what
#                          exports the bench fixtures (python3-torch,
#                          python3-torchvision, python3-torchaudio for
#                          bench/audio-zoo.py, python3-onnx) and writes
#                          the test fixtures again (tools/mkonnx.py trains
#                          its digits models on python3-sklearn's data)
# Not root: prints the apt-get command to run instead and fails.
set -eu
pkgs="gcc g++ make pkg-config liburing-dev libyaml-dev libsystemd-dev check systemd groff-base clang libclang-rt-14-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev libopenblas-dev python3-numpy python3-pytest python3-mypy libonnx-testdata"
[ "${1:-}" = "--bench" ] && pkgs="$pkgs libdnnl-dev python3-torch python3-torchvision python3-torchaudio python3-onnx python3-sklearn"
missing=""
for p in $pkgs; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "dnnq: missing Debian packages:$missing" >&2
	echo "dnnq: run as root:  apt-get install -y$missing" >&2
	exit 1
fi
echo "dnnq: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q $missing || { apt-get update -q && apt-get install -y -q $missing; }
