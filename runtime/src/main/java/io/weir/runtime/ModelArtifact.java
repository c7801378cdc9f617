package io.weir.runtime;

import java.nio.file.Path;

/**
 * A model version read from the repository and verified against its recorded checksums, ready for a backend to
 * load. {@code onnx} is the serialized ONNX model; callers must not modify it.
 */
public record ModelArtifact(ModelKey key, ModelConfig config, Path directory, byte[] onnx, String sha256) {
}
