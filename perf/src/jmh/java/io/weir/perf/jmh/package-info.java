/**
 * JMH benchmarks of the batcher: the cost per request of the Disruptor ring and batch forming, with a no-op backend,
 * against a baseline batcher built on {@link java.util.concurrent.ArrayBlockingQueue}. Owns only benchmark code and
 * its baseline; must not be depended on by production modules. Compiled with {@code -Pjmh} only.
 */
package io.weir.perf.jmh;
