// Control channels: accepting (server) or connecting (client), and reading messages.
#include <sys/epoll.h>
#include <unistd.h>

#include "engine.h"

namespace memif {

void Engine::Accept() {
  for (;;) {
    int fd = AcceptOne(listenfd_, &sparefd_);
    if (fd < 0) return;
    Conn* c = new Conn();
    c->fd = fd;
    c->state = Conn::State::kAwaitInit;
    c->deadline = NowMs() + cfg_.handshake_ms;
    conns_.push_back(c);
    WatchFd(epfd_, fd, reinterpret_cast<uint64_t>(c) | kTagConn);
    size_t pending = 0;
    for (Conn* o : conns_) pending += o->state == Conn::State::kAwaitInit;
    if (pending > cfg_.max_pending) {
      Fail(c, "too many handshakes in progress", kCodeRefused);
      continue;
    }
    Msg m;
    m.type = MsgType::Hello;
    m.hello.name = cfg_.app_name;
    m.hello.min_version = m.hello.max_version = kVersion;
    m.hello.max_region = 3;
    m.hello.max_c2s_ring = m.hello.max_s2c_ring = 0;  // one queue pair
    m.hello.max_log2_ring_size = kMaxLog2Ring;
    SendMsg(c, m);
  }
}

void Engine::TryConnect() {
  reconnect_at_ = 0;
  int fd = Connect(cfg_.address);
  if (fd < 0) {
    reconnect_at_ = NowMs() + cfg_.reconnect_ms;
    return;
  }
  Conn* c = new Conn();
  c->fd = fd;
  c->state = Conn::State::kAwaitHello;
  c->iface = ifaces_[0];
  c->iface->conn = c;
  c->deadline = NowMs() + cfg_.handshake_ms;
  conns_.push_back(c);
  WatchFd(epfd_, fd, reinterpret_cast<uint64_t>(c) | kTagConn);
}

void Engine::OnReadable(Conn* c) {
  for (int i = 0; i < 64 && !c->dead; i++) {
    Msg m;
    std::vector<int> fds;
    std::string err;
    Recv r = Receive(c->fd, &m, &fds, &err);
    if (r == Recv::kAgain) return;
    if (r == Recv::kClosed) return Lost(c, err, kCodeClosed, true, false);
    if (r == Recv::kBad) return Fail(c, err, kCodeProtocol);
    if (m.type == MsgType::Disconnect) {
      CloseAll(&fds);
      std::string why = m.disconnect.reason.empty() ? "(no reason given)" : m.disconnect.reason;
      return Lost(c, why, m.disconnect.code, true, false);
    }
    if (cfg_.role == Role::kServer) {
      HandleServer(c, m, &fds);
    } else {
      HandleClient(c, m, &fds);
    }
    CloseAll(&fds);  // whatever the handler did not take
  }
}

}  // namespace memif
