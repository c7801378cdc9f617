package io.weir.runtime;

/**
 * A backend failed to run a batch. {@link #deviceFault()} tells the dispatcher whether the failure belongs to the
 * device (worth retrying the batch elsewhere) rather than to the request.
 */
public class InferenceException extends Exception {
    private final boolean deviceFault;

    public InferenceException(String message, boolean deviceFault, Throwable cause) {
        super(message, cause);
        this.deviceFault = deviceFault;
    }

    public InferenceException(String message, boolean deviceFault) {
        this(message, deviceFault, null);
    }

    public boolean deviceFault() {
        return deviceFault;
    }
}
