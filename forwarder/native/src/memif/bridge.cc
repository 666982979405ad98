// The memif <-> kernel packet loop. Both directions run on the engine thread: the memif receive
// interrupt (or poll) drains the ring into sendmmsg on the AF_PACKET socket, and the socket's
// readiness drains recvmmsg into the memif transmit ring. Nothing here touches JS.
#include "bridge.h"

#include "gso.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

namespace memif {
namespace {

constexpr size_t kHdr = sizeof(VnetHdr);
constexpr size_t kSlot = kHdr + 65536;  // a GSO frame is up to 64 KiB; only what arrives is touched
const VnetHdr kNoOffload{};       // what we send: complete frames, nothing left to do
constexpr int kRounds = 8;       // batches per wake-up before others get the thread

struct OpenArgs {
  const KernelConfig* k;
  bool vnet;
  int fd = -1;
};

bool Opt(int fd, int level, int name, int value, const char* what, int* err_no, std::string* err) {
  if (setsockopt(fd, level, name, &value, sizeof value) == 0) return true;
  *err_no = errno;
  *err = std::string("setsockopt(") + what + ")";
  return false;
}

// Runs inside the kernel side's namespace: find the interface, open and bind the socket there.
bool OpenSocket(void* p, int* err_no, std::string* err) {
  OpenArgs* a = static_cast<OpenArgs*>(p);
  const KernelConfig& k = *a->k;
  std::string where = "kernel interface " + k.ifname + (k.netns.empty() ? "" : " in " + k.netns);
  unsigned idx = if_nametoindex(k.ifname.c_str());
  if (idx == 0) {
    *err_no = errno == ENXIO ? ENODEV : errno;
    *err = "finding " + where;
    return false;
  }
  // Protocol 0 until bound: a socket opened with ETH_P_ALL would see every interface meanwhile.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err_no = errno;
    *err = "socket(AF_PACKET, SOCK_RAW) for " + where;
    return false;
  }
  packet_mreq mr{};
  mr.mr_ifindex = int(idx);
  mr.mr_type = PACKET_MR_PROMISC;  // frames for the memif peer's MAC, not the interface's own
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = int(idx);
  bool ok = Opt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING", err_no, err) &&
            Opt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS", err_no, err) &&
            (!a->vnet || Opt(fd, SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", err_no, err));
  if (ok && setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
    *err_no = errno;
    *err = "setsockopt(PACKET_ADD_MEMBERSHIP) on " + where;
    ok = false;
  }
  if (ok) {
    int size = 4 << 20;  // FORCE needs CAP_NET_ADMIN; without it the plain limit applies
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  if (ok && bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    *err_no = errno;
    *err = "bind(AF_PACKET) to " + where;
    ok = false;
  }
  if (!ok) {
    close(fd);
    return false;
  }
  a->fd = fd;
  return true;
}

}  // namespace

bool InNamespace(int ns_fd, const std::string& ns, bool (*fn)(void*, int*, std::string*), void* arg, int* err_no,
                 std::string* err) {
  if (ns_fd < 0) return fn(arg, err_no, err);
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    *err_no = errno;
    *err = "open(/proc/thread-self/ns/net)";
    return false;
  }
  if (setns(ns_fd, CLONE_NEWNET) < 0) {
    *err_no = errno;
    *err = "setns(" + ns + ")";
    close(self);
    return false;
  }
  bool ok = fn(arg, err_no, err);
  if (setns(self, CLONE_NEWNET) < 0 && ok) {
    *err_no = errno;
    *err = "setns back from " + ns;
    ok = false;
  }
  close(self);
  return ok;
}

Tap* Tap::Open(const KernelConfig& k, int* err_no, std::string* err, bool vnet) {
  OpenArgs a{&k, vnet};
  if (!InNamespace(k.netns_fd, k.netns, OpenSocket, &a, err_no, err)) {
    if (a.fd >= 0) close(a.fd);
    return nullptr;
  }
  Tap* t = new Tap();
  t->fd_ = a.fd;
  t->vnet_ = vnet;
  t->batch_ = k.batch;
  t->msgs_.resize(k.batch);
  t->iovs_.resize(2 * size_t(k.batch));
  t->pieces_.reserve(k.batch);
  t->frames_.reserve(k.batch);
  t->segs_.data.reserve(1 << 16);
  t->out_.data.reserve(k.batch * 2048);
  // Untouched pages cost nothing: only what frames fill becomes resident.
  t->in_ = static_cast<uint8_t*>(malloc(kSlot * k.batch));
  if (!t->in_) {
    *err_no = ENOMEM;
    *err = "allocating " + std::to_string(k.batch) + " receive slots";
    delete t;
    return nullptr;
  }
  return t;
}

Tap::~Tap() {
  if (fd_ >= 0) close(fd_);
  free(in_);
}

void Tap::SendBatch() {
  size_t n = out_.lengths.size(), off = 0;
  for (size_t i = 0; i < n; i++) {
    iovs_[2 * i] = iovec{const_cast<VnetHdr*>(&kNoOffload), kHdr};
    iovs_[2 * i + 1] = iovec{out_.data.data() + off, out_.lengths[i]};
    off += out_.lengths[i];
    msgs_[i] = mmsghdr{};
    msgs_[i].msg_hdr.msg_iov = &iovs_[vnet_ ? 2 * i : 2 * i + 1];
    msgs_[i].msg_hdr.msg_iovlen = vnet_ ? 2 : 1;
  }
  size_t done = 0;
  while (done < n) {
    int r = sendmmsg(fd_, &msgs_[done], unsigned(n - done), MSG_DONTWAIT);
    if (r > 0) {
      uint64_t bytes = 0;
      for (size_t i = done; i < done + size_t(r); i++) bytes += out_.lengths[i];
      stats.to_kernel.frames.fetch_add(uint64_t(r), std::memory_order_relaxed);
      stats.to_kernel.bytes.fetch_add(bytes, std::memory_order_relaxed);
      done += size_t(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {  // the kernel is full: a wire drops
      stats.to_kernel.drops.fetch_add(n - done, std::memory_order_relaxed);
      return;
    }
    stats.to_kernel.drops.fetch_add(1, std::memory_order_relaxed);  // this frame (too big, link down)
    if (r < 0) stats.last_errno.store(errno, std::memory_order_relaxed);
    done++;
  }
}

RxStatus Tap::FromMemif(Link* l, Stats* st) {
  out_.data.clear();
  out_.lengths.clear();
  RxStatus rs = Receive(l, &out_, batch_, size_t(1) << 20, st);
  if (!out_.lengths.empty()) SendBatch();
  return rs;
}

// One frame off the socket: finished (checksum, segmentation) into pieces_, or dropped.
void Tap::Take(uint8_t* slot, uint32_t len) {
  uint8_t* f = slot;
  VnetHdr h{};
  bool ok = !vnet_ || len >= kHdr;
  if (ok && vnet_) {
    memcpy(&h, slot, kHdr);
    f += kHdr;
    len -= uint32_t(kHdr);
  }
  ok = ok && len > 0;
  if (ok && h.gso_type != kGsoNone) {
    uint32_t first = uint32_t(segs_.lengths.size());
    ok = Segment(f, len, h, &segs_);
    if (ok) pieces_.push_back(Piece{nullptr, 0, first, uint32_t(segs_.lengths.size()) - first});
  } else if (ok) {
    ok = !(h.flags & kVnetNeedsCsum) || FinishChecksum(f, len, h.csum_start, h.csum_offset);
    if (ok) pieces_.push_back(Piece{f, len, 0, 0});
  }
  if (!ok) stats.to_memif.drops.fetch_add(1, std::memory_order_relaxed);
}

void Tap::FromKernel(Engine* e, uint32_t id) {
  for (int round = 0; round < kRounds; round++) {
    for (uint32_t i = 0; i < batch_; i++) {
      iovs_[i] = iovec{in_ + i * kSlot, kSlot};
      msgs_[i] = mmsghdr{};
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(fd_, msgs_.data(), batch_, MSG_DONTWAIT | MSG_TRUNC, nullptr);
    if (r < 0 && errno != EAGAIN && errno != EINTR) stats.last_errno.store(errno, std::memory_order_relaxed);
    if (r <= 0) return;
    pieces_.clear();
    segs_.data.clear();
    segs_.lengths.clear();
    for (int i = 0; i < r; i++) {
      uint32_t len = msgs_[i].msg_len;
      if (len > kSlot || (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC)) {
        stats.to_memif.drops.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      Take(in_ + size_t(i) * kSlot, len);
    }
    // Segments are placed only now: segs_ may have moved while it grew.
    frames_.clear();
    size_t seg_off = 0;
    for (const Piece& p : pieces_) {
      if (p.data) {
        frames_.push_back(Frame{p.data, p.len});
        continue;
      }
      for (uint32_t k = p.first; k < p.first + p.count; k++) {
        frames_.push_back(Frame{segs_.data.data() + seg_off, segs_.lengths[k]});
        seg_off += segs_.lengths[k];
      }
    }
    long sent = frames_.empty() ? 0 : e->Send(id, frames_.data(), frames_.size());
    if (sent < 0) sent = 0;
    uint64_t bytes = 0;
    for (long i = 0; i < sent; i++) bytes += frames_[size_t(i)].len;
    stats.to_memif.frames.fetch_add(uint64_t(sent), std::memory_order_relaxed);
    stats.to_memif.bytes.fetch_add(bytes, std::memory_order_relaxed);
    stats.to_memif.drops.fetch_add(frames_.size() - size_t(sent), std::memory_order_relaxed);
    if (uint32_t(r) < batch_) return;
  }
}

// memif -> kernel, a batch at a time; like Drain, it yields the thread after a few rounds.
void Engine::DrainTap(Iface* f) {
  f->rx_pending = false;
  for (int round = 0; round < kRounds && f->up; round++) {
    RxStatus st = tap_->FromMemif(&f->link, &f->stats);
    if (st == RxStatus::kViolation) return Fail(f->conn, "ring cursor out of range", kCodeProtocol);
    if (st == RxStatus::kIdle) return;
  }
  f->rx_pending = true;
}

}  // namespace memif
