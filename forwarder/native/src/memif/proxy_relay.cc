// What the proxy relays, and how a session ends. Messages go on byte for byte (nothing in them is
// rewritten), after a check that each is one well-formed 128-byte message of a type its sender
// may send, with the descriptors that type carries: one for ADD_REGION and ADD_RING, none else.
#include <cerrno>
#include <cstring>

#include <sys/epoll.h>
#include <unistd.h>

#include "proxy.h"

namespace memif {
namespace {

constexpr int kSkipClient = 1, kSkipEndpoint = 2;

const char* SideName(int side) { return side == 0 ? "client" : "endpoint"; }

bool SentBy(MsgType t, int side) {
  switch (t) {
    case MsgType::Ack:
    case MsgType::Disconnect: return true;
    case MsgType::Init:
    case MsgType::AddRegion:
    case MsgType::AddRing:
    case MsgType::Connect: return side == 0;
    case MsgType::Hello:
    case MsgType::Connected: return side == 1;
    case MsgType::None: return false;
  }
  return false;
}

}  // namespace

bool Proxy::Check(Side from, const uint8_t* buf, ssize_t n, const std::vector<int>& fds, bool ctrunc, Msg* m,
                  std::string* why) {
  size_t nfds = fds.size();
  std::string side = std::string(" from the ") + SideName(from);
  if (ctrunc) {
    *why = "too many descriptors with one message" + side;
    return false;
  }
  if (!Decode(buf, size_t(n), m, why)) {
    *why += side;
    return false;
  }
  if (!SentBy(m->type, from)) {
    *why = std::string(TypeName(m->type)) + side + ", which never sends it";
    return false;
  }
  size_t want = m->type == MsgType::AddRegion || m->type == MsgType::AddRing ? 1 : 0;
  if (nfds != want) {
    *why = std::string(TypeName(m->type)) + " with " + std::to_string(nfds) + " descriptors" + side + ", expected " +
           std::to_string(want);
    return false;
  }
  // The receiver maps the region and writes to the eventfds: what it may rely on is checked
  // here too, so that an endpoint less careful than ours is not handed a file that can shrink
  // under its mapping (SIGBUS) or a descriptor that blocks its writes.
  if (m->type == MsgType::AddRegion && !CheckRegion(fds[0], m->add_region.size, cfg_.require_seal, why)) {
    *why += side;
    return false;
  }
  if (m->type == MsgType::AddRing && !IsEventFd(fds[0])) {
    *why = "ring interrupt is not an eventfd" + side;
    return false;
  }
  return true;
}

void Proxy::Relay(Side from) {
  for (int round = 0; round < 16 && fd_[from] >= 0; round++) {
    uint8_t buf[2 * kMsgSize];
    std::vector<int> fds;
    bool ctrunc = false;
    ssize_t n = RecvRaw(fd_[from], buf, sizeof buf, &fds, &ctrunc);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    Side to = from == kClient ? kEndpoint : kClient;
    int skip = from == kClient ? kSkipClient : kSkipEndpoint;
    if (n <= 0) {
      CloseAll(&fds);
      std::string what = n == 0 ? " closed the control channel" : std::string(" control channel: ") + strerror(errno);
      return End(std::string("memif proxy: ") + SideName(from) + what, kCodeClosed, true, skip);
    }
    Msg m;
    std::string why;
    if (!Check(from, buf, n, fds, ctrunc, &m, &why)) {
      CloseAll(&fds);
      return End("memif proxy: " + why, kCodeProtocol, false, 0);
    }
    bool sent = SendRaw(fd_[to], buf, kMsgSize, fds.empty() ? -1 : fds[0]) == ssize_t(kMsgSize);
    int send_errno = errno;
    size_t passed = fds.size();
    CloseAll(&fds);  // ours only: the receiver holds its own copies now
    if (!sent) {
      return End(std::string("memif proxy: relaying ") + TypeName(m.type) + " to the " + SideName(to) + ": " +
                     strerror(send_errno),
                 kCodeClosed, false, 0);
    }
    stats.messages.fetch_add(1, std::memory_order_relaxed);
    stats.descriptors.fetch_add(passed, std::memory_order_relaxed);
    switch (m.type) {
      case MsgType::Disconnect:  // passed on as it came: the other side reads the peer's reason
        return End(m.disconnect.reason.empty() ? "(no reason given)" : m.disconnect.reason, m.disconnect.code, true,
                   kSkipClient | kSkipEndpoint);
      case MsgType::Hello: endpoint_name_ = m.hello.name; break;
      case MsgType::Init:
        client_name_ = m.init.name;
        id_ = m.init.id;
        break;
      case MsgType::Connected: {
        up_ = true;
        deadline_ = 0;
        Event* ev = new Event();
        ev->kind = EventKind::kUp;
        ev->id = id_;
        ev->peer_name = client_name_;
        ev->peer_if = endpoint_name_;
        Emit(ev);
        break;
      }
      default: break;
    }
  }
}

// Ends the session: DISCONNECT with `reason` to each side not in `skip`, both channels closed.
void Proxy::End(const std::string& reason, uint32_t code, bool by_peer, int skip) {
  for (int side : {0, 1}) {
    if (fd_[side] < 0) continue;
    if (!(skip & (1 << side))) {
      Msg m;
      m.type = MsgType::Disconnect;
      m.disconnect.code = code;
      m.disconnect.reason = reason;
      std::string ignored;
      memif::Send(fd_[side], m, -1, &ignored);
    }
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd_[side], nullptr);
    close(fd_[side]);
    fd_[side] = -1;
  }
  Event* ev = new Event();
  ev->kind = up_ ? EventKind::kDown : EventKind::kRejected;
  ev->has_id = !client_name_.empty() || id_ != 0;
  ev->id = id_;
  ev->by_peer = by_peer;
  ev->code = code;
  ev->reason = reason;
  if (code == kCodeProtocol && !by_peer) stats.bad.fetch_add(1, std::memory_order_relaxed);
  up_ = false;
  deadline_ = 0;
  session_ = false;
  Emit(ev);
}

}  // namespace memif
