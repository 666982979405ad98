// Ring discipline (memif 2.0): on C2S the client produces at head and the server consumes up to
// head and returns slots through tail; on S2C the client posts empty buffers at head and the
// server fills them and publishes through tail.
#include "datapath.h"

#include <cstring>
#include <vector>

#include <unistd.h>

namespace memif {

void Link::Release() {
  if (tx.efd >= 0) close(tx.efd);
  if (rx.efd >= 0) close(rx.efd);
  tx.efd = rx.efd = -1;
  for (Region& r : regions) r.Release();
  regions.clear();
}

void Notify(const Queue& q) {
  if (q.efd < 0 || (q.ring.LoadFlags() & kRingMaskInt)) return;
  uint64_t one = 1;
  ssize_t n = write(q.efd, &one, sizeof one);
  (void)n;  // a full counter still wakes the peer
}

namespace {

// Client side of C2S: our own buffers, the slot decides the offset.
size_t TransmitClient(Link* l, const Frame* frames, size_t n, Stats* st) {
  Queue& q = l->tx;
  // The producer cursor is read back from the ring: a peer may reset head and tail to 0 while
  // the link comes up (DPDK does when CONNECTED arrives), and then ours must follow.
  q.next = __atomic_load_n(q.ring.head(), __ATOMIC_RELAXED);
  uint16_t used = uint16_t(q.next - q.ring.LoadTail());
  size_t free = used > q.ring.size() ? 0 : q.ring.size() - used;
  uint32_t bs = l->buffer_size;
  uint8_t* base = l->regions[0].addr;
  size_t sent = 0;
  for (; sent < n; sent++) {
    const Frame& f = frames[sent];
    size_t need = (f.len + bs - 1) / bs;
    if (need == 0 || need > free) break;
    for (uint32_t off = 0; off < f.len; off += bs) {
      uint32_t chunk = f.len - off < bs ? f.len - off : bs;
      uint32_t boff = l->layout.buffer(false, q.next & q.ring.mask());
      memcpy(base + boff, f.data + off, chunk);
      Desc* d = q.ring.desc(q.next);
      d->region = 0;
      d->offset = boff;
      d->length = chunk;
      d->metadata = 0;
      d->flags = off + chunk < f.len ? kDescNext : 0;
      q.next++;
    }
    free -= need;
    st->tx_bytes.fetch_add(f.len, std::memory_order_relaxed);
  }
  q.ring.StoreHead(q.next);
  return sent;
}

// Server side of S2C: the client's posted buffers, each descriptor's length is its capacity. The
// client may rewrite a descriptor at any time: each is read once, and a frame goes into the buffers
// that read found good (a second read could find one gone and end the chain early, NEXT still on
// its last written slot, so that the client would run it into the next frame).
size_t TransmitServer(Link* l, const Frame* frames, size_t n, Stats* st) {
  struct Room {
    uint8_t* buf;
    uint32_t size;
  };
  static thread_local std::vector<Room> room;  // the JS thread's, or a bridge engine's
  Queue& q = l->tx;
  q.next = __atomic_load_n(q.ring.tail(), __ATOMIC_RELAXED);  // as above: the peer may reset it
  uint16_t avail = uint16_t(q.ring.LoadHead() - q.next);
  if (avail > q.ring.size()) avail = 0;
  size_t sent = 0;
  for (; sent < n; sent++) {
    const Frame& f = frames[sent];
    // First find room for the whole frame without touching the ring, then fill it.
    room.clear();
    uint64_t found = 0;
    bool bad = false;
    while (found < f.len && room.size() < avail) {
      Desc d = q.ring.Read(uint16_t(q.next + room.size()));
      uint8_t* buf = d.length ? BufferAt(l->regions, d.region, d.offset, d.length) : nullptr;
      if (!buf) {
        bad = true;
        break;
      }
      room.push_back(Room{buf, d.length});
      found += d.length;
    }
    if (bad) st->tx_errors.fetch_add(1, std::memory_order_relaxed);
    if (bad || found < f.len || f.len == 0) break;
    // Every buffer found takes a part of the frame (the last one the rest), and every descriptor
    // gets its length and all of its flags: NEXT on each but the last.
    uint32_t off = 0;
    for (size_t i = 0; i < room.size(); i++) {
      uint32_t chunk = f.len - off < room[i].size ? f.len - off : room[i].size;
      memcpy(room[i].buf, f.data + off, chunk);
      off += chunk;
      Desc* dp = q.ring.desc(q.next++);
      dp->length = chunk;
      dp->flags = i + 1 < room.size() ? kDescNext : 0;
    }
    avail = uint16_t(avail - room.size());
    st->tx_bytes.fetch_add(f.len, std::memory_order_relaxed);
  }
  q.ring.StoreTail(q.next);
  return sent;
}

}  // namespace

size_t Transmit(Link* l, const Frame* frames, size_t n, Stats* st) {
  size_t sent = l->client ? TransmitClient(l, frames, n, st) : TransmitServer(l, frames, n, st);
  st->tx_frames.fetch_add(sent, std::memory_order_relaxed);
  if (sent < n) st->tx_no_space.fetch_add(n - sent, std::memory_order_relaxed);
  if (sent > 0) Notify(l->tx);
  return sent;
}

void PostRxBuffers(Link* l) {
  Queue& q = l->rx;
  while (uint16_t(q.posted - q.next) < q.ring.size()) {
    Desc* d = q.ring.desc(q.posted);
    d->flags = 0;
    d->region = 0;
    d->offset = l->layout.buffer(true, q.posted & q.ring.mask());
    d->length = l->buffer_size;
    d->metadata = 0;
    q.posted++;
  }
  q.ring.StoreHead(q.posted);
}

RxStatus Receive(Link* l, Batch* out, size_t max_frames, size_t max_bytes, Stats* st) {
  Queue& q = l->rx;
  uint16_t end = l->client ? q.ring.LoadTail() : q.ring.LoadHead();
  uint16_t ready = uint16_t(end - q.next);
  uint16_t limit = l->client ? uint16_t(q.posted - q.next) : q.ring.size();
  if (ready > limit) return RxStatus::kViolation;
  uint16_t cur = q.next;
  size_t frames = 0;
  bool stalled = false;
  while (cur != end && frames < max_frames && out->data.size() < max_bytes) {
    uint16_t start = cur;
    size_t mark = out->data.size();
    bool bad = false, complete = false;
    while (cur != end) {
      Desc d = q.ring.Read(cur++);
      uint8_t* buf = BufferAt(l->regions, d.region, d.offset, d.length);
      if (!buf || out->data.size() - mark + d.length > kMaxFrame) bad = true;
      if (!bad && d.length) out->data.insert(out->data.end(), buf, buf + d.length);
      if (!(d.flags & kDescNext)) {
        complete = true;
        break;
      }
    }
    if (!complete) {  // the rest of the chain is not published yet
      out->data.resize(mark);
      cur = start;
      stalled = true;
      break;
    }
    if (bad || out->data.size() == mark) {
      out->data.resize(mark);
      st->rx_errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    out->lengths.push_back(uint32_t(out->data.size() - mark));
    st->rx_bytes.fetch_add(out->data.size() - mark, std::memory_order_relaxed);
    frames++;
  }
  st->rx_frames.fetch_add(frames, std::memory_order_relaxed);
  q.next = cur;
  if (l->client) {
    PostRxBuffers(l);
  } else {
    q.ring.StoreTail(cur);
  }
  return !stalled && cur != end ? RxStatus::kMore : RxStatus::kIdle;
}

}  // namespace memif
