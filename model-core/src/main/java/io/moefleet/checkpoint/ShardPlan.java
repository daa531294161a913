package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * Which weights go to which safetensors file. One {@code model.safetensors} while the total fits the
 * shard size; beyond it, consecutive weights are packed into {@code model-0000N-of-0000M.safetensors}
 * shards of at most the shard size each (a larger single weight gets a shard of its own), every entry
 * of one weight (e.g. FP8 values and scales) in the same shard.
 */
record ShardPlan(List<Shard> shards, boolean sharded) {
    static final String SINGLE_FILE = "model.safetensors";
    static final String INDEX_FILE = "model.safetensors.index.json";

    /** One weight and the entries that store it. */
    record PlannedTensor(TensorSpec spec, List<StoredTensor> entries) {
        long bytes() {
            return entries.stream().mapToLong(StoredTensor::byteSize).sum();
        }
    }

    record Shard(String fileName, List<PlannedTensor> tensors) {
        List<StoredTensor> entries() {
            return tensors.stream().flatMap(t -> t.entries().stream()).toList();
        }

        long bytes() {
            return tensors.stream().mapToLong(PlannedTensor::bytes).sum();
        }
    }

    static ShardPlan of(List<TensorSpec> specs, StoragePolicy policy, long maxShardBytes) {
        List<PlannedTensor> planned = specs.stream()
                .map(spec -> new PlannedTensor(spec, policy.encoder(spec).entries()))
                .toList();
        long total = planned.stream().mapToLong(PlannedTensor::bytes).sum();
        if (total <= maxShardBytes) {
            return new ShardPlan(List.of(new Shard(SINGLE_FILE, planned)), false);
        }
        List<List<PlannedTensor>> groups = new ArrayList<>();
        List<PlannedTensor> current = new ArrayList<>();
        long currentBytes = 0;
        for (PlannedTensor tensor : planned) {
            if (!current.isEmpty() && currentBytes + tensor.bytes() > maxShardBytes) {
                groups.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(tensor);
            currentBytes += tensor.bytes();
        }
        groups.add(current);
        List<Shard> shards = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            String name = "model-%05d-of-%05d.safetensors".formatted(i + 1, groups.size());
            shards.add(new Shard(name, List.copyOf(groups.get(i))));
        }
        return new ShardPlan(List.copyOf(shards), true);
    }

    long totalBytes() {
        return shards.stream().mapToLong(Shard::bytes).sum();
    }

    /** {@code model.safetensors.index.json}: total data size and the file of every entry. */
    ObjectNode index() {
        ObjectNode index = JsonNodeFactory.instance.objectNode();
        index.putObject("metadata").put("total_size", totalBytes());
        ObjectNode weightMap = index.putObject("weight_map");
        for (Shard shard : shards) {
            for (StoredTensor entry : shard.entries()) {
                weightMap.put(entry.name(), shard.fileName());
            }
        }
        return index;
    }
}
