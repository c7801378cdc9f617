package io.weir.router.internal;

/**
 * Stable points for sticky assignment and sampling: 64-bit FNV-1a over the UTF-16 code units of
 * {@code salt, NUL, key}, finished with the MurmurHash3 64-bit mixer so that nearby keys ("user-1", "user-2") spread
 * evenly. Pure arithmetic on the string's chars: no allocation on the request path, and the same point on every JVM
 * and release, which stickiness across restarts depends on.
 */
public final class Assignment {
    /** Users are placed on a ring of this many points; canary weight is compared in basis points. */
    public static final int WEIGHT_POINTS = 10_000;
    /** Sampling resolution for the shadow sample rate. */
    public static final int SAMPLE_POINTS = 1_000_000;

    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private Assignment() {
    }

    /** The FNV state after {@code salt, NUL}, computed once per config so each lookup hashes only the key. */
    public static long seed(String salt) {
        long h = FNV_OFFSET;
        for (int i = 0; i < salt.length(); i++) {
            h ^= salt.charAt(i);
            h *= FNV_PRIME;
        }
        h ^= 0;
        h *= FNV_PRIME;
        return h;
    }

    public static long hash(long seed, String key) {
        long h = seed;
        for (int i = 0; i < key.length(); i++) {
            h ^= key.charAt(i);
            h *= FNV_PRIME;
        }
        return mix(h);
    }

    /** A point in {@code [0, points)}. */
    public static int point(long seed, String key, int points) {
        return (int) Long.remainderUnsigned(hash(seed, key), points);
    }

    private static long mix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }
}
