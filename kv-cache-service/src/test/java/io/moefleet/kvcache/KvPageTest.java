package io.moefleet.kvcache;

import org.junit.jupiter.api.Test;

import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class KvPageTest {

    @Test
    void latentsAreLittleEndianLayerPositionValue() {
        float[][][] latents = {{{1f, 2f}, {3f, 4f}, {5f, 6f}}, {{7f, 8f}, {9f, 10f}, {11f, 12f}}};
        KvPage page = KvPage.fromLatents("m", 3, latents);
        assertEquals(3, page.tokenCount());
        assertEquals(2, page.layers());
        assertEquals(2, page.width());
        assertEquals(48, page.byteSize());
        var bytes = page.latentBytes();
        assertEquals(ByteOrder.LITTLE_ENDIAN, bytes.order());
        for (int i = 0; i < 12; i++) {
            assertEquals(i + 1f, bytes.getFloat(4 * i));
        }
        float[] row = new float[2];
        page.copyLatent(1, 2, row);
        assertArrayEquals(new float[] {11f, 12f}, row);
    }

    @Test
    void fromFloatsIsFromLatentsInOneArray() {
        float[][][] latents = {{{1f, 2f}, {3f, 4f}, {5f, 6f}}, {{7f, 8f}, {9f, 10f}, {11f, 12f}}};
        float[] flat = {1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f};
        KvPage page = KvPage.fromFloats("m", 3, 3, 2, 2, flat);
        assertEquals(KvPage.fromLatents("m", 3, latents).latentBytes(), page.latentBytes());
        assertEquals(3, page.pageIndex());
        assertThrows(IllegalArgumentException.class, () -> KvPage.fromFloats("m", 0, 3, 2, 2, new float[11]));
    }

    @Test
    void aPageIsImmutable() {
        byte[] raw = new byte[4 * 2 * 3];
        raw[0] = 1;
        KvPage page = KvPage.of("m", 0, 3, 1, 2, raw);
        raw[0] = 2;
        assertEquals(1, page.latentBytes().get(0));
        assertThrows(java.nio.ReadOnlyBufferException.class, () -> page.latentBytes().put(0, (byte) 3));
    }

    @Test
    void aShapeThatDisagreesWithTheBytesIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> KvPage.of("m", 0, 3, 1, 2, new byte[20]));
        assertThrows(IllegalArgumentException.class,
                () -> KvPage.fromLatents("m", 0, new float[][][] {{{1f, 2f}}, {{1f}}}));
    }
}
