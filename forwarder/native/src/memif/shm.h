// Shared memory of a memif link: regions (memfd mappings) and the ring layout inside them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace memif {

// Ring header: cookie u32 @0, flags u16 @4, head u16 @6 (first cache line), tail u16 @64
// (second cache line), descriptors from @128.
constexpr size_t kRingHeader = 128;
constexpr size_t kDescSize = 16;
constexpr uint8_t kMaxLog2Ring = 14;
constexpr uint64_t kMaxRegionSize = uint64_t(1) << 32;  // descriptor offsets are u32

inline size_t RingBytes(uint8_t log2) { return kRingHeader + (kDescSize << log2); }

struct Desc {
  uint16_t flags;
  uint16_t region;
  uint32_t length;
  uint32_t offset;
  uint32_t metadata;
};
static_assert(sizeof(Desc) == kDescSize, "memif descriptors are 16 bytes");

// A mapped region. The side that created it (the client) owns the memfd; the server maps the
// descriptor it received. Both close the descriptor and unmap on Release().
struct Region {
  int fd = -1;
  uint8_t* addr = nullptr;
  uint64_t size = 0;
  void Release();
};

// memfd_create(MFD_ALLOW_SEALING) + F_SEAL_SHRINK + ftruncate + mmap(MAP_SHARED).
bool CreateRegion(const char* name, uint64_t size, Region* r, std::string* err);

// Whether `fd` may be mapped as a region of `size` bytes: a regular (memory) file at least that
// large and, when `require_seal`, sealed against shrinking. err says why not.
bool CheckRegion(int fd, uint64_t size, bool require_seal, std::string* err);

// Maps a region received from a peer. Refuses descriptors smaller than `size` (touching past the
// end would raise SIGBUS) and, when `require_seal`, files that may still shrink.
bool AdoptRegion(int fd, uint64_t size, bool require_seal, Region* r, std::string* err);

// Whether `fd` is an eventfd (the only thing a peer may hand us as a ring interrupt).
bool IsEventFd(int fd);

// A view of one ring in a mapped region. Head and tail are shared with the peer: loads that
// observe the peer's progress are acquire, stores that publish ours are release.
struct Ring {
  uint8_t* base = nullptr;
  uint8_t log2 = 0;
  uint16_t size() const { return uint16_t(1u << log2); }
  uint16_t mask() const { return uint16_t((1u << log2) - 1); }
  uint32_t* cookie() const { return reinterpret_cast<uint32_t*>(base); }
  uint16_t* flags() const { return reinterpret_cast<uint16_t*>(base + 4); }
  uint16_t* head() const { return reinterpret_cast<uint16_t*>(base + 6); }
  uint16_t* tail() const { return reinterpret_cast<uint16_t*>(base + 64); }
  Desc* desc(uint16_t slot) const {
    return reinterpret_cast<Desc*>(base + kRingHeader) + (slot & mask());
  }
  uint16_t LoadHead() const { return __atomic_load_n(head(), __ATOMIC_ACQUIRE); }
  uint16_t LoadTail() const { return __atomic_load_n(tail(), __ATOMIC_ACQUIRE); }
  void StoreHead(uint16_t v) const { __atomic_store_n(head(), v, __ATOMIC_RELEASE); }
  void StoreTail(uint16_t v) const { __atomic_store_n(tail(), v, __ATOMIC_RELEASE); }
  uint16_t LoadFlags() const { return __atomic_load_n(flags(), __ATOMIC_RELAXED); }
  void StoreFlags(uint16_t v) const { __atomic_store_n(flags(), v, __ATOMIC_RELAXED); }
  // The peer may rewrite a descriptor at any time: read it once, then validate the copy.
  Desc Read(uint16_t slot) const {
    Desc d;
    __builtin_memcpy(&d, desc(slot), sizeof d);
    return d;
  }
};

// Where a buffer of `len` bytes at (`region`, `offset`) lies, or nullptr when outside the regions.
uint8_t* BufferAt(const std::vector<Region>& regions, uint16_t region, uint32_t offset, uint32_t len);

// The client's layout of region 0: C2S ring, S2C ring, then ring_size buffers for each.
struct Layout {
  uint8_t log2 = 10;
  uint32_t buffer_size = 2048;
  size_t c2s_offset() const { return 0; }
  size_t s2c_offset() const { return RingBytes(log2); }
  size_t buffers_offset() const { return (2 * RingBytes(log2) + 63) & ~size_t(63); }
  uint64_t region_size() const { return buffers_offset() + uint64_t(2) * buffer_size * (1u << log2); }
  // Buffer offset of slot `i` of the C2S ring (s2c = false) or the S2C ring.
  uint32_t buffer(bool s2c, uint16_t i) const {
    return uint32_t(buffers_offset() + (uint64_t(s2c ? (1u << log2) : 0) + i) * buffer_size);
  }
};

}  // namespace memif
