// One ICMP echo on a socket the caller opened (usually inside a pod's namespace with
// openSocketInNamespace). Works with raw sockets (SOCK_RAW + IPPROTO_ICMP/ICMPV6, needs
// CAP_NET_RAW) and with unprivileged ping sockets (SOCK_DGRAM, needs net.ipv4.ping_group_range).
// The wait runs on a libuv pool thread and is bounded by the caller's timeout.
//
// With an explicit payload size the echo is sent with don't-fragment (path MTU probing): a
// packet larger than the outgoing interface's MTU fails at once with EMSGSIZE, and a router whose
// next hop is too small answers with an ICMP "fragmentation needed" / "packet too big" error,
// which the socket's error queue (IP_RECVERR) turns into an EMSGSIZE rejection naming the router
// and its MTU. Other ICMP errors about the echo (unreachable) end the wait the same way.
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ping.h"

namespace nsm {
namespace {

using namespace ping;

std::atomic<uint32_t> next_seq{1};

uint16_t Checksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (len & 1) sum += data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

bool Prepare(PingWork* w, Target* t) {
  int type = 0;
  socklen_t tlen = sizeof type;
  if (getsockopt(w->fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0) {
    w->failure = {errno, "getsockopt(SO_TYPE)"};
    return false;
  }
  t->raw = type == SOCK_RAW;
  if (w->family == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&t->sa);
    sin->sin_family = AF_INET;
    t->len = sizeof *sin;
    if (inet_pton(AF_INET, w->addr.c_str(), &sin->sin_addr) != 1) {
      w->failure = {EINVAL, "inet_pton(" + w->addr + ")"};
      return false;
    }
    // Only echo replies wake us up on a raw socket, which otherwise sees every ICMP packet.
    IcmpFilter filter{~(1u << ICMP_ECHOREPLY)};
    if (t->raw) setsockopt(w->fd, SOL_RAW, kIcmpFilter, &filter, sizeof filter);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&t->sa);
    sin6->sin6_family = AF_INET6;
    t->len = sizeof *sin6;
    if (inet_pton(AF_INET6, w->addr.c_str(), &sin6->sin6_addr) != 1) {
      w->failure = {EINVAL, "inet_pton(" + w->addr + ")"};
      return false;
    }
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
    if (t->raw) setsockopt(w->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
  }
  return true;
}


// Whether `pkt` is the reply to our echo. Raw IPv4 sockets deliver the IP header too; ping
// sockets rewrite the identifier to their port, so only the sequence number is ours there.
bool IsReply(const PingWork* w, const Target& t, const uint8_t* pkt, ssize_t n, uint16_t id, uint16_t seq) {
  size_t off = 0;
  if (w->family == 4 && t.raw) {
    if (n < 20) return false;
    off = (pkt[0] & 0x0f) * 4;
  }
  if (n < static_cast<ssize_t>(off + 8)) return false;
  const uint8_t* icmp = pkt + off;
  uint8_t want = w->family == 4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
  uint16_t got_id = (icmp[4] << 8) | icmp[5];
  uint16_t got_seq = (icmp[6] << 8) | icmp[7];
  return icmp[0] == want && got_seq == seq && (!t.raw || got_id == id);
}


bool Ping(PingWork* w) {
  Target t;
  if (!Prepare(w, &t)) return false;
  if (w->probe_mtu && !SetDontFragment(w)) return false;
  uint32_t n = next_seq.fetch_add(1);
  uint16_t id = static_cast<uint16_t>((getpid() ^ (n >> 16)) & 0xffff);
  uint16_t seq = static_cast<uint16_t>(n & 0xffff);
  std::vector<uint8_t> pkt(8 + w->size);
  pkt[0] = w->family == 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  pkt[4] = id >> 8;
  pkt[5] = id & 0xff;
  pkt[6] = seq >> 8;
  pkt[7] = seq & 0xff;
  for (int i = 0; i < w->size; i++) pkt[8 + i] = kPattern[i % (sizeof kPattern - 1)];
  // ICMPv6 checksums cover a pseudo-header the kernel fills in itself.
  if (w->family == 4) {
    uint16_t sum = Checksum(pkt.data(), pkt.size());
    pkt[2] = sum >> 8;
    pkt[3] = sum & 0xff;
  }
  // The size of the IP packet on the wire, for error messages.
  size_t packet_bytes = pkt.size() + (w->family == 4 ? 20 : 40);
  double start = NowMs();
  double deadline = start + w->timeout_ms;
  if (sendto(w->fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&t.sa), t.len) < 0) {
    w->failure = {errno, "sendto(" + w->addr + ")"};
    // The local error on the queue names the interface MTU the packet exceeded.
    Failure queued;
    if (w->probe_mtu && TakeOurError(w, t, id, seq, packet_bytes, &queued) && queued.err == w->failure.err) {
      w->failure.hint = queued.hint;
    }
    return false;
  }
  // The reply is as large as the request, behind an IPv4 header on a raw socket.
  std::vector<uint8_t> buf(std::max<size_t>(1500, pkt.size() + kMaxIpHeaderBytes));
  for (;;) {
    double left = deadline - NowMs();
    if (left <= 0) break;
    pollfd p{w->fd, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(left) + 1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) {
      w->failure = {errno, "poll"};
      return false;
    }
    if (rc == 0) break;
    if (w->probe_mtu && (p.revents & POLLERR)) {
      Failure queued;
      if (TakeOurError(w, t, id, seq, packet_bytes, &queued)) {
        w->failure = {queued.err, "waiting for an echo reply from " + w->addr};
        w->failure.hint = queued.hint;
        return false;
      }
      // Clears the pending error other sockets' ICMP errors left, which would keep poll awake.
      int pending = 0;
      socklen_t plen = sizeof pending;
      getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &pending, &plen);
    }
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    ssize_t got =
        recvfrom(w->fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (w->probe_mtu && IsIcmpErrno(errno)) continue;
      w->failure = {errno, "recvfrom"};
      return false;
    }
    if (SameSource(t, from) && IsReply(w, t, buf.data(), got, id, seq)) {
      w->rtt_ms = NowMs() - start;
      return true;
    }
  }
  w->failure = {ETIMEDOUT, "waiting for an echo reply from " + w->addr};
  return false;
}

