package io.weir.gateway;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.weir.batcher.BatchingDispatcher;
import io.weir.batcher.BatchingOptions;
import io.weir.batcher.HostCpuLoad;
import io.weir.batcher.InferenceDispatcher;
import io.weir.gateway.http.RolloutAdminApi;
import io.weir.gateway.http.AdminApi;
import io.weir.gateway.http.BatchingAdminApi;
import io.weir.router.ModelCatalog;
import io.weir.router.Rollouts;
import io.weir.gateway.cluster.ClusterMember;
import io.weir.gateway.config.WeirConfig;
import io.weir.gateway.http.HttpVerticle;
import io.weir.gateway.http.Routing;
import io.weir.runtime.Backend;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Ticker;
import io.weir.chaos.ChaosBackend;
import io.weir.chaos.FaultInjector;
import io.weir.chaos.ShedDrill;
import io.weir.gateway.grpc.GrpcEndpoints;
import io.weir.gateway.http.ChaosAdminApi;
import io.weir.gateway.grpc.SimilarAdmin;
import io.weir.runtime.cuda.CudaBackend;
import io.weir.runtime.demo.DemoRepository;
import io.weir.runtime.embedding.DemoEmbeddings;
import io.weir.runtime.embedding.EmbeddingIndexStore;
import io.weir.runtime.embedding.SimilarService;
import io.weir.runtime.embedding.VectorSearch;
import io.weir.runtime.onnx.OnnxRuntimeBackend;
import io.weir.runtime.repository.ModelRepository;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Builds and runs one Weir server: model registry and backends, dispatcher, routing, and one HTTP verticle per
 * event loop. The HTTP port opens before the models finish loading, so liveness answers at once and readiness turns
 * true when every model has been loaded and warmed and the rollouts (the rollout file, validated against them) started.
 */
