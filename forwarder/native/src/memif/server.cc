// Server side of the handshake: INIT binds the channel to an interface, the client's regions and
// rings are checked before anything in them is touched, CONNECT brings the link up.
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "engine.h"

namespace memif {
namespace {

constexpr size_t kMaxRegions = 4;

int TakeFd(std::vector<int>* fds) {
  if (fds->empty()) return -1;
  int fd = fds->front();
  fds->erase(fds->begin());
  return fd;
}

std::string Hex(uint32_t v) {
  char b[16];
  snprintf(b, sizeof b, "0x%X", v);
  return b;
}

}  // namespace

namespace {

// Returns an empty string when INIT may bind to `f`, else why not.
std::string CheckInit(const Init& in, const Iface* f) {
  if (in.version != kVersion) return "incompatible memif version " + Hex(in.version) + ", expected 2.0";
  if (!f) return "interface id " + std::to_string(in.id) + " not found";
  if (f->conn) return "interface id " + std::to_string(in.id) + " already connected";
  if (in.mode != kModeEthernet) return "only ethernet mode is supported";
  if (!f->cfg.secret.empty()) {
    uint8_t want[kSecretSize] = {};
    memcpy(want, f->cfg.secret.data(), f->cfg.secret.size() < kSecretSize ? f->cfg.secret.size() : kSecretSize);
    if (in.secret[0] == 0) return "secret required";
    if (memcmp(want, in.secret, kSecretSize) != 0) return "wrong secret";
  }
  return "";
}

std::string CheckRing(const AddRing& r, const Conn* c, int fd) {
  bool c2s = r.flags & kRingFlagC2S;
  if (fd < 0) return "ADD_RING without an interrupt descriptor";
  if (!IsEventFd(fd)) return "ring interrupt is not an eventfd";
  if (r.index != 0) return "ring index " + std::to_string(r.index) + " out of range (one queue pair)";
  if (c2s ? c->have_c2s : c->have_s2c) return "ring added twice";
  if (r.region >= c->link.regions.size()) return "ring region " + std::to_string(r.region) + " not added";
  if (r.log2_ring_size < 1 || r.log2_ring_size > kMaxLog2Ring) {
    return "ring size 2^" + std::to_string(r.log2_ring_size) + " out of range (2^1..2^14)";
  }
  if (r.private_hdr_size != 0) return "private ring headers are not supported";
  if (r.offset % 8 != 0) return "ring offset " + std::to_string(r.offset) + " not aligned to 8";
  if (uint64_t(r.offset) + RingBytes(r.log2_ring_size) > c->link.regions[r.region].size) {
    return "ring at offset " + std::to_string(r.offset) + " beyond its region";
  }
  return "";
}

}  // namespace

void Engine::HandleServer(Conn* c, const Msg& m, std::vector<int>* fds) {
  if (c->state == Conn::State::kAwaitInit) {
    if (m.type != MsgType::Init) return Fail(c, std::string("expected INIT, got ") + TypeName(m.type), kCodeProtocol);
    Iface* f = nullptr;
    c->claimed_id = m.init.id;
    for (Iface* i : ifaces_)
      if (i->cfg.id == m.init.id) f = i;
    std::string why = CheckInit(m.init, f);
    if (!why.empty()) return Fail(c, why, kCodeRefused);
    c->iface = f;
    f->conn = c;
    c->peer_name = m.init.name;
    c->state = Conn::State::kHandshake;
    Msg ack;
    ack.type = MsgType::Ack;
    SendMsg(c, ack);
    return;
  }
  if (c->state == Conn::State::kConnected) {
    if (m.type == MsgType::Ack) return;  // harmless
    return Fail(c, std::string("unexpected ") + TypeName(m.type) + " on a connected link", kCodeProtocol);
  }
  Link& l = c->link;
  switch (m.type) {
    case MsgType::AddRegion: {
      const AddRegion& ar = m.add_region;
      int fd = TakeFd(fds);
      if (fd < 0) return Fail(c, "ADD_REGION without a region descriptor", kCodeProtocol);
      if (ar.index != l.regions.size() || ar.index >= kMaxRegions) {
        close(fd);
        return Fail(c, "region index " + std::to_string(ar.index) + " out of range", kCodeProtocol);
      }
      Region r;
      std::string err;
      if (!AdoptRegion(fd, ar.size, cfg_.require_seal, &r, &err)) {
        close(fd);
        return Fail(c, err, kCodeProtocol);
      }
      l.regions.push_back(r);
      break;
    }
    case MsgType::AddRing: {
      const AddRing& ar = m.add_ring;
      int fd = TakeFd(fds);
      std::string why = CheckRing(ar, c, fd);
      if (!why.empty()) {
        if (fd >= 0) close(fd);
        return Fail(c, why, kCodeProtocol);
      }
      // Our thread must never block on a descriptor the peer also holds.
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      bool c2s = ar.flags & kRingFlagC2S;
      Queue& q = c2s ? l.rx : l.tx;
      q.ring.base = l.regions[ar.region].addr + ar.offset;
      q.ring.log2 = ar.log2_ring_size;
      q.efd = fd;
      (c2s ? c->have_c2s : c->have_s2c) = true;
      break;
    }
    case MsgType::Connect: {
      if (!c->have_c2s || !c->have_s2c) return Fail(c, "CONNECT before both rings were added", kCodeProtocol);
      for (Queue* q : {&l.rx, &l.tx}) {
        uint32_t cookie = __atomic_load_n(q->ring.cookie(), __ATOMIC_RELAXED);
        if (cookie != kCookie) return Fail(c, "ring cookie " + Hex(cookie) + ", expected " + Hex(kCookie), kCodeProtocol);
        q->ring.StoreHead(0);
        q->ring.StoreTail(0);
        q->next = q->posted = 0;
      }
      l.rx.ring.StoreFlags(cfg_.polling ? kRingMaskInt : 0);
      Msg done;
      done.type = MsgType::Connected;
      done.if_name = c->iface->cfg.name;
      if (!SendMsg(c, done)) return;
      LinkUp(c, m.if_name);
      return;
    }
    case MsgType::Ack:
    case MsgType::Hello:
    case MsgType::Init:
    case MsgType::Connected:
    case MsgType::None:
    case MsgType::Disconnect:
      return Fail(c, std::string("unexpected ") + TypeName(m.type) + " during the handshake", kCodeProtocol);
  }
  Msg ack;
  ack.type = MsgType::Ack;
  SendMsg(c, ack);
}

}  // namespace memif
