// The engine thread: one epoll set for the wake-up eventfd, the listening socket, control
// channels and receive interrupts; timers for handshakes, reconnection and polling.
#include "engine.h"

#include "bridge.h"

#include <cerrno>
#include <cstring>
#include <ctime>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace memif {
namespace {

constexpr size_t kBatchFrames = 256;
constexpr size_t kBatchBytes = 1 << 20;
constexpr int kMaxInflight = 32;
constexpr int kPollMs = 1;

}  // namespace

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

Iface* Engine::Find(uint32_t id) {
  for (Iface* f : ifaces_)
    if (f->cfg.id == id) return f;
  return nullptr;
}

long Engine::Send(uint32_t id, const Frame* frames, size_t n) {
  Iface* f = Find(id);
  if (!f) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  if (!f->up) {
    f->stats.tx_no_space.fetch_add(n, std::memory_order_relaxed);
    return 0;
  }
  return long(Transmit(&f->link, frames, n, &f->stats));
}

const Stats* Engine::StatsOf(uint32_t id) const {
  for (Iface* f : ifaces_)
    if (f->cfg.id == id) return &f->stats;
  return nullptr;
}

bool Engine::IsUp(uint32_t id) {
  Iface* f = Find(id);
  std::lock_guard<std::mutex> lock(mu_);
  return f && f->up;
}

bool Engine::SendMsg(Conn* c, const Msg& m, int fd) {
  std::string err;
  if (memif::Send(c->fd, m, fd, &err)) return true;
  Lost(c, err, kCodeProtocol, false, false);
  return false;
}

void Engine::CloseConn(Conn* c) {
  if (c->dead) return;
  c->dead = true;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  c->link.Release();
  c->outq.clear();  // its descriptors belong to c->link, released above
  if (c->iface && c->iface->conn == c) c->iface->conn = nullptr;
  for (size_t i = 0; i < conns_.size(); i++) {
    if (conns_[i] == c) {
      conns_.erase(conns_.begin() + long(i));
      break;
    }
  }
  dead_.push_back(c);
}

// Ends a control channel: the link goes down (or the handshake is refused), DISCONNECT goes out
// when `send`, and a client plans its next attempt.
void Engine::Lost(Conn* c, const std::string& reason, uint32_t code, bool by_peer, bool send) {
  if (c->dead) return;
  Iface* f = c->iface && c->iface->conn == c ? c->iface : nullptr;
  bool was_up = false;
  Link old;
  if (f) {
    std::lock_guard<std::mutex> lock(mu_);
    was_up = f->up;
    f->up = false;
    // Frames left to drain died with the link: without this the engine would wake at once for ever.
    f->rx_pending = false;
    old = f->link;
    f->link = Link();
  }
  if (old.rx.efd >= 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, old.rx.efd, nullptr);
  old.Release();
  if (send) {
    Msg m;
    m.type = MsgType::Disconnect;
    m.disconnect.code = code;
    m.disconnect.reason = reason;
    std::string ignored;
    memif::Send(c->fd, m, -1, &ignored);
  }
  CloseConn(c);
  if (was_up) f->stats.disconnects.fetch_add(1, std::memory_order_relaxed);
  Event* ev = new Event();
  ev->kind = was_up ? EventKind::kDown : EventKind::kRejected;
  ev->has_id = f != nullptr || cfg_.role == Role::kClient || c->claimed_id >= 0;
  ev->id = f ? f->cfg.id : c->claimed_id >= 0 ? uint32_t(c->claimed_id) : cfg_.ifaces[0].id;
  ev->by_peer = by_peer;
  ev->code = code;
  ev->reason = reason;
  Emit(ev);
  if (cfg_.role == Role::kClient) reconnect_at_ = NowMs() + cfg_.reconnect_ms;
}

void Engine::Fail(Conn* c, const std::string& reason, uint32_t code) { Lost(c, reason, code, false, true); }