public final class WeirServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(WeirServer.class.getName());

    private final WeirConfig config;
    private final Vertx vertx;
    private final PrometheusMeterRegistry prometheus;
    private final ModelRegistry registry;
    private final InferenceDispatcher dispatcher;
    private final ModelService models;
    private final Rollouts rollouts;
    private final SimilarService similar;
    private final EmbeddingIndexStore embeddings;
    private final int port;
    private final ClusterMember cluster;

    private WeirServer(WeirConfig config, Vertx vertx, PrometheusMeterRegistry prometheus, ModelRegistry registry,
                       InferenceDispatcher dispatcher, ModelService models, Rollouts rollouts, SimilarService similar,
                       EmbeddingIndexStore embeddings, int port, ClusterMember cluster) {
        this.config = config;
        this.vertx = vertx;
        this.prometheus = prometheus;
        this.registry = registry;
        this.dispatcher = dispatcher;
        this.models = models;
        this.rollouts = rollouts;
        this.similar = similar;
        this.embeddings = embeddings;
        this.port = port;
        this.cluster = cluster;
    }

    /** Starts a server; the future completes once the port is open (models may still be loading). */
    public static Future<WeirServer> start(WeirConfig config) {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(prometheus);
        new JvmGcMetrics().bindTo(prometheus);
        new JvmThreadMetrics().bindTo(prometheus);
        new ProcessorMetrics().bindTo(prometheus);
        Vertx vertx = Vertx.builder()
                // Vert.x's HTTP server metrics are off: they look up and register meters for every request (6-7% of
                // the event loops' CPU samples at moderation's 10000 req/s, JFR, docs/PERF.md) and repeat what
                // weir_http_requests_seconds records with Weir's own labels; open connections are weir_http_connections.
                .with(new VertxOptions().setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)
                        .addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER)))
                .withMetrics(new MicrometerMetricsFactory(prometheus))
                .build();
        // What a failed start closes besides Vert.x (newest first): the pools, sessions and threads it had started.
        List<AutoCloseable> opened = new ArrayList<>();
        opened.add(prometheus::close);
        try {
            Path repoPath = repositoryPath(config);
            ModelRepository repository = ModelRepository.open(repoPath);
            List<Backend> backends = new ArrayList<>();
            // CUDA first when enabled: the registry loads every model on both, records CUDA's refusals, and the
            // batcher prefers CUDA per batch and falls back to the CPU. Without a GPU it reports itself unavailable.
            CudaBackend cuda = config.gpuEnabled() ? new CudaBackend() : null;
            if (cuda != null) {
                backends.add(cuda);
                LOG.info("CUDA backend: " + cuda.availability().reason());
            }
            backends.add(new OnnxRuntimeBackend(1));
            // Drills only: every backend behind a fault-injecting decorator steered through /admin/chaos.
            FaultInjector faults = config.chaosEnabled() ? new FaultInjector() : null;
            ShedDrill shedDrill = config.chaosEnabled() ? new ShedDrill() : null;
            if (faults != null) {
                backends.replaceAll(b -> new ChaosBackend(b, faults));
                LOG.warning("chaos.enabled: fault injection is installed (PUT /admin/chaos/faults/{model}, PUT /admin/chaos/shed); never in production");
            }
            ModelRegistry registry = new ModelRegistry(repository, backends);   // closes the backends too
            opened.add(registry);
            // The adaptive policy grows batches when the cores are busy with the HTTP path too (AdaptivePolicy's note).
            HostCpuLoad cpuLoad = HostCpuLoad.shared();
            LOG.info("CPU load for adaptive batching: " + cpuLoad.description());
            BatchingOptions batching = BatchingOptions.defaults().withRingSize(ringSize(config.queueCapacity()))
                    .withCpuLoad(cpuLoad);
            // Exported so an operator can see why adaptive batches grew (or did not): the reading, not its threshold.
            io.micrometer.core.instrument.Gauge.builder("weir.host.cpu.load", cpuLoad, HostCpuLoad::getAsDouble)
                    .description("Smoothed host CPU load, 0 to 1, as the adaptive batching policy reads it").register(prometheus);
            if (config.batchingOverride() != null) {
                batching = batching.withPolicyOverride(config.batchingOverride());
            }
            BatchingDispatcher dispatcher = new BatchingDispatcher(registry, Ticker.system(), config.cpuThreads(), prometheus, batching);
            opened.add(dispatcher);
            ModelService models = new ModelService(registry, dispatcher);
            io.micrometer.core.instrument.Gauge.builder("weir.models.ready", models, m -> m.ready() ? 1 : 0)
                    .description("1 once every model version is loaded and warmed and start-up succeeded").register(prometheus);
            Rollouts.Builder rb = Rollouts.builder(ModelCatalog.of(registry), dispatcher).meters(prometheus)
                    .auditLog(Path.of(config.auditLog()), 1000)
                    .diffLog(null, 1000, 0.01)
                    .goldenSetsFrom(repoPath, Duration.ofSeconds(5));
            if (!config.rolloutFile().isBlank()) {
                rb.configFile(Path.of(config.rolloutFile()));
            }
            // In a cluster a replica decides nothing until its first sync says whether it leads.
            Rollouts rollouts = rb.leading(!config.cluster().enabled()).build();
            opened.add(rollouts);
            ClusterMember cluster = config.cluster().enabled()
                    ? new ClusterMember(vertx, config.cluster(), config.httpHost(), rollouts,
                    config.rolloutFile().isBlank() ? null : Path.of(config.rolloutFile()), ClusterMember.Resolver.SYSTEM)
                    : null;
            if (cluster != null) {
                opened.add(cluster);
                io.micrometer.core.instrument.Gauge.builder("weir.cluster.leading", cluster, c -> c.leading() ? 1 : 0)
                        .description("1 while this replica decides the cluster's rollouts, 0 while it follows the leader").register(prometheus);
                io.micrometer.core.instrument.Gauge.builder("weir.cluster.replicas", cluster, ClusterMember::replicas)
                        .description("Replicas this one heard from lately, itself included").register(prometheus);
                io.micrometer.core.instrument.Gauge.builder("weir.cluster.term", cluster, ClusterMember::term)
                        .description("The rollout leader's term this replica serves: one more at every change of leader")
                        .register(prometheus);
                io.micrometer.core.instrument.Gauge.builder("weir.cluster.follow.refused", cluster, ClusterMember::refusedModels)
                        .description("Models whose leader's rollout this replica could not apply (a version not loaded here)")
                        .register(prometheus);
            }
            Routing routing = new RolloutRouting(models, rollouts.router());

            Path indexDir = config.embeddingIndexDir().isBlank() ? repoPath.resolve("embeddings") : Path.of(config.embeddingIndexDir());
            if (config.embeddingIndexDir().isBlank()) {
                DemoEmbeddings.ensure(indexDir);
            }
            VectorSearch.Factory searches = cuda != null && cuda.availability().available()
                    ? cuda.vectorSearchFactory(config.cpuThreads()) : VectorSearch.cpu(config.cpuThreads());
            EmbeddingIndexStore store = EmbeddingIndexStore.open(indexDir, Ticker.system(), searches);
            opened.add(store);
            if (config.embeddingRefreshSeconds() > 0) {
                store.refreshEvery(Duration.ofSeconds(config.embeddingRefreshSeconds()));
            }
            SimilarService similar = new SimilarService(store, Ticker.system(), SimilarService.Options.defaults()).start();
            opened.add(similar);
            SimilarAdmin.bindMetrics(prometheus, similar);
            var grpc = GrpcEndpoints.create(models, routing, similar, models::ready, prometheus, config.maxInferBodyBytes());
            RolloutAdminApi rolloutAdmin = cluster != null ? new RolloutAdminApi(rollouts, "", cluster::replicate)
                    : new RolloutAdminApi(rollouts);
            BatchingAdminApi batchingAdmin = new BatchingAdminApi(dispatcher, registry);
            Consumer<io.vertx.ext.web.Router> adminRoutes = r -> {
                r.get("/admin/cluster").handler(ctx -> ctx.response().putHeader("content-type", "application/json")
                        .end((cluster != null ? cluster.describe()
                                : new io.vertx.core.json.JsonObject().put("leading", true).put("peers", new io.vertx.core.json.JsonArray())).toBuffer()));
                if (cluster != null) {
                    // Before the rollout routes: a follower's rollout calls are the leader's to decide.
                    io.vertx.ext.web.handler.BodyHandler body = io.vertx.ext.web.handler.BodyHandler.create(false).setBodyLimit(256 * 1024);
                    r.route("/admin/rollouts*").handler(body).handler(cluster::forwardRolloutAdmin);
                    r.route("/admin/audit").handler(body).handler(cluster::forwardRolloutAdmin);
                    // ?replicas=all: a per-replica admin call made on every replica at once
                    // (the largest body on those routes is a batching policy's)
                    r.route("/admin/models*").handler(io.vertx.ext.web.handler.BodyHandler.create(false).setBodyLimit(4096))
                            .handler(cluster::fanOutAdmin);
                    r.route(SimilarAdmin.REFRESH_PATH).handler(io.vertx.ext.web.handler.BodyHandler.create(false).setBodyLimit(1024))
                            .handler(cluster::fanOutAdmin);
                }
                batchingAdmin.accept(r);
                rolloutAdmin.accept(r);
                SimilarAdmin.routes(store).accept(r);
                if (faults != null) {
                    new ChaosAdminApi(faults, shedDrill, cluster).accept(r);
                }
            };
            int port = config.httpPort() == 0 ? freePort(config.httpHost()) : config.httpPort();
            WeirConfig bound = config.withHttpPort(port);
            int instances = Math.max(1, Math.min(VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE, Runtime.getRuntime().availableProcessors()));
            return vertx.deployVerticle(() -> new HttpVerticle(bound, models, routing, prometheus, adminRoutes, grpc,
                            shedDrill == null ? null : shedDrill::shedNext),
                            new DeploymentOptions().setInstances(instances))
                    .map(id -> {
                        LOG.info("Weir listening on http://" + bound.httpHost() + ":" + port + " (h2c too), repository " + repoPath);
                        WeirServer server = new WeirServer(bound, vertx, prometheus, registry, dispatcher, models, rollouts, similar, store, port, cluster);
                        vertx.executeBlocking(() -> {
                            registry.loadAll();
                            // The rollout file is validated against loaded versions, so it starts after loading.
                            rollouts.start();
                            if (cluster != null) {
                                // serve the leader's rollouts from the first request on, not this replica's file's
                                try {
                                    cluster.start(r -> {
                                        if (config.adminEnabled()) { // the calls a peer's admin API fans out to this one
                                            AdminApi.routes(models, "/cluster").accept(r);
                                            new BatchingAdminApi(dispatcher, registry, "/cluster").accept(r);
                                            SimilarAdmin.routes(store, "/cluster").accept(r);
                                        }
                                    }).toCompletionStage().toCompletableFuture().join();
                                } catch (java.util.concurrent.CompletionException e) {
                                    throw new IllegalStateException("the cluster API (cluster.port " + config.cluster().port()
                                            + ") did not start: " + e.getCause().getMessage(), e.getCause());
                                }
                            }
                            models.startupFinished();
                            return null;
                        }, false).onComplete(ar -> {
                            if (ar.failed()) {
                                models.startupFailed("rollouts did not start: " + ar.cause().getMessage());
                                LOG.severe(models.startupFailure() + " (readiness stays false until the file is fixed and the server restarted)");
                            }
                            LOG.info("model loading finished; ready=" + models.ready());
                        });
                        return server;
                    })
                    .recover(err -> {
                        // Fail at once: a close callback would run on event loops that are shutting down.
                        vertx.close();
                        closeAll(opened, err);
                        return Future.failedFuture(err);
                    });
        } catch (IOException | RuntimeException e) {
            vertx.close();
            closeAll(opened, e);
            return Future.failedFuture(e);
        }
    }

    /** Closes what a failed start had opened, newest first; a failure to close one is added to the start's failure. */
    private static void closeAll(List<AutoCloseable> opened, Throwable startFailure) {
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception e) {
                startFailure.addSuppressed(e);
            }
        }
    }

    private static Path repositoryPath(WeirConfig config) throws IOException {
        if (config.modelRepository().equals("demo")) {
            return DemoRepository.materialize();
        }
        Path p = Path.of(config.modelRepository());
        if (!Files.isDirectory(p)) {
            throw new IOException("model repository " + p.toAbsolutePath() + " is not a directory");
        }
        return p;
    }

    /** The ring holds the queue: the smallest power of two at least the configured capacity. */
    private static int ringSize(int capacity) {
        return Math.max(2, Integer.highestOneBit(capacity - 1) << 1);
    }

    private static int freePort(String host) throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
            return s.getLocalPort();
        }
    }

    public int port() {
        return port;
    }

    public WeirConfig config() {
        return config;
    }

    public Vertx vertx() {
        return vertx;
    }

    public ModelRegistry registry() {
        return registry;
    }

    public ModelService models() {
        return models;
    }

    public SimilarService similar() {
        return similar;
    }

    public EmbeddingIndexStore embeddings() {
        return embeddings;
    }

    /** This replica's part in sharing rollouts, or null when it decides its own ({@code cluster.peers} empty). */
    public ClusterMember cluster() {
        return cluster;
    }

    public Rollouts rollouts() {
        return rollouts;
    }

    public PrometheusMeterRegistry meters() {
        return prometheus;
    }

    /**
     * Blocks until start-up has finished or failed: initial model loading done and the rollouts started (for tools and
     * tests that need a ready server).
     */
    public void awaitLoaded(long timeoutMillis) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        while (!models.startupSettled()) {
            if (System.currentTimeMillis() > end) {
                throw new IllegalStateException("start-up (models, rollouts) not finished after " + timeoutMillis + " ms");
            }
            Thread.sleep(20);
        }
    }

    @Override
    public void close() {
        if (cluster != null) {
            cluster.close();
        }
        vertx.close().toCompletionStage().toCompletableFuture().join();
        rollouts.close();
        similar.close();
        embeddings.close();
        dispatcher.close();
        registry.close();
        prometheus.close();
    }
}
