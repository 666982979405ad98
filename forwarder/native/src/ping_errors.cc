// ICMP errors about a sized echo, read from the socket's error queue (IP_RECVERR / IPV6_RECVERR),
// for ping.cc: a local "message too long", a router's "fragmentation needed" / "packet too big"
// with its next-hop MTU, or another ICMP error (unreachable), each told apart from the errors of
// other probes on the same namespace.
#include <cerrno>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>

#include "ping.h"

namespace nsm {
namespace ping {
namespace {

std::string FormatAddress(const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
  }
  return text;
}

// Whether `icmp` (quoted by an ICMP error) starts with our echo request.
bool IsOurEcho(const PingWork* w, const Target& t, const uint8_t* icmp, ssize_t n, uint16_t id, uint16_t seq) {
  if (n < 8) return false;
  uint8_t want = w->family == 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  uint16_t got_id = (icmp[4] << 8) | icmp[5];
  uint16_t got_seq = (icmp[6] << 8) | icmp[7];
  return icmp[0] == want && got_seq == seq && (!t.raw || got_id == id);
}

}  // namespace

// Don't fragment, and ignore the path MTU the kernel has cached: every probe goes out at its full
// size, so a path whose MTU grew again is seen at once. With IP(V6)_RECVERR, ICMP errors about our
// echo (fragmentation needed, unreachable) and local send errors land on the socket's error queue.
bool SetDontFragment(PingWork* w) {
  int one = 1;
  if (w->family == 4) {
    int probe = IP_PMTUDISC_PROBE;
    if (setsockopt(w->fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe) < 0) {
      w->failure = {errno, "setsockopt(IP_MTU_DISCOVER)"};
      return false;
    }
    if (setsockopt(w->fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one) < 0) {
      w->failure = {errno, "setsockopt(IP_RECVERR)"};
      return false;
    }
    return true;
  }
  int probe = IPV6_PMTUDISC_PROBE;
  if (setsockopt(w->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof probe) < 0) {
    w->failure = {errno, "setsockopt(IPV6_MTU_DISCOVER)"};
    return false;
  }
  if (setsockopt(w->fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof one) < 0) {
    w->failure = {errno, "setsockopt(IPV6_DONTFRAG)"};
    return false;
  }
  if (setsockopt(w->fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one) < 0) {
    w->failure = {errno, "setsockopt(IPV6_RECVERR)"};
    return false;
  }
  return true;
}



// Empties the socket's error queue and reports, in *f, the first error about our echo. Every raw
// ICMP socket of a namespace sees the ICMP errors of all of them, so others are dropped.
bool TakeOurError(const PingWork* w, const Target& t, uint16_t id, uint16_t seq, size_t packet_bytes, Failure* f) {
  bool found = false;
  for (;;) {
    uint8_t quoted[64];
    alignas(cmsghdr) uint8_t control[256];
    sockaddr_storage dest{};
    iovec iov{quoted, sizeof quoted};
    msghdr msg{};
    msg.msg_name = &dest;
    msg.msg_namelen = sizeof dest;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(w->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return found;  // EAGAIN: the queue is empty
    if (found || !SameSource(t, dest)) continue;
    const sock_extended_err* ee = nullptr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
      }
    }
    if (ee == nullptr || ee->ee_errno == 0) continue;
    bool local = ee->ee_origin == SO_EE_ORIGIN_LOCAL;
    // An ICMP error quotes the start of the packet it is about; a local error quotes nothing.
    if (!local && !IsOurEcho(w, t, quoted, n, id, seq)) continue;
    found = true;
    f->err = static_cast<int>(ee->ee_errno);
    std::string ip = w->family == 4 ? "an IPv4" : "an IPv6";
    std::string size = ip + " packet of " + std::to_string(packet_bytes) + " bytes";
    std::string offender = FormatAddress(SO_EE_OFFENDER(ee));
    if (local && f->err == EMSGSIZE) {
      f->hint = size + " does not fit the MTU of " + std::to_string(ee->ee_info) + " of the outgoing interface";
    } else if (f->err == EMSGSIZE) {
      f->hint = size + " does not fit: " + offender + " reports a next-hop MTU of " + std::to_string(ee->ee_info);
    } else if (!local) {
      f->hint = offender + " answered with ICMP" + (w->family == 4 ? "" : "v6") + " type " +
                std::to_string(ee->ee_type) + " code " + std::to_string(ee->ee_code);
    }
  }
}

// The errnos the kernel derives from ICMP errors (icmp_err_convert, icmpv6_err_convert). With
// IP(V6)_RECVERR one of them also becomes the socket's pending error, which the next recvfrom
// returns once; the error queue holds the details, so the wait goes on.
bool IsIcmpErrno(int e) {
  return e == EHOSTUNREACH || e == ENETUNREACH || e == EMSGSIZE || e == ECONNREFUSED || e == EPROTO ||
         e == EACCES || e == EHOSTDOWN || e == ENONET || e == EOPNOTSUPP || e == ENOPROTOOPT;
}

bool SameSource(const Target& t, const sockaddr_storage& from) {
  if (from.ss_family != t.sa.ss_family) return false;
  if (from.ss_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in&>(from).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(t.sa).sin_addr.s_addr;
  }
  return memcmp(&reinterpret_cast<const sockaddr_in6&>(from).sin6_addr,
                &reinterpret_cast<const sockaddr_in6&>(t.sa).sin6_addr, sizeof(in6_addr)) == 0;
}

}  // namespace ping
}  // namespace nsm
