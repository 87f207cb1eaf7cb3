#!/usr/bin/env bash
# Start a private containerd (2.1, from .cache) for the tests, with CRI, CNI bridge networking and
# the 'runc', 'runsc' and 'quark' sandbox proxy plugins pointing at our sandboxer; then import the test images.
# No-op when it already runs; cleans up first when a previous one died.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/node-env.sh"

# The node dir (by default under /tmp) must be ours: made here with a plain mkdir, or refused (node-env.sh).
kuasar_node_dir "$KUASAR_NODE_DIR" || { echo "containerd-up: unsafe node directory; see above" >&2; exit 1; }
[[ -x $CONTAINERD_BIN ]] || { echo "containerd-up: $CONTAINERD_BIN missing; run scripts/install-deps.sh" >&2; exit 1; }
for s in "$CONTAINERD_SOCK.ttrpc" "$KUASAR_SANDBOXER_SOCK"; do
  ((${#s} < 100)) || { echo "containerd-up: socket path too long for sun_path: $s" >&2; exit 1; }
done

alive() {
  local pid; pid="$(cat "$CONTAINERD_PID_FILE" 2>/dev/null)" || return 1
  [[ -n $pid && "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$CONTAINERD_BIN")" ]]
}
answers() { timeout 5 $CTR version >/dev/null 2>&1; }

import_images() {
  "$HERE/build-images.sh"
  local name tar want have
  for tar in "$KUASAR_IMAGE_DIR"/*.tar; do
    [[ -f $tar.name && -f $tar.digest ]] || continue
    name="$(cat "$tar.name")"
    want="$(cat "$tar.digest")"
    have="$($CTR images ls "name==$name" 2>/dev/null | awk 'NR > 1 {print $3}')"
    [[ $have == "$want" ]] && continue
    # The archive's io.containerd.image.name annotation gives the full name; import also unpacks
    # into the default (overlayfs) snapshotter, which CRI needs.
    $CTR images import --platform linux/amd64 "$tar" >/dev/null
    have="$($CTR images ls "name==$name" | awk 'NR > 1 {print $3}')"
    [[ $have == "$want" ]] || { echo "containerd-up: import of $name gave '$have', want $want" >&2; exit 1; }
    echo "containerd-up: imported $name ($want)"
  done
}

# A containerd started from an older version of this script lacks handlers the tests use: restart it.
current() { grep -q "runtimes.kuasar-vmm\]" "$CONTAINERD_CONFIG" 2>/dev/null; }
if alive && answers && current; then import_images; exit 0; fi
# Leftovers of a containerd that died (or hangs): shims, mounts, state. Start from scratch.
if alive || [[ -e $CONTAINERD_PID_FILE || -d $CONTAINERD_STATE ]]; then
  echo "containerd-up: cleaning up after a previous containerd" >&2
  "$HERE/containerd-down.sh"
fi

kuasar_node_dir "$KUASAR_NODE_DIR" || { echo "containerd-up: unsafe node directory; see above" >&2; exit 1; }
mkdir -p "$CONTAINERD_ROOT" "$CONTAINERD_STATE" "$KUASAR_CNI_CONF_DIR" "$KUASAR_NODE_DIR/cni/ipam" \
  "$KUASAR_RUNC_ROOT" "$KUASAR_NODE_DIR/opt"
chmod 711 "$KUASAR_NODE_DIR"

# Only loopback is needed besides the bridge: CRI brings up 'lo' itself with the loopback binary.
cat >"$KUASAR_CNI_CONF_DIR/10-kuasar.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "kuasar",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$KUASAR_CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$KUASAR_NODE_DIR/cni/ipam",
        "ranges": [[{ "subnet": "$KUASAR_CNI_SUBNET" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    }
  ]
}
JSON

cat >"$CONTAINERD_CONFIG" <<TOML
# Written by scripts/containerd-up.sh; edits are lost at the next start.
version = 3
root = '$CONTAINERD_ROOT'
state = '$CONTAINERD_STATE'
# NRI would take the host-wide /var/run/nri socket; nothing here uses it.
disabled_plugins = ['io.containerd.nri.v1.nri']

[grpc]
  address = '$CONTAINERD_SOCK'   # ttrpc listens on '<address>.ttrpc' by default

[proxy_plugins.runc]
  type = 'sandbox'
  address = '$KUASAR_SANDBOXER_SOCK'   # dialed lazily: need not exist at start

# driver-quark's two sandboxers, served by the same node at the same socket: containerd names the sandboxer in
# every request, and the node routes on it.
[proxy_plugins.runsc]
  type = 'sandbox'
  address = '$KUASAR_SANDBOXER_SOCK'

[proxy_plugins.quark]
  type = 'sandbox'
  address = '$KUASAR_SANDBOXER_SOCK'

# driver-wasm's three engines (Chicory and Wasmtime inside the node, WasmEdge as a process) and driver-vmm's QEMU
# micro-VMs.
[proxy_plugins.wasm]
  type = 'sandbox'
  address = '$KUASAR_SANDBOXER_SOCK'

[proxy_plugins.wasmtime]
  type = 'sandbox'
  address = '$KUASAR_SANDBOXER_SOCK'

[proxy_plugins.wasmedge]
  type = 'sandbox'
  address = '$KUASAR_SANDBOXER_SOCK'

[proxy_plugins.vmm]
  type = 'sandbox'
  address = '$KUASAR_SANDBOXER_SOCK'

[plugins.'io.containerd.internal.v1.opt']
  path = '$KUASAR_NODE_DIR/opt'   # default /opt/containerd would be shared with the host

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '$KUASAR_PAUSE_IMAGE'   # imported locally, never pulled

[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  # No CAP_SYS_RESOURCE here: lowering oom_score_adj fails and pods die without this.
  restrict_oom_score_adj = true
  # Pod netns bind mounts under our state dir, not /var/run/netns, so teardown finds them.
  netns_mounts_under_state_dir = true
  enable_cdi = false
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = '$KUASAR_RUNC_BIN'   # bookworm's runc; sid's needs a newer glibc
        Root = '$KUASAR_RUNC_ROOT'
        SystemdCgroup = false             # no systemd: cgroupfs only
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-runc]
      runtime_type = 'io.containerd.runc.v2'   # informational: the sandboxer serves the tasks
      sandboxer = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-runsc]
      runtime_type = 'io.containerd.runc.v2'   # informational, as above
      sandboxer = 'runsc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-quark]
      runtime_type = 'io.containerd.runc.v2'   # informational; Quark serves the tasks itself
      sandboxer = 'quark'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-wasm]
      runtime_type = 'io.containerd.runc.v2'   # informational: Chicory runs the modules inside the node
      sandboxer = 'wasm'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-wasmtime]
      runtime_type = 'io.containerd.runc.v2'   # informational: Wasmtime (JNI) runs the modules inside the node
      sandboxer = 'wasmtime'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-wasmedge]
      runtime_type = 'io.containerd.runc.v2'   # informational: a WasmEdge process per container
      sandboxer = 'wasmedge'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-vmm]
      runtime_type = 'io.containerd.runc.v2'   # informational: the guest agent runs the containers
      sandboxer = 'vmm'
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['$KUASAR_CNI_BIN_DIR']
    conf_dir = '$KUASAR_CNI_CONF_DIR'
    max_conf_num = 1

[plugins.'io.containerd.grpc.v1.cri']
  disable_tcp_service = true
  stream_server_address = '127.0.0.1'
  stream_server_port = '0'   # random port: several nodes may run at once
TOML

# setsid: own session, so the caller's terminal or CI step ending does not take containerd down.
# No fork happens here (a background job is no group leader), so \$! is containerd's pid.
setsid nohup "$CONTAINERD_BIN" --config "$CONTAINERD_CONFIG" </dev/null >>"$CONTAINERD_LOG" 2>&1 &
echo $! >"$CONTAINERD_PID_FILE"

for _ in $(seq 100); do
  answers && break
  alive || { echo "containerd-up: containerd exited; log $CONTAINERD_LOG:" >&2; tail -20 "$CONTAINERD_LOG" >&2; exit 1; }
  sleep 0.1
done
answers || { echo "containerd-up: no answer on $CONTAINERD_SOCK after 10 s; see $CONTAINERD_LOG" >&2; exit 1; }
echo "containerd-up: containerd $(cat "$CONTAINERD_PID_FILE") on $CONTAINERD_SOCK"
import_images
