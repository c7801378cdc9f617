// Wake-up latency probe for the shared development VM (docs/PERF.md, "The drift under continuous load, looked
// into"): sleeps to absolute 1 ms deadlines and prints, every 5 s, how late the wake-ups were (median, p99 and max
// in microseconds, and the share later than 1 ms). Like cyclictest without real-time priority, so it measures what
// an ordinary thread waking for a timer or a socket sees on the contended cores.
//
//   gcc -O2 -o /tmp/wake_probe perf/sweep/wake_probe.c && /tmp/wake_probe > wake.log &
//
// Output, one line per 5 s: seconds since start, p50, p99, max, share over 1 ms.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static int cmp(const void *a, const void *b) { long x = *(long *)a, y = *(long *)b; return x < y ? -1 : x > y; }
int main(void) {
    enum { N = 5000 };
    static long late[N];
    struct timespec t0, next, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    next = t0;
    for (;;) {
        for (int i = 0; i < N; i++) {
            next.tv_nsec += 1000000;
            if (next.tv_nsec >= 1000000000) { next.tv_nsec -= 1000000000; next.tv_sec++; }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
            clock_gettime(CLOCK_MONOTONIC, &now);
            long l = (now.tv_sec - next.tv_sec) * 1000000000L + (now.tv_nsec - next.tv_nsec);
            late[i] = l;
            if (l > 5000000) next = now;   // do not queue a burst of catch-up wake-ups after a long stall
        }
        int over = 0;
        for (int i = 0; i < N; i++) over += late[i] > 1000000;
        qsort(late, N, sizeof late[0], cmp);
        clock_gettime(CLOCK_MONOTONIC, &now);
        printf("%.0f p50=%ld p99=%ld max=%ld us over1ms=%.2f%%\n", (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9,
               late[N / 2] / 1000, late[N * 99 / 100] / 1000, late[N - 1] / 1000, over * 100.0 / N);
        fflush(stdout);
    }
}
