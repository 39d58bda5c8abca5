#!/bin/sh
# bench/reserve-ab.sh — the reserve's fairness, alternated A/B
# (docs/serving.md "The reserve").
#
#   bench/reserve-ab.sh ROUNDS SECONDS NAME=DNNQD[:MS] ... [-- INTERVAL_MS ...]
#
# For each round, each INTERVAL_MS (default: 32 5) and each dnnqd in turn:
# a fresh dnnqd serving ResNet-18 and mobilenet_v3_small on every CPU
# (with workers.reserve_max_ms: MS when given; a dnnqd before that key
# takes none); a
# greedy client of uid nobody keeping 4 sessions of 16 ResNet-18 requests
# of batch 16 queued (dnnqctl bench -c 4 -a 16 -b 16); meanwhile an honest
# client of root, one mobilenet_v3_small request every INTERVAL_MS
# (dnnqctl bench --interval; INTERVAL_MS 0: none, the greedy uid
# alone). One line each: the honest client's p50, p99
# and max (ms), the greedy uid's requests/s, the load average. Runs as
# root (to be two uids); models from DNNQ_BENCH_MODELS_DIR (default
# /work/main/build/bench-models); the dnnqctl is build/bin's.
set -eu
rounds=$1 secs=$2
shift 2
daemons=
while [ $# -gt 0 ] && [ "$1" != -- ]; do daemons="$daemons $1"; shift; done
[ $# -gt 0 ] && shift
intervals=${*:-32 5}
models=${DNNQ_BENCH_MODELS_DIR:-/work/main/build/bench-models}
ctl=$(pwd)/build/bin/dnnqctl
dir=$(mktemp -d /tmp/reserve-ab.XXXXXX)
chmod 755 "$dir"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
cat > "$dir/base.yaml" <<YAML
listen:
  path: $dir/d.sock
  mode: 0666
access:
  users: [nobody]
models:
  - name: resnet18
    path: $models/resnet18.dnnq
  - name: mv3
    path: $models/mobilenet_v3_small.dnnq
YAML
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
for r in $(seq "$rounds"); do
	for iv in $intervals; do
		for nd in $daemons; do
			name=${nd%%=*} bin=${nd#*=} ms=
			case $bin in *:*) ms=${bin##*:} bin=${bin%:*} ;; esac
			cp "$dir/base.yaml" "$dir/d.yaml"
			[ -n "$ms" ] && printf 'workers:\n  reserve_max_ms: %s\n' "$ms" >> "$dir/d.yaml"
			"$bin" --config "$dir/d.yaml" --log-level warn &
			pid=$!
			for _ in $(seq 100); do [ -S "$dir/d.sock" ] && break; sleep 0.1; done
			sleep 1	# the models' warm-up
			setpriv --reuid=nobody --regid=nogroup --clear-groups \
				"$ctl" --socket "$dir/d.sock" bench resnet18 -c 4 -a 16 -b 16 \
				-d "$((secs + 1))" --json > "$dir/greedy.json" &
			g=$!
			sleep 0.5
			if [ "$iv" = 0 ]; then
				echo '{}' > "$dir/honest.json"
				sleep "$secs"
			else
				"$ctl" --socket "$dir/d.sock" bench mv3 --interval "$iv" -d "$secs" \
					--json > "$dir/honest.json"
			fi
			wait "$g"
			load=$(cut -d' ' -f1 /proc/loadavg)
			kill "$pid"; wait "$pid" || true; pid=
			rm -f "$dir/d.sock"
			h=$(cat "$dir/honest.json")
			if [ "$iv" = 0 ]; then
				printf '%s round %s alone: greedy %s requests/s, load %s\n' "$name" "$r" \
					"$(field requests_per_s < "$dir/greedy.json")" "$load"
				continue
			fi
			printf '%s round %s interval %s ms: honest p50 %.2f p99 %.2f max %.2f ms (%s requests), greedy %s requests/s, load %s\n' \
				"$name" "$r" "$iv" \
				"$(echo "$h" | field p50 | awk '{print $1/1000}')" \
				"$(echo "$h" | field p99 | awk '{print $1/1000}')" \
				"$(echo "$h" | field max | awk '{print $1/1000}')" \
				"$(echo "$h" | field requests)" \
				"$(field requests_per_s < "$dir/greedy.json")" "$load"
		done
	done
done
