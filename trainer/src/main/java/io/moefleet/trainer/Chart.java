package io.moefleet.trainer;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** A line chart written as a PNG with the JDK's own imaging (headless): series over steps, an optional marked level. */
public final class Chart {

    /** One line: {@code dashed} for held-out points over the training line of the same colour. */
    public record Series(String name, double[] x, double[] y, Color color, boolean dashed) {}

    public static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)};
    static final Color LEVEL = new Color(0xff7f0e);
    static final int WIDTH = 900;
    static final int HEIGHT = 520;
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int TOP = 40;
    private static final int BOTTOM = 50;

    private Chart() {}

    /** @param level a horizontal line (e.g. QK-Clip's tau) and its label, or NaN for none */
    public static void write(Path png, String title, String yLabel, List<Series> series, double level, String levelLabel)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        double minX = Double.POSITIVE_INFINITY, maxX = Double.NEGATIVE_INFINITY;
        double minY = Double.isNaN(level) ? Double.POSITIVE_INFINITY : level;
        double maxY = Double.isNaN(level) ? Double.NEGATIVE_INFINITY : level;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                minX = Math.min(minX, s.x()[i]);
                maxX = Math.max(maxX, s.x()[i]);
                minY = Math.min(minY, s.y()[i]);
                maxY = Math.max(maxY, s.y()[i]);
            }
        }
        if (maxX == minX) {
            maxX = minX + 1;
        }
        double pad = (maxY - minY) * 0.05 + 1e-9;
        minY -= pad;
        maxY += pad;

        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.setColor(Color.BLACK);
        g.drawString(title, LEFT, 22);
        int plotW = WIDTH - LEFT - RIGHT;
        int plotH = HEIGHT - TOP - BOTTOM;
        g.drawRect(LEFT, TOP, plotW, plotH);
        for (int i = 0; i <= 5; i++) {
            double y = minY + (maxY - minY) * i / 5;
            int py = TOP + plotH - (int) Math.round(plotH * i / 5.0);
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(LEFT + 1, py, LEFT + plotW - 1, py);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.2f", y), 8, py + 4);
            double x = minX + (maxX - minX) * i / 5;
            int px = LEFT + (int) Math.round(plotW * i / 5.0);
            g.drawString(String.format(Locale.ROOT, "%.0f", x), px - 10, TOP + plotH + 18);
        }
        g.drawString("step", LEFT + plotW / 2 - 12, HEIGHT - 10);
        g.drawString(yLabel, LEFT + 4, TOP - 6);
        if (!Double.isNaN(level)) {
            int py = TOP + plotH - (int) Math.round((level - minY) / (maxY - minY) * plotH);
            g.setColor(LEVEL);
            g.setStroke(new BasicStroke(2f));
            g.drawLine(LEFT + 1, py, LEFT + plotW - 1, py);
            g.drawString(levelLabel, LEFT + plotW - 8 - g.getFontMetrics().stringWidth(levelLabel), py - 5);
        }
        int legendY = TOP + 18;
        for (Series s : series) {
            g.setColor(s.color());
            g.setStroke(s.dashed() ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {6f, 4f}, 0f)
                    : new BasicStroke(1.5f));
            int previousX = 0, previousY = 0;
            for (int i = 0; i < s.x().length; i++) {
                int px = LEFT + (int) Math.round((s.x()[i] - minX) / (maxX - minX) * plotW);
                int py = TOP + plotH - (int) Math.round((s.y()[i] - minY) / (maxY - minY) * plotH);
                if (i > 0) {
                    g.drawLine(previousX, previousY, px, py);
                }
                if (s.dashed()) {
                    g.fillOval(px - 3, py - 3, 6, 6);
                }
                previousX = px;
                previousY = py;
            }
            g.drawLine(LEFT + plotW - 190, legendY - 4, LEFT + plotW - 160, legendY - 4);
            g.drawString(s.name(), LEFT + plotW - 152, legendY);
            legendY += 18;
        }
        g.dispose();
        ImageIO.write(image, "png", png.toFile());
    }
}
