package io.moefleet.kvcache.impl;

import com.hazelcast.core.ReadOnly;
import com.hazelcast.map.EntryProcessor;

import java.io.Serial;
import java.util.Map;

/**
 * Runs on the members that own the keys and answers whether each page is there, so a prefix lookup asks for many
 * keys in one batch without moving any page bytes. Read-only: no backup traffic.
 */
final class PresenceProbe implements EntryProcessor<String, byte[], Boolean>, ReadOnly {

    @Serial
    private static final long serialVersionUID = 1L;

    @Override
    public Boolean process(Map.Entry<String, byte[]> entry) {
        return entry.getValue() != null ? Boolean.TRUE : null;
    }

    @Override
    public EntryProcessor<String, byte[], Boolean> getBackupProcessor() {
        return null;
    }
}
