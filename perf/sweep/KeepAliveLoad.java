import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

/**
 * Closed-loop load over keep-alive HTTP/1.1 for perf/sweep/shed-cost.sh: {@code connections} threads, each with one
 * connection, post one body over and over for {@code seconds} and read each answer before the next; prints the
 * requests sent and their count per status ("total N rate R/s 200=n 429=m"). No pool, no connection churn: what it
 * measures is the gateway's cost per request on connections it already holds.
 *
 * <p>Usage: {@code java KeepAliveLoad.java <host> <port> <path> <body file> <connections> <seconds>}
 */
public class KeepAliveLoad {
    public static void main(String[] a) throws Exception {
        if (a.length != 6) {
            System.err.println("usage: java KeepAliveLoad.java <host> <port> <path> <body file> <connections> <seconds>");
            System.exit(2);
        }
        String host = a[0]; int port = Integer.parseInt(a[1]); String path = a[2];
        byte[] body = Files.readAllBytes(Path.of(a[3])); int conns = Integer.parseInt(a[4]); double seconds = Double.parseDouble(a[5]);
        byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        ConcurrentHashMap<Integer, LongAdder> codes = new ConcurrentHashMap<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        Thread[] ts = new Thread[conns];
        for (int i = 0; i < conns; i++) {
            ts[i] = new Thread(() -> {
                try (Socket s = new Socket(host, port)) {
                    s.setTcpNoDelay(true);
                    OutputStream out = new BufferedOutputStream(s.getOutputStream(), 16384);
                    InputStream in = new BufferedInputStream(s.getInputStream(), 16384);
                    while (System.nanoTime() < end) {
                        out.write(head); out.write(body); out.flush();
                        int code = readResponse(in);
                        codes.computeIfAbsent(code, k -> new LongAdder()).increment();
                    }
                } catch (IOException e) {
                    // status -1: this connection failed (and its thread stopped); the gateway must not do that
                    codes.computeIfAbsent(-1, k -> new LongAdder()).increment();
                }
            });
            ts[i].start();
        }
        for (Thread t : ts) t.join();
        StringBuilder sb = new StringBuilder();
        long total = 0;
        for (var e : codes.entrySet()) { sb.append(e.getKey()).append('=').append(e.getValue().sum()).append(' '); total += e.getValue().sum(); }
        System.out.println("total " + total + " rate " + Math.round(total / seconds) + "/s " + sb);
    }

    static int readResponse(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int code = -1, len = 0, c, prev = -1; boolean first = true;
        while (true) {
            c = in.read();
            if (c < 0) throw new EOFException();
            if (c == '\n' && prev == '\r') {
                String l = line.toString(); line.setLength(0);
                if (l.isEmpty()) break;
                if (first) { code = Integer.parseInt(l.substring(9, 12)); first = false; }
                else if (l.regionMatches(true, 0, "content-length:", 0, 15)) len = Integer.parseInt(l.substring(15).trim());
            } else if (c != '\r') line.append((char) c);
            prev = c;
        }
        in.readNBytes(len);
        return code;
    }
}
