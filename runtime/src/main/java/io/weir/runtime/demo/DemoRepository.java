package io.weir.runtime.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The committed demo model repository ({@code ranker} 1.0.0 and 1.1.0, {@code moderation} 1.0.0, {@code echo}
 * 1.0.0), shipped as classpath resources under {@value #RESOURCE_ROOT} with an {@code index.txt} listing its files,
 * so that it can be unpacked from a jar as well as from a build directory.
 *
 * <p>Thread-safe: {@link #materialize()} extracts once per JVM under the class-holder idiom's lock.
 */
public final class DemoRepository {
    /** Classpath folder of the repository (no leading slash, for {@link ClassLoader#getResource}). */
    public static final String RESOURCE_ROOT = "io/weir/runtime/demo/repository";

    private DemoRepository() {
    }

    /** Relative paths of every file of the demo repository, as listed by its {@code index.txt}. */
    public static List<String> files() {
        try (InputStream in = open(DemoRepositoryWriter.INDEX)) {
            List<String> files = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String f = line.strip();
                if (f.isEmpty()) {
                    continue;
                }
                if (f.startsWith("/") || f.contains("\\") || List.of(f.split("/")).contains("..")) {
                    throw new IllegalStateException("demo repository index names an unsafe path: " + f);
                }
                files.add(f);
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the demo repository index", e);
        }
    }

    /**
     * Copies the demo repository, {@code index.txt} included, into {@code dir} (created if needed; files already
     * there are overwritten) and returns {@code dir}.
     */
    public static Path extractTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> all = new ArrayList<>(files());
        all.add(DemoRepositoryWriter.INDEX);
        for (String f : all) {
            Path target = dir.resolve(f);
            Files.createDirectories(target.getParent());
            try (InputStream in = open(f)) {
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return dir;
    }

    /**
     * The demo repository extracted into a temporary directory, once per JVM; the directory is deleted when the JVM
     * exits. Callers must treat it as read-only (copy it with {@link #extractTo} to change anything).
     */
    public static Path materialize() {
        return Materialized.DIR;
    }

    private static InputStream open(String relative) throws IOException {
        String name = RESOURCE_ROOT + "/" + relative;
        InputStream in = DemoRepository.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IOException("classpath resource " + name + " is missing: is weir-runtime built with its resources?");
        }
        return in;
    }

    private static final class Materialized {
        static final Path DIR = create();

        private static Path create() {
            try {
                Path dir = Files.createTempDirectory("weir-demo-repository-");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(dir), "weir-demo-repository-cleanup"));
                return extractTo(dir);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot extract the demo model repository", e);
            }
        }

        private static void deleteQuietly(Path dir) {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException ignored) {
                // A temp directory left behind at exit is harmless; the OS cleans /tmp.
            }
        }
    }
}
