import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws the policy sweep (docs/results/policy-sweep.csv, written by PolicySweepSimulation) as one PNG: for each model a
 * column with p95 latency of OK responses against offered load (log scale, the model's budget as a dashed line) and
 * goodput against offered load (the offered rate as the dashed diagonal). Headless Java2D, so it needs nothing but
 * the JDK. Run from the repository root:
 *
 * <pre>java perf/sweep/PlotSweep.java docs/results/policy-sweep.csv docs/results/policy-sweep-p95.png \
 *     ranker=3500:120 moderation=5000:80</pre>
 *
 * where each {@code model=capacity:budget} gives the capacity the rates were scaled from (requests/s) and the latency
 * budget (ms). A point drawn hollow lost more than 1% of its offered requests (goodput below 99% of sent). A last
 * argument {@code --rig "<words>"} names the machine in the title (by default the 2-core development VM).
 */
public class PlotSweep {
    record Point(double offered, double p95, double goodput, long sent, long ok) {
    }

    static final String[] POLICY_ORDER = {"none", "fixed-0ms", "fixed-0.5ms", "fixed-1ms", "fixed-2ms", "fixed-5ms",
            "fixed-10ms", "adaptive"};
    static final Color[] POLICY_COLORS = {new Color(0x555555), new Color(0x08306b), new Color(0x08519c),
            new Color(0x2171b5), new Color(0x4292c6), new Color(0x41ab5d), new Color(0x006d2c), new Color(0xd62728)};

    public static void main(String[] args) throws IOException {
        String rig = "2-core VM, generator on the same cores";
        if (args.length >= 2 && args[args.length - 2].equals("--rig")) {
            rig = args[args.length - 1];
            args = Arrays.copyOf(args, args.length - 2);
        }
        if (args.length < 3) {
            System.err.println("usage: PlotSweep <csv> <png> model=capacity:budgetMs ... [--rig \"<machine>\"]");
            System.exit(2);
        }
        List<String> lines = Files.readAllLines(Path.of(args[0]));
        List<String> header = Arrays.asList(lines.getFirst().split(","));
        Map<String, Map<String, List<Point>>> data = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank() || line.startsWith("model,")) {
                continue;
            }
            String[] f = line.split(",", -1);
            if (Integer.parseInt(f[header.indexOf("closed_users")]) != 0) {
                continue;
            }
            double p95 = parse(f[header.indexOf("fine_ok_p95_ms")]);
            data.computeIfAbsent(f[0], k -> new LinkedHashMap<>()).computeIfAbsent(f[1], k -> new ArrayList<>())
                    .add(new Point(parse(f[header.indexOf("offered_rps")]), p95,
                            parse(f[header.indexOf("goodput_rps")]), Long.parseLong(f[header.indexOf("sent")]),
                            Long.parseLong(f[header.indexOf("ok")])));
        }
        List<String> models = new ArrayList<>();
        Map<String, double[]> scale = new LinkedHashMap<>();
        for (int i = 2; i < args.length; i++) {
            String[] kv = args[i].split("[=:]");
            models.add(kv[0]);
            scale.put(kv[0], new double[] {Double.parseDouble(kv[1]), Double.parseDouble(kv[2])});
        }

        int panelW = 760;
        int panelH = 470;
        int width = panelW * models.size() + 40;
        int height = panelH * 2 + 150;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font("DejaVu Sans", Font.BOLD, 20));
        g.drawString("Batching policies under Gatling open-model load (" + rig + ")", 30, 34);

        for (int m = 0; m < models.size(); m++) {
            String model = models.get(m);
            double capacity = scale.get(model)[0];
            double budget = scale.get(model)[1];
            Map<String, List<Point>> byPolicy = data.getOrDefault(model, Map.of());
            int x0 = 20 + m * panelW;
            latencyPanel(g, x0, 50, panelW, panelH, model, capacity, budget, byPolicy);
            goodputPanel(g, x0, 50 + panelH, panelW, panelH, model, capacity, byPolicy);
        }
        legend(g, 40, height - 60);
        g.dispose();
        ImageIO.write(img, "png", Path.of(args[1]).toFile());
    }

    static double parse(String s) {
        return s == null || s.isBlank() ? Double.NaN : Double.parseDouble(s);
    }

    // ---- panels ----

    static final int LEFT = 80;
    static final int RIGHT = 20;
    static final int TOP = 40;
    static final int BOTTOM = 60;
    /** The x axis runs to 210% of capacity, or further when the sweep offered more. */
    static double xMax(double capacity, Map<String, List<Point>> byPolicy) {
        double top = byPolicy.values().stream().flatMap(List::stream).mapToDouble(p -> 100 * p.offered() / capacity)
                .max().orElse(200);
        return Math.max(210, top + 10);
    }

    /** Ticks at the offered rates, as % of capacity. */
    static int[] ticks(double capacity, Map<String, List<Point>> byPolicy) {
        int[] offered = byPolicy.values().stream().flatMap(List::stream)
                .mapToInt(p -> (int) Math.round(100 * p.offered() / capacity)).distinct().sorted().toArray();
        return offered.length > 0 ? offered : new int[] {10, 25, 50, 75, 100, 125, 150, 200};
    }

    static void latencyPanel(Graphics2D g, int x, int y, int w, int h, String model, double capacity, double budget,
                             Map<String, List<Point>> byPolicy) {
        double yMin = 0.1;
        double yMax = 20_000;
        Frame f = new Frame(x + LEFT, y + TOP, w - LEFT - RIGHT, h - TOP - BOTTOM, 0, xMax(capacity, byPolicy),
                Math.log10(yMin), Math.log10(yMax));
        axes(g, f, model + ": p95 of OK responses (ms, log) vs offered load", "offered load, % of capacity ("
                + (int) capacity + " req/s = 100%)");
        g.setFont(new Font("DejaVu Sans", Font.PLAIN, 12));
        for (double v = yMin; v <= yMax; v *= 10) {
            for (int k = 1; k < 10; k++) {
                double t = v * k;
                if (t > yMax) {
                    break;
                }
                int py = f.py(Math.log10(t));
                g.setColor(k == 1 ? new Color(0xcccccc) : new Color(0xeeeeee));
                g.drawLine(f.left, py, f.left + f.width, py);
                if (k == 1) {
                    g.setColor(Color.BLACK);
                    String label = t < 1 ? String.format(Locale.ROOT, "%.1f", t) : String.valueOf((long) t);
                    g.drawString(label, f.left - 8 - g.getFontMetrics().stringWidth(label), py + 4);
                }
            }
        }
        xTicks(g, f, ticks(capacity, byPolicy));
        g.setColor(new Color(0xd62728));
        Stroke old = g.getStroke();
        g.setStroke(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {8, 6}, 0));
        int by = f.py(Math.log10(budget));
        g.drawLine(f.left, by, f.left + f.width, by);
        g.setStroke(old);
        g.drawString("budget " + (int) budget + " ms", f.left + 6, by - 6);
        series(g, f, capacity, byPolicy, p -> Double.isNaN(p.p95()) || p.p95() <= 0 ? Double.NaN : Math.log10(Math.max(yMin, p.p95())));
        g.setColor(Color.BLACK);
        g.drawRect(f.left, f.top, f.width, f.height);
    }

    static void goodputPanel(Graphics2D g, int x, int y, int w, int h, String model, double capacity,
                             Map<String, List<Point>> byPolicy) {
        double xMax = xMax(capacity, byPolicy);
        Frame f = new Frame(x + LEFT, y + TOP, w - LEFT - RIGHT, h - TOP - BOTTOM, 0, xMax, 0, xMax);
        axes(g, f, model + ": goodput (200s per second, % of capacity) vs offered load", "offered load, % of capacity");
        g.setFont(new Font("DejaVu Sans", Font.PLAIN, 12));
        for (int v = 0; v <= xMax; v += 25) {
            int py = f.py(v);
            g.setColor(new Color(0xdddddd));
            g.drawLine(f.left, py, f.left + f.width, py);
            g.setColor(Color.BLACK);
            String label = v + "%";
            g.drawString(label, f.left - 8 - g.getFontMetrics().stringWidth(label), py + 4);
        }
        xTicks(g, f, ticks(capacity, byPolicy));
        Stroke old = g.getStroke();
        g.setStroke(new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 6}, 0));
        g.setColor(new Color(0x888888));
        g.drawLine(f.px(0), f.py(0), f.px(xMax), f.py(xMax));
        g.setColor(new Color(0xd62728));
        g.drawLine(f.left, f.py(90), f.left + f.width, f.py(90));
        g.drawString("90% of capacity", f.left + f.width - 120, f.py(90) + 16);
        g.setStroke(old);
        series(g, f, capacity, byPolicy, p -> 100 * p.goodput() / capacity);
        g.setColor(Color.BLACK);
        g.drawRect(f.left, f.top, f.width, f.height);
    }

    interface YOf {
        double y(Point p);
    }

    static void series(Graphics2D g, Frame f, double capacity, Map<String, List<Point>> byPolicy, YOf yOf) {
        for (int i = 0; i < POLICY_ORDER.length; i++) {
            List<Point> pts = byPolicy.get(POLICY_ORDER[i]);
            if (pts == null) {
                continue;
            }
            pts = pts.stream().sorted((a, b) -> Double.compare(a.offered(), b.offered())).toList();
            boolean adaptive = POLICY_ORDER[i].equals("adaptive");
            g.setColor(POLICY_COLORS[i]);
            g.setStroke(new BasicStroke(adaptive ? 3f : 1.6f));
            int px = -1;
            int py = -1;
            for (Point p : pts) {
                double yv = yOf.y(p);
                if (Double.isNaN(yv)) {
                    px = -1;
                    continue;
                }
                int cx = f.px(100 * p.offered() / capacity);
                int cy = f.py(Math.max(f.yMin, Math.min(f.yMax, yv)));
                if (px >= 0) {
                    g.drawLine(px, py, cx, cy);
                }
                boolean lossy = p.sent() > 0 && p.ok() < 0.99 * p.sent();
                int r = adaptive ? 5 : 4;
                if (lossy) {
                    g.setColor(Color.WHITE);
                    g.fillOval(cx - r, cy - r, 2 * r, 2 * r);
                    g.setColor(POLICY_COLORS[i]);
                    g.drawOval(cx - r, cy - r, 2 * r, 2 * r);
                } else {
                    g.fillOval(cx - r, cy - r, 2 * r, 2 * r);
                }
                px = cx;
                py = cy;
            }
        }
        g.setStroke(new BasicStroke(1f));
    }

    static void xTicks(Graphics2D g, Frame f, int[] percents) {
        g.setFont(new Font("DejaVu Sans", Font.PLAIN, 12));
        for (int v : percents) {
            int px = f.px(v);
            g.setColor(new Color(0xe4e4e4));
            g.drawLine(px, f.top, px, f.top + f.height);
            g.setColor(Color.BLACK);
            String label = String.valueOf(v);
            g.drawString(label, px - g.getFontMetrics().stringWidth(label) / 2, f.top + f.height + 16);
        }
    }

    static void axes(Graphics2D g, Frame f, String title, String xLabel) {
        g.setColor(Color.BLACK);
        g.setFont(new Font("DejaVu Sans", Font.BOLD, 15));
        g.drawString(title, f.left, f.top - 12);
        g.setFont(new Font("DejaVu Sans", Font.PLAIN, 13));
        g.drawString(xLabel, f.left + f.width / 2 - g.getFontMetrics().stringWidth(xLabel) / 2, f.top + f.height + 36);
    }

    static void legend(Graphics2D g, int x, int y) {
        g.setFont(new Font("DejaVu Sans", Font.PLAIN, 14));
        int cx = x;
        for (int i = 0; i < POLICY_ORDER.length; i++) {
            g.setColor(POLICY_COLORS[i]);
            g.setStroke(new BasicStroke(POLICY_ORDER[i].equals("adaptive") ? 3f : 1.6f));
            g.drawLine(cx, y, cx + 28, y);
            g.fillOval(cx + 10, y - 4, 8, 8);
            g.setColor(Color.BLACK);
            g.drawString(POLICY_ORDER[i], cx + 34, y + 5);
            cx += 44 + g.getFontMetrics().stringWidth(POLICY_ORDER[i]) + 22;
        }
        g.setStroke(new BasicStroke(1f));
        // Not "from the scheduled arrival": Gatling times a request from its virtual user's start, and its own lag
        // behind the schedule under overload is in no latency (docs/PERF.md, "Batching policies under load").
        g.drawString("hollow marker: more than 1% of the offered requests failed (429/504/timeouts); "
                + "latency as the load generator timed it (Gatling: from each virtual user's start)", x, y + 30);
    }

    /** Data-to-pixel mapping of one plot area. */
    record Frame(int left, int top, int width, int height, double xMin, double xMax, double yMin, double yMax) {
        int px(double x) {
            return left + (int) Math.round((x - xMin) / (xMax - xMin) * width);
        }

        int py(double y) {
            return top + height - (int) Math.round((y - yMin) / (yMax - yMin) * height);
        }
    }
}
