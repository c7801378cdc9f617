package io.weir.runtime;

/** A model version: the unit that is loaded, batched and routed. */
public record ModelKey(String model, String version) {
    public ModelKey {
        if (model == null || model.isBlank() || version == null || version.isBlank()) {
            throw new IllegalArgumentException("model and version must not be blank");
        }
    }

    @Override
    public String toString() {
        return model + "@" + version;
    }
}
