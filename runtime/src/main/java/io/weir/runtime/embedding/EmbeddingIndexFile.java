package io.weir.runtime.embedding;

import io.weir.runtime.repository.Versions;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The on-disk form of an {@link EmbeddingIndex}: {@code index-<version>.bin} where the version is semantic
 * ({@code 1.0.0}), newest by {@link Versions#ORDER}. Little-endian throughout:
 *
 * <pre>
 *   magic      8 bytes  "WEIREMB1"
 *   count      int32    items
 *   dimensions int32
 *   builtAt    int64    epoch milliseconds
 *   version    int32 length + UTF-8 (must equal the file name's version)
 *   ids        count x (int32 length + UTF-8)
 *   vectors    count x dimensions float32, row-major, each row L2-normalised
 *   sha256     32 bytes over everything above
 * </pre>
 *
 * Files are written to a temporary name and moved into place, so a reader never sees half a file; a corrupt or
 * truncated file fails its checksum and is refused. Stateless; thread-safe.
 */
public final class EmbeddingIndexFile {
    private static final byte[] MAGIC = "WEIREMB1".getBytes(StandardCharsets.US_ASCII);
    private static final Pattern NAME = Pattern.compile("index-(.+)\\.bin");
    private static final int SHA256_BYTES = 32;
    private static final int MAX_ID_BYTES = 1024;

    private EmbeddingIndexFile() {
    }

    public static String fileName(String version) {
        return "index-" + version + ".bin";
    }

    /** The version a file name carries, if it is an index file name with a semantic version. */
    public static Optional<String> versionOf(Path file) {
        Matcher m = NAME.matcher(file.getFileName().toString());
        return m.matches() && Versions.isVersion(m.group(1)) ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** Index files in {@code dir}, oldest version first; empty when the directory does not exist. */
    public static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> versionOf(p).isPresent())
                    .sorted((a, b) -> Versions.ORDER.compare(versionOf(a).orElseThrow(), versionOf(b).orElseThrow()))
                    .toList();
        }
    }

    public static Optional<Path> newest(Path dir) throws IOException {
        List<Path> files = list(dir);
        return files.isEmpty() ? Optional.empty() : Optional.of(files.getLast());
    }

    /** Writes {@code index} as {@code dir/index-<version>.bin}, atomically; returns the file. */
    public static Path write(Path dir, EmbeddingIndex index) throws IOException {
        if (!Versions.isVersion(index.version())) {
            throw new IllegalArgumentException("index version must be semantic (1.2.3), was '" + index.version() + "'");
        }
        Files.createDirectories(dir);
        Path target = dir.resolve(fileName(index.version()));
        Path tmp = Files.createTempFile(dir, ".index-", ".tmp");
        try {
            MessageDigest sha = sha256();
            try (OutputStream raw = Files.newOutputStream(tmp);
                 DigestOutputStream out = new DigestOutputStream(new java.io.BufferedOutputStream(raw, 1 << 16), sha)) {
                ByteBuffer header = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
                header.put(MAGIC).putInt(index.size()).putInt(index.dimensions()).putLong(index.builtAtEpochMillis());
                out.write(header.array(), 0, header.position());
                writeString(out, index.version());
                for (int r = 0; r < index.size(); r++) {
                    writeString(out, index.id(r));
                }
                float[] v = index.vectors();
                ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) {
                    if (!chunk.hasRemaining()) {
                        out.write(chunk.array(), 0, chunk.position());
                        chunk.clear();
                    }
                    chunk.putFloat(f);
                }
                out.write(chunk.array(), 0, chunk.position());
                out.on(false);
                out.write(sha.digest());
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads and verifies one index file.
     *
     * @throws IOException when the file cannot be read, its checksum or layout is wrong, or its contents are not a
     *                     valid index (the message says which)
     */
    public static EmbeddingIndex read(Path file) throws IOException {
        String expectedVersion = versionOf(file).orElseThrow(
                () -> new IOException(file.getFileName() + " is not named index-<semantic version>.bin"));
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < MAGIC.length + 16 + SHA256_BYTES) {
            throw new IOException(file + " is truncated (" + bytes.length + " bytes)");
        }
        int body = bytes.length - SHA256_BYTES;
        MessageDigest sha = sha256();
        sha.update(bytes, 0, body);
        if (!MessageDigest.isEqual(sha.digest(), Arrays.copyOfRange(bytes, body, bytes.length))) {
            throw new IOException(file + " fails its SHA-256 checksum (corrupt or truncated)");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes, 0, body).order(ByteOrder.LITTLE_ENDIAN);
        try {
            byte[] magic = new byte[MAGIC.length];
            in.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IOException(file + " is not a Weir embedding index (bad magic)");
            }
            int count = in.getInt();
            int dims = in.getInt();
            long builtAt = in.getLong();
            if (count < 1 || dims < 1 || (long) count * dims > Integer.MAX_VALUE - 8) {
                throw new IOException(file + " declares an impossible size " + count + " x " + dims);
            }
            String version = readString(in);
            if (!version.equals(expectedVersion)) {
                throw new IOException(file + " holds version " + version + ", not the " + expectedVersion + " its name says");
            }
            // Checked before anything of that size is allocated: a small file declaring a huge index (its checksum
            // vouches only for its bytes) must be refused, not end a refresh in OutOfMemoryError.
            if ((long) count * (Integer.BYTES + (long) dims * Float.BYTES) > in.remaining()) {
                throw new IOException(file + " declares " + count + " x " + dims + " but holds only " + in.remaining()
                        + " more bytes");
            }
            List<String> ids = new ArrayList<>(count);
            for (int r = 0; r < count; r++) {
                ids.add(readString(in));
            }
            if (in.remaining() != (long) count * dims * Float.BYTES) {
                throw new IOException(file + " has " + in.remaining() + " bytes of vectors, " + count + " x " + dims
                        + " need " + (long) count * dims * Float.BYTES);
            }
            float[] vectors = new float[count * dims];
            in.asFloatBuffer().get(vectors);
            return new EmbeddingIndex(version, builtAt, dims, ids, vectors);
        } catch (java.nio.BufferUnderflowException e) {
            throw new IOException(file + " ends early", e);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + " is not a valid index: " + e.getMessage(), e);
        }
    }

    private static void writeString(OutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > MAX_ID_BYTES) {
            throw new IllegalArgumentException("id longer than " + MAX_ID_BYTES + " bytes: " + s.substring(0, 40) + "...");
        }
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        out.write(b);
    }

    private static String readString(ByteBuffer in) throws IOException {
        int n = in.getInt();
        if (n < 0 || n > MAX_ID_BYTES || n > in.remaining()) {
            throw new IOException("bad string length " + n);
        }
        byte[] b = new byte[n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
