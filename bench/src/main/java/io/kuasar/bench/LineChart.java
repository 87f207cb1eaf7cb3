package io.kuasar.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * A small PNG line chart drawn with Java2D (headless): named series of (x, y) points, linear axes from zero, a
 * legend. Enough for the benchmarks' start-time CDFs and memory curves without a plotting dependency.
 */
final class LineChart {
    private static final int WIDTH = 800;
    private static final int HEIGHT = 500;
    private static final int LEFT = 80;
    private static final int RIGHT = 30;
    private static final int TOP = 50;
    private static final int BOTTOM = 60;
    private static final Color[] COLOURS = {new Color(0xD9, 0x5F, 0x02), new Color(0x1B, 0x9E, 0x77),
            new Color(0x75, 0x70, 0xB3), new Color(0xE7, 0x29, 0x8A)};

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final Map<String, List<double[]>> series = new LinkedHashMap<>();
    private boolean steps;

    LineChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /** Draws each series as a staircase (for an empirical CDF) instead of straight segments. */
    LineChart steps() {
        this.steps = true;
        return this;
    }

    LineChart series(String name, List<double[]> points) {
        series.put(name, List.copyOf(points));
        return this;
    }

    /** The empirical CDF of a sample: (value, fraction of the sample at or below it). */
    static List<double[]> cdf(List<Double> sample) {
        List<Double> sorted = sample.stream().sorted().toList();
        List<double[]> points = new ArrayList<>();
        points.add(new double[] {0, 0});
        for (int i = 0; i < sorted.size(); i++) {
            points.add(new double[] {sorted.get(i), (i + 1) / (double) sorted.size()});
        }
        return points;
    }

    void write(Path png) throws IOException {
        double maxX = niceCeiling(series.values().stream().flatMap(List::stream).mapToDouble(p -> p[0]).max().orElse(1));
        double maxY = niceCeiling(series.values().stream().flatMap(List::stream).mapToDouble(p -> p[1]).max().orElse(1));
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            axes(g, maxX, maxY);
            int n = 0;
            for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
                Color c = COLOURS[n % COLOURS.length];
                plot(g, e.getValue(), maxX, maxY, c);
                g.setColor(c);
                g.fillRect(LEFT + 20, TOP + 12 + 20 * n, 24, 4);
                g.setColor(Color.BLACK);
                g.drawString(e.getKey(), LEFT + 50, TOP + 18 + 20 * n);
                n++;
            }
        } finally {
            g.dispose();
        }
        ImageIO.write(image, "png", png.toFile());
    }

    private void axes(Graphics2D g, double maxX, double maxY) {
        int plotW = WIDTH - LEFT - RIGHT;
        int plotH = HEIGHT - TOP - BOTTOM;
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.setColor(Color.BLACK);
        g.drawString(title, LEFT, TOP - 20);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i <= 5; i++) {
            int x = LEFT + plotW * i / 5;
            int y = TOP + plotH - plotH * i / 5;
            g.setColor(new Color(0xE0, 0xE0, 0xE0));
            g.drawLine(x, TOP, x, TOP + plotH);
            g.drawLine(LEFT, y, LEFT + plotW, y);
            g.setColor(Color.BLACK);
            g.drawString(label(maxX * i / 5), x - 12, TOP + plotH + 18);
            g.drawString(label(maxY * i / 5), LEFT - 50, y + 4);
        }
        g.drawRect(LEFT, TOP, plotW, plotH);
        g.drawString(xLabel, LEFT + plotW / 2 - 60, HEIGHT - 15);
        Graphics2D rotated = (Graphics2D) g.create();
        rotated.rotate(-Math.PI / 2);
        rotated.drawString(yLabel, -(TOP + plotH / 2 + 60), 18);
        rotated.dispose();
    }

    private void plot(Graphics2D g, List<double[]> points, double maxX, double maxY, Color colour) {
        int plotW = WIDTH - LEFT - RIGHT;
        int plotH = HEIGHT - TOP - BOTTOM;
        g.setColor(colour);
        g.setStroke(new BasicStroke(2f));
        int px = -1;
        int py = -1;
        for (double[] p : points) {
            int x = LEFT + (int) Math.round(plotW * p[0] / maxX);
            int y = TOP + plotH - (int) Math.round(plotH * p[1] / maxY);
            if (px >= 0) {
                if (steps) {
                    g.drawLine(px, py, x, py);
                    g.drawLine(x, py, x, y);
                } else {
                    g.drawLine(px, py, x, y);
                }
            }
            g.fillOval(x - 2, y - 2, 4, 4);
            px = x;
            py = y;
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static String label(double v) {
        if (v == Math.rint(v)) {
            return String.format("%.0f", v);
        }
        return v >= 100 ? String.format("%.0f", v) : v >= 10 ? String.format("%.1f", v) : String.format("%.2f", v);
    }

    /** 1, 2 or 5 times a power of ten, at least {@code v}: round axis ends. */
    static double niceCeiling(double v) {
        if (v <= 0) {
            return 1;
        }
        double magnitude = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * magnitude >= v) {
                return m * magnitude;
            }
        }
        return 10 * magnitude;
    }
}
