#!/usr/bin/env python3
"""Where the gateway's event loops spend their CPU, from a JFR recording's execution samples: the share of the
event-loop samples in which each of a few request-path frames is on the stack (inclusive), every io.weir frame's share,
and the top frames by self samples. Used for docs/PERF.md, "What a shed request costs".

    jfr print --stack-depth 300 --events jdk.ExecutionSample rec.jfr > rec.txt
    python3 perf/sweep/jfr_event_loop.py rec.txt [more.txt ...]

Record with -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints, and do not pin the JVM to one CPU: JFR's sampler
thread shares the JVM's CPUs, and on a single busy one it hardly ever runs.
"""
import collections
import re
import sys

# Request-path frames worth a line of their own (inclusive share).
FRAMES = [
    "io.netty.channel.nio.NioIoHandler.run",
    "io.vertx.core.http.impl.Http1xServerConnection.handleMessage",
    "io.netty.handler.codec.http.HttpObjectDecoder.decode",
    "io.vertx.ext.web.impl.RouterImpl.handle",
    "io.weir.gateway.http.HttpVerticle.begin",
    "io.vertx.ext.web.handler.impl.BodyHandlerImpl.handle",
    "io.weir.gateway.http.HttpVerticle.shedWhenBehind",
    "io.weir.gateway.http.HttpVerticle.answerUnparsed",
    "io.weir.gateway.http.RequestContext.scanRequestId",
    "io.weir.gateway.http.HttpErrors.send",
    "io.vertx.core.json.JsonObject.toBuffer",
    "io.vertx.core.http.impl.Http1xServerResponse.end",
    "io.netty.channel.AbstractChannelHandlerContext.flush",
    "io.weir.gateway.http.NativeApi.moderate",
    "io.weir.gateway.http.Bodies.sendJson",
    "io.weir.gateway.http.GatewayMetrics.record",
    "io.weir.gateway.http.GatewayMetrics.shed",
]


def samples(path):
    """(thread name, frames top first) of each execution sample in `jfr print` output."""
    text = open(path).read()
    for block in text.split("jdk.ExecutionSample {")[1:]:
        thread = re.search(r'sampledThread = "([^"]+)"', block)
        yield (thread.group(1) if thread else "?"), re.findall(r"^\s{4}([\w$.<>/]+)\(", block, re.M)


def main(paths):
    for path in paths:
        every = list(samples(path))
        loops = [frames for thread, frames in every if "eventloop" in thread]
        total = len(loops)
        print(f"== {path}: {total} event-loop samples of {len(every)}")
        if total == 0:
            continue
        inclusive = collections.Counter()
        for frames in loops:
            inclusive.update(set(frames))
        for frame in FRAMES:
            if inclusive[frame]:
                print(f"  {100 * inclusive[frame] / total:5.1f}% {frame}")
        print("  -- every io.weir frame, inclusive")
        for frame, n in inclusive.most_common():
            if frame.startswith("io.weir"):
                print(f"  {100 * n / total:5.1f}% {frame}")
        print("  -- top frames by self samples")
        for frame, n in collections.Counter(f[0] for f in loops if f).most_common(12):
            print(f"  {100 * n / total:5.1f}% {frame}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
