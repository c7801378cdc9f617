/**
 * The built-in demo model repository: three small models trained in plain Java on synthetic data with a known
 * ground truth, written as ordinary ONNX files with golden sets, so that the gateway, batcher, router and benchmarks
 * have real models to serve without any download or Python toolchain.
 *
 * <ul>
 *   <li>{@code ranker} 1.0.0 (16 hidden units) and 1.1.0 (32, more data): {@code /v1/rank:score}. A ReLU MLP over
 *       59 features (user id hashed into 32 segments, locale, hour of day as sin/cos, log price, category) gives each
 *       candidate a relevance probability. Ground truth: a hidden preference of user segment × category (latent
 *       vectors), price relative to the category's typical price weighted by the segment's sensitivity, the
 *       category's favourite hour, and a locale × category bias; labels are Bernoulli draws, so no model reaches AUC
 *       1 (see {@link io.weir.runtime.demo.RankerDemo}). Golden AUC ≈ 0.83 and 0.84 against a ground-truth ceiling
 *       of ≈ 0.86; two versions of one feature contract, for canary and shadow work.</li>
 *   <li>{@code moderation} 1.0.0: {@code /v1/moderate}. Hashed, L2-normalised character 2..4-grams (1024 buckets)
 *       through a 16-unit tanh MLP give a toxicity probability. Ground truth: a synthetic language of benign and
 *       toxic word stems (plus one-vowel "decoys" of the toxic ones) composed into texts of at most 300 characters,
 *       labels flipped with 3% noise (see {@link io.weir.runtime.demo.ModerationDemo}). Golden AUC ≈ 0.93, above the
 *       0.92 the config demands.</li>
 *   <li>{@code echo} 1.0.0: Identity of {@code x} FP32 [batch, 16], {@code ids} INT64 [batch, 4] and {@code text}
 *       BYTES [batch, 1], for measuring the gateway's own overhead; its golden set is KServe v2 requests carrying
 *       edge values.</li>
 * </ul>
 *
 * <p>Features are computed by {@link io.weir.runtime.features.FeatureContract#encode} on native-API JSON requests,
 * the code the gateway runs, for training, golden sets and traffic alike. Golden expectations are what ONNX Runtime
 * computes from the written {@code model.onnx}; {@link io.weir.runtime.demo.GoldenReplay} replays them.
 *
 * <p>The committed repository lives in the resources at {@code io/weir/runtime/demo/repository/} and is read through
 * {@link io.weir.runtime.demo.DemoRepository}. It is a pure function of this package's code (seeded generators,
 * {@link java.lang.StrictMath}, no clocks), and a test regenerates it and compares. To regenerate it after changing
 * the code, from the repository root:
 *
 * <pre>
 * ORT_DISABLE_TELEMETRY=1 ./mvnw -q -pl runtime compile exec:java \
 *     -Dexec.mainClass=io.weir.runtime.demo.DemoRepositoryWriter \
 *     -Dexec.args=runtime/src/main/resources/io/weir/runtime/demo/repository
 * </pre>
 *
 * <p>This package owns the demo models' synthetic worlds, their training and the repository's files. It must not
 * be needed to serve: production code reads repositories through {@link io.weir.runtime.repository.ModelRepository}
 * and never depends on the demo's classes.
 */
package io.weir.runtime.demo;
