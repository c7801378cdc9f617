package io.weir.chaos.drill;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.InetAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs a {@link DrillPlan} against a running gateway and reports what clients got.
 *
 * <p>Design note. One scheduling thread (the caller's) sends at the plan's constant rate, open model: a request's
 * send time is fixed by the schedule, never by earlier answers, and its latency counts from that scheduled time, so
 * a gateway that stalls is charged for the requests that queued in this client meanwhile (coordinated omission is
 * handled here, once). Requests go through a Vert.x HTTP/1.1 client whose pool holds at most the plan's connections,
 * as a real client's does. Every request is issued on one event-loop context, and its answer checked and recorded there
 * into a concurrent queue, read only after the last answer (or its timeout): a request issued from the scheduling
 * thread itself had its answer's head delivered to a callback that ran after the body had already gone by, so the
 * body never came and neither did a timeout (measured: 4-20 of 3000 requests lost that way at 200 requests/s). Faults are set and cleared through a second, small client, so that the
 * admin calls never queue behind the load. Every fault this drill set is cleared when it ends, however it ends.
 *
 * <p>Each request carries its own {@code x-request-id} ({@code <drill>-<n>}); an answer must echo it. Preconditions,
 * checked before any load: the chaos admin API answers (the gateway runs with {@code chaos.enabled}), no fault is in
 * force already (it would confound the drill), nor a shed drill when a phase sets one, and every backend a phase
 * injects into serves the model it names. A shed drill a phase set ({@code shed}) is ended with the faults.
 */
public final class DrillRunner {
    private static final Logger LOG = Logger.getLogger(DrillRunner.class.getName());
    private static final long ADMIN_TIMEOUT_MS = 10_000;
    private static final String FAULTS = "/admin/chaos/faults";
    private static final String SHED = "/admin/chaos/shed";

    private final URI base;
    private final String adminToken;

    /**
     * @param base       the gateway, {@code http://<loopback address>:<port>}
     * @param adminToken the gateway's {@code admin.token}, or null/empty when it has none
     * @throws IllegalArgumentException for a base that is not a plain loopback HTTP address
     */
    public DrillRunner(URI base, String adminToken) {
        if (!"http".equals(base.getScheme()) || base.getHost() == null || base.getPort() <= 0
                || base.getPath() != null && !base.getPath().isEmpty() && !base.getPath().equals("/")) {
            throw new IllegalArgumentException("the gateway must be given as http://<host>:<port>, was " + base);
        }
        try {
            if (!InetAddress.getByName(base.getHost()).isLoopbackAddress()) {
                throw new IllegalArgumentException("drills send only to loopback addresses (reach a remote gateway"
                        + " through a port-forward or tunnel), was " + base.getHost());
            }
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("unknown host " + base.getHost());
        }
        this.base = base;
        this.adminToken = adminToken == null ? "" : adminToken;
    }

    /**
     * @throws IllegalStateException when a precondition fails or the gateway refuses a fault (nothing was measured)
     * @throws InterruptedException  when the calling thread is interrupted: the load stops, the faults are cleared
     */
    public DrillReport run(DrillPlan plan) throws InterruptedException {
        Vertx vertx = Vertx.vertx();
        Context loop = vertx.getOrCreateContext();
        HttpClientAgent load = vertx.createHttpClient(new HttpClientOptions().setDefaultHost(base.getHost())
                .setDefaultPort(base.getPort()).setKeepAlive(true), new PoolOptions().setHttp1MaxSize(plan.connections()));
        HttpClientAgent admin = vertx.createHttpClient(new HttpClientOptions().setDefaultHost(base.getHost())
                .setDefaultPort(base.getPort()), new PoolOptions().setHttp1MaxSize(2));
        // Faults in force that this drill set: cleared when it ends, and by a shutdown hook if the JVM ends first
        // (Ctrl-C, SIGTERM), so that a drill never leaves a gateway failing.
        Set<DrillPlan.Clearing> set = ConcurrentHashMap.newKeySet();
        // Undos of the admin calls made, newest first: run at the end unless a later phase made the same call.
        java.util.Deque<DrillPlan.AdminCall> undos = new java.util.concurrent.ConcurrentLinkedDeque<>();
        // Whether the edge's shed drill may be on because this drill set it: ended when the drill ends.
        AtomicBoolean shedding = new AtomicBoolean();
        // On SIGINT/SIGTERM the hook stops the drill's own thread and waits for its clean-up (which must not race the
        // phases still running, nor lose its calls to a closing client); it cleans up itself only if that never comes.
        Thread runner = Thread.currentThread();
        CountDownLatch cleanedUp = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            runner.interrupt();
            try {
                if (cleanedUp.await(30, TimeUnit.SECONDS)) {
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            clearAll(loop, admin, set);
            endShed(loop, admin, shedding);
            undoAll(loop, admin, undos);
        }, "weir-drill-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            preflight(loop, admin, plan);
            return new Load(plan, loop, load, admin, set, undos, shedding).run();
        } finally {
            // An interrupt must not stop the clean-up: its admin calls wait for answers.
            boolean interrupted = Thread.interrupted();
            clearAll(loop, admin, set);
            endShed(loop, admin, shedding);
            undoAll(loop, admin, undos);
            cleanedUp.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook runs (and finds nothing left to clear)
            }
            vertx.close().toCompletionStage().toCompletableFuture().join();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void clearAll(Context loop, HttpClientAgent admin, Set<DrillPlan.Clearing> set) {
        for (DrillPlan.Clearing c : set) {
            try {
                clear(loop, admin, c);
                set.remove(c);
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "could not clear the fault on " + c + " after the drill: clear it by hand (DELETE "
                        + FAULTS + "/" + c.model() + ")", e);
            }
        }
    }

    private void endShed(Context loop, HttpClientAgent admin, AtomicBoolean shedding) {
        if (!shedding.get()) {
            return;
        }
        try {
            call(loop, admin, HttpMethod.DELETE, SHED, null, "end the edge's shed drill");
            shedding.set(false);
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "could not end the edge's shed drill after the drill: end it by hand (DELETE " + SHED + ")", e);
        }
    }

    private void undoAll(Context loop, HttpClientAgent admin, java.util.Deque<DrillPlan.AdminCall> undos) {
        DrillPlan.AdminCall u;
        while ((u = undos.pollFirst()) != null) {
            try {
                call(loop, admin, HttpMethod.valueOf(u.method()), u.path(), u.body(), "undo with " + u.method() + " " + u.path());
            } catch (IllegalStateException e) {
                if (!(e instanceof AdminRefusal r && r.status == 404)) { // nothing left to undo: the call it undoes failed
                    LOG.log(Level.SEVERE, "could not undo the drill's admin call: do it by hand (" + u.method() + " "
                            + u.path() + ")", e);
                }
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "could not undo the drill's admin call: do it by hand (" + u.method() + " "
                        + u.path() + ")", e);
            }
        }
    }

    /** The load and the phases: the caller's thread schedules, the client's event loop sends and records. */
    private final class Load {
        /** A request crossing into the next phase may have that phase's status only if it was sent this close to it. */
        private static final long CROSSING_NANOS = TimeUnit.SECONDS.toNanos(1);

        private final DrillPlan plan;
        private final Context loop;
        private final HttpClientAgent load;
        private final HttpClientAgent admin;
        private final Set<DrillPlan.Clearing> set;
        private final java.util.Deque<DrillPlan.AdminCall> undos;
        private final AtomicBoolean shedding;
        /** By phase index, what its admin calls' checks found wrong; the scheduling thread only. */
        private final Map<Integer, List<String>> checks = new java.util.HashMap<>();
        private final Buffer[] bodies;
        /**
         * By phase, how late each request was issued on the event loop against its schedule: the drill client's own
         * lag, which its latencies include (timed from the schedule); reported so a saturated client is not taken
         * for a slow gateway.
         */
        private final List<ConcurrentLinkedQueue<Long>> sendLags = new ArrayList<>();
        private final ConcurrentLinkedQueue<DrillReport.Outcome> outcomes = new ConcurrentLinkedQueue<>();
        /**
         * Requests scheduled and not yet recorded: id to {phase, offset, due}. An answer, the request's timer and the
         * final sweep each record a request only through {@code compute} on its entry, which also removes it, so a
         * request is recorded exactly once and is in {@code outcomes} before it leaves this map.
         */
        private final ConcurrentHashMap<String, long[]> outstanding = new ConcurrentHashMap<>();
        private final AtomicLong sequence = new AtomicLong();
        /** When each phase's fault changes began (nanoTime), read by the event loop as answers come. */
        private final AtomicLongArray changedAt;

        Load(DrillPlan plan, Context loop, HttpClientAgent load, HttpClientAgent admin, Set<DrillPlan.Clearing> set,
             java.util.Deque<DrillPlan.AdminCall> undos, AtomicBoolean shedding) {
            this.plan = plan;
            this.undos = undos;
            this.shedding = shedding;
            this.loop = loop;
            this.load = load;
            this.admin = admin;
            this.set = set;
            this.bodies = plan.requests().stream().map(r -> r.body().toBuffer()).toArray(Buffer[]::new);
            plan.phases().forEach(p -> sendLags.add(new ConcurrentLinkedQueue<>()));
            this.changedAt = new AtomicLongArray(plan.phases().size() + 1);
            for (int i = 0; i < changedAt.length(); i++) {
                changedAt.set(i, Long.MAX_VALUE);
            }
        }

        DrillReport run() throws InterruptedException {
            long n = 0;
            for (int i = 0; i < plan.phases().size(); i++) {
                DrillPlan.Phase phase = plan.phases().get(i);
                double intervalNanos = 1e9 / phase.rate(plan);
                changedAt.set(i, System.nanoTime());
                // Faults cleared first, then the admin calls, then new faults: a rollout removed at the end must not
                // send traffic to a version still failing, and one set up at the start is in place before its fault.
                for (DrillPlan.Clearing c : phase.clear()) {
                    clear(loop, admin, c);
                    set.remove(c);
                }
                for (DrillPlan.AdminCall a : phase.admin()) {
                    // Bookkept before the call: one that lands but whose answer never comes must still be undone.
                    undos.removeIf(a::sameAs); // the plan undoes it itself
                    if (a.undo() != null && undos.stream().noneMatch(a.undo()::sameAs)) {
                        undos.addFirst(a.undo());
                    }
                    JsonObject answer = call(loop, admin, HttpMethod.valueOf(a.method()), a.path(), a.body(),
                            "make phase '" + phase.name() + "''s admin call " + a.method() + " " + a.path());
                    if (a.expect() != null && !contains(answer, a.expect())) {
                        checks.computeIfAbsent(i, k -> new ArrayList<>()).add(a.method() + " " + a.path()
                                + " answered " + answer.encode() + ", expected it to contain " + a.expect().encode());
                    }
                }
                double shed = phase.shedFraction();
                if (!Double.isNaN(shed)) {
                    if (shed > 0) {
                        shedding.set(true); // before the PUT, as faults are: a lost answer may have landed
                    }
                    call(loop, admin, HttpMethod.PUT, SHED, new JsonObject().put("fraction", shed),
                            "have the edge shed " + shed + " of inference requests");
                    if (shed == 0) {
                        shedding.set(false);
                    }
                }
                for (DrillPlan.Injection f : phase.inject()) {
                    set.add(f.target()); // before the PUT: a refused one changes nothing, a lost answer may have
                    inject(loop, admin, f);
                }
                long start = System.nanoTime();
                long length = (long) (phase.seconds() * 1e9);
                for (long k = 0; ; k++) {
                    long offset = (long) (k * intervalNanos);
                    if (offset >= length) {
                        break;
                    }
                    long due = start + offset;
                    sleepUntil(due);
                    int p = i;
                    long sent = n++;
                    String id = plan.name() + "-" + sequence.incrementAndGet();
                    outstanding.put(id, new long[] {p, offset, due});
                    loop.runOnContext(v -> send(id, p, offset, due, sent));
                }
                sleepUntil(start + length); // the phase lasts its length, not until its last send
            }
            // Every request has its own timer: by then each was answered or recorded lost. The margin is for the
            // event loop itself; whatever is left after it is recorded lost here.
            long grace = plan.timeoutMillis() + 5_000;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(grace);
            while (!outstanding.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            for (String id : List.copyOf(outstanding.keySet())) {
                record(id, DrillReport.LOST, null, id + " got no answer " + grace + " ms after the last send");
            }
            List<long[]> lags = sendLags.stream().map(q -> q.stream().mapToLong(Long::longValue).sorted().toArray()).toList();
            return DrillReport.of(plan, base.toString(), List.copyOf(outcomes), checks).withClientLag(lags);
        }

        private static void sleepUntil(long nanoTime) throws InterruptedException {
            long wait;
            while ((wait = nanoTime - System.nanoTime()) > 20_000) {
                LockSupport.parkNanos(wait);
                if (Thread.interrupted()) {
                    throw new InterruptedException("the drill was interrupted");
                }
            }
        }

        /** Records a request's end once (see {@code outstanding}); a second end of the same request is ignored. */
        private void record(String id, int status, String problemOrNull, String lostWhy) {
            long end = System.nanoTime();
            outstanding.compute(id, (k, sent) -> {
                if (sent != null) {
                    int phase = (int) sent[0];
                    long change = changedAt.get(phase + 1);
                    boolean crossed = end > change && change - sent[2] <= CROSSING_NANOS;
                    outcomes.add(new DrillReport.Outcome(phase, sent[1], status, end - sent[2],
                            status == DrillReport.LOST ? lostWhy : problemOrNull, crossed));
                }
                return null;
            });
        }

        private void send(String id, int phase, long offset, long due, long n) {
            sendLags.get(phase).add(System.nanoTime() - due);
            DrillPlan.RequestTemplate template = plan.requests().get((int) (n % bodies.length));
            Buffer body = bodies[(int) (n % bodies.length)];
            RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setURI(template.path())
                    .putHeader("content-type", "application/json").putHeader("x-request-id", id)
                    .setConnectTimeout(plan.timeoutMillis()).setIdleTimeout(plan.timeoutMillis());
            // The whole request, a wait for a pooled connection included, gets timeout_ms from its scheduled time.
            AtomicReference<HttpClientRequest> sentRequest = new AtomicReference<>();
            long timeoutMs = Math.max(1, plan.timeoutMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - due));
            long timer = loop.owner().setTimer(timeoutMs, t -> {
                record(id, DrillReport.LOST, null, id + " got no answer within " + plan.timeoutMillis() + " ms");
                HttpClientRequest r = sentRequest.get();
                if (r != null) {
                    r.reset();
                }
            });
            long deadlineMs = plan.clientDeadlineMillis();
            load.request(options)
                    .compose(request -> {
                        sentRequest.set(request);
                        if (deadlineMs > 0) {
                            // Propagate what is left of the client's deadline, as a gRPC client does: the gateway
                            // cannot see the time this request waited here for a connection. One already out of time
                            // is not sent (sending it anyway, with 1 ms for the gateway to answer 504, kept the
                            // connections busy with work nobody waits for: the answered p95 at 10000 requests/s on
                            // 2 shared cores went from 82 ms to 1.75 s) and counts as a 504.
                            long left = deadlineMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - due);
                            if (left < 1) {
                                request.exceptionHandler(e -> { }); // the reset below is the expected end
                                request.reset();
                                return Future.<HttpClientResponse>failedFuture(new ExpiredInClient());
                            }
                            request.putHeader("x-weir-timeout-ms", Long.toString(left));
                        }
                        return request.send(body);
                    })
                    .compose(response -> response.body().map(b -> problem(response, b, id)))
                    .onComplete(ar -> {
                        loop.owner().cancelTimer(timer);
                        if (ar.succeeded()) {
                            record(id, ar.result().status(), ar.result().problem(), null);
                        } else if (ar.cause() instanceof ExpiredInClient) {
                            record(id, DrillReport.UNSENT, null, null); // judged as the 504 the gateway would give
                        } else {
                            record(id, DrillReport.LOST, null, id + " got no answer: " + ar.cause());
                        }
                    });
        }
    }

    private record Answer(int status, String problem) {
    }

    /** An admin call answered with a status other than 200. */
    private static final class AdminRefusal extends IllegalStateException {
        final int status;

        AdminRefusal(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /** A request whose propagated deadline ran out while it waited for a connection: not sent ({@link DrillReport#UNSENT}). */
    private static final class ExpiredInClient extends RuntimeException {
        ExpiredInClient() {
            super("the client's deadline passed before a connection was free", null, false, false);
        }
    }


    /** What is wrong with an answer, as a client of the error table sees it, or null. */
    static Answer problem(HttpClientResponse response, Buffer body, String id) {
        int status = response.statusCode();
        String echoed = response.getHeader("x-request-id");
        if (!id.equals(echoed)) {
            return new Answer(status, id + " was answered " + status + " with request id " + echoed);
        }
        if (status == 429 && response.getHeader("retry-after") == null) {
            return new Answer(status, id + " was answered 429 without Retry-After");
        }
        JsonObject json;
        try {
            json = body.toJsonObject();
        } catch (DecodeException | ClassCastException e) {
            return new Answer(status, id + " was answered " + status + " with a body that is not a JSON object: " + clip(body));
        }
        if (status != 200) {
            Object error = json.getValue("error");
            if (!(error instanceof JsonObject e) || !(e.getValue("code") instanceof String)
                    || !(e.getValue("message") instanceof String) || !id.equals(json.getValue("request_id"))) {
                return new Answer(status, id + " was answered " + status + " with an error body out of the error"
                        + " table's shape: " + clip(body));
            }
        }
        return new Answer(status, null);
    }

    private static String clip(Buffer body) {
        String s = body.toString();
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }

    /** Whether {@code actual} contains {@code expected}: objects key by key, anything else by equality. */
    static boolean contains(Object actual, Object expected) {
        if (expected instanceof JsonObject e) {
            if (!(actual instanceof JsonObject a)) {
                return false;
            }
            for (String k : e.fieldNames()) {
                if (!a.containsKey(k) || !contains(a.getValue(k), e.getValue(k))) {
                    return false;
                }
            }
            return true;
        }
        if (expected instanceof Number e && actual instanceof Number a) {
            return e.doubleValue() == a.doubleValue();
        }
        return java.util.Objects.equals(actual, expected);
    }

    private void preflight(Context loop, HttpClientAgent admin, DrillPlan plan) {
        JsonObject faults = call(loop, admin, HttpMethod.GET, FAULTS, null, "read the faults in force");
        JsonObject inForce = faults.getJsonObject("faults", new JsonObject());
        if (!inForce.isEmpty()) {
            throw new IllegalStateException("faults are already in force (" + inForce.encode() + "): clear them first,"
                    + " or the drill would measure them too");
        }
        if (plan.phases().stream().anyMatch(p -> !Double.isNaN(p.shedFraction()))) {
            double inForceShed = call(loop, admin, HttpMethod.GET, SHED, null, "read the edge's shed drill")
                    .getDouble("fraction", 0.0);
            if (inForceShed > 0) {
                throw new IllegalStateException("the edge already sheds " + inForceShed + " of inference requests (a shed"
                        + " drill in force): end it first (DELETE " + SHED + "), or the drill would measure it too");
            }
        }
        JsonObject models = call(loop, admin, HttpMethod.GET, "/admin/models", null, "list the models");
        for (DrillPlan.Phase phase : plan.phases()) {
            for (DrillPlan.AdminCall a : phase.admin()) {
                // A PUT the drill undoes by deleting its path must not replace what an operator configured there.
                if (a.method().equals("PUT") && a.undo() != null && a.undo().method().equals("DELETE")
                        && a.undo().path().equals(a.path()) && answers(loop, admin, a.path())) {
                    throw new IllegalStateException("phase '" + phase.name() + "' would replace " + a.path()
                            + ", which is already configured here, and remove it when the drill ends: remove it first"
                            + " or drill another gateway");
                }
            }
        }
        for (DrillPlan.Phase phase : plan.phases()) {
            for (DrillPlan.Injection f : phase.inject()) {
                if (!served(models, f.model(), f.version(), null)) {
                    throw new IllegalStateException("phase '" + phase.name() + "' injects into " + f.target()
                            + ", which is not a ready version here: the fault would hit nothing");
                }
                if (f.backend() != null && !served(models, f.model(), f.version(), f.backend())) {
                    throw new IllegalStateException("phase '" + phase.name() + "' injects into " + f.model() + " on "
                            + f.backend() + ", but no ready version of " + f.model() + " runs on " + f.backend()
                            + " here (" + backendsOf(models) + "): this drill needs that backend");
                }
            }
        }
    }

    /**
     * Whether a ready version of {@code model} ({@code *}: any), that version when given, runs on {@code backend}
     * (null: on any).
     */
    private static boolean served(JsonObject models, String model, String version, String backend) {
        for (Object o : models.getJsonArray("models", new JsonArray())) {
            if (o instanceof JsonObject m && "READY".equals(m.getString("state"))
                    && (model.equals("*") || model.equals(m.getString("model")))
                    && (version == null || version.equals(m.getString("version")))
                    && (backend == null || m.getJsonArray("backends", new JsonArray()).contains(backend))) {
                return true;
            }
        }
        return false;
    }

    private static String backendsOf(JsonObject models) {
        List<String> out = new ArrayList<>();
        for (Object o : models.getJsonArray("backends", new JsonArray())) {
            if (o instanceof JsonObject b) {
                out.add(b.getString("name") + (Boolean.TRUE.equals(b.getBoolean("available")) ? "" : " unavailable: "
                        + b.getString("reason")));
            }
        }
        return "backends: " + String.join("; ", out);
    }

    private void inject(Context loop, HttpClientAgent admin, DrillPlan.Injection f) {
        call(loop, admin, HttpMethod.PUT, FAULTS + "/" + f.model(), f.fault(), "inject " + f.fault().encode() + " into " + f.target());
    }

    private void clear(Context loop, HttpClientAgent admin, DrillPlan.Clearing c) {
        List<String> query = new ArrayList<>();
        if (c.version() != null) {
            query.add("version=" + URLEncoder.encode(c.version(), StandardCharsets.UTF_8));
        }
        if (c.backend() != null) {
            query.add("backend=" + URLEncoder.encode(c.backend(), StandardCharsets.UTF_8));
        }
        call(loop, admin, HttpMethod.DELETE, FAULTS + "/" + c.model() + (query.isEmpty() ? "" : "?" + String.join("&", query)),
                null, "clear the fault on " + c);
    }

    /** Whether a GET of {@code path} answers 200 (404: nothing there). */
    private boolean answers(Context loop, HttpClientAgent admin, String path) {
        try {
            call(loop, admin, HttpMethod.GET, path, null, "read " + path);
            return true;
        } catch (IllegalStateException e) {
            if (e instanceof AdminRefusal r && r.status == 404) {
                return false;
            }
            throw e;
        }
    }

    /** One admin call, waited for; anything but a 200 with a JSON object is an {@link IllegalStateException}. */
    private JsonObject call(Context loop, HttpClientAgent admin, HttpMethod method, String uri, JsonObject body, String what) {
        RequestOptions options = new RequestOptions().setMethod(method).setURI(uri).setIdleTimeout(ADMIN_TIMEOUT_MS)
                .setConnectTimeout(ADMIN_TIMEOUT_MS);
        if (!adminToken.isEmpty()) {
            options.putHeader("authorization", "Bearer " + adminToken);
        }
        if (body != null) {
            options.putHeader("content-type", "application/json");
        }
        Promise<JsonObject> answered = Promise.promise();
        loop.runOnContext(v -> admin.request(options)
                .compose(r -> body == null ? r.send() : r.send(body.toBuffer()))
                .compose(r -> r.body().map(b -> {
                    if (r.statusCode() == 200) {
                        return b.toJsonObject();
                    }
                    String hint = r.statusCode() == 404 && (uri.startsWith(FAULTS) || uri.equals(SHED))
                            ? ": the gateway's chaos admin API is off; start it with chaos.enabled=true (WEIR_CHAOS_ENABLED=true)"
                            : r.statusCode() == 401 ? ": give the gateway's admin.token in WEIR_ADMIN_TOKEN" : "";
                    throw new AdminRefusal(r.statusCode(), "could not " + what + ": " + method + " " + uri + " answered "
                            + r.statusCode() + " " + b + hint);
                })).onComplete(answered));
        Future<JsonObject> answer = answered.future();
        try {
            return answer.toCompletionStage().toCompletableFuture().get(ADMIN_TIMEOUT_MS + 1_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof IllegalStateException ise ? ise
                    : new IllegalStateException("could not " + what + " at " + base + ": " + cause, cause);
        } catch (TimeoutException e) {
            throw new IllegalStateException("could not " + what + ": no answer from " + base + " in " + ADMIN_TIMEOUT_MS + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while trying to " + what);
        }
    }
}
