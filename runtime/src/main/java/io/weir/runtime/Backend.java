package io.weir.runtime;

/**
 * An execution engine (ONNX Runtime on the CPU, CUDA on a GPU) that turns a model artifact into something that
 * runs batches. A backend that cannot run on this machine says so through {@link #availability()} instead of
 * throwing.
 */
public interface Backend extends AutoCloseable {

    /** Short stable name used in metrics and logs: {@code cpu}, {@code cuda}, ... */
    String name();

    /** Whether this backend can run here, and if not, why. */
    Availability availability();

    /**
     * Prepares a model version to run on this backend (parse, upload weights, check the declared schema).
     *
     * @throws ModelLoadException when the model is malformed, mismatches its declared schema or uses something this
     *                            backend does not support; the message says which.
     */
    LoadedModel load(ModelArtifact artifact) throws ModelLoadException;

    @Override
    default void close() {
    }

    /** Availability of a backend with the reason when unavailable. */
    record Availability(boolean available, String reason) {
        public static Availability yes() {
            return new Availability(true, "available");
        }

        public static Availability no(String reason) {
            return new Availability(false, reason);
        }
    }
}
