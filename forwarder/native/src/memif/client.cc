// Client side of the handshake: on HELLO it allocates the region and rings, then sends INIT,
// ADD_REGION, ADD_RING (C2S, S2C) and CONNECT one at a time, each after the server's ACK.
#include <cerrno>
#include <cstring>

#include <sys/eventfd.h>
#include <unistd.h>

#include "engine.h"

namespace memif {
namespace {

void InitRing(const Ring& r, const Layout& lay, bool s2c, uint32_t buffer_size, uint16_t flags) {
  __atomic_store_n(r.cookie(), kCookie, __ATOMIC_RELAXED);
  r.StoreFlags(flags);
  r.StoreHead(0);
  r.StoreTail(0);
  for (uint32_t i = 0; i < r.size(); i++) {
    Desc* d = r.desc(uint16_t(i));
    d->flags = 0;
    d->region = 0;
    d->offset = lay.buffer(s2c, uint16_t(i));
    d->length = buffer_size;
    d->metadata = 0;
  }
}

// Allocates region 0 and both rings, as laid out by `lay`.
bool BuildLink(const Config& cfg, const Layout& lay, Link* l, std::string* err) {
  Region r;
  if (!CreateRegion("memif region 0", lay.region_size(), &r, err)) return false;
  l->client = true;
  l->layout = lay;
  l->buffer_size = lay.buffer_size;
  l->regions.push_back(r);
  l->tx.ring.base = r.addr + lay.c2s_offset();
  l->rx.ring.base = r.addr + lay.s2c_offset();
  l->tx.ring.log2 = l->rx.ring.log2 = lay.log2;
  InitRing(l->tx.ring, lay, false, lay.buffer_size, 0);
  InitRing(l->rx.ring, lay, true, lay.buffer_size, cfg.polling ? kRingMaskInt : 0);
  l->tx.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  l->rx.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (l->tx.efd < 0 || l->rx.efd < 0) {
    *err = std::string("eventfd: ") + strerror(errno);
    return false;
  }
  return true;
}

Msg RingMsg(uint16_t flags, uint32_t offset, uint8_t log2) {
  Msg m;
  m.type = MsgType::AddRing;
  m.add_ring.flags = flags;
  m.add_ring.offset = offset;
  m.add_ring.log2_ring_size = log2;
  return m;
}

}  // namespace

void Engine::HandleClient(Conn* c, const Msg& m, std::vector<int>*) {
  const IfaceConfig& ic = c->iface->cfg;
  if (c->state == Conn::State::kAwaitHello) {
    if (m.type != MsgType::Hello) return Fail(c, std::string("expected HELLO, got ") + TypeName(m.type), kCodeProtocol);
    const Hello& h = m.hello;
    if (h.min_version > kVersion || h.max_version < kVersion) return Fail(c, "incompatible memif version", kCodeRefused);
    Layout lay;
    lay.log2 = h.max_log2_ring_size < cfg_.log2_ring ? h.max_log2_ring_size : cfg_.log2_ring;
    lay.buffer_size = cfg_.buffer_size;
    if (lay.log2 < 1) return Fail(c, "server allows no ring size", kCodeRefused);
    std::string err;
    if (!BuildLink(cfg_, lay, &c->link, &err)) return Fail(c, err, kCodeClosed);
    c->peer_name = h.name;
    Msg init;
    init.type = MsgType::Init;
    init.init.version = kVersion;
    init.init.id = ic.id;
    init.init.mode = kModeEthernet;
    memcpy(init.init.secret, ic.secret.data(), ic.secret.size() < kSecretSize ? ic.secret.size() : kSecretSize);
    init.init.name = cfg_.app_name;
    Msg region;
    region.type = MsgType::AddRegion;
    region.add_region.size = c->link.regions[0].size;
    Msg connect;
    connect.type = MsgType::Connect;
    connect.if_name = ic.name;
    c->outq.emplace_back(init, -1);
    c->outq.emplace_back(region, c->link.regions[0].fd);
    c->outq.emplace_back(RingMsg(kRingFlagC2S, uint32_t(lay.c2s_offset()), lay.log2), c->link.tx.efd);
    c->outq.emplace_back(RingMsg(0, uint32_t(lay.s2c_offset()), lay.log2), c->link.rx.efd);
    c->outq.emplace_back(connect, -1);
    c->state = Conn::State::kHandshake;
  } else if (c->state == Conn::State::kHandshake && m.type == MsgType::Ack && c->awaiting_ack) {
    c->awaiting_ack = false;
  } else if (c->state == Conn::State::kHandshake && m.type == MsgType::Connected && c->awaiting_connected) {
    // The server has reset the rings; ours are still as we initialised them.
    return LinkUp(c, m.if_name);
  } else if (c->state == Conn::State::kConnected && m.type == MsgType::Ack) {
    return;
  } else {
    return Fail(c, std::string("unexpected ") + TypeName(m.type), kCodeProtocol);
  }
  if (c->outq.empty()) return;
  std::pair<Msg, int> next = c->outq.front();
  c->outq.pop_front();
  if (!SendMsg(c, next.first, next.second)) return;
  if (next.first.type == MsgType::Connect) {
    c->awaiting_connected = true;
  } else {
    c->awaiting_ack = true;
  }
}

}  // namespace memif
