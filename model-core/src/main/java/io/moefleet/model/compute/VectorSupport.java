package io.moefleet.model.compute;

import java.lang.management.ManagementFactory;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;

/**
 * The start-up check that the JVM compiles the Vector API to SIMD instructions. Without C2 (an interpreter-only or
 * C1-only JVM, or vector support switched off) the API falls back to boxed Java code that runs far slower than plain
 * loops, so serving would be unusable rather than merely slow: better to say so at once.
 */
public final class VectorSupport {

    private VectorSupport() {}

    /** Throws with what to change when the Vector API will not run as SIMD here; returns a one-line description otherwise. */
    public static String check() {
        int bits = VectorShape.preferredShape().vectorBitSize();
        if (bits < 128 || FloatVector.SPECIES_PREFERRED.length() < 4) {
            throw new IllegalStateException("this CPU/JVM offers " + bits + "-bit vectors; the kernels need SIMD of at least 128 bits");
        }
        String info = System.getProperty("java.vm.info", "");
        if (info.contains("interpreted mode")) {
            throw new IllegalStateException("the JVM runs interpreted (-Xint); the Vector API needs the C2 compiler: drop -Xint");
        }
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-XX:TieredStopAtLevel=") && !arg.endsWith("=4")) {
                throw new IllegalStateException("the JVM stops compiling before C2 (" + arg + "); the Vector API needs C2: drop the flag");
            }
            if (arg.equals("-XX:-EnableVectorSupport")) {
                throw new IllegalStateException("vector support is switched off (" + arg + "); drop the flag");
            }
        }
        String vm = System.getProperty("java.vm.name", "");
        if (!vm.contains("HotSpot") && !vm.contains("OpenJDK")) {
            throw new IllegalStateException("JVM '" + vm + "' is not HotSpot; the Vector API is compiled to SIMD only by HotSpot's C2 "
                    + "(OpenJ9 and older GraalVM fall back to slow Java code). Run on an OpenJDK/Temurin 25.");
        }
        return FloatVector.SPECIES_PREFERRED.length() + " float lanes (" + bits + "-bit vectors) on " + vm;
    }
}
