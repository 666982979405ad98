"""A misbehaving memif peer for the engine's tests (test-only, never in product paths).

  bad_peer.py client <address> <scenario>   connect to a server and misbehave
  bad_peer.py server <address> <scenario>   listen, let a client connect, and misbehave
  bad_peer.py fuzz <address> <count> <seed> random and mutated messages, one connection each
  bad_peer.py flood <address> <count>        hold <count> handshakes open, then try one more

Prints one JSON object: what the other side sent back (its DISCONNECT reason, if any).
"""
import json
import os
import random
import socket
import sys
import time

import memif_wire as w


def expect_hello(s):
    m = w.recv(s)
    if not m or m['type'] != 'HELLO':
        raise SystemExit(json.dumps({'error': 'no HELLO', 'got': m}))


def after_init(s, msg, fds=()):
    """INIT for id 0, then one message; returns the reply to that message."""
    w.send(s, w.init(0))
    ack = w.recv(s)
    if not ack or ack['type'] != 'ACK':
        return ack
    w.send(s, msg, fds)
    return w.recv(s)


def rewrite_s2c(mem, want=2000, seconds=10.0):
    """Keeps the S2C ring full of buffers for the server and, while it writes frames of two buffers
    (BUF + 100 bytes) into them, keeps pointing the second buffer of the next frame outside the
    region for a moment. A buffer the server found good it must fill whatever the descriptor says
    by then, and publish whole chains. Returns how the first `want` chains looked."""
    head, tail = mem.s2c_cursor('head'), mem.s2c_cursor('tail')
    try:
        cursor, chain = 0, []
        out = {'type': 'CHAINS', 'chains': 0, 'bad': 0, 'first_bad': None}
        head.value = 1 << mem.LOG2
        end = time.monotonic() + seconds
        while out['chains'] < want and time.monotonic() < end:
            filled = tail.value
            while cursor != filled:
                flags, length = mem.s2c_desc(cursor)
                chain.append(length)
                if not flags & 1:  # the chain ends here
                    out['chains'] += 1
                    if chain != [mem.BUF, 100]:
                        out['bad'] += 1
                        out['first_bad'] = out['first_bad'] or chain
                    chain = []
                mem.put_s2c(cursor)
                cursor = (cursor + 1) & 0xFFFF
            head.value = (cursor + (1 << mem.LOG2)) & 0xFFFF
            mem.poison_s2c(filled + 1, True)
            mem.poison_s2c(filled + 1, False)
        return out
    finally:
        del head, tail  # they hold the mapping open


def client_scenario(s, name):
    mem = w.Memory(seal=name != 'region_unsealed', cookie=0x1234 if name == 'bad_cookie' else w.COOKIE,
                   extra=1 << 20 if name == 'region_too_big' else 0,
                   buf=60000 if name == 'rewrite_s2c' else w.Memory.BUF)
    r, wp = os.pipe()
    try:
        expect_hello(s)
        region = w.add_region(0, mem.claimed)
        simple = {
            'trunc': (w.init(0)[:64], []), 'oversize': (w.init(0) + bytes(72), []),
            'huge': (bytes(4000), []), 'unknown_type': (w.simple(99), []), 'none_type': (w.simple(0), []),
            'wrong_version': (w.init(0, version=0x0100), []), 'not_init_first': (region, [mem.fd]),
            'wrong_secret': (w.init(0, secret=b'guess'), []), 'ethernet_only': (w.init(0, mode=1), []),
            'many_fds': (w.init(0), [mem.c2s_efd] * 12),
        }
        if name in simple:
            msg, fds = simple[name]
            w.send(s, msg, fds)
            return w.recv(s)
        if name == 'vanish':
            w.send(s, w.init(0))
            w.recv(s)
            return None
        if name == 'silent':
            return w.recv(s, timeout=5)
        first = {
            'region_no_fd': (region, []), 'region_index': (w.add_region(5, mem.claimed), [mem.fd]),
            'region_not_memfd': (region, [r]), 'ring_no_fd': (w.add_ring(True), []),
            'ring_before_region': (w.add_ring(True), [mem.c2s_efd]), 'connect_early': (w.connect(), []),
            'hello_from_client': (w.hello(), []),
        }
        if name in first:
            return after_init(s, *first[name])
        reply = after_init(s, region, [mem.fd])
        if name in ('region_too_big', 'region_unsealed') or reply['type'] != 'ACK':
            return reply
        rings = {
            'ring_not_eventfd': (w.add_ring(True), [r]), 'ring_index': (w.add_ring(True, index=3), [mem.c2s_efd]),
            'ring_region': (w.add_ring(True, region=2), [mem.c2s_efd]),
            'ring_log2': (w.add_ring(True, log2=20), [mem.c2s_efd]),
            'ring_offset': (w.add_ring(True, offset=mem.size - 64), [mem.c2s_efd]),
            'ring_private': (w.add_ring(True, priv=8), [mem.c2s_efd]),
            'ring_twice': (w.add_ring(False, offset=w.Memory.RING), [mem.s2c_efd]),
        }
        if name in rings:
            if name == 'ring_twice':
                w.send(s, *rings[name])
                w.recv(s)
            w.send(s, *rings[name])
            return w.recv(s)
        # The rest: a complete handshake, then trouble.
        w.send(s, w.add_ring(True, offset=0, log2=mem.LOG2), [mem.c2s_efd])
        w.recv(s)
        w.send(s, w.add_ring(False, offset=mem.RING, log2=mem.LOG2), [mem.s2c_efd])
        w.recv(s)
        w.send(s, w.connect())
        reply = w.recv(s)
        if name == 'bad_cookie' or reply['type'] != 'CONNECTED':
            return reply
        if name == 'bad_head':
            mem.set_c2s_head(5000)
            return w.recv(s)
        if name == 'bad_desc':
            mem.put_c2s(0, mem.size - 10, 100)  # runs past the region: dropped
            mem.put_c2s(1, mem.BUFFERS, 60)     # a good 60-byte frame
            mem.set_c2s_head(2)
            time.sleep(0.2)
            w.send(s, w.disconnect(b'bad peer done'))
            return {'type': 'SENT_DISCONNECT'}
        if name == 'rewrite_s2c':
            out = rewrite_s2c(mem)
            w.send(s, w.disconnect(b'bad peer done'))
            return out
        if name == 'init_again':
            w.send(s, w.init(0))
            return w.recv(s)
        return reply
    finally:
        mem.close()
        os.close(r)
        os.close(wp)


