# syntax=docker/dockerfile:1
#
# The moefleet image: one jar holding every service; each Kubernetes manifest picks its main class with
#   command: ["java", "-cp", "/opt/moefleet/moefleet.jar", "<main class>"]
#
# Build (from the repository root):
#   docker build -t ghcr.io/moefleet/moefleet:0.1.0 .
#
# Needs BuildKit (the default builder of Docker 23+) for the Maven cache mount.

########## stage 1: build every module with the Maven wrapper ##########
FROM eclipse-temurin:25-jdk-noble AS build
WORKDIR /src

# The whole source tree (see .dockerignore). The Maven local repository and the wrapper's Maven distribution live in a
# cache mount, so a rebuild after a source change downloads nothing again.
# launcher/target/launcher.jar holds every module; if it names its dependencies in its manifest (Class-Path: lib/...)
# instead of shading them, they are copied beside it, where that Class-Path finds them.
COPY . .
RUN --mount=type=cache,target=/root/.m2,id=moefleet-m2 \
    chmod +x mvnw \
 && ./mvnw -B --no-transfer-progress -DskipTests install \
 && mkdir -p /out \
 && cp launcher/target/launcher.jar /out/moefleet.jar \
 && if [ -d launcher/target/lib ]; then cp -r launcher/target/lib /out/lib; else mkdir -p /out/lib; fi

########## stage 2: the runtime ##########
FROM eclipse-temurin:25-jre-noble

# a fixed non-root identity: the manifests run as 10001:10001 with a read-only root file system
RUN groupadd --system --gid 10001 moefleet \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /opt/moefleet --shell /usr/sbin/nologin moefleet \
 && mkdir -p /opt/moefleet

COPY --from=build --chown=0:0 /out/moefleet.jar /opt/moefleet/moefleet.jar
COPY --from=build --chown=0:0 /out/lib/ /opt/moefleet/lib/

# Vector API and FFM for the kernels and the memory-mapped weights; the opens Hazelcast asks for on JDK 25 (the KV pool
# members and the attention instances' client); heap as a share of the container's memory limit.
ENV JDK_JAVA_OPTIONS="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow --add-modules java.se --add-exports java.base/jdk.internal.ref=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.management/sun.management=ALL-UNNAMED --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED -XX:+UseParallelGC -XX:MaxRAMPercentage=75" \
    DJL_CACHE_DIR=/tmp/djl

USER 10001:10001
WORKDIR /opt/moefleet
# no ENTRYPOINT: `java` is on the PATH and every manifest names its main class
