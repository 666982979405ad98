// What the kernel leaves undone in frames it hands to a packet socket with PACKET_VNET_HDR: a
// transport checksum left partial (checksum offload) and GSO super-frames (segmentation
// offload). A memif peer expects frames as on a wire, so the bridge finishes both.
#pragma once

#include <cstdint>

#include "datapath.h"

namespace memif {

// struct virtio_net_hdr of <linux/virtio_net.h> (which C++ cannot include: a member is named
// `class`), as a packet socket with PACKET_VNET_HDR reads and writes it, in host byte order.
struct VnetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len, gso_size, csum_start, csum_offset;
};
static_assert(sizeof(VnetHdr) == 10, "virtio_net_hdr is 10 bytes");

constexpr uint8_t kVnetNeedsCsum = 1;
constexpr uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoUdp = 3, kGsoTcpV6 = 4, kGsoUdpL4 = 5, kGsoEcn = 0x80;

// Completes a partial checksum (kVnetNeedsCsum set): the one's complement sum of the
// bytes from `start` to the end, stored at start + offset. False when those lie outside the frame.
bool FinishChecksum(uint8_t* frame, uint32_t len, uint16_t start, uint16_t offset);

// Splits a TCP (IPv4, IPv6) or UDP (UDP_L4) GSO frame into frames of at most `gso_size` bytes of
// payload each, with their lengths, IDs, sequence numbers, flags and checksums as the kernel's
// own segmentation would set them; appends them to `out`. False (nothing appended) for other
// GSO types or headers it cannot parse.
bool Segment(const uint8_t* frame, uint32_t len, const VnetHdr& h, Batch* out);

}  // namespace memif
