// memif 2.0 control messages: constants, a decoded form and the 128-byte wire codec.
// Every message on the control channel is exactly kMsgSize bytes: a u16 type at offset 0 and a
// packed payload from offset 2. Fields are host byte order (both ends share one host).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace memif {

constexpr uint32_t kCookie = 0x3E31F20;
constexpr uint16_t kVersion = (2 << 8) | 0;
constexpr size_t kMsgSize = 128;
constexpr size_t kNameSize = 32;
constexpr size_t kSecretSize = 24;
constexpr size_t kReasonSize = 96;
constexpr uint16_t kRingFlagC2S = 1;   // ADD_RING flags bit 0
constexpr uint16_t kRingMaskInt = 1;   // ring header flags: consumer polls, no interrupts
constexpr uint16_t kDescNext = 1;      // descriptor flags: frame continues in the next slot
constexpr uint8_t kModeEthernet = 0;

enum class MsgType : uint16_t {
  None = 0,
  Ack = 1,
  Hello = 2,
  Init = 3,
  AddRegion = 4,
  AddRing = 5,
  Connect = 6,
  Connected = 7,
  Disconnect = 8,
};

// Why we end a control channel; travels in DISCONNECT.code (peers mostly show only the string).
enum DisconnectCode : uint32_t {
  kCodeClosed = 0,    // the application closed the interface
  kCodeProtocol = 1,  // the peer broke the protocol (bad message, index, size, descriptor)
  kCodeRefused = 2,   // well-formed but not accepted (id, secret, version, already connected)
  kCodeTimeout = 3,   // the handshake did not finish in time
};

struct Hello {
  std::string name;
  uint16_t min_version = 0, max_version = 0, max_region = 0;
  uint16_t max_s2c_ring = 0, max_c2s_ring = 0;
  uint8_t max_log2_ring_size = 0;
};

struct Init {
  uint16_t version = 0;
  uint32_t id = 0;
  uint8_t mode = 0;
  uint8_t secret[kSecretSize] = {};
  std::string name;
};

struct AddRegion {
  uint16_t index = 0;
  uint64_t size = 0;
};

struct AddRing {
  uint16_t flags = 0, index = 0, region = 0;
  uint32_t offset = 0;
  uint8_t log2_ring_size = 0;
  uint16_t private_hdr_size = 0;
};

struct Disconnect {
  uint32_t code = 0;
  std::string reason;
};

// One decoded message; only the member that matches `type` is meaningful.
struct Msg {
  MsgType type = MsgType::None;
  Hello hello;
  Init init;
  AddRegion add_region;
  AddRing add_ring;
  std::string if_name;  // CONNECT and CONNECTED
  Disconnect disconnect;
};

// Decodes `len` received bytes. On failure returns false and sets `err` to a reason short enough
// for a DISCONNECT string. Never reads past `len`; accepts any byte values in strings.
bool Decode(const uint8_t* buf, size_t len, Msg* out, std::string* err);

// Encodes `m` into exactly kMsgSize bytes (unused bytes zero). Strings are cut to their field.
void Encode(const Msg& m, uint8_t out[kMsgSize]);

const char* TypeName(MsgType t);

// Text safe to show: printable ASCII up to the first NUL within `max` bytes, others as '?'.
std::string CleanString(const uint8_t* p, size_t max);

}  // namespace memif