void Execute(napi_env, void* data) {
  auto* w = static_cast<PingWork*>(data);
  w->ok = Ping(w);
}

void Complete(napi_env env, napi_status, void* data) {
  auto* w = static_cast<PingWork*>(data);
  if (w->ok) {
    napi_value rtt;
    napi_create_double(env, w->rtt_ms, &rtt);
    napi_resolve_deferred(env, w->deferred, rtt);
  } else {
    napi_reject_deferred(env, w->deferred, MakeError(env, w->failure, "pingOnce(" + w->addr + ")"));
  }
  napi_delete_async_work(env, w->work);
  delete w;
}

bool ReadArgs(napi_env env, napi_callback_info info, PingWork* w) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 4 || napi_get_value_int32(env, argv[0], &w->fd) != napi_ok || w->fd < 0 ||
      !GetString(env, argv[1], &w->addr) ||
      napi_get_value_int32(env, argv[2], &w->family) != napi_ok ||
      napi_get_value_int32(env, argv[3], &w->timeout_ms) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "pingOnce(fd, addr, family, timeoutMs, size?): bad arguments");
    return false;
  }
  if ((w->family != 4 && w->family != 6) || w->timeout_ms < 1 || w->timeout_ms > 60000) {
    napi_throw_range_error(env, "EINVAL", "pingOnce: family must be 4 or 6 and timeoutMs 1..60000");
    return false;
  }
  napi_valuetype size_type = napi_undefined;
  if (argc >= 5) napi_typeof(env, argv[4], &size_type);
  if (size_type != napi_undefined) {
    if (napi_get_value_int32(env, argv[4], &w->size) != napi_ok) {
      napi_throw_type_error(env, "EINVAL", "pingOnce: size must be an integer");
      return false;
    }
    if (w->size < kMinPayloadBytes || w->size > kMaxPayloadBytes) {
      napi_throw_range_error(env, "EINVAL", "pingOnce: size must be 16..65000 payload bytes");
      return false;
    }
    w->probe_mtu = true;
  }
  return true;
}

napi_value PingOnce(napi_env env, napi_callback_info info) {
  auto* w = new PingWork();
  if (!ReadArgs(env, info, w)) {
    delete w;
    return nullptr;
  }
  return QueueWork(env, w, "nsm_netlink.pingOnce", Execute, Complete);
}

}  // namespace

void InitPing(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"pingOnce", nullptr, PingOnce, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace nsm
