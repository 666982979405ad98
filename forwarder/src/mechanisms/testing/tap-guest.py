"""A stand-in for a VM's NIC on a tap, for the tap tests.

Attaches to an existing tap in the current network namespace as qemu does (open /dev/net/tun,
TUNSETIFF with IFF_TAP | IFF_NO_PI and the tap's name), then speaks as the guest: resolves the peer
with ARP, sends it one ICMP echo and waits for the reply, answering ARP for its own address meanwhile.
Prints one JSON line: {"peerMac": ..., "reply": true} on success (exit 0), {"error": ...} otherwise
(exit 2: no answer in time; exit 3: could not attach, with the errno name).

Usage: python3 tap-guest.py <tap> <guest-mac> <guest-ip> <peer-ip> [--multi-queue]
"""

import errno
import fcntl
import json
import os
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_MULTI_QUEUE = 0x0100
ETH_ARP = 0x0806
ETH_IP = 0x0800
TIMEOUT_S = 5.0


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mac_bytes(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def arp(op: int, src_mac: bytes, src_ip: bytes, dst_mac: bytes, dst_ip: bytes) -> bytes:
    eth_dst = b"\xff" * 6 if op == 1 else dst_mac
    header = eth_dst + src_mac + struct.pack("!H", ETH_ARP)
    return header + struct.pack("!HHBBH6s4s6s4s", 1, ETH_IP, 6, 4, op, src_mac, src_ip, dst_mac, dst_ip)


def echo_request(src_mac: bytes, dst_mac: bytes, src_ip: bytes, dst_ip: bytes, ident: int) -> bytes:
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"nsm-tap-guest"
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), ident, 0, 64, 1, 0, src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + struct.pack("!H", ETH_IP) + ip + icmp


def main() -> int:
    tap, guest_mac, guest_ip, peer_ip = sys.argv[1:5]
    flags = IFF_TAP | IFF_NO_PI | (IFF_MULTI_QUEUE if "--multi-queue" in sys.argv[5:] else 0)
    mac = mac_bytes(guest_mac)
    own = socket.inet_aton(guest_ip)
    peer = socket.inet_aton(peer_ip)
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", tap.encode(), flags))
    except OSError as err:
        print(json.dumps({"error": errno.errorcode.get(err.errno, str(err.errno))}))
        return 3
    ident = os.getpid() & 0xFFFF
    peer_mac = None
    deadline = time.monotonic() + TIMEOUT_S
    next_send = 0.0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_send:
            # Until the peer is known, ask for it; then send the echo (again, should it be lost).
            frame = arp(1, mac, own, b"\0" * 6, peer) if peer_mac is None else echo_request(mac, peer_mac, own, peer, ident)
            os.write(fd, frame)
            next_send = now + 0.2
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        frame = os.read(fd, 65536)
        if len(frame) < 14:
            continue
        kind = struct.unpack("!H", frame[12:14])[0]
        if kind == ETH_ARP and len(frame) >= 42:
            op, sha, spa, _tha, tpa = struct.unpack("!6xH6s4s6s4s", frame[14:42])
            if op == 1 and tpa == own:
                os.write(fd, arp(2, mac, own, sha, spa))
            elif op == 2 and spa == peer and peer_mac is None:
                peer_mac = sha
                next_send = 0.0
        elif kind == ETH_IP and len(frame) >= 42 and peer_mac is not None:
            ihl = (frame[14] & 0x0F) * 4
            proto, src = frame[23], frame[26:30]
            icmp = frame[14 + ihl :]
            if proto == 1 and src == peer and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
                print(json.dumps({"peerMac": mac_text(peer_mac), "reply": True}))
                return 0
    print(json.dumps({"error": "timeout", "peerMac": mac_text(peer_mac) if peer_mac else None}))
    return 2


if __name__ == "__main__":
    sys.exit(main())
