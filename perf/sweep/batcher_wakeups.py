#!/usr/bin/env python3
"""How often the gateway's batching threads were woken: run beside perf/sweep/run-sweep.sh; once a second it reads, for
every running gateway (a JVM started from a weir-gateway.jar), the voluntary and involuntary context switches and the
CPU time of its batching threads (thread names "weir-batcher-*"), and prints the last reading of each gateway when it
exits. Voluntary switches are the thread's wake-ups after parking; divided by the gateway's batches
(perf/sweep/flush_reasons.py on the run's flushes-*.prom) they give wake-ups per batch (docs/PERF.md, "The hold's
timer"). Linux only; standard library.

    python3 perf/sweep/batcher_wakeups.py > wakeups.log &     # then run perf/sweep/run-sweep.sh as usual
"""
import glob
import os
import time

HZ = os.sysconf("SC_CLK_TCK")


def gateways():
    found = []
    for proc in glob.glob("/proc/[0-9]*"):
        try:
            cmd = open(proc + "/cmdline", "rb").read().split(b"\0")
            if any(c.endswith(b"weir-gateway.jar") for c in cmd):
                found.append(int(proc.split("/")[2]))
        except OSError:
            pass
    return found


def batcher_threads(pid):
    """(voluntary switches, involuntary switches, CPU ticks) summed over the gateway's batching threads."""
    total = [0, 0, 0]
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            if not open(task + "/comm").read().startswith("weir-batcher"):
                continue
            switches = dict(line.split(":", 1) for line in open(task + "/status") if "ctxt_switches" in line)
            stat = open(task + "/stat").read().rsplit(")", 1)[1].split()
            total[0] += int(switches["voluntary_ctxt_switches"])
            total[1] += int(switches["nonvoluntary_ctxt_switches"])
            total[2] += int(stat[11]) + int(stat[12])   # utime + stime
        except (OSError, KeyError, ValueError):
            pass   # the thread or the process ended between the listing and the read
    return total


def main():
    last = {}
    while True:
        live = gateways()
        for pid in live:
            last[pid] = batcher_threads(pid)
        for pid in [p for p in last if p not in live]:
            voluntary, involuntary, ticks = last.pop(pid)
            print(f"{time.strftime('%H:%M:%S')} pid {pid} batcher voluntary {voluntary} nonvoluntary {involuntary} "
                  f"cpu_s {ticks / HZ:.2f}", flush=True)
        time.sleep(1)


if __name__ == "__main__":
    main()
