// One ARP request on a packet socket the caller opened (usually inside a pod's namespace with
// openSocketInNamespace(ns, AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP)), which needs CAP_NET_RAW).
// It asks who has the target IPv4 address, from the interface's own MAC, to the broadcast
// address, and waits on a libuv pool thread for the reply, bounded by the caller's timeout.
//
// The interface is named by index and looked up with ioctls on the socket itself, so it is
// found in the socket's namespace, not in the namespace of the thread that runs the wait.
#include <node_api.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common.h"

namespace nsm {
namespace {

// An Ethernet/IPv4 ARP packet (RFC 826), as it follows the link-layer header.
constexpr size_t kArpBytes = 28;

struct ArpWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  int fd = -1;
  int ifindex = 0;
  std::string source_ip;
  std::string target_ip;
  int timeout_ms = 0;
  std::string ifname;  // filled in from the index, for messages
  uint8_t mac[ETH_ALEN] = {};
  double rtt_ms = 0;
  Failure failure;
  bool ok = false;
};

std::string Interface(const ArpWork* w) {
  return w->ifname.empty() ? "interface " + std::to_string(w->ifindex) : w->ifname;
}

// The name and MAC of the interface, and the socket bound to it for ARP only.
bool PrepareInterface(ArpWork* w, uint8_t own_mac[ETH_ALEN]) {
  ifreq ifr{};
  ifr.ifr_ifindex = w->ifindex;
  if (ioctl(w->fd, SIOCGIFNAME, &ifr) < 0) {
    w->failure = {errno, "ioctl(SIOCGIFNAME)"};
    if (w->failure.err == ENODEV) {
      w->failure.hint = "no interface with index " + std::to_string(w->ifindex) + " in the socket's namespace";
    }
    return false;
  }
  w->ifname = ifr.ifr_name;
  if (ioctl(w->fd, SIOCGIFHWADDR, &ifr) < 0) {
    w->failure = {errno, "ioctl(SIOCGIFHWADDR, " + w->ifname + ")"};
    return false;
  }
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
    w->failure = {EOPNOTSUPP, "ARP on " + w->ifname};
    w->failure.hint = "not an Ethernet interface (hardware type " + std::to_string(ifr.ifr_hwaddr.sa_family) + ")";
    return false;
  }
  memcpy(own_mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
  // From here on only ARP frames of this interface reach the socket.
  sockaddr_ll local{};
  local.sll_family = AF_PACKET;
  local.sll_protocol = htons(ETH_P_ARP);
  local.sll_ifindex = w->ifindex;
  if (bind(w->fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    w->failure = {errno, "bind(AF_PACKET, " + w->ifname + ")"};
    return false;
  }
  return true;
}

// Whether `pkt` is an ARP reply from the target: Ethernet/IPv4, opcode reply, sender IP = target.
bool IsReplyFrom(const uint8_t* pkt, ssize_t n, const in_addr& target) {
  if (n < static_cast<ssize_t>(kArpBytes)) return false;
  uint16_t htype = (pkt[0] << 8) | pkt[1];
  uint16_t ptype = (pkt[2] << 8) | pkt[3];
  uint16_t op = (pkt[6] << 8) | pkt[7];
  return htype == ARPHRD_ETHER && ptype == ETH_P_IP && pkt[4] == ETH_ALEN && pkt[5] == 4 &&
         op == ARPOP_REPLY && memcmp(pkt + 14, &target, 4) == 0;
}

bool Arp(ArpWork* w) {
  in_addr source{}, target{};
  if (inet_pton(AF_INET, w->source_ip.c_str(), &source) != 1) {
    w->failure = {EINVAL, "inet_pton(" + w->source_ip + ")"};
    return false;
  }
  if (inet_pton(AF_INET, w->target_ip.c_str(), &target) != 1) {
    w->failure = {EINVAL, "inet_pton(" + w->target_ip + ")"};
    return false;
  }
  uint8_t own_mac[ETH_ALEN];
  if (!PrepareInterface(w, own_mac)) return false;

  uint8_t req[kArpBytes] = {};
  req[0] = ARPHRD_ETHER >> 8;
  req[1] = ARPHRD_ETHER & 0xff;
  req[2] = ETH_P_IP >> 8;
  req[3] = ETH_P_IP & 0xff;
  req[4] = ETH_ALEN;
  req[5] = 4;
  req[6] = ARPOP_REQUEST >> 8;
  req[7] = ARPOP_REQUEST & 0xff;
  memcpy(req + 8, own_mac, ETH_ALEN);  // sender hardware address
  memcpy(req + 14, &source, 4);        // sender IP
  // Target hardware address (bytes 18..23) stays zero: it is what we ask for.
  memcpy(req + 24, &target, 4);

  // SOCK_DGRAM: the kernel builds the Ethernet header from this address and the interface's MAC.
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = w->ifindex;
  to.sll_halen = ETH_ALEN;
  memset(to.sll_addr, 0xff, ETH_ALEN);

  double start = NowMs();
  double deadline = start + w->timeout_ms;
  if (sendto(w->fd, req, sizeof req, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    w->failure = {errno, "sendto(" + w->ifname + ")"};
    if (w->failure.err == ENETDOWN) w->failure.hint = w->ifname + " is down";
    return false;
  }
  uint8_t buf[1500];
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
    sockaddr_ll from{};
    socklen_t flen = sizeof from;
    ssize_t got = recvfrom(w->fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      w->failure = {errno, "recvfrom(" + w->ifname + ")"};
      return false;
    }
    // Frames queued before bind may come from other interfaces; our own request comes back as
    // PACKET_OUTGOING, and replies meant for other hosts (a promiscuous link) are not ours.
    if (from.sll_ifindex != w->ifindex || from.sll_pkttype == PACKET_OUTGOING ||
        from.sll_pkttype == PACKET_OTHERHOST) {
      continue;
    }
    if (IsReplyFrom(buf, got, target)) {
      w->rtt_ms = NowMs() - start;
      memcpy(w->mac, buf + 8, ETH_ALEN);  // the replier's sender hardware address
      return true;
    }
  }
  w->failure = {ETIMEDOUT, "waiting for an ARP reply from " + w->target_ip + " on " + Interface(w)};
  return false;
}

void Execute(napi_env, void* data) {
  auto* w = static_cast<ArpWork*>(data);
  w->ok = Arp(w);
}

void Complete(napi_env env, napi_status, void* data) {
  auto* w = static_cast<ArpWork*>(data);
  if (w->ok) {
    char text[18];
    snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", w->mac[0], w->mac[1], w->mac[2], w->mac[3],
             w->mac[4], w->mac[5]);
    napi_value result, mac, rtt;
    napi_create_object(env, &result);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &mac);
    napi_create_double(env, w->rtt_ms, &rtt);
    napi_set_named_property(env, result, "mac", mac);
    napi_set_named_property(env, result, "rttMs", rtt);
    napi_resolve_deferred(env, w->deferred, result);
  } else {
    napi_reject_deferred(env, w->deferred,
                         MakeError(env, w->failure, "arpOnce(" + w->target_ip + " on " + Interface(w) + ")"));
  }
  napi_delete_async_work(env, w->work);
  delete w;
}

bool ReadArgs(napi_env env, napi_callback_info info, ArpWork* w) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 5 || napi_get_value_int32(env, argv[0], &w->fd) != napi_ok || w->fd < 0 ||
      napi_get_value_int32(env, argv[1], &w->ifindex) != napi_ok || !GetString(env, argv[2], &w->source_ip) ||
      !GetString(env, argv[3], &w->target_ip) || napi_get_value_int32(env, argv[4], &w->timeout_ms) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "arpOnce(fd, ifindex, sourceIp, targetIp, timeoutMs): bad arguments");
    return false;
  }
  if (w->ifindex < 1 || w->timeout_ms < 1 || w->timeout_ms > 60000) {
    napi_throw_range_error(env, "EINVAL", "arpOnce: ifindex must be positive and timeoutMs 1..60000");
    return false;
  }
  return true;
}

napi_value ArpOnce(napi_env env, napi_callback_info info) {
  auto* w = new ArpWork();
  if (!ReadArgs(env, info, w)) {
    delete w;
    return nullptr;
  }
  return QueueWork(env, w, "nsm_netlink.arpOnce", Execute, Complete);
}

}  // namespace

void InitArp(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"arpOnce", nullptr, ArpOnce, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace nsm
