#!/usr/bin/env python3
"""The batcher's compute timer for one big request at a time (docs/PERF.md, "ONNX Runtime inputs through reused native
memory"): starts a gateway jar on 127.0.0.1:<port> with edge shedding off, sends <n>/2 warm-up and then <n> `v2` infer
requests of <rows> moderation rows (1024 features, one in eight non-zero, seeded) one after another, and prints the
mean of weir_batcher_compute_seconds per batch over the measured ones.

    python3 perf/sweep/sequential_batch.py <gateway jar> <port> <n> [rows=256]
"""
import http.client, json, random, re, subprocess, sys, time, os
jar, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = int(sys.argv[4]) if len(sys.argv) > 4 else 256
random.seed(5)
data = [round(random.random(), 4) if random.randrange(8) == 0 else 0 for _ in range(rows * 1024)]
body = json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [rows, 1024], "data": data}]}).encode()
env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", WEIR_HTTP_PORT=str(port), WEIR_HTTP_SHED_BUDGET_FRACTION="0")
p = subprocess.Popen([os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "java"), "--enable-native-access=ALL-UNNAMED",
                      "--sun-misc-unsafe-memory-access=allow", "-Xmx1g", "-jar", jar], env=env,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(120):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/v2/health/ready")
            if c.getresponse().status == 200: break
        except OSError: pass
        time.sleep(0.5)
    def metric():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10); c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        def total(series):   # summed over every version and backend of moderation
            return sum(float(m) for m in re.findall(r'^' + series + r'\{[^}]*model="moderation"[^}]*\} (\S+)', text, re.M))
        return total("weir_batcher_compute_seconds_sum"), total("weir_batcher_compute_seconds_count")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    bad = {}
    def send(count):
        for _ in range(count):
            c.request("POST", "/v2/models/moderation/infer", body, {"content-type": "application/json"})
            r = c.getresponse(); r.read()
            if r.status != 200: bad[r.status] = bad.get(r.status, 0) + 1
    send(n // 2)                      # warm-up (JIT, ORT arenas)
    s0, k0 = metric()
    send(n)
    s1, k1 = metric()
    print(f"{os.path.basename(jar)} rows {rows}: {k1 - k0:.0f} batches, compute {1e6 * (s1 - s0) / (k1 - k0):.1f} us/batch; not 200: {bad}")
finally:
    p.terminate(); p.wait(10)
