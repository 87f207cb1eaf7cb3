package io.kuasar.spi;

/**
 * containerd's request to add an exec process.
 *
 * @param id     container id
 * @param execId exec id, unique within the container
 * @param stdio  where its stdio goes
 * @param spec   the OCI runtime-spec Process, as containerd sent it (JSON)
 */
public record ExecSpec(String id, String execId, Stdio stdio, TypedData spec) {
}
