package io.weir.gateway.cluster;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.weir.chaos.Partition;
import io.weir.gateway.RequestIds;
import io.weir.gateway.config.PeerAddress;
import io.weir.gateway.config.WeirConfig;
import io.weir.gateway.http.BearerToken;
import io.weir.gateway.http.HttpErrors;
import io.weir.gateway.http.LogThrottle;
import io.weir.gateway.http.RolloutAdminApi;
import io.weir.router.Rollouts;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;

import java.net.InetAddress;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * This replica's part in sharing rollouts with its peers. One replica, the <em>leader</em>, decides every rollout: its
 * admin API, its rollout file and its guard change them. The others follow: they serve the leader's rollouts (so a user
 * is on the same arm whichever replica answers), forward their rollout admin calls to it, and decide nothing.
 *
 * <p>Who leads, as every replica works it out from the same answers, without a vote: a replica heard from lately that
 * says it leads keeps leading — the one with the highest <em>term</em> when several do, then the lowest address — so
 * that a replica that starts, or comes back, never takes over from one leading; but not a leader whose term is below
 * one another replica already applied (it was replaced while it could not be heard). When none leads (at first start, or
 * when the leader has not answered for {@value #SILENT_ROUNDS} syncs) the replica heard from lately that serves the
 * newest rollouts (the latest leader state it applied; then one refusing none of its models) leads, then the longest-running, then the lowest address; with a
 * term one above any it has seen, from the state it was following (its guard resumes each stage from the leader's
 * progress handed over at the last sync, with a fresh window). A replica that hears a leader with a higher term, or an equal term and a lower address, stops leading and
 * follows it: so after a partition heals, the side that elected a new leader wins, and what the other side decided
 * alone is replaced (audited on both). How long a peer has run is taken from the uptime it reports, read against this
 * replica's monotonic clock, so the replicas' clocks need not agree (and an error in that reading cannot keep two
 * leaders apart: leaders are ranked by term and address only).
 *
 * <p>A follower takes the leader's rollouts at every sync, and the leader also pushes each change to the followers it
 * heard lately the moment it makes it ({@code POST /cluster/follow}), so that a rollback reaches every replica in
 * milliseconds and a leader that stops right after answering an admin call leaves the change with its followers.
 * States carry the leader's revision: one older than what a follower applied from the same leader and term (a pull
 * overtaken by a push) is skipped.
 *
 * <p>The leader's guard judges the whole fleet's traffic: a follower records what its users see in windows of its own,
 * and at every sync the leader takes them ({@code POST /cluster/windows}, which hands them over) into its windows.
 *
 * <p>Design: a sync round runs every {@code cluster.sync.ms}, the next scheduled when one ends, so rounds never overlap:
 * resolve the peers and ask each {@code GET /cluster/state} at once, then choose the leader and lead or follow (a worker
 * thread: leading takes the rollouts' monitor, and following writes the audit log and the file), and, leading, pool the
 * followers' windows. The choice itself is made on the event loop from what was heard; leading and following run on a
 * worker under {@code followLock}, which also guards what was applied last ({@link #applied},
 * {@link #leadersFileDigest}; volatile for readers). {@link #heard}, {@link #answeredThisRound} and {@link #answeredAs}
 * are guarded by {@code heard}; {@link #leader}, {@link #term}, {@link #refused} and {@link #resolved} are volatile,
 * read on event loops by the admin forwarding and {@code /admin/cluster}; {@link #server} and {@link #timer} are
 * volatile for {@link #close}. Lock order: {@code followLock}, the rollouts' monitor, their store's lock (the change
 * hook runs under it), the {@link ServedNote}'s; {@code heard} is taken alone.
 * Start-up: a replica neither leads nor follows until every peer it resolved answered — at least one peer unless
 * {@value #STARTUP_ROUNDS} rounds passed — so a replica restarting beside a running leader never serves its own file's
 * rollouts first; {@link #start} completes then, and readiness waits for it. With a rollout file, a replica notes beside
 * it the term and the leader's state it serves ({@link #noteServed}) and takes them back at start while the file still
 * holds that state, so that replicas restarting together rank by the rollouts they had, and terms never go back.
 *
 * <p>Also here, because they are replica-to-replica calls: the admin API's {@code ?replicas=all} ({@link #fanOutAdmin}
 * sends a per-replica admin call to every replica's cluster API, itself included, on a connection pool of its own), and
 * a drilled network partition ({@code chaos}: every peer call goes through {@code send}, and {@code authorize} drops
 * the calls of the peers cut off).
 */
public final class ClusterMember implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ClusterMember.class.getName());
    static final int SILENT_ROUNDS = 3;
    static final int STARTUP_ROUNDS = 5;
    static final String LEADER_HEADER = "x-weir-rollout-leader";
    /**
     * Who calls, on every replica-to-replica call: {@code /cluster/windows} answers only the leader this replica
     * follows, and a drilled partition drops the calls of the peers it cuts off.
     */
    static final String NODE_HEADER = "x-weir-node";
    /** The routing context key the admin API's metrics name a request's route by. */
    private static final String ROUTE_KEY = "weir.route";

    /** Resolves a host name to its addresses; the system resolver, or a fixed table in tests. */
    public interface Resolver {
        List<InetAddress> resolve(String host) throws UnknownHostException;

        Resolver SYSTEM = host -> List.of(InetAddress.getAllByName(host));
    }

    /**
     * A peer's last answer: when it started (on this replica's clock: now less the uptime it reported), when it
     * answered, whether it leads and with which term, and its rollouts.
     */
    private record Heard(long startedNanos, long atNanos, boolean leading, String leader, long term, long revision,
                         long appliedTerm, long appliedRevision, boolean appliedRestored, int refusedModels,
                         String fileDigest, JsonObject rollouts, JsonObject progress) {
    }

    /** The state a leader pushed last, and its acknowledgements: the same state is not pushed twice. */
    private record Pushing(long term, long revision, Future<String> acks) {
    }

    /** The leader's state a follower applied last: a state older than it (a pull overtaken by a push) is skipped. */
    private record Applied(String leader, long term, long revision) {
    }

    /**
     * A replica as the leader choice sees it: when it started (this replica's monotonic clock), whether it leads and
     * with which term, and how new the rollouts it serves are (the term and revision of the leader's state it applied
     * last; a leader's own), and whether that is only what it noted before a restart ({@code restored}: it has neither
     * followed nor led since).
     */
    record Candidate(String node, long startedNanos, boolean leading, long term, long appliedTerm, long appliedRevision,
                     boolean refusing, boolean restored) {
        Candidate(String node, long startedNanos, boolean leading, long term, long appliedTerm, long appliedRevision,
                  boolean refusing) {
            this(node, startedNanos, leading, term, appliedTerm, appliedRevision, refusing, false);
        }
    }

    private final Vertx vertx;
    private final WeirConfig.Cluster settings;
    /** This replica's cluster address, as its peers name it. */
    private final String self;
    /**
     * A drilled network partition: the peers this replica's cluster calls, both ways, are cut off from. Empty unless the
     * chaos API (mounted only with {@code chaos.enabled}) sets it through {@link #partition}.
     */
    private final Partition partition = new Partition();
    private final String bindHost;
    private final Rollouts rollouts;
    private final Resolver resolver;
    private final HttpClientAgent client;
    /**
     * For admin calls sent to peers (forwarded rollout calls, fanned-out model calls), which may take long (a model
     * load warms up): a pool of its own, so that they never hold the connections the syncs and pushes need.
     */
    private final HttpClientAgent adminClient;
    private final long startedMillis = System.currentTimeMillis();
    private final long startedNanos = System.nanoTime();
    private final Map<String, Heard> heard = new HashMap<>();
    /** Peer addresses that answered in the round under way (guarded by heard). */
    private final Set<String> answeredThisRound = new HashSet<>();
    /** The peers' addresses resolved in the last round: with the followers heard, the replicas a change should reach. */
    private volatile List<String> resolved = List.of();
    /**
     * The node each peer address last answered as (guarded by heard): one replica may be reached at several addresses
     * (a name that resolves to IPv4 and IPv6, or a replica advertising a name), ourselves included.
     */
    private final Map<String, String> answeredAs = new HashMap<>();
    private volatile String leader;
    /** The term of the rollouts this replica serves: its own while it leads, its leader's while it follows. */
    private volatile long term;
    /** The models whose leader's rollout this replica could not apply at the last sync, with why. */
    private volatile Map<String, String> refused = Map.of();
    private volatile boolean closed;
    private final Promise<Void> synced = Promise.promise();
    /** Guarded by itself: follows run on worker threads, from a sync round or a leader's push. */
    private final Object followLock = new Object();
    /** Written under followLock, read anywhere. */
    private volatile Applied applied;
    /** Whether {@link #applied} is only what this replica noted before a restart (see {@link #restoreNote}). */
    private volatile boolean appliedRestored;
    /** Written and read on event loops (the change hook's and an admin answer's). */
    private volatile Pushing pushing;
    /** The rollout file digest of the leader whose state this replica applied last (see {@link Rollouts#lead(boolean, String)}). */
    private volatile String leadersFileDigest;
    /** Written on event loops, read by {@link #close} on a shutdown thread. */
    private volatile HttpServer server;
    private volatile long timer = -1;
    /**
     * Where this replica notes the term and the leader's state it serves, beside the rollout file (null without one),
     * so that a restart keeps its rank among the replicas (see {@link #restoreNote}); written by the change hook's
     * thread and the follow worker.
     */
    private final ServedNote note;
    /** A peer refusing our token is logged once a minute, not at every sync. */
    private final LogThrottle refusals = new LogThrottle(LOG, 60_000_000_000L, Ticker.system());

    /** @param rolloutFile the rollout file ({@code rollout.file}), or null when the rollouts live in memory only */
    public ClusterMember(Vertx vertx, WeirConfig.Cluster settings, String defaultHost, Rollouts rollouts, Path rolloutFile,
                         Resolver resolver) {
        if (!settings.enabled()) {
            throw new IllegalArgumentException("cluster.peers is empty: a lone replica decides its own rollouts");
        }
        this.vertx = vertx;
        this.settings = settings;
        this.self = settings.advertise().toString();
        this.note = rolloutFile == null ? null : new ServedNote(rolloutFile);
        this.bindHost = settings.host().isEmpty() ? defaultHost : settings.host();
        this.rollouts = rollouts;
        this.resolver = resolver;
        long timeout = Math.max(200, settings.syncMillis());
        this.client = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout((int) timeout)
                .setIdleTimeout((int) Math.max(10_000, timeout)).setIdleTimeoutUnit(TimeUnit.MILLISECONDS));
        this.adminClient = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout((int) timeout)
                .setIdleTimeout((int) Math.max(10_000, timeout)).setIdleTimeoutUnit(TimeUnit.MILLISECONDS),
                new PoolOptions().setHttp1MaxSize(32));
        rollouts.setOnChange(() -> {
            try {
                if (rollouts.leading()) { // under the rollouts' lock, on the thread that made the change: the file is written
                    noteServed(self, term, rollouts.revision());
                }
            } finally { // the change is made: whatever befell the note, the followers get it
                vertx.runOnContext(v -> push());
            }
        });
    }

    /**
     * Opens the cluster API and syncs until the replica knows whether it leads; the future completes then (or fails
     * when the port cannot be opened).
     */
    public Future<Void> start() {
        return start(r -> { });
    }

    /**
     * As {@link #start()}, also serving {@code localAdmin}'s routes (under {@code /cluster}) on the cluster API: the
     * per-replica admin calls another replica fans out to this one ({@link #fanOutAdmin}).
     */
    public Future<Void> start(Consumer<Router> localAdmin) {
        Router router = Router.router(vertx);
        router.route("/cluster/*").handler(this::authorize);
        router.get("/cluster/state").handler(ctx -> ctx.response().putHeader("content-type", "application/json")
                .end(state().toBuffer()));
        // not idempotent: what it answers is handed over, and gone from here
        router.post("/cluster/windows").handler(ctx -> {
            String caller = ctx.request().getHeader(NODE_HEADER);
            if (caller == null || !caller.equals(leader)) { // only the leader this replica follows takes its samples
                HttpErrors.send(ctx, WeirException.unavailable(self + " follows " + leader + ", not " + caller),
                        requestId(ctx));
                return;
            }
            vertx.executeBlocking(rollouts::exportWindows, false)
                    .onSuccess(w -> ctx.response().putHeader("content-type", "application/json").end(w.toBuffer()))
                    .onFailure(err -> HttpErrors.send(ctx, err, requestId(ctx)));
        });
        router.post("/cluster/follow").handler(BodyHandler.create(false).setBodyLimit(4 * 1024 * 1024))
                .handler(this::onFollowPush);
        // a change forwarded to a replica that has just stopped leading would be replaced at its next sync
        router.route("/cluster/admin/rollouts*").handler(this::refuseUnlessLeading);
        router.route("/cluster/admin/audit").handler(this::refuseUnlessLeading);
        localAdmin.accept(router);
        new RolloutAdminApi(rollouts, "/cluster", this::replicate).accept(router);
        router.route().last().handler(ctx -> HttpErrors.send(ctx, WeirException.notFound("no route for "
                + ctx.request().method() + " " + ctx.request().path()), requestId(ctx)));
        router.route().failureHandler(ctx -> HttpErrors.send(ctx, ctx.failure(), requestId(ctx)));
        return vertx.executeBlocking(() -> {
                    restoreNote();
                    return null;
                }, false)
                .compose(v -> vertx.createHttpServer(new HttpServerOptions().setHost(bindHost).setPort(settings.port()))
                        .requestHandler(router).listen())
                .compose(s -> {
                    server = s;
                    LOG.info("cluster API on " + bindHost + ":" + s.actualPort() + ", this replica is " + self
                            + ", peers " + settings.peers());
                    round(1);
                    return synced.future();
                });
    }

    /** A rollout change on the cluster API is the leader's alone. */
    private void refuseUnlessLeading(RoutingContext ctx) {
        if (ctx.request().method() != HttpMethod.GET && !rollouts.leading()) {
            ctx.response().putHeader(LEADER_HEADER, String.valueOf(leader));
            HttpErrors.send(ctx, WeirException.unavailable(self + " does not lead the rollouts now (its leader: "
                    + leader + "); retry"), requestId(ctx));
            return;
        }
        ctx.next();
    }

    /** What a peer asks at every sync. */
    JsonObject state() {
        long revision = rollouts.revision(); // before the rollouts: a state is never labelled newer than it is
        return new JsonObject().put("node", self).put("uptime_ms", uptimeMillis())
                .put("leading", rollouts.leading()).put("term", term).put("revision", revision).put("leader", leader)
                .put("applied_term", appliedTerm()).put("applied_revision", appliedRevision(revision))
                .put("applied_restored", appliedRestored && !rollouts.leading())
                .put("refused_models", refused.size()).put("file_digest", rollouts.fileDigest())
                .put("rollouts", rollouts.state()).put("progress", rollouts.progress());
    }

    /** For {@code GET /admin/cluster}: who leads, and the peers heard lately. */
    public JsonObject describe() {
        JsonObject out = new JsonObject().put("node", self).put("started_ms", startedMillis)
                .put("leader", leader).put("leading", rollouts.leading()).put("term", term)
                .put("refused", new JsonObject(new TreeMap<>(refused)))
                // the n of x-weir-replicated: whom a change has to reach, heard lately or not
                .put("replicas_known", new JsonArray(new ArrayList<>(replicasKnown())));
        Set<String> cutOff = partitionedFrom();
        if (!cutOff.isEmpty()) {
            out.put("partitioned_from", new JsonArray(new ArrayList<>(cutOff)));
        }
        JsonArray peers = new JsonArray();
        long now = System.nanoTime();
        synchronized (heard) {
            long wallNow = System.currentTimeMillis();
            heard.forEach((node, h) -> peers.add(new JsonObject().put("node", node)
                    .put("started_ms", wallNow - (now - h.startedNanos()) / 1_000_000)
                    .put("leading", h.leading()).put("leader", h.leader()).put("term", h.term())
                    .put("heard_ms_ago", (now - h.atNanos()) / 1_000_000)));
        }
        return out.put("peers", peers);
    }

    public boolean leading() {
        return rollouts.leading();
    }

    /** The term of the rollouts this replica serves: its own while it leads, its leader's while it follows. */
    public long term() {
        return term;
    }

    /** Models whose leader's rollout this replica could not apply at the last sync (their own keeps serving). */
    public int refusedModels() {
        return refused.size();
    }

    private long appliedTerm() {
        Applied a = applied;
        return rollouts.leading() || a == null ? term : a.term();
    }

    private long appliedRevision(long ownRevision) {
        Applied a = applied;
        if (rollouts.leading()) {
            return ownRevision;
        }
        return a == null ? 0 : a.revision();
    }

    private long uptimeMillis() {
        return (System.nanoTime() - startedNanos) / 1_000_000;
    }

    /** Replicas heard from lately, this one included. */
    public int replicas() {
        synchronized (heard) {
            return heard.size() + 1;
        }
    }

    // ------------------------------------------------------------------------------------------------ sync rounds

    private void round(int n) {
        if (closed) {
            return;
        }
        vertx.executeBlocking(this::resolvePeers, false)
                .onSuccess(peers -> {
                    resolved = List.copyOf(peers);
                    if (!peers.isEmpty()) { // no answer from the resolver is no reason to forget whom addresses reach
                        synchronized (heard) {
                            answeredAs.keySet().retainAll(peers);
                        }
                    }
                })
                .compose(peers -> Future.join(peers.stream().map(this::ask).toList()).otherwiseEmpty()
                        .map(ignored -> peers))
                .compose(peers -> {
                    long answered;
                    synchronized (heard) {
                        answered = peers.stream().filter(answeredThisRound::contains).count();
                        answeredThisRound.clear();
                    }
                    boolean starting = !synced.future().isComplete();
                    // no peer at all may be a name not resolving yet (DNS, a pod not yet in the Service): wait too
                    if (starting && (peers.isEmpty() || answered < peers.size()) && n < STARTUP_ROUNDS) {
                        return Future.succeededFuture(); // not every peer heard yet: decide nothing so early
                    }
                    return decide().compose(v -> poolWindows()).onComplete(ar -> {
                        if (starting) {
                            LOG.info("cluster synced after " + n + " round(s): " + answered + " of " + peers.size()
                                    + " peers answered, leader " + leader);
                            synced.tryComplete();
                        }
                    });
                })
                .onComplete(ar -> {
                    if (ar.failed()) {
                        LOG.log(Level.WARNING, "cluster sync round failed", ar.cause());
                    }
                    if (!closed) {
                        timer = vertx.setTimer(settings.syncMillis(), id -> round(n + 1));
                    }
                });
    }

    /** The peers' addresses, this replica's left out; a name that does not resolve now is skipped this round. */
    private List<String> resolvePeers() {
        Set<String> out = new LinkedHashSet<>();
        for (PeerAddress peer : settings.peers()) {
            try {
                for (InetAddress a : resolver.resolve(peer.host())) {
                    out.add(PeerAddress.of(a, peer.port()).toString());
                }
            } catch (UnknownHostException e) {
                LOG.fine(() -> "cluster peer " + peer + " does not resolve now: " + e.getMessage());
            }
        }
        out.remove(self);
        return new ArrayList<>(out);
    }

    /** Asks one peer for its state and notes the answer; a peer that does not answer is simply not heard. */
    private Future<Void> ask(String peer) {
        return send(peer, toPeer(peer, HttpMethod.GET, "/cluster/state")).compose(req -> req.send()).compose(this::json).map(state -> {
            String node = state.getString("node");
            if (node == null || !node.equals(canonical(node))) {
                throw new IllegalStateException("answered as '" + node + "', not a cluster address in canonical form");
            }
            synchronized (heard) {
                answeredAs.put(peer, node);
                answeredThisRound.add(peer); // ourselves too: a start-up waits for every address to answer
                if (node.equals(self)) {
                    return null; // ourselves under another name
                }
                long now = System.nanoTime();
                heard.put(node, new Heard(now - state.getLong("uptime_ms") * 1_000_000L, now,
                        Boolean.TRUE.equals(state.getBoolean("leading")), state.getString("leader"), state.getLong("term", 0L),
                        state.getLong("revision", 0L), state.getLong("applied_term", 0L),
                        state.getLong("applied_revision", 0L), Boolean.TRUE.equals(state.getBoolean("applied_restored")),
                        state.getInteger("refused_models", 0), state.getString("file_digest"), state.getJsonObject("rollouts"),
                        state.getValue("progress") instanceof JsonObject p ? p : null));
            }
            return (Void) null;
        }).recover(err -> {
            if (String.valueOf(err.getMessage()).startsWith("answered 401")) { // the replicas would each lead alone
                refusals.log(Level.WARNING, "cluster peer " + peer + " answered 401: its cluster.token differs from this replica's", null);
            }
            LOG.fine(() -> "cluster peer " + peer + " did not answer: " + err.getMessage());
            return Future.succeededFuture();
        });
    }

    /**
     * This leader's followers: the peers heard lately that do not lead. (What one answered last may still name the
     * previous leader, or none while it starts: a push to it is then refused, and not counted in
     * {@code x-weir-replicated}, until it follows this one, at its next sync.)
     */
    private List<String> followersHeard() {
        List<String> followers = new ArrayList<>();
        synchronized (heard) {
            heard.forEach((node, h) -> {
                if (!h.leading()) {
                    followers.add(node);
                }
            });
        }
        return followers;
    }

    /**
     * A call to a peer's cluster API ({@code host:port}), with the token and this replica's address, timing out with
     * the sync interval.
     */
    private RequestOptions toPeer(String node, HttpMethod method, String uri) {
        PeerAddress to = PeerAddress.parse(node);
        return new RequestOptions().setMethod(method).setHost(to.host()).setPort(to.port()).setURI(uri)
                .setIdleTimeout(settings.syncMillis()).setConnectTimeout(settings.syncMillis()) // a busy pool fails, not waits
                .putHeader("authorization", "Bearer " + settings.token())
                .putHeader(NODE_HEADER, self);
    }

    /** Every call to a peer goes out here: one the drilled partition cuts off fails at once, as an unreachable peer's. */
    private Future<HttpClientRequest> send(String node, RequestOptions o) {
        return send(client, node, o);
    }

    private Future<HttpClientRequest> send(HttpClientAgent through, String node, RequestOptions o) {
        if (cutOff(node)) {
            return Future.failedFuture("cut off from " + node + " (chaos partition)");
        }
        return through.request(o);
    }

    /** Whether the drilled partition cuts off a peer, named by its address or the node that last answered there. */
    private boolean cutOff(String peer) {
        if (partition.cutsOff(peer)) {
            return true;
        }
        synchronized (heard) {
            return partition.cutsOff(answeredAs.get(peer));
        }
    }

    /**
     * The other replicas this one knows of: the nodes heard lately, and the peer addresses resolved in the last round
     * (a replica cut off or down since, still listed), each counted as the node that last answered there, so that one
     * replica reached at several addresses, or this one under another name, counts once or not at all. An address that
     * never answered counts as itself: it may be a replica that refuses our token or is still starting, and a count that
     * errs should err towards "not every replica has it" (an address nothing listens on, say the IPv6 one of a name
     * listed in {@code cluster.peers}, is counted too: list addresses, or names that resolve only to replicas).
     */
    private Set<String> replicasKnown() {
        Set<String> known = new TreeSet<>();
        synchronized (heard) {
            known.addAll(heard.keySet());
            for (String address : resolved) {
                known.add(answeredAs.getOrDefault(address, address));
            }
        }
        known.remove(self);
        return known;
    }

    /**
     * Drills a network partition (the chaos API): cuts this replica's cluster traffic off from {@code peers}, both
     * ways, replacing any partition in force. Refuses this replica itself and any address that is no peer it knows,
     * naming the peers, so that a drill cannot cut off nothing by a typo; an address is cut with the node it last
     * answered as (its calls to this replica name it by the address it advertises).
     *
     * @return the peers cut off now
     * @throws IllegalArgumentException saying which address is not a known peer
     */
    public Set<String> partition(List<String> peers) {
        Set<String> known = replicasKnown();
        synchronized (heard) {
            known.addAll(resolved);
            answeredAs.forEach((address, node) -> {
                if (!node.equals(self)) {
                    known.add(address);
                }
            });
        }
        Set<String> out = new TreeSet<>();
        for (String p : peers) {
            String node;
            synchronized (heard) {
                node = answeredAs.get(p);
            }
            if (p.equals(self) || self.equals(node)) {
                throw new IllegalArgumentException("'" + p + "' is this replica itself");
            }
            if (!known.contains(p)) {
                throw new IllegalArgumentException("'" + p + "' is not a peer this replica knows; known: " + known);
            }
            out.add(p);
            if (node != null) {
                out.add(node);
            }
        }
        partition.cut(out);
        return partition.peers();
    }

    /** Ends a drilled partition; whether one was in force. */
    public boolean healPartition() {
        return partition.heal();
    }

    /** The peers a drilled partition cuts off now, sorted (empty without one). */
    public Set<String> partitionedFrom() {
        return partition.peers();
    }

    /** {@code node} as this replica writes a cluster address, or null when it is none. */
    private static String canonical(String node) {
        try {
            return PeerAddress.parse(node).toString();
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private Future<JsonObject> json(HttpClientResponse resp) {
        return resp.body().map(b -> {
            if (resp.statusCode() != 200) {
                throw new IllegalStateException("answered " + resp.statusCode() + ": " + b.toString(StandardCharsets.UTF_8));
            }
            return new JsonObject(b);
        });
    }

    /**
     * The leader among these replicas (see the class note). One that leads keeps leading: the highest term, then the
     * lowest address (not the longest run: replicas estimate each other's age with an error, and leaders must resolve
     * to the same one on every replica) — unless its term is below one some replica already applied: that leader was
     * replaced while it could not be heard, and taking its state again would undo its successor's decisions; such a
     * leader is no candidate at all. When none leads: the one serving the newest rollouts (the latest leader's state it
     * applied), then one that serves every model as its leader has it (refusing none), then the longest-running, then
     * the lowest address.
     */
    static String chooseLeader(List<Candidate> replicas) {
        // what a replica noted before its restart ranks it when none leads, but never unseats one leading now
        long newestApplied = replicas.stream().filter(c -> !c.restored()).mapToLong(Candidate::appliedTerm).max().orElse(0);
        List<Candidate> current = replicas.stream().filter(c -> !c.leading() || c.term() >= newestApplied).toList();
        List<Candidate> leading = current.stream().filter(Candidate::leading).toList();
        if (!leading.isEmpty()) {
            return leading.stream().min(Comparator.comparingLong(Candidate::term).reversed()
                    .thenComparing(Candidate::node)).orElseThrow().node();
        }
        return current.stream().min(Comparator.comparingLong(Candidate::appliedTerm).reversed()
                .thenComparing(Comparator.comparingLong(Candidate::appliedRevision).reversed())
                .thenComparing(Candidate::refusing)
                .thenComparingLong(Candidate::startedNanos).thenComparing(Candidate::node)).orElseThrow().node();
    }

    /** Chooses the leader among the replicas heard lately and leads or follows. */
    private Future<Void> decide() {
        long now = System.nanoTime();
        long silence = (long) SILENT_ROUNDS * settings.syncMillis() * 1_000_000L;
        List<Candidate> replicas = new ArrayList<>();
        Map<String, Heard> alive = new HashMap<>();
        long ownRevision = rollouts.revision();
        replicas.add(new Candidate(self, startedNanos, rollouts.leading(), term, appliedTerm(),
                appliedRevision(ownRevision), !refused.isEmpty(), appliedRestored && !rollouts.leading()));
        synchronized (heard) {
            heard.values().removeIf(h -> now - h.atNanos() > silence);
            alive.putAll(heard);
        }
        long highestTerm = term;
        for (Map.Entry<String, Heard> e : alive.entrySet()) {
            Heard h = e.getValue();
            replicas.add(new Candidate(e.getKey(), h.startedNanos(), h.leading(), h.term(), h.appliedTerm(),
                    h.appliedRevision(), h.refusedModels() > 0, h.appliedRestored()));
            highestTerm = Math.max(highestTerm, h.term());
        }
        String best = chooseLeader(replicas);
        String previous = leader;
        leader = best;
        if (!best.equals(previous)) {
            LOG.info("rollout leader: " + best + (best.equals(self) ? " (this replica)" : ""));
        }
        if (best.equals(self)) {
            long nextTerm = highestTerm + 1;
            return vertx.executeBlocking(() -> {
                synchronized (followLock) { // no push from the old leader lands once this replica leads
                    if (!rollouts.leading()) {
                        term = nextTerm;
                        refused = Map.of(); // a leader serves its own rollouts: nothing of another's is refused
                        rollouts.lead(true, leadersFileDigest);
                        appliedRestored = false;
                        noteServed(self, nextTerm, rollouts.revision());
                        LOG.info("this replica leads the rollouts, term " + nextTerm);
                    }
                }
                return null;
            }, false).mapEmpty();
        }
        Heard from = alive.get(best);
        return vertx.executeBlocking(() -> {
            synchronized (followLock) {
                rollouts.lead(false);
            }
            if (from.rollouts() != null) { // an answer without rollouts: keep serving what this replica has
                // a replica that does not lead (none does now) serves its own leader's state: rank it by that
                applyLeaderState(best, from.leading() ? from.term() : from.appliedTerm(),
                        from.leading() ? from.revision() : from.appliedRevision(), from.rollouts(),
                        from.leading() ? from.fileDigest() : null, // a non-leader's own file is not its leader's
                        from.leading() ? from.progress() : null);
            }
            return null;
        }, false).mapEmpty();
    }

    /** What became of a leader's state offered to this replica. */
    private enum Offer { SERVED, STALE_SKIPPED, NOT_FOLLOWING }

    /**
     * Follows one state of the leader's, unless this replica leads now, follows another replica now (a push from a
     * leader it stopped following), or already applied a newer one of the same leader (a push and a pull may arrive out
     * of order). Worker threads.
     */
    private Offer applyLeaderState(String from, long leaderTerm, long revision, JsonObject state, String fileDigest,
                                   JsonObject progress) {
        synchronized (followLock) {
            if (rollouts.leading() || !from.equals(leader)) {
                return Offer.NOT_FOLLOWING;
            }
            // only a strictly older state is skipped: the same one is offered again at every sync, so that a model
            // refused for a version loaded since is followed at the next sync (following is idempotent)
            // what was noted before a restart ranks this replica, but never holds back the leader it chose to follow
            if (applied != null && !appliedRestored && applied.leader().equals(from) && (leaderTerm < applied.term()
                    || (leaderTerm == applied.term() && revision < applied.revision()))) {
                return Offer.STALE_SKIPPED;
            }
            refused = Map.copyOf(rollouts.follow(state, from).refused());
            applied = new Applied(from, leaderTerm, revision);
            appliedRestored = false;
            if (fileDigest != null) {
                leadersFileDigest = fileDigest;
            }
            term = leaderTerm;
            // the leader's stages, to resume them should this replica lead next; none from a state without them (a
            // replica that does not lead, an older Weir): nothing kept from before may be resumed after
            rollouts.followProgress(progress != null ? progress : new JsonObject());
            noteServed(from, leaderTerm, revision);
            return Offer.SERVED;
        }
    }

    /**
     * On the leader, after any change of its rollouts: sends the new state to every follower heard lately at once,
     * so that they serve it without waiting for their next sync. Best effort: a follower it misses takes the change at
     * its next sync. (An admin change also waits for it: {@link #replicate}.)
     */
    private void push() {
        if (rollouts.leading()) {
            replicate();
        }
    }

    /**
     * Sends this leader's rollouts to every follower heard lately and completes with
     * {@code "<acknowledged>/<replicas known>"} (see {@link #replicasKnown}) once each answered or timed out
     * ({@code cluster.sync.ms}); fails (503) only when this replica does not lead (any more).
     */
    public Future<String> replicate() {
        if (closed || !rollouts.leading()) {
            return Future.failedFuture(WeirException.unavailable(self
                    + " stopped leading the rollouts while making the change (its leader now: " + leader + "); retry"));
        }
        JsonObject state = state();
        Pushing last = pushing;
        if (last != null && last.term() == state.getLong("term") && last.revision() == state.getLong("revision")) {
            return last.acks(); // this very state is on its way (an admin change also pushed by its change hook)
        }
        List<String> followers = followersHeard();
        // counted: every replica this one knows of, so a leader cut off from its peers says 0/2, not 0/0
        Set<String> replicas = replicasKnown();
        replicas.addAll(followers);
        List<Future<Boolean>> acks = followers.stream().map(node -> {
            RequestOptions o = toPeer(node, HttpMethod.POST, "/cluster/follow").putHeader("content-type", "application/json");
            // acknowledged: the follower serves this state (or a newer one) for every model
            return send(node, o).compose(req -> req.send(state.toBuffer()))
                    .compose(resp -> resp.body().map(b -> resp.statusCode() == 200
                            && new JsonObject(b).getInteger("refused_models", 1) == 0))
                    .recover(err -> {
                        LOG.fine(() -> "push to " + node + " failed: " + err.getMessage());
                        return Future.succeededFuture(false);
                    });
        }).toList();
        Future<String> acknowledged = Future.join(acks).otherwiseEmpty()
                .map(v -> acks.stream().filter(f -> Boolean.TRUE.equals(f.result())).count() + "/" + replicas.size());
        pushing = new Pushing(state.getLong("term"), state.getLong("revision"), acknowledged);
        return acknowledged;
    }

    /** {@code POST /cluster/follow}: a push from the leader this replica follows; from any other it is refused. */
    private void onFollowPush(RoutingContext ctx) {
        JsonObject state = ctx.body().asJsonObject();
        String from = state == null ? null : state.getString("node");
        if (from == null || !from.equals(leader) || rollouts.leading() || !(state.getValue("rollouts") instanceof JsonObject r)) {
            HttpErrors.send(ctx, WeirException.unavailable(self + " follows " + leader
                    + ", not " + from), requestId(ctx));
            return;
        }
        long leaderTerm = state.getLong("term", 0L);
        long revision = state.getLong("revision", 0L);
        String fileDigest = state.getString("file_digest");
        JsonObject progress = state.getValue("progress") instanceof JsonObject p ? p : null;
        vertx.executeBlocking(() -> applyLeaderState(from, leaderTerm, revision, r, fileDigest, progress), false)
                .onSuccess(offer -> {
                    if (offer == Offer.NOT_FOLLOWING) {
                        HttpErrors.send(ctx, WeirException.unavailable(self + " does not follow " + from
                                + " now"), requestId(ctx));
                    } else {
                        ctx.response().putHeader("content-type", "application/json")
                                .end(new JsonObject().put("refused_models", refused.size()).toBuffer());
                    }
                })
                .onFailure(err -> HttpErrors.send(ctx, err, requestId(ctx)));
    }

    /**
     * On the leader: takes what each follower heard this round recorded since the last round into this replica's
     * windows, so that the guard judges every replica's traffic. A follower that does not answer keeps its samples
     * for the next round; an answer lost on the way loses that round's samples of that follower.
     */
    private Future<Void> poolWindows() {
        if (!rollouts.leading()) {
            return Future.succeededFuture();
        }
        return Future.join(followersHeard().stream().map(node -> {
            return send(node, toPeer(node, HttpMethod.POST, "/cluster/windows")).compose(req -> req.send()).compose(this::json)
                    .compose(w -> vertx.executeBlocking(() -> rollouts.absorbWindows(w), false))
                    .recover(err -> {
                        LOG.fine(() -> "no windows from " + node + ": " + err.getMessage());
                        return Future.succeededFuture(0L);
                    });
        }).toList()).mapEmpty();
    }

    // ------------------------------------------------------------------------------------------------ restarts

    /**
     * Notes, beside the rollout file, the term this replica serves and which leader's state (term, revision) it serves,
     * with that state itself: after a restart, {@link #restoreNote} takes them back when the rollout file still holds
     * that state, so that replicas restarting together choose the one with the newest rollouts to lead, not the first
     * up with an old file (one that was down while a rollback was made). Best effort and not synced: a note lost or
     * torn in a crash only ranks the replica as one that applied nothing, as without a note. Written after the rollout
     * file, on the thread that changed it.
     */
    private void noteServed(String leaderNode, long leaderTerm, long revision) {
        if (note != null) {
            note.write(() -> new JsonObject().put("node", self).put("term", term).put("leader", leaderNode)
                    .put("applied_term", leaderTerm).put("applied_revision", revision)
                    .put("refused", new JsonObject(new TreeMap<>(refused))).put("rollouts", rollouts.state()));
        }
    }

    /**
     * At start, after the rollout file is loaded: takes back the term noted by {@link #noteServed} (terms never go back,
     * whatever happened to the file), and the applied leader's state and refusals when the rollouts loaded are exactly
     * the ones noted (not after an operator's edit of the file meanwhile). What is taken back ranks this replica while
     * none leads, and never unseats one that leads ({@link #chooseLeader}).
     */
    private void restoreNote() {
        JsonObject noted = note == null ? null : note.read().orElse(null);
        if (noted == null) {
            return;
        }
        if (noted.getValue("term") instanceof Number servedTerm) {
            term = Math.max(term, servedTerm.longValue());
        }
        JsonObject notedRollouts = noted.getValue("rollouts") instanceof JsonObject r ? r : null;
        if (notedRollouts == null || !notedRollouts.encode().equals(rollouts.state().encode())
                || !(noted.getValue("leader") instanceof String leaderNode)
                || !(noted.getValue("applied_term") instanceof Number appliedTerm)
                || !(noted.getValue("applied_revision") instanceof Number appliedRevision)) {
            LOG.info("restarting at term " + term + "; not taking back the applied state noted in " + note.path()
                    + ": the rollout file no longer holds the rollouts it notes");
            return;
        }
        Map<String, String> wasRefused = new TreeMap<>();
        if (noted.getValue("refused") instanceof JsonObject r) { // it still serves those models its own way
            r.forEach(e -> wasRefused.put(e.getKey(), String.valueOf(e.getValue())));
        }
        synchronized (followLock) {
            applied = new Applied(leaderNode, appliedTerm.longValue(), appliedRevision.longValue());
            appliedRestored = true;
            refused = Map.copyOf(wasRefused);
        }
        LOG.info("restarting with the rollouts of leader " + leaderNode + ", term " + appliedTerm + " revision "
                + appliedRevision + " (from " + note.path().getFileName() + ")");
    }

    // ------------------------------------------------------------------------------------------------ the API

    private void authorize(RoutingContext ctx) {
        if (partition.cutsOff(ctx.request().getHeader(NODE_HEADER))) {
            ctx.request().connection().close(); // dropped, as a partitioned network would: the caller hears nothing
            return;
        }
        if (BearerToken.presented(ctx, settings.token())) {
            ctx.next();
            return;
        }
        HttpErrors.send(ctx, new WeirException(ErrorCode.UNAUTHENTICATED,
                "the cluster API needs 'Authorization: Bearer <cluster.token>'"), requestId(ctx));
    }

    private static String requestId(RoutingContext ctx) {
        return RequestIds.fitOrNext(ctx.request().getHeader("x-request-id"));
    }

    /**
     * On the admin API, before the rollout routes (after a body handler): on a follower, sends the call to the leader's
     * cluster API and relays its answer (with header {@value #LEADER_HEADER}); on the leader, lets it through. Before
     * the replicas know their leader a rollout call is answered 503: applied here, it would be replaced at the next
     * sync. Reads with {@code ?local=true}, and the shadow diffs (sampled where the shadow ran), are answered here.
     */
    public void forwardRolloutAdmin(RoutingContext ctx) {
        if (ctx.request().method() == HttpMethod.GET && ("true".equals(ctx.queryParams().get("local"))
                || ctx.request().path().endsWith("/shadow-diffs"))) {
            ctx.next(); // this replica's own view: its audit log, its sampled shadow diffs
            return;
        }
        ctx.put(ROUTE_KEY, "admin");
        String to = leader;
        String requestId = requestId(ctx);
        if (to == null) {
            HttpErrors.send(ctx, WeirException.unavailable("the replicas have not chosen their rollout leader yet; retry in a few seconds"),
                    requestId);
            return;
        }
        if (to.equals(self)) {
            ctx.response().putHeader(LEADER_HEADER, to);
            ctx.next();
            return;
        }
        RequestOptions o = adminCall(ctx, to, "/cluster" + ctx.request().uri(), 30_000, requestId);
        String actor = ctx.request().getHeader("x-weir-actor");
        // without an actor in the body or this header the leader would audit the follower as the caller
        o.putHeader("x-weir-actor", actor != null && !actor.isBlank() ? actor
                : "admin-api@" + ctx.request().remoteAddress() + " via " + self);
        relay(ctx, to, o)
                .compose(resp -> resp.body().map(b -> {
                    ctx.response().setStatusCode(resp.statusCode()).putHeader(LEADER_HEADER, to);
                    String type = resp.getHeader("content-type");
                    if (type != null) {
                        ctx.response().putHeader("content-type", type);
                    }
                    String replicated = resp.getHeader(RolloutAdminApi.REPLICATED_HEADER);
                    if (replicated != null) {
                        ctx.response().putHeader(RolloutAdminApi.REPLICATED_HEADER, replicated);
                    }
                    String retry = resp.getHeader("retry-after");
                    if (retry != null) {
                        ctx.response().putHeader("retry-after", retry);
                    }
                    return b;
                }))
                .onSuccess(b -> ctx.response().end(b))
                .onFailure(err -> HttpErrors.send(ctx, WeirException.unavailable("the rollout leader " + to
                        + " did not answer: " + err.getMessage()), requestId));
    }

    /**
     * An admin call in {@code ctx} relayed to a peer's cluster API at {@code uri}: the caller's method, request id and
     * content type, on the admin connection pool's bounds.
     */
    private RequestOptions adminCall(RoutingContext ctx, String node, String uri, long idleTimeoutMs, String requestId) {
        RequestOptions o = toPeer(node, ctx.request().method(), uri).setIdleTimeout(idleTimeoutMs)
                .setConnectTimeout(ADMIN_CONNECT_TIMEOUT_MS).putHeader("x-request-id", requestId);
        String contentType = ctx.request().getHeader("content-type");
        if (contentType != null) {
            o.putHeader("content-type", contentType);
        }
        return o;
    }

    /** Sends {@link #adminCall} {@code o} with the caller's body, on the admin connection pool. */
    private Future<HttpClientResponse> relay(RoutingContext ctx, String node, RequestOptions o) {
        Buffer body = ctx.body().buffer();
        return send(adminClient, node, o).compose(req -> body == null ? req.send() : req.send(body));
    }

    /** The query parameter that sends a per-replica admin call to every replica: {@code ?replicas=all}. */
    public static final String REPLICAS_PARAM = "replicas";
    /** How long a replica may take to answer a fanned-out call (a load warms the version up before it answers). */
    static final long FAN_OUT_TIMEOUT_MS = 300_000;
    /** How long an admin call sent to a peer may wait for a connection (its pool is its own, and large). */
    private static final long ADMIN_CONNECT_TIMEOUT_MS = 10_000;

    /**
     * On the admin API, before the per-replica admin routes (model list, load, reload, unload; batching policies), after
     * a body handler: with {@code ?replicas=all} it sends the call to every replica this one knows of, itself included
     * (their cluster APIs serve the same routes), and answers 200 {@code {"replicas": [{"node", "status", "body"}]}}
     * when every one succeeded, else the first failure's error naming every replica that failed (what succeeded stays
     * done); {@code x-weir-replicated: k/n} either way. Without the parameter the call is this replica's alone.
     */
    public void fanOutAdmin(RoutingContext ctx) {
        String scope = ctx.queryParams().get(REPLICAS_PARAM);
        if (scope == null) {
            ctx.next();
            return;
        }
        ctx.put(ROUTE_KEY, "admin");
        String requestId = requestId(ctx);
        if (!scope.equals("all")) {
            HttpErrors.send(ctx, WeirException.invalid(REPLICAS_PARAM + " must be 'all' (or absent, for this replica alone), was '"
                    + scope + "'"), requestId);
            return;
        }
        List<String> targets = new ArrayList<>();
        targets.add(self);
        targets.addAll(replicasKnown());
        StringBuilder uri = new StringBuilder("/cluster").append(ctx.request().path());
        char sep = '?';
        for (Map.Entry<String, String> q : ctx.queryParams()) {
            if (!q.getKey().equals(REPLICAS_PARAM)) {
                uri.append(sep).append(URLEncoder.encode(q.getKey(), StandardCharsets.UTF_8)).append('=')
                        .append(URLEncoder.encode(q.getValue(), StandardCharsets.UTF_8));
                sep = '&';
            }
        }
        List<Future<JsonObject>> answers = targets.stream().map(node -> {
            // a model load answers once the version is warm: give it as long as a start-up may take
            return relay(ctx, node, adminCall(ctx, node, uri.toString(), FAN_OUT_TIMEOUT_MS, requestId))
                    .compose(resp -> resp.body().map(b -> new JsonObject().put("node", node).put("status", resp.statusCode())
                            .put("body", jsonOrText(b))))
                    .recover(err -> Future.succeededFuture(new JsonObject().put("node", node)
                            .put("status", ErrorCode.UNAVAILABLE.httpStatus()).put("body", new JsonObject().put("error",
                                    new JsonObject().put("code", ErrorCode.UNAVAILABLE.name())
                                            .put("message", "did not answer: " + err.getMessage())))));
        }).toList();
        Future.join(answers).onComplete(ar -> {
            JsonArray replicas = new JsonArray();
            List<String> failures = new ArrayList<>();
            ErrorCode firstFailure = null;
            for (Future<JsonObject> f : answers) {
                JsonObject a = f.result();
                replicas.add(a);
                int status = a.getInteger("status");
                if (status / 100 != 2) {
                    JsonObject error = a.getValue("body") instanceof JsonObject b ? b.getJsonObject("error") : null;
                    String message = error != null ? error.getString("message") : String.valueOf(a.getValue("body"));
                    failures.add(a.getString("node") + ": " + status + " " + message);
                    if (firstFailure == null) {
                        firstFailure = errorCode(error);
                    }
                }
            }
            int succeeded = targets.size() - failures.size();
            ctx.response().putHeader(RolloutAdminApi.REPLICATED_HEADER, succeeded + "/" + targets.size());
            if (failures.isEmpty()) {
                ctx.response().putHeader("content-type", "application/json")
                        .end(new JsonObject().put("replicas", replicas).toBuffer());
            } else {
                HttpErrors.send(ctx, new WeirException(firstFailure, succeeded + " of " + targets.size()
                        + " replicas did it; " + String.join("; ", failures)), requestId);
            }
        });
    }

    private static Object jsonOrText(Buffer b) {
        try {
            return new JsonObject(b);
        } catch (RuntimeException e) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }

    /** A replica's error's code, UNAVAILABLE when it sent none this replica knows. */
    private static ErrorCode errorCode(JsonObject error) {
        try {
            return ErrorCode.valueOf(error.getString("code"));
        } catch (RuntimeException e) {
            return ErrorCode.UNAVAILABLE;
        }
    }

    @Override
    public void close() {
        closed = true;
        synced.tryFail("closed before the replicas chose their rollout leader");
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        if (server != null) {
            server.close();
        }
        client.close();
        adminClient.close();
    }
}