def server_scenario(address, name):
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ls.bind(w.address_bytes(address))
    ls.listen(1)
    print(json.dumps({'listening': True}), flush=True)
    ls.settimeout(10)
    s, _ = ls.accept()
    try:
        if name == 'hello_version':
            w.send(s, w.hello(min_v=0x0100, max_v=0x0100))
        elif name == 'hello_trunc':
            w.send(s, w.hello()[:50])
        elif name == 'vanish':
            w.send(s, w.hello())
            w.recv(s)
            return {'type': 'VANISHED'}
        elif name == 'not_hello':
            w.send(s, w.simple(w.ACK))
        elif name == 'disconnect':
            w.send(s, w.hello())
            w.recv(s)
            w.send(s, w.disconnect(b'go away', 7))
            return {'type': 'SENT_DISCONNECT'}
        elif name == 'ack_connect':
            # ACK everything, CONNECT included (which wants CONNECTED).
            w.send(s, w.hello())
            while True:
                m = w.recv(s)
                if not m or m['type'] == 'DISCONNECT':
                    return m
                w.send(s, w.simple(w.ACK))
        return w.recv(s)
    finally:
        s.close()
        ls.close()
        if not address.startswith('@'):
            os.unlink(address)


def mutate(rng, msg):
    b = bytearray(msg)
    for _ in range(rng.randint(1, 8)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def fuzz(address, count, seed):
    rng = random.Random(seed)
    templates = [w.init(0), w.add_region(0, 4096), w.add_ring(True), w.add_ring(False), w.connect(),
                 w.simple(w.ACK), w.hello(), w.disconnect(b'x')]
    replies = {}
    for i in range(count):
        mem = w.Memory()
        s = w.connect_to(address)
        try:
            w.recv(s)
            if rng.random() < 0.5:
                w.send(s, w.init(0))
                w.recv(s)
            for _ in range(rng.randint(1, 5)):
                kind = rng.random()
                if kind < 0.2:
                    msg = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 64, 127, 128, 129, 300])))
                else:
                    msg = mutate(rng, rng.choice(templates))
                fds = rng.choice([[], [], [mem.fd], [mem.c2s_efd], [mem.fd, mem.s2c_efd]])
                try:
                    w.send(s, msg, fds)
                except OSError:
                    break
                reply = w.recv(s, timeout=0.5)
                key = reply['reason'] if reply and reply['type'] == 'DISCONNECT' else (reply or {}).get('type', 'closed')
                replies[key] = replies.get(key, 0) + 1
                if not reply or reply['type'] == 'DISCONNECT':
                    break
        finally:
            s.close()
            mem.close()
    return {'iterations': count, 'replies': replies}


def main():
    mode, address, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == 'flood':
        # `arg` handshakes that never go past HELLO, then one more: what does it get?
        held = [w.connect_to(address) for _ in range(int(arg))]
        for h in held:
            w.recv(h)
        extra = w.connect_to(address)
        out = w.recv(extra)
        for h in held + [extra]:
            h.close()
    elif mode == 'client':
        s = w.connect_to(address)
        try:
            out = client_scenario(s, arg)
        finally:
            s.close()
    elif mode == 'server':
        out = server_scenario(address, arg)
    else:
        out = fuzz(address, int(arg), int(sys.argv[4]))
    print(json.dumps({'reply': out}), flush=True)


if __name__ == '__main__':
    main()
