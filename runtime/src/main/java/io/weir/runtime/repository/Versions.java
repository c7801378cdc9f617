package io.weir.runtime.repository;

import java.util.Comparator;
import java.util.regex.Pattern;

/** Semantic version names of model versions ({@code MAJOR.MINOR.PATCH[-pre]}) and their order. */
public final class Versions {
    /** At most 18 digits a number, so that each fits a long: a longer one would pass here and break the order. */
    private static final Pattern VERSION = Pattern.compile("\\d{1,18}\\.\\d{1,18}\\.\\d{1,18}(-[0-9A-Za-z.-]+)?");
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    private Versions() {
    }

    public static boolean isVersion(String s) {
        return s != null && VERSION.matcher(s).matches();
    }

    public static boolean isSafeName(String s) {
        return s != null && SAFE_NAME.matcher(s).matches() && !s.contains("..");
    }

    /**
     * Orders by numeric major, minor, patch; a pre-release sorts before its release, and pre-releases of one release
     * by their text. Scans the names in place: routing asks the registry for a model's newest version on every request
     * that names none, and splitting both names into strings there was a steady trickle of garbage.
     */
    public static final Comparator<String> ORDER = Versions::compare;

    private static int compare(String a, String b) {
        int ia = 0;
        int ib = 0;
        for (int part = 0; part < 3; part++) {
            int ea = numberEnd(a, ia);
            int eb = numberEnd(b, ib);
            int c = Long.compare(number(a, ia, ea), number(b, ib, eb));
            if (c != 0) {
                return c;
            }
            ia = ea + 1;   // past the '.' (or the '-' after the patch)
            ib = eb + 1;
        }
        boolean preA = ia <= a.length();
        boolean preB = ib <= b.length();
        if (preA != preB) {
            return preA ? -1 : 1;
        }
        if (!preA) {
            return 0;
        }
        // String.compareTo on the two suffixes, without making them.
        int la = a.length() - ia;
        int lb = b.length() - ib;
        for (int k = 0; k < Math.min(la, lb); k++) {
            int c = a.charAt(ia + k) - b.charAt(ib + k);
            if (c != 0) {
                return c;
            }
        }
        return la - lb;
    }

    /** Where the digits from {@code from} end (at a '.', a '-' or the end of the name). */
    private static int numberEnd(String s, int from) {
        int i = from;
        while (i < s.length() && s.charAt(i) != '.' && s.charAt(i) != '-') {
            i++;
        }
        return i;
    }

    private static long number(String s, int from, int to) {
        if (from >= to) {
            throw new NumberFormatException("not a version: '" + s + "'");
        }
        long n = 0;
        for (int i = from; i < to; i++) {
            int d = s.charAt(i) - '0';
            if (d < 0 || d > 9) {
                throw new NumberFormatException("not a version: '" + s + "'");
            }
            n = Math.addExact(Math.multiplyExact(n, 10), d);
        }
        return n;
    }
}
