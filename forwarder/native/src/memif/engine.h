// One memif endpoint (a server socket with its interfaces, or a client with one interface) run by
// a native thread: control channels, handshakes, interrupts and receive. JS only sends frames
// (under a mutex, never waiting for the peer) and gets events through a sink.
#pragma once

#include "worker.h"

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <sys/epoll.h>

#include "datapath.h"
#include "proto.h"
#include "socket.h"

namespace memif {

enum class Role { kServer, kClient };

struct IfaceConfig {
  uint32_t id = 0;
  std::string secret;  // empty: none asked (server) or none sent (client)
  std::string name;    // our interface name, sent in CONNECT / CONNECTED
};

// The kernel side of a bridge: an AF_PACKET socket on `ifname` inside `netns` (bridge.cc).
struct KernelConfig {
  std::string ifname;  // empty: no bridge, frames go to JS
  std::string netns;
  int netns_fd = -1;   // owned by the engine until it has opened the socket
  uint32_t batch = 64;
};

struct Config {
  Role role = Role::kServer;
  Address address;
  std::string app_name = "nsm-ts";
  std::vector<IfaceConfig> ifaces;  // a client has exactly one
  uint8_t log2_ring = 10;           // client: ring size it asks for
  uint32_t buffer_size = 2048;      // client: size of each buffer
  bool polling = false;             // mask our receive interrupts and poll the ring instead
  uint32_t reconnect_ms = 1000;
  uint32_t handshake_ms = 5000;
  bool require_seal = true;
  size_t max_pending = 16;  // server: handshakes not yet bound to an interface
  std::string netns;        // network namespace to bind or connect in ("": ours)
  int netns_fd = -1;        // its descriptor, owned by the engine until it has entered it
  KernelConfig kernel;      // a bridge: received frames go to a kernel interface, not to JS
};

enum class EventKind { kUp, kDown, kRejected, kFrames };

struct Event {
  EventKind kind = EventKind::kUp;
  uint32_t id = 0;
  bool has_id = true;
  bool by_peer = false;
  uint32_t code = 0;
  std::string reason, peer_name, peer_if;
  uint32_t ring_size = 0, buffer_size = 0;
  Batch* batch = nullptr;  // kFrames, owned by the event
};

// Takes ownership of the event. Called on the engine thread.
using EventSink = void (*)(void* ctx, Event* ev);

struct Iface;
class Tap;

// A control channel, from accept/connect to close.
struct Conn {
  enum class State { kAwaitHello, kAwaitInit, kHandshake, kConnected };
  int fd = -1;
  State state = State::kAwaitInit;
  Iface* iface = nullptr;  // server: bound by INIT; client: its only interface
  int64_t deadline = 0;    // handshake must end by then (monotonic ms)
  bool dead = false;
  Link link;  // being built during the handshake
  std::string peer_name;
  int64_t claimed_id = -1;  // server: the id INIT asked for, bound or not
  bool have_c2s = false, have_s2c = false;       // server
  std::deque<std::pair<Msg, int>> outq;          // client: the rest of its handshake
  bool awaiting_ack = false, awaiting_connected = false;  // client
};

struct Iface {
  IfaceConfig cfg;
  Conn* conn = nullptr;  // bound control channel (handshaking or connected)
  bool up = false;       // guarded by Engine::mu_ for the JS thread
  bool rx_pending = false;
  Link link;  // the connected link
  Stats stats;
};

class Engine {
 public:
  // Binds (server) and starts the thread. nullptr with err/err_no on failure.
  static Engine* Start(Config cfg, EventSink sink, void* ctx, int* err_no, std::string* err);
  // Stops the thread after sending DISCONNECT on every channel and releasing everything.
  void Stop();
  ~Engine();

  // JS thread: copies frames into interface `id`'s transmit ring. -1: no such interface.
  long Send(uint32_t id, const Frame* frames, size_t n);
  const Stats* StatsOf(uint32_t id) const;
  bool IsUp(uint32_t id);

  std::atomic<int> inflight{0};  // frame batches queued to JS, not yet delivered

  // Used by the role handlers (server.cc, client.cc).
  void Fail(Conn* c, const std::string& reason, uint32_t code);
  void LinkUp(Conn* c, const std::string& peer_if);
  bool SendMsg(Conn* c, const Msg& m, int fd = -1);
  void HandleServer(Conn* c, const Msg& m, std::vector<int>* fds);
  void HandleClient(Conn* c, const Msg& m, std::vector<int>* fds);
  const Config& cfg() const { return cfg_; }
  const Tap* tap() const { return tap_; }

 private:
  Engine() = default;
  void Run();
  bool Enter(int* err_no, std::string* err);
  void Release();
  int Timeout();
  void Timers();
  void Accept();
  void TryConnect();
  void OnReadable(Conn* c);
  void Lost(Conn* c, const std::string& reason, uint32_t code, bool by_peer, bool send);
  void CloseConn(Conn* c);
  void Drain(Iface* f);
  void DrainTap(Iface* f);
  void Emit(Event* ev) { sink_(ctx_, ev); }
  Iface* Find(uint32_t id);

  Config cfg_;
  EventSink sink_ = nullptr;
  void* ctx_ = nullptr;
  Tap* tap_ = nullptr;  // a bridge's kernel side, owned
  int epfd_ = -1, wakefd_ = -1, listenfd_ = -1;
  // A reserve descriptor, spent to shed a connection when out of descriptors (see AcceptOne).
  int sparefd_ = -1;
  ino_t ino_ = 0;
  std::vector<Iface*> ifaces_;
  std::vector<Conn*> conns_, dead_;
  int64_t reconnect_at_ = 0;  // client: next connect attempt
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  Worker worker_;
};

int64_t NowMs();

// epoll tags: pointers are 8-aligned, so the low bits say what an event is about.
constexpr uint64_t kTagWake = 0, kTagConn = 1, kTagRx = 2, kTagListen = 3, kTagTap = 4;

inline void WatchFd(int ep, int fd, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

}  // namespace memif
