// The memif control-message codec. Offsets follow the packed layout of memif.h (protocol 2.0).
#include "proto.h"

#include <cstring>

namespace memif {
namespace {

template <typename T>
T Get(const uint8_t* p, size_t off) {
  T v;
  memcpy(&v, p + off, sizeof v);
  return v;
}

template <typename T>
void Put(uint8_t* p, size_t off, T v) {
  memcpy(p + off, &v, sizeof v);
}

void PutString(uint8_t* p, size_t off, const std::string& s, size_t max) {
  // Leave room for a terminating NUL, as C peers copy these fields with strlcpy.
  size_t n = s.size() < max - 1 ? s.size() : max - 1;
  memcpy(p + off, s.data(), n);
}

// Payload offsets (the type takes bytes 0..1).
constexpr size_t kP = 2;

}  // namespace

std::string CleanString(const uint8_t* p, size_t max) {
  std::string s;
  for (size_t i = 0; i < max && p[i] != 0; i++) s.push_back(p[i] >= 0x20 && p[i] < 0x7f ? char(p[i]) : '?');
  return s;
}

const char* TypeName(MsgType t) {
  switch (t) {
    case MsgType::None: return "NONE";
    case MsgType::Ack: return "ACK";
    case MsgType::Hello: return "HELLO";
    case MsgType::Init: return "INIT";
    case MsgType::AddRegion: return "ADD_REGION";
    case MsgType::AddRing: return "ADD_RING";
    case MsgType::Connect: return "CONNECT";
    case MsgType::Connected: return "CONNECTED";
    case MsgType::Disconnect: return "DISCONNECT";
  }
  return "UNKNOWN";
}

bool Decode(const uint8_t* buf, size_t len, Msg* out, std::string* err) {
  if (len != kMsgSize) {
    *err = "message of " + std::to_string(len) + " bytes, expected " + std::to_string(kMsgSize);
    return false;
  }
  uint16_t type = Get<uint16_t>(buf, 0);
  if (type == 0 || type > uint16_t(MsgType::Disconnect)) {
    *err = "unknown message type " + std::to_string(type);
    return false;
  }
  *out = Msg();
  out->type = MsgType(type);
  const uint8_t* p = buf + kP;
  switch (out->type) {
    case MsgType::Hello: {
      Hello& h = out->hello;
      h.name = CleanString(p, kNameSize);
      h.min_version = Get<uint16_t>(p, 32);
      h.max_version = Get<uint16_t>(p, 34);
      h.max_region = Get<uint16_t>(p, 36);
      h.max_s2c_ring = Get<uint16_t>(p, 38);
      h.max_c2s_ring = Get<uint16_t>(p, 40);
      h.max_log2_ring_size = p[42];
      break;
    }
    case MsgType::Init: {
      Init& i = out->init;
      i.version = Get<uint16_t>(p, 0);
      i.id = Get<uint32_t>(p, 2);
      i.mode = p[6];
      memcpy(i.secret, p + 7, kSecretSize);
      i.name = CleanString(p + 31, kNameSize);
      break;
    }
    case MsgType::AddRegion:
      out->add_region.index = Get<uint16_t>(p, 0);
      out->add_region.size = Get<uint64_t>(p, 2);
      break;
    case MsgType::AddRing: {
      AddRing& r = out->add_ring;
      r.flags = Get<uint16_t>(p, 0);
      r.index = Get<uint16_t>(p, 2);
      r.region = Get<uint16_t>(p, 4);
      r.offset = Get<uint32_t>(p, 6);
      r.log2_ring_size = p[10];
      r.private_hdr_size = Get<uint16_t>(p, 11);
      break;
    }
    case MsgType::Connect:
    case MsgType::Connected:
      out->if_name = CleanString(p, kNameSize);
      break;
    case MsgType::Disconnect:
      out->disconnect.code = Get<uint32_t>(p, 0);
      out->disconnect.reason = CleanString(p + 4, kReasonSize);
      break;
    case MsgType::None:
    case MsgType::Ack:
      break;
  }
  return true;
}

void Encode(const Msg& m, uint8_t out[kMsgSize]) {
  memset(out, 0, kMsgSize);
  Put<uint16_t>(out, 0, uint16_t(m.type));
  uint8_t* p = out + kP;
  switch (m.type) {
    case MsgType::Hello:
      PutString(p, 0, m.hello.name, kNameSize);
      Put<uint16_t>(p, 32, m.hello.min_version);
      Put<uint16_t>(p, 34, m.hello.max_version);
      Put<uint16_t>(p, 36, m.hello.max_region);
      Put<uint16_t>(p, 38, m.hello.max_s2c_ring);
      Put<uint16_t>(p, 40, m.hello.max_c2s_ring);
      p[42] = m.hello.max_log2_ring_size;
      break;
    case MsgType::Init:
      Put<uint16_t>(p, 0, m.init.version);
      Put<uint32_t>(p, 2, m.init.id);
      p[6] = m.init.mode;
      memcpy(p + 7, m.init.secret, kSecretSize);
      PutString(p, 31, m.init.name, kNameSize);
      break;
    case MsgType::AddRegion:
      Put<uint16_t>(p, 0, m.add_region.index);
      Put<uint64_t>(p, 2, m.add_region.size);
      break;
    case MsgType::AddRing:
      Put<uint16_t>(p, 0, m.add_ring.flags);
      Put<uint16_t>(p, 2, m.add_ring.index);
      Put<uint16_t>(p, 4, m.add_ring.region);
      Put<uint32_t>(p, 6, m.add_ring.offset);
      p[10] = m.add_ring.log2_ring_size;
      Put<uint16_t>(p, 11, m.add_ring.private_hdr_size);
      break;
    case MsgType::Connect:
    case MsgType::Connected:
      PutString(p, 0, m.if_name, kNameSize);
      break;
    case MsgType::Disconnect:
      Put<uint32_t>(p, 0, m.disconnect.code);
      PutString(p, 4, m.disconnect.reason, kReasonSize);
      break;
    case MsgType::None:
    case MsgType::Ack:
      break;
  }
}

}  // namespace memif
