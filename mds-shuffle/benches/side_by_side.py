#!/usr/bin/env python3
"""Side by side: planning one epoch with mds vs numpy alone vs the reference library.

Run by hand (never by tests). Each contender runs in its own process, one after the other;
wall time, CPU time (user + sys) and peak RSS come from os.wait4, so the figures stay
comparable on a busy machine (compare CPU seconds there). The reference is skipped when its
estimated memory (about 130 bytes per sample) exceeds what the machine has available.

    cargo build --release -p mds-shuffle --example plan_epoch
    python3 mds-shuffle/benches/side_by_side.py --python /tmp/ref/bin/python \
        --mds $CARGO_TARGET_DIR/release/examples/plan_epoch --samples 1e7,1e8,1e9 --shards 1e5

Contenders, all planning the same epoch (shuffle on, default resolution of canonical nodes and
block size, every worker's ids read in order):
  mds        examples/plan_epoch (this crate)
  numpy      np.random.default_rng(seed).permutation(N) only (a lower bound for any numpy plan)
  reference  streaming.base get_partitions + get_shuffle + the dataset's id mapping
The mds and reference lines print an order-sensitive hash of every worker's ids; equal hashes
mean the same sample order.
"""

import argparse
import json
import os
import subprocess
import sys
import time

COMMON = r'''
import sys, time, json, resource
import numpy as np
N, S, algo, P, R, W, B, seed = int(float(sys.argv[1])), int(float(sys.argv[2])), sys.argv[3], *map(int, sys.argv[4:9])
sizes = np.full(S, N // S, np.int64)
sizes[:N % S] += 1
'''

NUMPY = COMMON + r'''
base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t, c = time.perf_counter(), time.process_time()
perm = np.random.default_rng(seed).permutation(N)
s = int(perm[:1000].sum())
print(json.dumps({"impl": "numpy", "total_s": round(time.perf_counter() - t, 3),
                  "cpu_s": round(time.process_time() - c, 3), "rss_after_imports": base_rss}))
'''

REFERENCE = COMMON + r'''
from streaming.base.partition import get_partitions
from streaming.base.shuffle import get_shuffle
C = 64 * P if algo in ('py1s', 'py2s') else P
bs = max(4_000_000 // C, 1 << 18)
base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t, c = time.perf_counter(), time.process_time()
small_per_big = np.arange(N, dtype=np.int64)  # resample_streams without weights
big = get_partitions('relaxed', N, C, P, R, W, B, 0, None)
perm = get_shuffle(algo, sizes, C, seed, 0, bs)
big = np.where(big != -1, perm[big], -1)
ids = np.where(big != -1, small_per_big[big], -1)
plan_s = time.perf_counter() - t
h = 0
g = 0
for p in range(P):
    for r in range(R):
        for w in range(W):
            x = ids[p, r, w].ravel()
            x = x[x != -1].astype(np.uint64)
            i = np.arange(1, len(x) + 1, dtype=np.uint64)
            s = int((x * i).sum(dtype=np.uint64))
            g += 1
            h = (h + g * s) % (1 << 64)
print(json.dumps({"impl": "reference", "plan_s": round(plan_s, 3),
                  "total_s": round(time.perf_counter() - t, 3), "cpu_s": round(time.process_time() - c, 3),
                  "rss_after_imports": base_rss, "order_hash": h}))
'''


def run(cmd):
    """Runs cmd; returns (parsed last JSON line, wall s, cpu s, peak rss bytes)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        return {"error": err.decode()[-500:]}, wall, 0.0, 0
    line = out.decode().strip().splitlines()[-1]
    return json.loads(line), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def mem_available():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--python', default='/tmp/ref/bin/python', help='interpreter with streaming 0.13')
    ap.add_argument('--mds', required=True, help='path of the built plan_epoch example')
    ap.add_argument('--samples', default='1e7,1e8', help='comma separated sample counts')
    ap.add_argument('--shards', default='1e5')
    ap.add_argument('--algo', default='py1e')
    ap.add_argument('--nodes', type=int, default=2)
    ap.add_argument('--ranks', type=int, default=8)
    ap.add_argument('--workers', type=int, default=4)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--seed', type=int, default=9176)
    ap.add_argument('--skip-reference-above', type=float, default=None,
                    help='skip the reference above this many samples')
    a = ap.parse_args()
    shards = int(float(a.shards))
    rows = []
    for n in [int(float(x)) for x in a.samples.split(',')]:
        args = [str(n), str(shards), a.algo, str(a.nodes), str(a.ranks), str(a.workers), str(a.batch), str(a.seed)]
        contenders = [('mds', [a.mds, '--samples', str(n), '--shards', str(shards), '--algo', a.algo,
                               '--nodes', str(a.nodes), '--ranks', str(a.ranks), '--workers', str(a.workers),
                               '--batch', str(a.batch), '--seed', str(a.seed)], 6),
                      ('numpy', [a.python, '-c', NUMPY] + args, 9),
                      ('reference', [a.python, '-c', REFERENCE] + args, 130)]
        result = {}
        for name, cmd, bytes_per_sample in contenders:
            too_big = bytes_per_sample * n > 0.85 * mem_available()
            if too_big or (name == 'reference' and a.skip_reference_above and n > a.skip_reference_above):
                print(f'{name:9} N={n:.0e}: skipped (needs ~{bytes_per_sample * n / 2**30:.0f} GiB)', flush=True)
                continue
            info, wall, cpu, rss = run(cmd)
            result[name] = (info, wall, cpu, rss)
            print(f'{name:9} N={n:.0e}: wall {wall:8.2f} s  cpu {cpu:8.2f} s  peak {rss / 2**20:9.1f} MiB '
                  f'({rss / n:6.2f} B/sample)  {json.dumps(info)}', flush=True)
        if 'mds' in result and 'reference' in result:
            m, r = result['mds'], result['reference']
            same = m[0].get('order_hash') == r[0].get('order_hash')
            # In-process figures (imports excluded): planning + reading every worker's ids.
            wall = r[0]['total_s'] / max(m[0]['total_s'], 1e-9)
            cpu = r[0]['cpu_s'] / max(m[0]['cpu_s'], 1e-9)
            mem = (r[3] - r[0]['rss_after_imports']) / max(m[3], 1)
            print(f'ratio     N={n:.0e}: reference/mds in-process wall {wall:.1f}x, cpu {cpu:.1f}x, '
                  f'memory (reference above its imports / mds peak) {mem:.1f}x; same order: {same}', flush=True)
        rows.append({'samples': n, **{k: {'wall_s': round(v[1], 3), 'cpu_s': round(v[2], 3), 'peak_rss_bytes': v[3]}
                                       for k, v in result.items()}})
    print(json.dumps(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
