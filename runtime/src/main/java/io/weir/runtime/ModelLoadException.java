package io.weir.runtime;

/** A model version could not be loaded; the message says why in terms an operator can act on. */
public class ModelLoadException extends Exception {
    private final ModelKey model;

    public ModelLoadException(ModelKey model, String message) {
        super(model + ": " + message);
        this.model = model;
    }

    public ModelLoadException(ModelKey model, String message, Throwable cause) {
        super(model + ": " + message, cause);
        this.model = model;
    }

    public ModelKey model() {
        return model;
    }
}
