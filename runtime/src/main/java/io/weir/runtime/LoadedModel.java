package io.weir.runtime;

import java.util.Map;

/**
 * One model version ready to run on one backend. {@link #run} takes a batch (every input has the same number of
 * rows) and returns every declared output with that number of rows. Implementations are safe to call from several
 * threads at once.
 */
public interface LoadedModel extends AutoCloseable {

    ModelKey key();

    /** The backend's {@link Backend#name()}. */
    String backend();

    Map<String, Tensor> run(Map<String, Tensor> inputs) throws InferenceException;

    /** Releases native resources; called once no batch is running. */
    @Override
    void close();
}
