"""Writes the same samples with every writer of one library, for a byte-for-byte diff of mds against
mosaicml-streaming (JSONWriter, CSVWriter, TSVWriter, XSVWriter raw and zstd, MDSWriter; each
writer's get_config() beside its output).

Usage (the reference in its own venv, never a dependency of the project):
    /tmp/ref/bin/python scripts/reference_writers.py ref /tmp/w/ref
    python scripts/reference_writers.py mds /tmp/w/mds
    diff -r /tmp/w/ref /tmp/w/mds
"""

import sys, os
lib, out = sys.argv[1], sys.argv[2]
if lib == "ref":
    from streaming import JSONWriter, CSVWriter, TSVWriter, XSVWriter, MDSWriter
else:
    from mds import JSONWriter, CSVWriter, TSVWriter, XSVWriter, MDSWriter
cols = {"id": "int", "text": "str", "x": "float"}
for cls, extra in ((JSONWriter, {}), (CSVWriter, {}), (TSVWriter, {}), (XSVWriter, {"separator": "|"})):
    for comp in (None, "zstd"):
        d = os.path.join(out, f"{cls.__name__}-{comp}")
        with cls(out=d, columns=cols, size_limit=300, compression=comp, hashes=["sha1", "xxh64"], **extra) as w:
            for i in range(50):
                w.write({"id": i * 7 - 20, "text": f"sample {i} é", "x": i / 3})
            cfg = w.get_config()
        with open(d + ".config", "w") as f:
            f.write(repr(sorted(cfg.items())))
d = os.path.join(out, "MDSWriter")
with MDSWriter(out=d, columns={"id": "int", "s": "str"}, compression="zstd:7", hashes=["sha1"]) as w:
    w.write({"id": 1, "s": "a"})
    cfg = w.get_config()
with open(d + ".config", "w") as f:
    f.write(repr(sorted(cfg.items())))
