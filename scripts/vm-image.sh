#!/usr/bin/env bash
# Builds the tiny VM the tap test boots with qemu: Debian's cloud kernel and an initramfs of
# busybox-static whose /init brings up its virtio NIC with the address given on the kernel command
# line (nsm.addr=<cidr> nsm.peer=<ip> nsm.mtu=<n>), pings the peer, prints NSM-VM-PING-OK or
# NSM-VM-PING-FAIL on the serial console and powers off.
# Usage: scripts/vm-image.sh [dir]   (default /var/cache/nsm-ts/vm; needs apt-get, busybox-static)
set -euo pipefail

out="${1:-/var/cache/nsm-ts/vm}"
if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.gz" ]; then
  echo "vm-image: $out is built"
  exit 0
fi
busybox="$(command -v busybox || true)"
# ldd fails on a static executable: that is the busybox the initramfs can run.
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "vm-image: a static busybox is needed (apt-get install busybox-static)" >&2
  exit 1
fi
kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
if [ -z "$kernel_pkg" ]; then
  echo "vm-image: apt knows no linux-image-cloud-amd64 (run apt-get update)" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "$kernel_pkg" 2>/dev/null)
dpkg-deb -x "$work"/*.deb "$work/pkg"
modules="$(ls -d "$work"/pkg/lib/modules/*)"

root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,lib}
cp "$busybox" "$root/bin/busybox"
# virtio-net and what it needs, in load order (the cloud kernel builds them as modules).
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
  found="$(find "$modules" -name "$m.ko" | head -n 1)"
  if [ -z "$found" ]; then
    echo "vm-image: $kernel_pkg has no $m.ko" >&2
    exit 1
  fi
  cp "$found" "$root/lib/$m.ko"
done
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
  insmod "/lib/$m.ko" || echo "NSM-VM-INSMOD-FAIL $m"
done
for word in $(cat /proc/cmdline); do
  case "$word" in
    nsm.addr=*) addr="${word#nsm.addr=}" ;;
    nsm.peer=*) peer="${word#nsm.peer=}" ;;
    nsm.mtu=*) mtu="${word#nsm.mtu=}" ;;
  esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ip link set eth0 up ${mtu:+mtu "$mtu"}
ip addr add "$addr" dev eth0
ip route add "$peer" dev eth0 2>/dev/null
echo "NSM-VM-UP $(cat /sys/class/net/eth0/address) mtu $(cat /sys/class/net/eth0/mtu)"
if ping -c 3 -W 2 "$peer"; then echo NSM-VM-PING-OK; else echo NSM-VM-PING-FAIL; fi
poweroff -f
INIT
chmod +x "$root/init"

mkdir -p "$out"
cp "$work"/pkg/boot/vmlinuz-* "$out/vmlinuz"
(cd "$root" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -9 > "$out/initrd.gz")
echo "vm-image: built $out from $kernel_pkg ($(du -sh "$out" | cut -f1))"
