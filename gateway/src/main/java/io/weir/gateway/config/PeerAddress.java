package io.weir.gateway.config;

import java.net.InetAddress;
import java.util.Locale;

/**
 * A replica's cluster address: a host (a name, or an IP literal in Java's own writing; IPv6 without brackets here) and
 * a port. {@link #toString} is the one form every replica writes an address in (an IPv6 host in brackets), so that
 * {@code $(POD_IP):8081} and the headless Service's answer for that pod name the same replica: replicas tell each other
 * apart, and themselves from their peers, by that text.
 */
public record PeerAddress(String host, int port) {
    public PeerAddress {
        if (host == null || host.isEmpty() || host.startsWith("[") || port < 1 || port > 65535) {
            throw new IllegalArgumentException("not a host and port: " + host + ", " + port);
        }
    }

    /**
     * Parses {@code host:port}: an IPv6 host bracketed or not (unbracketed, the part before the last colon has to be an
     * IPv6 literal), a name in any case.
     *
     * @throws IllegalArgumentException saying what is expected
     */
    public static PeerAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        String host = colon < 0 ? "" : text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = colon > 0 ? Integer.parseInt(text.substring(colon + 1)) : -1;
        } catch (NumberFormatException e) {
            port = -1;
        }
        String canonical = host.isEmpty() ? null : canonicalHost(host);
        if (port < 1 || port > 65535 || canonical == null) {
            throw new IllegalArgumentException("must be host:port (an IPv6 host as an address, bracketed or not), was '"
                    + text + "'");
        }
        return new PeerAddress(canonical, port);
    }

    /** One address a peer's name resolved to, with the name's port. */
    public static PeerAddress of(InetAddress address, int port) {
        return new PeerAddress(address.getHostAddress(), port);
    }

    /**
     * An IP literal in Java's own writing ({@code InetAddress.getHostAddress()}), a name in lower case, or null for
     * neither (an IPv6-looking string that is not an address).
     */
    private static String canonicalHost(String host) {
        try {
            return InetAddress.ofLiteral(host).getHostAddress();
        } catch (IllegalArgumentException e) {
            return host.contains(":") ? null : host.toLowerCase(Locale.ROOT);
        }
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
