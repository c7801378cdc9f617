package io.weir.runtime.repository;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** SHA-256 of artifacts and the {@code SHA256SUMS} file that records them (the format {@code sha256sum -c} reads). */
public final class Checksums {
    private Checksums() {
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes {@code SHA256SUMS} in a version directory covering the named files. */
    public static void writeSums(Path versionDir, List<String> files) throws IOException {
        List<String> lines = new ArrayList<>();
        for (String f : files) {
            lines.add(sha256(Files.readAllBytes(versionDir.resolve(f))) + "  " + f);
        }
        Files.write(versionDir.resolve(FileModelRepository.SUMS), lines, StandardCharsets.UTF_8);
    }
}
