// The proxy's life and its thread: listen (in the client's namespace), accept one session at a
// time, connect each to the endpoint (from the endpoint's namespace), and the handshake timer.
#include "proxy.h"

#include <cerrno>
#include <cstring>

#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <unistd.h>

#include "bridge.h"

namespace memif {
namespace {

struct ListenArgs {
  const Address* address;
  ino_t* ino;
  int fd = -1;
};

bool ListenHere(void* p, int* err_no, std::string* err) {
  ListenArgs* a = static_cast<ListenArgs*>(p);
  a->fd = Listen(*a->address, a->ino, err_no, err);
  return a->fd >= 0;
}

}  // namespace

Proxy* Proxy::Start(ProxyConfig cfg, EventSink sink, void* ctx, int* err_no, std::string* err) {
  Proxy* p = new Proxy();
  p->cfg_ = std::move(cfg);
  p->sink_ = sink;
  p->ctx_ = ctx;
  p->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  p->wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p->epfd_ < 0 || p->wakefd_ < 0) {
    *err_no = errno;
    *err = "epoll_create1/eventfd";
    delete p;
    return nullptr;
  }
  WatchFd(p->epfd_, p->wakefd_, kTagWake);
  if (!p->worker_.Start("memif-proxy", [=] { return p->Enter(err_no, err); }, [p] { p->Run(); }, err_no, err)) {
    delete p;
    return nullptr;
  }
  return p;
}

// Binds in the client's namespace, then stays in the endpoint's: every connect happens there.
bool Proxy::Enter(int* err_no, std::string* err) {
  ListenArgs a{&cfg_.listen, &ino_};
  bool ok = InNamespace(cfg_.listen_ns_fd, cfg_.listen_ns, ListenHere, &a, err_no, err);
  listenfd_ = a.fd;
  // The reserve AcceptOne spends when out of descriptors: taken now, while there are some.
  sparefd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (ok && cfg_.connect_ns_fd >= 0 && setns(cfg_.connect_ns_fd, CLONE_NEWNET) < 0) {
    *err_no = errno;
    *err = "setns(" + cfg_.connect_ns + ")";
    ok = false;
  }
  for (int* fd : {&cfg_.listen_ns_fd, &cfg_.connect_ns_fd}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  if (!ok) return false;
  WatchFd(epfd_, listenfd_, kTagListen);
  return true;
}

void Proxy::Refuse(int fd, const std::string& reason, uint32_t code) {
  Msg m;
  m.type = MsgType::Disconnect;
  m.disconnect.code = code;
  m.disconnect.reason = reason;
  std::string ignored;
  memif::Send(fd, m, -1, &ignored);
  close(fd);
  stats.refused.fetch_add(1, std::memory_order_relaxed);
  Event* ev = new Event();
  ev->kind = EventKind::kRejected;
  ev->has_id = false;
  ev->code = code;
  ev->reason = reason;
  ev->peer_name = "proxy";
  Emit(ev);
}

void Proxy::Accept() {
  for (;;) {
    int fd = AcceptOne(listenfd_, &sparefd_);
    if (fd < 0) return;
    if (fd_[kClient] >= 0) {
      Refuse(fd, "memif proxy: a session is already active", kCodeRefused);
      continue;
    }
    int ep = Connect(cfg_.connect);
    if (ep < 0) {
      Refuse(fd, "memif proxy: endpoint " + cfg_.connect.text + " unreachable: " + strerror(errno), kCodeRefused);
      continue;
    }
    fd_[kClient] = fd;
    fd_[kEndpoint] = ep;
    up_ = false;
    id_ = 0;
    client_name_.clear();
    endpoint_name_.clear();
    deadline_ = NowMs() + cfg_.handshake_ms;
    session_ = true;
    stats.sessions.fetch_add(1, std::memory_order_relaxed);
    WatchFd(epfd_, fd, kTagConn);                 // the client
    WatchFd(epfd_, ep, kTagConn | (1u << 2));     // the endpoint
  }
}

void Proxy::Run() {
  epoll_event evs[8];
  while (!stop_) {
    int timeout = -1;
    if (deadline_ > 0) {
      int64_t left = deadline_ - NowMs();
      timeout = left < 0 ? 0 : int(left);
    }
    int n = epoll_wait(epfd_, evs, 8, timeout);
    for (int i = 0; i < n && !stop_; i++) {
      uint64_t tag = evs[i].data.u64;
      if (tag == kTagListen) {
        Accept();
      } else if ((tag & 3) == kTagConn) {
        Relay(tag >> 2 ? kEndpoint : kClient);
      }
    }
    if (!stop_ && deadline_ > 0 && NowMs() >= deadline_) End("memif proxy: handshake timed out", kCodeTimeout, false, 0);
  }
  if (fd_[kClient] >= 0) End("memif proxy closed", kCodeClosed, false, 0);
}

void Proxy::Release() {
  for (int& fd : fd_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  if (listenfd_ >= 0) {
    close(listenfd_);
    Unlink(cfg_.listen, ino_);
    listenfd_ = -1;
  }
  if (sparefd_ >= 0) {
    close(sparefd_);
    sparefd_ = -1;
  }
  if (wakefd_ >= 0) close(wakefd_);
  if (epfd_ >= 0) close(epfd_);
  wakefd_ = epfd_ = -1;
}

void Proxy::Stop() {
  if (!worker_.running()) return;
  worker_.Stop(&stop_, wakefd_);
  Release();
}

Proxy::~Proxy() {
  for (int fd : {cfg_.listen_ns_fd, cfg_.connect_ns_fd})
    if (fd >= 0) close(fd);
  Release();
}

}  // namespace memif
