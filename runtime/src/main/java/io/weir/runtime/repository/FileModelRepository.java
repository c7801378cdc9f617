package io.weir.runtime.repository;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Reads a repository laid out on a file system. Stateless apart from its root; thread-safe. */
final class FileModelRepository implements ModelRepository {
    static final String CONFIG = "config.json";
    static final String MODEL = "model.onnx";
    static final String SUMS = "SHA256SUMS";

    private final Path root;

    FileModelRepository(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    @Override
    public Path root() {
        return root;
    }

    @Override
    public List<String> models() {
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> Files.isRegularFile(p.resolve(CONFIG))).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list model repository " + root + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<String> versions(String model) {
        Path dir = root.resolve(model);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(Versions::isVersion).sorted(Versions.ORDER).toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list versions of " + model + ": " + e.getMessage(), e);
        }
    }

    @Override
    public ModelArtifact read(ModelKey key) throws ModelLoadException {
        if (!Versions.isSafeName(key.model()) || !Versions.isVersion(key.version())) {
            throw new ModelLoadException(key, "not a valid model name or version");
        }
        Path modelDir = root.resolve(key.model());
        Path versionDir = modelDir.resolve(key.version());
        if (!Files.isDirectory(versionDir)) {
            throw new ModelLoadException(key, "no such version in repository " + root);
        }
        ModelConfig config;
        try {
            config = ModelConfig.parse(new JsonObject(Files.readString(modelDir.resolve(CONFIG))));
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(key, "missing " + CONFIG);
        } catch (IOException e) {
            throw new ModelLoadException(key, "cannot read " + CONFIG + ": " + e.getMessage(), e);
        } catch (DecodeException | IllegalArgumentException | ClassCastException | NullPointerException e) {
            // NullPointerException: a null where a nested object (label, acceptance, ...) needs a value
            throw new ModelLoadException(key, "malformed " + CONFIG + ": " + e.getMessage(), e);
        }
        if (!config.name().equals(key.model())) {
            throw new ModelLoadException(key, CONFIG + " names model '" + config.name() + "' but lives in directory '" + key.model() + "'");
        }
        Map<String, String> sums = readSums(key, versionDir);
        if (!sums.containsKey(MODEL)) {
            throw new ModelLoadException(key, SUMS + " records no checksum for " + MODEL);
        }
        byte[] onnx = null;
        String onnxSha = null;
        for (Map.Entry<String, String> e : sums.entrySet()) {
            Path file = versionDir.resolve(e.getKey()).normalize();
            if (!file.startsWith(versionDir)) {
                throw new ModelLoadException(key, SUMS + " names a file outside the version directory: " + e.getKey());
            }
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (NoSuchFileException ex) {
                throw new ModelLoadException(key, "missing artifact " + e.getKey());
            } catch (IOException ex) {
                throw new ModelLoadException(key, "cannot read " + e.getKey() + ": " + ex.getMessage(), ex);
            }
            String actual = Checksums.sha256(bytes);
            if (!actual.equals(e.getValue())) {
                throw new ModelLoadException(key, "checksum mismatch for " + e.getKey() + ": recorded " + e.getValue() + ", found " + actual);
            }
            if (e.getKey().equals(MODEL)) {
                onnx = bytes;
                onnxSha = actual;
            }
        }
        return new ModelArtifact(key, config, versionDir, onnx, onnxSha);
    }

    private static Map<String, String> readSums(ModelKey key, Path versionDir) throws ModelLoadException {
        List<String> lines;
        try {
            lines = Files.readAllLines(versionDir.resolve(SUMS), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(key, "missing " + SUMS + ": every artifact's sha256 must be recorded");
        } catch (IOException e) {
            throw new ModelLoadException(key, "cannot read " + SUMS + ": " + e.getMessage(), e);
        }
        Map<String, String> sums = new LinkedHashMap<>();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.trim().split("\\s+\\*?", 2);
            if (parts.length != 2 || !parts[0].matches("[0-9a-f]{64}")) {
                throw new ModelLoadException(key, "malformed line in " + SUMS + ": " + line);
            }
            sums.put(parts[1], parts[0]);
        }
        return sums;
    }
}
