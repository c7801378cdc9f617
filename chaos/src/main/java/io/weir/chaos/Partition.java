package io.weir.chaos;

import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

/**
 * A network partition drilled on one replica: the cluster peers ({@code host:port}, as they advertise themselves) its
 * replica-to-replica traffic is cut off from, both ways. Its calls to them fail at once and their calls to it are
 * dropped unanswered (the connection closed), so each side sees the other as gone while clients still reach both.
 * Set on one replica, it splits that replica from the ones named; a larger split names the other side on each of its
 * replicas. Read by event loops on every cluster call, written by the admin API: an immutable set behind a volatile
 * field, so readers never lock.
 */
public final class Partition {
    private volatile Set<String> cutOff = Set.of();

    /** Cuts this replica off from {@code peers} (replacing any partition in force). */
    public void cut(Collection<String> peers) {
        cutOff = Set.copyOf(peers);
    }

    /** @return whether a partition was in force */
    public boolean heal() {
        boolean was = !cutOff.isEmpty();
        cutOff = Set.of();
        return was;
    }

    /** Whether traffic to or from {@code peer} is cut off; false for null (a call that does not say who makes it). */
    public boolean cutsOff(String peer) {
        return peer != null && cutOff.contains(peer);
    }

    /** The peers cut off, sorted. */
    public Set<String> peers() {
        return new TreeSet<>(cutOff);
    }
}
