package io.weir.router;

import io.weir.runtime.ModelKey;

import java.util.Optional;

/**
 * Where one request goes: the arm and version that serve it and, when it is sampled for shadowing, the version it is
 * mirrored to after the response is sent.
 *
 * @param model         the model name the client asked for
 * @param arm           the arm that serves it (reported in the {@code x-weir-variant} response header)
 * @param version       the version that serves it (reported as {@code served_model_version})
 * @param shadowVersion the version to mirror this request to, or {@code null} when it is not mirrored
 * @param requestId     the request id the route was computed for (shadow diffs are keyed by it); may be null
 */
public record Route(String model, Arm arm, String version, String shadowVersion, String requestId) {

    public ModelKey key() {
        return new ModelKey(model, version);
    }

    /** True when the gateway should hand the request and its primary result to {@link Router#mirror}. */
    public boolean mirrored() {
        return shadowVersion != null;
    }

    public Optional<ModelKey> shadowKey() {
        return shadowVersion == null ? Optional.empty() : Optional.of(new ModelKey(model, shadowVersion));
    }
}
