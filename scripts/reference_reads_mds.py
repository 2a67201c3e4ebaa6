#!/usr/bin/env python3
"""Checks that mosaicml-streaming reads what mds writes: every codec, five hashes.

Run by hand with a venv that has mosaicml-streaming (never by CI, which must not depend on
it). Rewrites a fixture with `mds-format`'s `rewrite` example once per compression, checks
every stored hash with the reference's `get_hash`, decodes every sample with the reference's
shard readers, and compares each with what the reference decodes from the fixture itself.

    cargo build --release -p mds-format --example rewrite
    /tmp/ref/bin/python scripts/reference_reads_mds.py ../shared/fixtures/all_encodings \
        target/release/examples/rewrite

Prints one line per compression with the number of mismatches (0 expected); exits 1 on any.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from streaming.base.compression import decompress
from streaming.base.format import reader_from_json
from streaming.base.hashing import get_hash

CODECS = ['none', 'zstd:7', 'gz', 'bz2', 'br', 'snappy']
HASHES = 'sha1,xxh64,md5,sha256,xxh3_64'


def load(dirname):
    """Every sample of the dataset in `dirname`, decoded by the reference's readers."""
    idx = json.load(open(os.path.join(dirname, 'index.json')))
    out = []
    for s in idx['shards']:
        stored = s['zip_data'] or s['raw_data']
        data = open(os.path.join(dirname, stored['basename']), 'rb').read()
        for algo in s.get('hashes', []):
            if get_hash(algo, data) != stored['hashes'][algo]:
                raise SystemExit(f'{dirname}/{stored["basename"]}: {algo} mismatch')
        r = reader_from_json(dirname, None, s)
        if r.compression:
            raw = os.path.join(dirname, s['raw_data']['basename'])
            open(raw, 'wb').write(decompress(r.compression, data))
        out.extend(r.get_item(i) for i in range(r.samples))
    return out


def norm(v):
    """A comparable form of a decoded value (images by pixels, arrays by dtype and bytes)."""
    from PIL import Image
    if isinstance(v, Image.Image):
        return ('img', v.mode, v.size, v.tobytes())
    if isinstance(v, np.ndarray):
        return ('nd', v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, (list, tuple)):
        return type(v).__name__, tuple(norm(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, norm(x)) for k, x in v.items()))
    if isinstance(v, float) and v != v:
        return 'nan'
    if isinstance(v, np.generic):
        return ('np', v.dtype.str, v.tobytes())
    return v


def main():
    fixture, rewrite = sys.argv[1], sys.argv[2]
    want = [norm(x) for x in load(fixture)]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for codec in CODECS:
            out = os.path.join(tmp, codec.replace(':', '_'))
            subprocess.run([rewrite, fixture, out, codec, HASHES, '65536'], check=True,
                           stdout=subprocess.DEVNULL)
            got = [norm(x) for x in load(out)]
            bad = [i for i, (a, b) in enumerate(zip(want, got)) if a != b]
            bad += list(range(min(len(got), len(want)), max(len(got), len(want))))
            print(f'{codec}: {len(got)} samples, hashes {HASHES} checked, {len(bad)} mismatches '
                  f'{bad[:5]}')
            failed |= bool(bad)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
