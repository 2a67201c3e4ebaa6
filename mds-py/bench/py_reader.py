#!/usr/bin/env python3
"""Reader command of the benchmark harness (../shared/bench, README "Reader contract") for mds-py.

    python mds-py/bench/py_reader.py --local DIR [--remote URL] --mode MODE --key COLUMN [--limit N]

The same passes as the harness's ref_reader.py with ``import mds`` instead of ``import
streaming``; prints one ``RESULT {json}`` line. DataLoader modes use 2 worker processes (fork).
"""

import argparse
import json
import resource
import threading
import time

T_PROC0 = time.perf_counter()


def _worker_hwm(pids, out, stop):
    while not stop.is_set():
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            out[pid] = max(out.get(pid, 0), int(line.split()[1]))
            except (OSError, ValueError):
                pass
        stop.wait(0.2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--local", required=True)
    ap.add_argument("--remote", default=None)
    ap.add_argument("--mode", required=True, choices=["seq1", "shuffle1", "seq", "shuffle", "dl", "dl_shuffle"])
    ap.add_argument("--key", required=True)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()

    t0 = time.perf_counter()
    import mds

    import_s = time.perf_counter() - t0
    rss_after_import_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from mds import StreamingDataset

    shuffle = args.mode in ("shuffle1", "shuffle", "dl_shuffle")
    bs = 1 if args.mode in ("seq1", "shuffle1") else 256
    t1 = time.perf_counter()
    ds = StreamingDataset(local=args.local, remote=args.remote, shuffle=shuffle, batch_size=bs)
    init_s = time.perf_counter() - t1
    n = checksum = worker_peak = 0
    key = args.key
    if args.mode.startswith("dl"):
        from torch.utils.data import DataLoader

        it = iter(DataLoader(ds, batch_size=bs, num_workers=2))
        batch = next(it)
        first_s = time.perf_counter() - t1
        hwm, stop = {}, threading.Event()
        th = threading.Thread(target=_worker_hwm, args=([w.pid for w in getattr(it, "_workers", [])], hwm, stop), daemon=True)
        th.start()
        n, checksum = len(batch[key]), int(batch[key].sum())
        for batch in it:
            n += len(batch[key])
            checksum += int(batch[key].sum())
            if args.limit and n >= args.limit:
                break
        stop.set()
        th.join()
        worker_peak = max(hwm.values(), default=0)
        del it
    else:
        it = iter(ds)
        sample = next(it)
        first_s = time.perf_counter() - t1
        n, checksum = 1, int(sample[key])
        for sample in it:
            n += 1
            checksum += sample[key]
            if args.limit and n >= args.limit:
                break
        del it
    epoch_s = time.perf_counter() - t1
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rc = resource.getrusage(resource.RUSAGE_CHILDREN)
    print("RESULT " + json.dumps({
        "impl": f"mds-py {mds.__version__}",
        "mode": args.mode,
        "samples": n,
        "dataset_len": len(ds),
        "checksum": int(checksum),
        "import_s": import_s,
        "init_s": init_s,
        "first_sample_s": first_s,
        "epoch_s": epoch_s,
        "cpu_user_s": ru.ru_utime + rc.ru_utime,
        "cpu_sys_s": ru.ru_stime + rc.ru_stime,
        "peak_rss_kb": ru.ru_maxrss,
        "rss_after_import_kb": rss_after_import_kb,
        "worker_peak_rss_kb": worker_peak,
        "workers": "processes" if args.mode.startswith("dl") else "none",
        "limit": args.limit,
        "proc_to_done_s": time.perf_counter() - T_PROC0,
    }), flush=True)


if __name__ == "__main__":
    main()
