"""Helpers for gateway-gpu-check.sh: golden replay over HTTP and a closed-loop load, loopback only.

golden URL REPO       replay ranker@1.1.0 and moderation@1.0.0 golden sets; fail if any score differs by > 1e-4 rel.
load URL LABEL SECS   64 concurrent clients (8 processes x 8 threads) posting 50-candidate rank requests for SECS s.
"""
import json, os, sys, time, urllib.request, random
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool

def post(url, body, headers=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"{}")

def golden(base, repo):
    bad = 0
    for model, version, path in (("ranker", "1.1.0", "/v1/rank:score"), ("moderation", "1.0.0", "/v1/moderate")):
        lines = [json.loads(l) for l in open(os.path.join(repo, model, version, "golden.jsonl")) if l.strip()]
        backends, worst, mism, others = {}, 0.0, 0, {}
        def one(line):
            req = dict(line["request"]); req["model_version"] = version
            # A shed (429) is the gateway saying "later", not an answer: retry it as a client would, after its
            # Retry-After (a few times), so that a loaded machine's sheds are not counted as wrong scores.
            for attempt in range(5):
                status, headers, body = post(base + path, req)
                if status != 429:
                    break
                time.sleep(min(1.0, float(headers.get("retry-after") or headers.get("Retry-After") or 1)) * (attempt + 1) / 5)
            return line, (status, headers, body)
        with ThreadPoolExecutor(16) as ex:
            for line, (status, headers, body) in ex.map(one, lines):
                if status != 200:
                    mism += 1
                    others[status] = others.get(status, 0) + 1
                    continue
                b = headers.get("x-weir-backend") or headers.get("X-Weir-Backend")
                backends[b] = backends.get(b, 0) + 1
                if model == "ranker":
                    pairs = zip(body["scores"], line["expected"]["scores"])
                    diffs = [abs(g["score"] - w["score"]) / max(1.0, abs(w["score"])) for g, w in pairs]
                else:
                    diffs = [abs(body["score"] - line["expected"]["score"]) / max(1.0, abs(line["expected"]["score"]))]
                    if body["label"] != line["expected"]["label"]:
                        mism += 1
                worst = max(worst, max(diffs))
                if max(diffs) > 1e-4:
                    mism += 1
        ok = mism == 0
        bad += 0 if ok else 1
        print(f"{'PASS' if ok else 'FAIL'} golden over HTTP {model}@{version}: {len(lines)} requests, max rel diff {worst:.2e}, "
              f"mismatches {mism}, served by {backends}" + (f", not answered 200: {others}" if others else ""))
    return 1 if bad else 0

def rank_body(rnd):
    cats = ["books", "electronics", "garden", "toys", "fashion", "sports", "music", "food"]
    return {"user_id": f"u-{rnd.randrange(5000)}", "context": {"locale": "en-US", "ts": "2026-11-26T10:15:00Z"},
            "candidates": [{"item_id": f"i{k}", "features": {"price": round(rnd.uniform(1, 200), 2), "category": rnd.choice(cats)}}
                           for k in range(50)]}

def worker(args):
    base, secs, seed = args
    rnd = random.Random(seed)
    end = time.time() + secs
    lat, codes, backends = [], {}, {}
    def loop(_):
        l, c, b = [], {}, {}
        while time.time() < end:
            t = time.perf_counter()
            status, headers, _ = post(base + "/v1/rank:score", rank_body(rnd))
            l.append((time.perf_counter() - t) * 1000)
            c[status] = c.get(status, 0) + 1
            be = headers.get("x-weir-backend") or headers.get("X-Weir-Backend")
            b[be] = b.get(be, 0) + 1
        return l, c, b
    with ThreadPoolExecutor(8) as ex:
        for l, c, b in ex.map(loop, range(8)):
            lat += l
            for k, v in c.items(): codes[k] = codes.get(k, 0) + v
            for k, v in b.items(): backends[k] = backends.get(k, 0) + v
    return lat, codes, backends

def load(base, label, secs):
    with Pool(8) as p:
        parts = p.map(worker, [(base, secs, s) for s in range(8)])
    lat = sorted(x for l, _, _ in parts for x in l)
    codes, backends = {}, {}
    for _, c, b in parts:
        for k, v in c.items(): codes[k] = codes.get(k, 0) + v
        for k, v in b.items(): backends[k] = backends.get(k, 0) + v
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
    ok = codes.get(200, 0)
    print(f"LOAD {label}: ranker 50 candidates, 64 closed-loop clients, {secs} s: {ok / secs:.0f} ok req/s "
          f"({ok * 50 / secs:.0f} rows/s), p50 {q(0.5):.1f} ms, p95 {q(0.95):.1f} ms, p99 {q(0.99):.1f} ms, codes {codes}, backends {backends}")
    return 0

if __name__ == "__main__":
    cmd = sys.argv[1]
    if not sys.argv[2].startswith("http://127.0.0.1:"):
        sys.exit("loopback only")
    if cmd == "golden":
        sys.exit(golden(sys.argv[2], sys.argv[3]))
    sys.exit(load(sys.argv[2], sys.argv[3], int(sys.argv[4])))
