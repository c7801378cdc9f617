package io.weir.runtime.repository;

import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;

import java.nio.file.Path;
import java.util.List;

/**
 * Where model versions live: {@code <root>/<model>/config.json} and {@code <root>/<model>/<version>/model.onnx},
 * each version with a {@code SHA256SUMS} file (the format of {@code sha256sum}) covering its artifacts.
 */
public interface ModelRepository {

    Path root();

    /** Model names present, sorted. */
    List<String> models();

    /** Versions of a model present on disk, oldest to newest by semantic version. */
    List<String> versions(String model);

    /** Reads and verifies one version: config parsed, checksums match, ONNX bytes read. */
    ModelArtifact read(ModelKey key) throws ModelLoadException;

    static ModelRepository open(Path root) {
        return new FileModelRepository(root);
    }
}
