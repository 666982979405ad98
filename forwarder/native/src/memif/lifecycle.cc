// The engine's life: start (enter the namespace, bind), stop, and the release of everything.
#include <cerrno>

#include <pthread.h>

#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <unistd.h>

#include "bridge.h"
#include "engine.h"

namespace memif {

Engine* Engine::Start(Config cfg, EventSink sink, void* ctx, int* err_no, std::string* err) {
  Engine* e = new Engine();
  e->cfg_ = std::move(cfg);
  e->sink_ = sink;
  e->ctx_ = ctx;
  for (const IfaceConfig& ic : e->cfg_.ifaces) {
    Iface* f = new Iface();
    f->cfg = ic;
    e->ifaces_.push_back(f);
  }
  e->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  e->wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (e->epfd_ < 0 || e->wakefd_ < 0) {
    *err_no = errno;
    *err = "epoll_create1/eventfd";
    delete e;
    return nullptr;
  }
  WatchFd(e->epfd_, e->wakefd_, kTagWake);
  // The thread enters the namespace first and binds there (sockets keep their namespace for
  // life, and a client's later connects happen there too); Start waits to hear how that went.
  const char* name = e->cfg_.kernel.ifname.empty() ? "memif-engine" : "memif-bridge";
  if (!e->worker_.Start(name, [=] { return e->Enter(err_no, err); }, [e] { e->Run(); }, err_no, err)) {
    delete e;
    return nullptr;
  }
  return e;
}

bool Engine::Enter(int* err_no, std::string* err) {
  if (!cfg_.kernel.ifname.empty()) {
    // The kernel side first: its namespace is entered and left again before our own.
    tap_ = Tap::Open(cfg_.kernel, err_no, err);
    if (cfg_.kernel.netns_fd >= 0) close(cfg_.kernel.netns_fd);
    cfg_.kernel.netns_fd = -1;
    if (!tap_) return false;
    WatchFd(epfd_, tap_->fd(), kTagTap);
  }
  if (cfg_.netns_fd >= 0) {
    int rc = setns(cfg_.netns_fd, CLONE_NEWNET);
    *err_no = errno;
    close(cfg_.netns_fd);
    cfg_.netns_fd = -1;
    if (rc < 0) {
      *err = "setns(" + cfg_.netns + ")";
      return false;
    }
  }
  if (cfg_.role != Role::kServer) return true;
  listenfd_ = Listen(cfg_.address, &ino_, err_no, err);
  // The reserve AcceptOne spends when out of descriptors: taken now, while there are some.
  sparefd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (listenfd_ < 0) return false;
  WatchFd(epfd_, listenfd_, kTagListen);
  return true;
}

Engine::~Engine() {
  if (cfg_.netns_fd >= 0) close(cfg_.netns_fd);
  if (cfg_.kernel.netns_fd >= 0) close(cfg_.kernel.netns_fd);
  Release();
  for (Iface* f : ifaces_) delete f;
}

// Everything the engine holds goes back to the system; runs once the thread is gone.
void Engine::Release() {
  for (Conn* c : std::vector<Conn*>(conns_)) CloseConn(c);
  for (Conn* c : dead_) delete c;
  dead_.clear();
  for (Iface* f : ifaces_) {
    f->link.Release();
    f->up = false;
  }
  if (listenfd_ >= 0) {
    close(listenfd_);
    Unlink(cfg_.address, ino_);
    listenfd_ = -1;
  }
  if (sparefd_ >= 0) {
    close(sparefd_);
    sparefd_ = -1;
  }
  delete tap_;
  tap_ = nullptr;
  if (wakefd_ >= 0) close(wakefd_);
  if (epfd_ >= 0) close(epfd_);
  wakefd_ = epfd_ = -1;
}

void Engine::Stop() {
  if (!worker_.running()) return;
  worker_.Stop(&stop_, wakefd_);
  Release();
}

}  // namespace memif
