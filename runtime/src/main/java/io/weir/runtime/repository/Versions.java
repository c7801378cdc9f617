package io.weir.runtime.repository;

import java.util.Comparator;
import java.util.regex.Pattern;

/** Semantic version names of model versions ({@code MAJOR.MINOR.PATCH[-pre]}) and their order. */
public final class Versions {
    private static final Pattern VERSION = Pattern.compile("\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?");
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    private Versions() {
    }

    public static boolean isVersion(String s) {
        return s != null && VERSION.matcher(s).matches();
    }

    public static boolean isSafeName(String s) {
        return s != null && SAFE_NAME.matcher(s).matches() && !s.contains("..");
    }

    /** Orders by numeric major, minor, patch; a pre-release sorts before its release. */
    public static final Comparator<String> ORDER = (a, b) -> {
        String[] pa = a.split("-", 2);
        String[] pb = b.split("-", 2);
        String[] na = pa[0].split("\\.");
        String[] nb = pb[0].split("\\.");
        for (int i = 0; i < 3; i++) {
            int c = Long.compare(Long.parseLong(na[i]), Long.parseLong(nb[i]));
            if (c != 0) {
                return c;
            }
        }
        if (pa.length != pb.length) {
            return pa.length == 1 ? 1 : -1;
        }
        return pa.length == 1 ? 0 : pa[1].compareTo(pb[1]);
    };
}
