// A memif control-channel relay ("memif proxy"): it listens where a memif client expects a
// server, connects to the real server for each client, and passes every control message and its
// descriptors (the client's memfd region, the rings' eventfds) between them unchanged, so both
// peers map the same memory and exchange frames without us. One session at a time, on one thread.
#pragma once

#include "worker.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "engine.h"
#include "shm.h"
#include "socket.h"

namespace memif {

struct ProxyConfig {
  Address listen, connect;
  std::string listen_ns, connect_ns;       // namespace files ("": ours)
  int listen_ns_fd = -1, connect_ns_fd = -1;  // owned until the thread has used them
  uint32_t handshake_ms = 5000;
  bool require_seal = true;  // region files must be sealed against shrinking (or a peer may crash)
};

struct ProxyStats {
  std::atomic<uint64_t> sessions{0}, messages{0}, descriptors{0};
  std::atomic<uint64_t> refused{0};  // clients turned away: a session was active, or no endpoint
  std::atomic<uint64_t> bad{0};      // sessions ended because a peer sent something it may not
};

class Proxy {
 public:
  static Proxy* Start(ProxyConfig cfg, EventSink sink, void* ctx, int* err_no, std::string* err);
  // Ends the session (DISCONNECT to both peers), joins the thread and releases everything.
  void Stop();
  ~Proxy();

  ProxyStats stats;
  bool InSession() const { return session_.load(); }

 private:
  enum Side { kClient = 0, kEndpoint = 1 };
  Proxy() = default;
  bool Enter(int* err_no, std::string* err);
  void Run();
  void Release();
  void Accept();
  void Relay(Side from);
  bool Check(Side from, const uint8_t* buf, ssize_t n, const std::vector<int>& fds, bool ctrunc, Msg* m,
             std::string* why);
  void End(const std::string& reason, uint32_t code, bool by_peer, int skip_side);
  void Refuse(int fd, const std::string& reason, uint32_t code);
  void Emit(Event* ev) { sink_(ctx_, ev); }

  ProxyConfig cfg_;
  EventSink sink_ = nullptr;
  void* ctx_ = nullptr;
  int epfd_ = -1, wakefd_ = -1, listenfd_ = -1;
  // A reserve descriptor, spent to shed a connection when out of descriptors (see AcceptOne).
  int sparefd_ = -1;
  ino_t ino_ = 0;
  int fd_[2] = {-1, -1};  // the session's client and endpoint channels
  bool up_ = false;
  int64_t deadline_ = 0;
  uint32_t id_ = 0;
  std::string client_name_, endpoint_name_;
  std::atomic<bool> stop_{false}, session_{false};
  Worker worker_;
};

}  // namespace memif
