#!/usr/bin/env python3
"""Watches the sweep's gateway while run-sweep.sh runs (docs/PERF.md, "A warm connection pool for Gatling"): about
every 2 s, the connections established on its port and, summed by thread name (numbers stripped), the CPU its threads
used and the time they waited in the run queue for a core (schedstat), both in cores (docs/PERF.md, "The drift under
continuous load, looked into"). A new gateway process (the next policy or model) is picked up by itself. Linux only;
standard library and `ss`.

    python3 perf/sweep/thread_monitor.py > monitor.log &     # then run perf/sweep/run-sweep.sh as usual
"""
import glob
import os
import re
import subprocess
import time

HZ = os.sysconf("SC_CLK_TCK")
PERIOD_S = 2.0


def find_gateway():
    """(pid, port) of the running gateway started from a weir-gateway.jar, or (None, None)."""
    for proc in glob.glob("/proc/[0-9]*"):
        try:
            cmd = open(proc + "/cmdline", "rb").read().split(b"\0")
            if not any(c.endswith(b"weir-gateway.jar") for c in cmd):
                continue
            env = open(proc + "/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        port = [e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"WEIR_HTTP_PORT=")]
        return int(proc[6:]), port[0] if port else None
    return None, None


def thread_ticks(pid):
    """{tid: (name, utime + stime ticks, ns waited in the run queue)} of the process's threads."""
    out = {}
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            name = open(task + "/comm").read().strip()
            fields = open(task + "/stat").read().rsplit(")", 1)[1].split()
            waited = int(open(task + "/schedstat").read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out[task.rsplit("/", 1)[1]] = (name, int(fields[11]) + int(fields[12]), waited)
    return out


def main():
    pid, prev, prev_at = None, {}, 0.0
    while True:
        found, port = find_gateway()
        if found is None:
            time.sleep(0.5)
            continue
        if found != pid:
            pid, prev, prev_at = found, thread_ticks(found), time.monotonic()
            print(f"--- gateway pid {pid} port {port}", flush=True)
            time.sleep(PERIOD_S)
            continue
        cur, now = thread_ticks(pid), time.monotonic()
        conns = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{port} )"],
                               capture_output=True, text=True).stdout.count("\n")
        by_name, waits = {}, {}
        for tid, (name, ticks, waited) in cur.items():
            key = re.sub(r"\d+$", "#", name)
            before = prev.get(tid, (name, ticks, waited))
            by_name[key] = by_name.get(key, 0) + ticks - before[1]
            waits[key] = waits.get(key, 0) + waited - before[2]
        seconds = max(now - prev_at, 1e-3)
        top = sorted(by_name.items(), key=lambda kv: -kv[1])[:7]
        # cpu/wait per thread group: a wait near the cpu means its threads spend as long runnable as running.
        print(time.strftime("%H:%M:%S"), f"conns={conns} cpu={sum(by_name.values()) / HZ / seconds:.2f}cores"
              f" wait={sum(waits.values()) / 1e9 / seconds:.2f}cores",
              " ".join(f"{k}:{v / HZ / seconds:.2f}/{waits[k] / 1e9 / seconds:.2f}" for k, v in top), flush=True)
        prev, prev_at = cur, now
        time.sleep(PERIOD_S)


if __name__ == "__main__":
    main()