void Engine::LinkUp(Conn* c, const std::string& peer_if) {
  Iface* f = c->iface;
  c->state = Conn::State::kConnected;
  c->deadline = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    f->link = c->link;
    c->link = Link();
    f->up = true;
  }
  Link& l = f->link;
  if (l.client) PostRxBuffers(&l);
  if (!cfg_.polling) WatchFd(epfd_, l.rx.efd, reinterpret_cast<uint64_t>(f) | kTagRx);
  f->stats.connects.fetch_add(1, std::memory_order_relaxed);
  Event* ev = new Event();
  ev->kind = EventKind::kUp;
  ev->id = f->cfg.id;
  ev->peer_name = c->peer_name;
  ev->peer_if = peer_if;
  ev->ring_size = l.rx.ring.size();
  ev->buffer_size = l.client ? l.buffer_size : (l.rx.ring.size() ? l.rx.ring.Read(0).length : 0);
  Emit(ev);
  Drain(f);  // frames the peer sent before our interrupt was watched
}

// Moves received frames to JS in batches; stops while JS has too many batches to work through,
// which leaves the rest in the ring and lets the peer feel the backpressure.
void Engine::Drain(Iface* f) {
  if (tap_) return DrainTap(f);
  f->rx_pending = false;
  for (int round = 0; round < 8 && f->up; round++) {
    if (inflight.load() >= kMaxInflight) {
      f->rx_pending = true;
      return;
    }
    Batch* b = new Batch();
    b->data.reserve(64 * 1024);
    RxStatus st = Receive(&f->link, b, kBatchFrames, kBatchBytes, &f->stats);
    if (b->lengths.empty()) {
      delete b;
    } else {
      inflight++;
      Event* ev = new Event();
      ev->kind = EventKind::kFrames;
      ev->id = f->cfg.id;
      ev->batch = b;
      Emit(ev);
    }
    if (st == RxStatus::kViolation) {
      Fail(f->conn, "ring cursor out of range", kCodeProtocol);
      return;
    }
    if (st == RxStatus::kIdle) return;
  }
  f->rx_pending = true;
}

int Engine::Timeout() {
  int64_t now = NowMs(), next = -1;
  auto consider = [&](int64_t at) {
    if (at > 0 && (next < 0 || at < next)) next = at;
  };
  for (Conn* c : conns_) consider(c->deadline);
  if (cfg_.role == Role::kClient && !ifaces_[0]->conn) consider(reconnect_at_ ? reconnect_at_ : now);
  for (Iface* f : ifaces_) {
    if (f->rx_pending && f->up) consider(now + (inflight.load() >= kMaxInflight ? 1 : 0));
    if (cfg_.polling && f->up) consider(now + kPollMs);
  }
  if (next < 0) return -1;
  return next <= now ? 0 : int(next - now);
}

void Engine::Timers() {
  int64_t now = NowMs();
  std::vector<Conn*> late;
  for (Conn* c : conns_)
    if (c->deadline > 0 && c->deadline <= now) late.push_back(c);
  for (Conn* c : late) Fail(c, "handshake timed out", kCodeTimeout);
  if (cfg_.role == Role::kClient && !ifaces_[0]->conn && !stop_ && reconnect_at_ <= now) TryConnect();
  for (Iface* f : ifaces_)
    if (f->up && (f->rx_pending || cfg_.polling)) Drain(f);
}

void Engine::Run() {
  epoll_event evs[32];
  while (!stop_) {
    int n = epoll_wait(epfd_, evs, 32, Timeout());
    for (int i = 0; i < n && !stop_; i++) {
      uint64_t tag = evs[i].data.u64;
      if (tag == kTagWake) continue;
      if (tag == kTagTap) {
        tap_->FromKernel(this, ifaces_[0]->cfg.id);
      } else if (tag == kTagListen) {
        Accept();
      } else if ((tag & 3) == kTagConn) {
        Conn* c = reinterpret_cast<Conn*>(tag & ~uint64_t(3));
        if (!c->dead) OnReadable(c);
      } else if ((tag & 3) == kTagRx) {
        Iface* f = reinterpret_cast<Iface*>(tag & ~uint64_t(3));
        uint64_t count;
        if (f->up && read(f->link.rx.efd, &count, sizeof count) >= 0) Drain(f);
      }
    }
    if (!stop_) Timers();
    for (Conn* c : dead_) delete c;
    dead_.clear();
  }
  // Closing: every channel hears why, then all goes.
  std::vector<Conn*> open = conns_;
  for (Conn* c : open) Lost(c, "interface closed", kCodeClosed, false, true);
  for (Conn* c : dead_) delete c;
  dead_.clear();
}

}  // namespace memif
