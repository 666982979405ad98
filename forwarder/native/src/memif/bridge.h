// The kernel side of a memif bridge: an AF_PACKET socket bound to one kernel interface, and the
// two directions of the packet loop, both run on the memif engine's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>

#include "datapath.h"
#include "engine.h"

namespace memif {

struct Direction {
  std::atomic<uint64_t> frames{0}, bytes{0}, drops{0};
};

struct TapStats {
  Direction to_kernel, to_memif;
  std::atomic<int> last_errno{0};  // the kernel side's last error other than "try again"
};

class Tap {
 public:
  // Opens the socket on `k.ifname` inside `k.netns` (the calling thread returns to its own
  // namespace afterwards). nullptr with err_no/err naming what failed. `vnet`: frames carry a
  // virtio_net_hdr (PACKET_VNET_HDR), so partial checksums and GSO frames can be finished.
  static Tap* Open(const KernelConfig& k, int* err_no, std::string* err, bool vnet = true);
  ~Tap();

  int fd() const { return fd_; }
  // memif -> kernel: takes up to a batch of frames off the link's receive ring and sends them.
  RxStatus FromMemif(Link* l, Stats* st);
  // kernel -> memif: reads what arrived on the kernel interface and copies it into interface
  // `id`'s transmit ring; what does not fit, or arrives while the link is down, is dropped.
  void FromKernel(Engine* e, uint32_t id);

  TapStats stats;

 private:
  Tap() = default;
  void SendBatch();

  // One received frame: in its slot, or split into segs_ (from `first`, `count` of them).
  struct Piece {
    const uint8_t* data;
    uint32_t len, first, count;
  };
  void Take(uint8_t* slot, uint32_t len);

  int fd_ = -1;
  bool vnet_ = true;
  uint32_t batch_ = 64;
  Batch segs_;                 // segments of GSO frames received in this batch
  std::vector<Piece> pieces_;
  Batch out_;                  // frames from memif, back to back
  std::vector<mmsghdr> msgs_;  // one per frame of a batch, both directions
  std::vector<iovec> iovs_;   // two per message: the (empty) virtio_net_hdr and the frame
  uint8_t* in_ = nullptr;      // batch_ receive slots of kSlot bytes
  std::vector<Frame> frames_;
};

// Runs `fn` on the calling thread inside the namespace `ns_fd` (-1: where it is) and comes back.
// False with err_no/err when the namespace could not be entered or left.
bool InNamespace(int ns_fd, const std::string& ns, bool (*fn)(void*, int*, std::string*), void* arg, int* err_no,
                 std::string* err);

}  // namespace memif
