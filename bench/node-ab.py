#!/usr/bin/python3
"""Per-node A/B of dnnq-run builds or thread counts on a busy host.

usage: bench/node-ab.py [--isa ISA] MODEL.dnnq ROUNDS REPEAT LABEL=DNNQ_RUN:THREADS ...

Runs `DNNQ_RUN MODEL -i input.npy --threads THREADS --pin --profile
--repeat REPEAT --json` for each configuration in turn, ROUNDS times
(input.npy beside the model, as `make bench-models` makes it; --isa ISA passed on
when given, e.g. avx2 to force the AVX2 table on an AVX-512 host), and prints
each node's fastest run ("min us") over all rounds per configuration, the
sums, and each round's whole-run minimum and median and its own sum of node
minima. On a host other work keeps busy the per-node minima of alternated
rounds move 2-3 %, whole-run medians 2x (docs/graph.md); fused nodes (they
do not run) are left out. Where two-thread runs come in modes (a Zen 5 VM:
a round's sum ~330 us or ~420 us, one process to the next, docs/graph.md
"Two threads on a Zen 5 host"), the overall minima say which configuration
met the fast mode; compare the rounds' sums pair by pair.
"""
import json
import os
import subprocess
import sys


def main():
    args, isa = sys.argv[1:], []
    if args[:1] == ['--isa'] and len(args) > 1:
        args, isa = args[2:], ['--isa', args[1]]
    if len(args) < 4:
        sys.exit(__doc__.split('\n\n')[1])
    model, rounds, repeat = args[0], int(args[1]), args[2]
    cfgs = []
    for a in args[3:]:
        label, run = a.split('=', 1)
        binary, threads = run.rsplit(':', 1)
        cfgs.append((label, binary, threads))
    inp = os.path.join(os.path.dirname(model) or '.', 'input.npy')
    mins, order, info, runs = {}, [], {}, {c[0]: [] for c in cfgs}
    for _ in range(rounds):
        for label, binary, threads in cfgs:
            out = subprocess.run([binary, model, '-i', inp, '-o', '/tmp/node-ab-' + label,
                                  '--threads', threads, '--pin', '--profile', '--repeat', repeat,
                                  '--json'] + isa, capture_output=True, text=True, check=True).stdout
            j = json.loads(out)
            runs[label].append((j['latency_ms']['min'], j['latency_ms']['median'],
                                sum(n['min_us'] for n in j['profile'] if not n['fused'])))
            for i, n in enumerate(j['profile']):
                key = (i, n['name'])
                if key not in info:
                    order.append(key)
                    info[key] = n
                m = mins.setdefault(key, {})
                m[label] = min(m.get(label, n['min_us']), n['min_us'])
    labels = [c[0] for c in cfgs]
    print('%-4s %-44s %-10s %-16s' % ('#', 'node', 'kind', 'output') +
          ''.join('%9s' % l for l in labels))
    total = dict.fromkeys(labels, 0.0)
    for key in order:
        if info[key]['fused']:
            continue
        for l in labels:
            total[l] += mins[key][l]
        print('%-4d %-44s %-10s %-16s' % (key[0], key[1][-44:], info[key]['kind'],
                                          info[key]['output'].split(' ', 1)[-1]) +
              ''.join('%9.1f' % mins[key][l] for l in labels))
    print('sum of minima: ' + '  '.join('%s %.1f us' % (l, total[l]) for l in labels))
    for l in labels:
        print('%s runs, min/median ms: %s' % (l, ' '.join('%.3f/%.3f' % r[:2] for r in runs[l])))
    for l in labels:
        print('%s rounds, sum of node minima us: %s' % (l, ' '.join('%.1f' % r[2] for r in runs[l])))


if __name__ == '__main__':
    main()
