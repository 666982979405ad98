"""memif 2.0 control messages and a client's shared memory, for the bad-peer test helper.

Test-only: builds valid and deliberately broken messages and sends them with descriptors.
"""
import array
import ctypes
import fcntl
import mmap
import os
import socket
import struct

COOKIE = 0x3E31F20
VERSION = (2 << 8) | 0
NONE, ACK, HELLO, INIT, ADD_REGION, ADD_RING, CONNECT, CONNECTED, DISCONNECT = range(9)
NAMES = ['NONE', 'ACK', 'HELLO', 'INIT', 'ADD_REGION', 'ADD_RING', 'CONNECT', 'CONNECTED', 'DISCONNECT']
F_ADD_SEALS = getattr(fcntl, 'F_ADD_SEALS', 1033)
F_SEAL_SHRINK = getattr(fcntl, 'F_SEAL_SHRINK', 2)


def pad(b, size=128):
    return b + bytes(size - len(b)) if len(b) < size else b


def hello(name=b'bad-peer', min_v=VERSION, max_v=VERSION, max_region=0, max_log2=14):
    return pad(struct.pack('<H32sHHHHHB', HELLO, name, min_v, max_v, max_region, 0, 0, max_log2))


def init(id_=0, version=VERSION, mode=0, secret=b'', name=b'bad-peer'):
    return pad(struct.pack('<HHIB24s32s', INIT, version, id_, mode, secret, name))


def add_region(index, size):
    return pad(struct.pack('<HHQ', ADD_REGION, index, size))


def add_ring(c2s, index=0, region=0, offset=0, log2=4, priv=0):
    return pad(struct.pack('<HHHHIBH', ADD_RING, 1 if c2s else 0, index, region, offset, log2, priv))


def connect(name=b'bad0'):
    return pad(struct.pack('<H32s', CONNECT, name))


def simple(t):
    return pad(struct.pack('<H', t))


def disconnect(reason, code=0):
    return pad(struct.pack('<HI96s', DISCONNECT, code, reason))


def send(sock, msg, fds=()):
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', fds))] if fds else []
    sock.sendmsg([msg], anc)


def recv(sock, timeout=2.0):
    """One message as a dict, or None when the peer closed or said nothing in time."""
    sock.settimeout(timeout)
    try:
        data, anc, _flags, _addr = sock.recvmsg(256, socket.CMSG_SPACE(8 * 4))
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        return None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for fd in array.array('i', payload[: len(payload) - len(payload) % 4]):
                os.close(fd)
    if not data:
        return None
    t = struct.unpack_from('<H', data)[0]
    out = {'type': NAMES[t] if t < len(NAMES) else t, 'len': len(data)}
    if t == DISCONNECT:
        code, reason = struct.unpack_from('<I96s', data, 2)
        out['code'] = code
        out['reason'] = reason.split(b'\0')[0].decode(errors='replace')
    if t == INIT:
        out['id'] = struct.unpack_from('<I', data, 4)[0]
    return out


def connect_to(address):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(address_bytes(address))
    return s


def address_bytes(address):
    return b'\0' + address[1:].encode() if address.startswith('@') else address.encode()


class Memory:
    """A client's region 0 (C2S ring, S2C ring, buffers) and the rings' eventfds."""

    LOG2 = 4
    BUF = 256
    RING = 128 + (16 << LOG2)
    BUFFERS = 2 * RING

    def __init__(self, seal=True, cookie=COOKIE, extra=0, buf=BUF):
        self.BUF = buf
        self.size = self.BUFFERS + 2 * (1 << self.LOG2) * self.BUF
        self.fd = os.memfd_create('bad-peer', os.MFD_ALLOW_SEALING)
        os.ftruncate(self.fd, self.size)
        if seal:
            fcntl.fcntl(self.fd, F_ADD_SEALS, F_SEAL_SHRINK)
        self.map = mmap.mmap(self.fd, self.size)
        for ring, s2c in ((0, False), (self.RING, True)):
            struct.pack_into('<IHH', self.map, ring, cookie, 0, 0)
            for i in range(1 << self.LOG2):
                off = self.BUFFERS + ((1 << self.LOG2 if s2c else 0) + i) * self.BUF
                struct.pack_into('<HHIII', self.map, ring + 128 + 16 * i, 0, 0, self.BUF, off, 0)
        self.claimed = self.size + extra
        self.c2s_efd = os.eventfd(0)
        self.s2c_efd = os.eventfd(0)

    def handshake(self, sock):
        """Sends the rest of a valid client handshake after INIT; returns the last reply."""
        steps = [
            (add_region(0, self.claimed), [self.fd]),
            (add_ring(True, offset=0, log2=self.LOG2), [self.c2s_efd]),
            (add_ring(False, offset=self.RING, log2=self.LOG2), [self.s2c_efd]),
            (connect(), []),
        ]
        reply = None
        for msg, fds in steps:
            send(sock, msg, fds)
            reply = recv(sock)
            if not reply or reply['type'] != ('CONNECTED' if msg is steps[-1][0] else 'ACK'):
                return reply
        return reply

    def s2c_at(self, slot):
        """Where the descriptor of S2C slot (mod ring size) lies in the region."""
        return self.RING + 128 + 16 * (slot % (1 << self.LOG2))

    def s2c_buffer(self, slot):
        return self.BUFFERS + ((1 << self.LOG2) + slot % (1 << self.LOG2)) * self.BUF

    def put_s2c(self, slot):
        """Gives slot (mod ring size) its empty buffer again, for the server to fill."""
        struct.pack_into('<HHIII', self.map, self.s2c_at(slot), 0, 0, self.BUF, self.s2c_buffer(slot), 0)

    def poison_s2c(self, slot, on):
        """Points a posted S2C descriptor outside the region (the top byte of its offset 0x80), or
        back. One byte is written: the server, reading at any time, sees one offset or the other
        (struct.pack_into zeroes what it packs into first: an offset 0 for a moment)."""
        self.map[self.s2c_at(slot) + 11] = 0x80 if on else 0

    def s2c_desc(self, slot):
        """(flags, length) of an S2C descriptor."""
        flags, _region, length = struct.unpack_from('<HHI', self.map, self.s2c_at(slot))
        return flags, length

    def s2c_cursor(self, name):
        """The S2C ring's 'head' or 'tail', to read or set through .value as one 16-bit word: struct
        reads and writes a byte at a time, which a server at work on the other side could see half
        done. Drop it before close()."""
        return ctypes.c_uint16.from_buffer(self.map, self.RING + (6 if name == 'head' else 64))

    def put_c2s(self, slot, offset, length, region=0, flags=0):
        struct.pack_into('<HHIII', self.map, 128 + 16 * slot, flags, region, length, offset, 0)

    def set_c2s_head(self, head):
        struct.pack_into('<H', self.map, 6, head & 0xFFFF)
        os.eventfd_write(self.c2s_efd, 1)

    def close(self):
        self.map.close()
        for fd in (self.fd, self.c2s_efd, self.s2c_efd):
            os.close(fd)
