#!/usr/bin/env python3
"""How often the gateway's batching threads were woken: run beside perf/sweep/run-sweep.sh; once a second it reads, for
the running gateway (found as thread_monitor.py finds it), the voluntary and involuntary context switches and the CPU
time of its batching threads (thread names "weir-batcher-*"), and prints the last reading of each gateway when it
exits. Voluntary switches are the thread's wake-ups after parking; divided by the gateway's batches
(perf/sweep/flush_reasons.py on the run's flushes-*.prom) they give wake-ups per batch (docs/PERF.md, "The hold's
timer"). Linux only; standard library.

    python3 perf/sweep/batcher_wakeups.py > wakeups.log &     # then run perf/sweep/run-sweep.sh as usual
"""
import time

from thread_monitor import HZ, find_gateway, thread_ticks


def batcher_threads(pid):
    """(voluntary switches, involuntary switches, CPU ticks) summed over the gateway's batching threads."""
    total = [0, 0, 0]
    for tid, (name, ticks, _) in thread_ticks(pid).items():
        if not name.startswith("weir-batcher"):
            continue
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                switches = dict(line.split(":", 1) for line in f if "ctxt_switches" in line)
            total[0] += int(switches["voluntary_ctxt_switches"])
            total[1] += int(switches["nonvoluntary_ctxt_switches"])
        except (OSError, KeyError, ValueError):
            continue   # the thread or the process ended between the listing and the read
        total[2] += ticks
    return total


def main():
    pid, last = None, None
    while True:
        found, _ = find_gateway()
        if found != pid:
            if pid is not None and last is not None:
                voluntary, involuntary, ticks = last
                print(f"{time.strftime('%H:%M:%S')} pid {pid} batcher voluntary {voluntary} nonvoluntary {involuntary} "
                      f"cpu_s {ticks / HZ:.2f}", flush=True)
            pid, last = found, None
        if pid is not None:
            reading = batcher_threads(pid)
            if any(reading):   # not a read that raced the gateway's exit
                last = reading
        time.sleep(1)


if __name__ == "__main__":
    main()
