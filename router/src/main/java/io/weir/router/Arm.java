package io.weir.router;

import io.weir.runtime.WeirException;

import java.util.Locale;

/**
 * Which side of a rollout served a request. The lower-case name is the value of the {@code x-weir-variant} header,
 * both when a client forces an arm and when a response reports the arm that served it.
 */
public enum Arm {
    PRIMARY, CANARY, SHADOW;

    private final String header = name().toLowerCase(Locale.ROOT);

    /** The header / metric tag value: {@code primary}, {@code canary} or {@code shadow}. */
    public String header() {
        return header;
    }

    /**
     * Parses a forced-arm header value; {@code null} or blank means "not forced".
     *
     * @throws WeirException INVALID_ARGUMENT for any other value
     */
    public static Arm parseForced(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "primary" -> PRIMARY;
            case "canary" -> CANARY;
            case "shadow" -> SHADOW;
            default -> throw WeirException.invalid("variant must be 'primary', 'canary' or 'shadow', not '"
                    + (value.length() > 20 ? value.substring(0, 20) + "..." : value) + "'");
        };
    }
}
