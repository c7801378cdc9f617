// Machine-speed canary for the shared development VM (docs/PERF.md, "Slow spells of the machine"): once a second,
// a fixed piece of work (dependent pseudo-random reads over a 256 KiB array) timed in this thread's CPU time, which
// does not count time spent waiting for a core. A slow spell of the VM reads 10-30% higher. The sweep's load
// generator runs the same loop in Java (MachineCanary, CSV column canary_ms); this one runs beside anything.
//
//   gcc -O2 -o /tmp/canary perf/sweep/canary.c && /tmp/canary > canary.log &    # about 0.5% of one core
//
// Output, one line a second: epoch_ms cpu_us wall_us
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static uint64_t nanos(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t) t.tv_sec * 1000000000ull + (uint64_t) t.tv_nsec;
}

int main(void) {
    static uint32_t data[65536];
    for (int i = 0; i < 65536; i++) {
        data[i] = (uint32_t) i * 2654435761u;
    }
    volatile uint32_t sink = 0;
    for (;;) {
        uint64_t cpu0 = nanos(CLOCK_THREAD_CPUTIME_ID), wall0 = nanos(CLOCK_MONOTONIC);
        uint32_t x = 1;
        for (int r = 0; r < 20; r++) {
            for (int i = 0; i < 65536; i++) {
                x ^= data[(i * 7 + x) & 65535];
                x = x * 1103515245u + 12345u;
            }
        }
        sink += x;
        uint64_t cpu1 = nanos(CLOCK_THREAD_CPUTIME_ID), wall1 = nanos(CLOCK_MONOTONIC);
        printf("%llu %llu %llu\n", (unsigned long long) (nanos(CLOCK_REALTIME) / 1000000),
               (unsigned long long) ((cpu1 - cpu0) / 1000), (unsigned long long) ((wall1 - wall0) / 1000));
        fflush(stdout);
        sleep(1);
    }
}
