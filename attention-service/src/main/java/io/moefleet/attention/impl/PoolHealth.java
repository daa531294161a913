package io.moefleet.attention.impl;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Says on the log when the KV pool stops answering and when it answers again, once each time, while the counters
 * count every failure: a pool that is down fails every lookup and publish, and one line per call would drown the log.
 */
final class PoolHealth {

    private static final System.Logger LOG = System.getLogger(PoolHealth.class.getName());

    private final AtomicBoolean failing = new AtomicBoolean();

    void failed(String what, Throwable cause) {
        if (failing.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "KV pool: {0} failed ({1}); prompts are computed and pages not shared until "
                    + "the pool answers again (the page stats count every failure)", what, cause.toString());
        } else {
            LOG.log(System.Logger.Level.DEBUG, "KV pool: {0} failed ({1})", what, cause.toString());
        }
    }

    void answered() {
        if (failing.compareAndSet(true, false)) {
            LOG.log(System.Logger.Level.INFO, "KV pool: answering again");
        }
    }
}
