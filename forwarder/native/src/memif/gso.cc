// Software checksum completion and segmentation for the bridge's kernel -> memif direction.
#include "gso.h"

#include <cstring>

namespace memif {
namespace {

constexpr uint32_t kMaxSegments = 1024;

constexpr uint32_t kEth = 14;

uint16_t Get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
void Put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
uint32_t Get32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void Put32(uint8_t* p, uint32_t v) {
  Put16(p, uint16_t(v >> 16));
  Put16(p + 2, uint16_t(v));
}

uint64_t Sum(const uint8_t* p, size_t n, uint64_t acc = 0) {
  for (; n > 1; p += 2, n -= 2) acc += uint32_t(p[0] << 8 | p[1]);
  if (n) acc += uint32_t(p[0] << 8);
  return acc;
}

uint16_t Fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

// The transport checksum over the pseudo header (addresses, protocol, length) and `l4`.
uint16_t L4Checksum(const uint8_t* ip, bool v6, uint8_t proto, const uint8_t* l4, uint32_t l4len) {
  uint64_t s = v6 ? Sum(ip + 8, 32) : Sum(ip + 12, 8);
  s += proto + l4len;
  uint16_t c = Fold(Sum(l4, l4len, s));
  return c == 0 && proto == 17 ? 0xffff : c;
}

struct Headers {
  bool v6 = false;
  uint32_t ip = 0, l4 = 0, end = 0;  // offsets: IP header, transport header, payload
  uint8_t proto = 0;
};

bool Parse(const uint8_t* f, uint32_t len, uint8_t want, Headers* h) {
  if (len < kEth + 20) return false;
  uint16_t type = Get16(f + 12);
  h->ip = kEth;
  if (type == 0x0800) {
    uint32_t ihl = (f[kEth] & 0x0f) * 4u;
    if (f[kEth] >> 4 != 4 || ihl < 20) return false;
    h->l4 = kEth + ihl;
    h->proto = f[kEth + 9];
  } else if (type == 0x86dd) {
    h->v6 = true;
    h->l4 = kEth + 40;
    h->proto = f[kEth + 6];  // extension headers are not followed
  } else {
    return false;
  }
  if (h->proto != want) return false;
  uint32_t l4hdr = want == 6 ? (h->l4 + 13 <= len ? (f[h->l4 + 12] >> 4) * 4u : 0) : 8;
  // A TCP header is at least 20 bytes (the segmenter rewrites its flags and checksum at 13 and 16).
  if (l4hdr < (want == 6 ? 20u : 8u) || h->l4 + l4hdr > len) return false;
  h->end = h->l4 + l4hdr;
  return true;
}

}  // namespace

bool FinishChecksum(uint8_t* f, uint32_t len, uint16_t start, uint16_t offset) {
  if (uint32_t(start) + offset + 2 > len) return false;
  uint16_t c = Fold(Sum(f + start, len - start));
  Put16(f + start + offset, c == 0 ? 0xffff : c);  // as the kernel's skb_checksum_help
  return true;
}

bool Segment(const uint8_t* f, uint32_t len, const VnetHdr& vh, Batch* out) {
  uint8_t type = vh.gso_type & ~kGsoEcn;
  bool tcp = type == kGsoTcpV4 || type == kGsoTcpV6;
  if (!tcp && type != kGsoUdpL4) return false;
  Headers h;
  if (!Parse(f, len, tcp ? 6 : 17, &h) || vh.gso_size == 0) return false;
  uint32_t mss = vh.gso_size, payload = len - h.end, hdrs = h.end;
  // A tiny gso_size from a hostile sender would ask for tens of thousands of segments (and an
  // allocation that, without exceptions, aborts); a 64 KiB frame at the smallest real MSS needs
  // under a thousand.
  if ((payload + mss - 1) / mss > kMaxSegments) return false;
  uint16_t id = h.v6 ? 0 : Get16(f + h.ip + 4);
  uint32_t seq = tcp ? Get32(f + h.l4 + 4) : 0;
  uint8_t flags = tcp ? f[h.l4 + 13] : 0;
  size_t mark = out->data.size();
  for (uint32_t off = 0, i = 0; off < payload; off += mss, i++) {
    uint32_t chunk = payload - off < mss ? payload - off : mss;
    size_t at = out->data.size();
    out->data.resize(at + hdrs + chunk);
    uint8_t* s = out->data.data() + at;
    memcpy(s, f, hdrs);
    memcpy(s + hdrs, f + hdrs + off, chunk);
    uint8_t* ip = s + h.ip;
    uint8_t* l4 = s + h.l4;
    uint32_t l4len = hdrs - h.l4 + chunk;
    if (h.v6) {
      Put16(ip + 4, uint16_t(l4len));
    } else {
      Put16(ip + 2, uint16_t(hdrs - h.ip + chunk));
      Put16(ip + 4, uint16_t(id + i));
      Put16(ip + 10, 0);
      Put16(ip + 10, Fold(Sum(ip, h.l4 - h.ip)));
    }
    if (tcp) {
      Put32(l4 + 4, seq + off);
      bool last = off + chunk >= payload;
      l4[13] = uint8_t(flags & ~(last ? 0 : 0x09) & ~(i == 0 ? 0 : 0x80));  // FIN, PSH last; CWR first
      Put16(l4 + 16, 0);
      Put16(l4 + 16, L4Checksum(ip, h.v6, 6, l4, l4len));
    } else {
      Put16(l4 + 4, uint16_t(l4len));
      Put16(l4 + 6, 0);
      Put16(l4 + 6, L4Checksum(ip, h.v6, 17, l4, l4len));
    }
    out->lengths.push_back(uint32_t(hdrs + chunk));
  }
  if (out->data.size() == mark) return false;
  return true;
}

}  // namespace memif
