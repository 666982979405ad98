// What ping.cc and ping_errors.cc share: the work of one echo, its target, and the helpers that
// read ICMP errors about it from the socket's error queue.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <string>

#include <sys/socket.h>

#include "common.h"

namespace nsm {
namespace ping {

constexpr int kDefaultPayloadBytes = 16;
constexpr int kMinPayloadBytes = 16;
constexpr int kMaxPayloadBytes = 65000;
// Room for an IPv4 header with options in front of a reply on a raw socket.
constexpr size_t kMaxIpHeaderBytes = 60;
constexpr char kPattern[] = "nsm-liveness....";
// From <linux/icmp.h>, which clashes with <netinet/ip_icmp.h>.
constexpr int kIcmpFilter = 1;
struct IcmpFilter {
  uint32_t data;
};

struct PingWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  int fd = -1;
  int family = 4;
  std::string addr;
  int timeout_ms = 0;
  int size = kDefaultPayloadBytes;
  // Set when the caller chose a size: don't fragment, and report ICMP errors about our echo.
  bool probe_mtu = false;
  double rtt_ms = 0;
  Failure failure;
  bool ok = false;
};

// Where the echo goes, and whether the socket is raw (it then sees IP headers and every echo).
struct Target {
  sockaddr_storage sa{};
  socklen_t len = 0;
  bool raw = false;
};

// Whether `from` is the address the echo went to.
bool SameSource(const Target& t, const sockaddr_storage& from);

// Don't fragment, and report ICMP errors about the echo on the socket's error queue.
bool SetDontFragment(PingWork* w);

// Empties the socket's error queue; reports in *f the first error about our echo (true if any).
bool TakeOurError(const PingWork* w, const Target& t, uint16_t id, uint16_t seq, size_t packet_bytes, Failure* f);

// Whether `e` is an errno the kernel derives from an ICMP error.
bool IsIcmpErrno(int e);

}  // namespace ping
}  // namespace nsm
