#!/bin/bash
# The shell way, as bench_apply's peer: one `ip`/`nft`/`curl` process per
# object, the way an imperative script (or the daemon banger replaces) brings
# VMs up and down. It drives the same Firecracker double banger drives, in
# the same private network namespace (bench_apply runs it there).
#
#   shell_peer.sh up   DIR N FIRECRACKER KERNEL IMAGE
#   shell_peer.sh down DIR N [GRACE_MS]     graceful: CtrlAltDel, wait, kill; one VM at a time
#
# Per VM, up: a tap on one bridge, a copied disk, the hypervisor with its API
# socket, five API calls and a DNAT port forward. Down undoes all of it.
set -euo pipefail

cmd=$1 dir=$2 n=$3
br=shpeer0
subnet_prefix=10.91

ip_of() { echo "$subnet_prefix.$(($1 / 250)).$(($1 % 250 + 2))"; }
api() {  # api SOCK METHOD PATH [BODY]
  local out
  out=$(curl -sS --unix-socket "$1" -X "$2" "http://localhost$3" \
    ${4:+-H 'Content-Type: application/json' -d "$4"} -w '%{http_code}' -o /dev/null)
  [[ $out == 2* ]] || { echo "API $2 $3 on $1 answered $out" >&2; return 1; }
}

up() {
  local fc=$1 kernel=$2 image=$3
  ip link add "$br" type bridge
  ip addr add "$subnet_prefix.0.1/16" dev "$br"
  ip link set "$br" up
  nft add table ip shpeer
  nft add chain ip shpeer prerouting '{ type nat hook prerouting priority dstnat; }'
  nft add chain ip shpeer postrouting '{ type nat hook postrouting priority srcnat; }'
  nft add rule ip shpeer postrouting ip saddr "$subnet_prefix.0.0/16" masquerade
  for ((i = 0; i < n; i++)); do
    local vm=$dir/vm-$i tap=shp$i ip mac
    ip=$(ip_of "$i")
    mac=$(printf '06:00:%02x:%02x:%02x:%02x' ${ip//./ })
    mkdir -p "$vm"
    ip tuntap add dev "$tap" mode tap
    ip link set "$tap" master "$br" up
    cp --reflink=auto "$image" "$vm/rootfs.ext4"
    setsid "$fc" --api-sock "$vm/api.sock" --id "vm-$i" >"$vm/console.log" 2>&1 </dev/null &
    echo $! >"$vm/pid"
    # The socket refuses connections until listen(): retry until it answers.
    until curl -sf --unix-socket "$vm/api.sock" http://localhost/ -o /dev/null; do sleep 0.005; done
    api "$vm/api.sock" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
    api "$vm/api.sock" PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"console=ttyS0 ip=$ip::$subnet_prefix.0.1:255.255.0.0::eth0:off\"}"
    api "$vm/api.sock" PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$vm/rootfs.ext4\", \"is_root_device\": true, \"is_read_only\": false}"
    api "$vm/api.sock" PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$tap\", \"guest_mac\": \"$mac\"}"
    api "$vm/api.sock" PUT /actions '{"action_type": "InstanceStart"}'
    # -e -a echoes the new rule's handle: what down needs to delete it alone.
    nft -e -a add rule ip shpeer prerouting tcp dport $((21000 + i)) dnat to "$ip:80" |
      sed -n 's/.*# handle \([0-9]*\).*/\1/p' >"$vm/rule"
  done
}

# kill -0 also answers for a zombie (the VM's parent, the `up` shell, is
# gone, and init reaps when it gets to it): read the state instead.
alive() {
  local st
  read -r _ _ st _ <"/proc/$1/stat" 2>/dev/null || return 1
  [[ $st != Z ]]
}

down() {
  local grace_ms=${1:-5000}
  for ((i = 0; i < n; i++)); do
    local vm=$dir/vm-$i pid waited=0
    pid=$(cat "$vm/pid")
    api "$vm/api.sock" PUT /actions '{"action_type": "SendCtrlAltDel"}' || true
    while alive "$pid" && ((waited < grace_ms)); do sleep 0.01; waited=$((waited + 10)); done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    nft delete rule ip shpeer prerouting handle "$(cat "$vm/rule")"
    ip link del "shp$i"
    rm -rf "$vm"
  done
  nft delete table ip shpeer
  ip link del "$br"
}

case $cmd in
  up) up "$4" "$5" "$6" ;;
  down) down "${4:-}" ;;
  *) echo "usage: $0 up|down DIR N ..." >&2; exit 2 ;;
esac
