#!/usr/bin/env python3
"""Side by side: write throughput of mds against the reference's MDSWriter.

Run by hand (never by tests). For each dataset of shared/bench/baseline.md and each rep, the
two writers run one after the other, each in a fresh process, after a `sync` so that neither
pays for the other's dirty pages. Both clocks cover writer construction, every write and
finish, not sample generation (the reference's make_datasets.py and the write_throughput
example time the same span). Prints the median seconds of each and their ratio.

    cargo build --release -p mds-format --example write_throughput
    python3 mds-format/benches/write_side_by_side.py --python /tmp/ref/bin/python \
        --harness ../shared/bench --mds target/release/examples/write_throughput --reps 3
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile

RAW_MB = {'tokens': 1640.8, 'text': 291.2, 'images': 2048.3, 'text_zstd': 291.2}
SAMPLES = {'tokens': 200_000, 'text': 1_000_000, 'images': 20_000, 'text_zstd': 1_000_000}


def run_mds(exe, out, name, scale):
    line = subprocess.run([exe, out, str(scale), name], check=True, capture_output=True,
                          text=True).stdout
    m = re.search(r'in ([0-9.]+) s', line)
    if not m:
        raise SystemExit(f'unexpected output from {exe}: {line!r}')
    return float(m.group(1))


def run_ref(python, harness, out, name, scale):
    text = subprocess.run([python, os.path.join(harness, 'make_datasets.py'), '--out', out,
                           '--only', name, '--reps', '1', '--scale', str(scale)],
                          check=True, capture_output=True, text=True).stdout
    m = re.search(rf'\[{name}\] rep 0: n=\d+ write=([0-9.]+)s', text)
    if not m:
        raise SystemExit(f'unexpected output from make_datasets.py: {text[-400:]!r}')
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--python', required=True, help='python of a venv with mosaicml-streaming')
    ap.add_argument('--harness', required=True, help='shared/bench (make_datasets.py)')
    ap.add_argument('--mds', required=True, help='the write_throughput example binary')
    ap.add_argument('--datasets', default='tokens,text,images,text_zstd')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--scale', type=float, default=1.0)
    ap.add_argument('--work', default=None, help='scratch directory (default: a temp dir)')
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix='mds-write-')
    print(f'| dataset | ref s (runs) | mds s (runs) | ref MB/s | mds MB/s | mds/ref |')
    print('|---|---|---|---|---|---|')
    for name in args.datasets.split(','):
        ref, mds = [], []
        for _ in range(args.reps):
            os.sync()
            mds.append(run_mds(args.mds, os.path.join(work, 'mds'), name, args.scale))
            shutil.rmtree(os.path.join(work, 'mds'), ignore_errors=True)
            os.sync()
            ref.append(run_ref(args.python, args.harness, os.path.join(work, 'ref'), name,
                               args.scale))
            shutil.rmtree(os.path.join(work, 'ref'), ignore_errors=True)
        r, m = statistics.median(ref), statistics.median(mds)
        mb = RAW_MB[name] * args.scale
        runs = lambda xs: ' / '.join(f'{x:.2f}' for x in xs)
        print(f'| {name} | {r:.2f} ({runs(ref)}) | {m:.2f} ({runs(mds)}) | {mb / r:.0f} | '
              f'{mb / m:.0f} | {r / m:.1f}x |', flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
