package io.moefleet.kvcache.impl;

import io.moefleet.kvcache.KvPage;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A page as the pool stores it: one {@code byte[]} (a header, then the latents as they are), so members hold plain
 * bytes in BINARY format and never need our classes to serialise a value.
 */
final class PageCodec {

    private static final int MAGIC = 0x4b565031; // "KVP1"

    private PageCodec() {
    }

    static byte[] encode(KvPage page) {
        byte[] model = page.modelId().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(6 * 4 + model.length + page.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(MAGIC).putInt(model.length).put(model)
                .putInt(page.pageIndex()).putInt(page.tokenCount()).putInt(page.layers()).putInt(page.width())
                .put(page.latentBytes());
        return out.array();
    }

    static KvPage decode(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (in.getInt() != MAGIC) {
            throw new IllegalStateException("not a KV page: bad magic");
        }
        byte[] model = new byte[in.getInt()];
        in.get(model);
        int pageIndex = in.getInt();
        int tokenCount = in.getInt();
        int layers = in.getInt();
        int width = in.getInt();
        byte[] latents = new byte[in.remaining()];
        in.get(latents);
        return KvPage.of(new String(model, StandardCharsets.UTF_8), pageIndex, tokenCount, layers, width, latents);
    }
}
