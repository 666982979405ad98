// Moving frames through the rings of a connected link: copy in, copy out, chained buffers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "proto.h"
#include "shm.h"

namespace memif {

constexpr uint32_t kMaxFrame = 256 * 1024;  // larger chains from a peer are dropped

struct Frame {
  const uint8_t* data;
  uint32_t len;
};

struct Stats {
  std::atomic<uint64_t> rx_frames{0}, rx_bytes{0}, rx_errors{0};
  std::atomic<uint64_t> tx_frames{0}, tx_bytes{0}, tx_no_space{0}, tx_errors{0};
  std::atomic<uint64_t> connects{0}, disconnects{0};
};

// Frames received in one go: their bytes back to back and each one's length.
struct Batch {
  std::vector<uint8_t> data;
  std::vector<uint32_t> lengths;
};

struct Queue {
  Ring ring;
  int efd = -1;
  uint16_t next = 0;    // our cursor: next slot to fill (producer) or to read (consumer)
  uint16_t posted = 0;  // client receive ring: the head we have published
};

// The shared memory of one connected interface, seen from one side.
struct Link {
  bool client = false;
  std::vector<Region> regions;
  Layout layout;             // client: how region 0 is laid out
  uint32_t buffer_size = 0;  // client: size of each buffer it hands out
  Queue tx, rx;
  void Release();
};

enum class RxStatus { kIdle, kMore, kViolation };

// Copies frames into the transmit ring; returns how many fit (the rest count as no-space).
size_t Transmit(Link* l, const Frame* frames, size_t n, Stats* st);

// Copies up to `max_frames` (and about `max_bytes`) received frames into `out` and gives their
// slots back. kMore: frames remain. kViolation: the peer moved a cursor out of range.
RxStatus Receive(Link* l, Batch* out, size_t max_frames, size_t max_bytes, Stats* st);

// Client: hands every free receive buffer to the server.
void PostRxBuffers(Link* l);

// Writes the interrupt unless the peer's ring asks for polling.
void Notify(const Queue& q);

}  // namespace memif
