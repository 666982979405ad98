// Engine events as JS objects, and the message parser exposed for tests.
#include <cstring>

#include "addon.h"
#include "napi_util.h"

namespace memif {
namespace {

void FreeBatch(napi_env, void*, void* hint) { delete static_cast<Batch*>(hint); }

const char* KindName(EventKind k) {
  switch (k) {
    case EventKind::kUp: return "up";
    case EventKind::kDown: return "down";
    case EventKind::kRejected: return "rejected";
    case EventKind::kFrames: return "frames";
  }
  return "unknown";
}

// The batch's bytes as one Buffer (no copy: it frees the batch when collected) and its lengths.
void SetFrames(napi_env env, napi_value o, Batch* b) {
  napi_value data;
  void* copy = nullptr;
  if (napi_create_external_buffer(env, b->data.size(), b->data.data(), FreeBatch, b, &data) != napi_ok) {
    napi_create_buffer_copy(env, b->data.size(), b->data.data(), &copy, &data);
    delete b;
    b = nullptr;
  }
  napi_set_named_property(env, o, "data", data);
  (void)b;
}

}  // namespace

void CallJs(napi_env env, napi_value cb, void* ctx, void* data) {
  Handle* h = static_cast<Handle*>(ctx);
  Event* ev = static_cast<Event*>(data);
  if (!env) {  // the function is being freed (after its finaliser, which may have freed h)
    delete ev->batch;
    delete ev;
    return;
  }
  if (ev->batch) h->engine->inflight--;
  if (!cb) {
    delete ev->batch;
    delete ev;
    return;
  }
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value o;
  bool deliver = true;
  napi_create_object(env, &o);
  SetString(env, o, "type", KindName(ev->kind));
  if (ev->has_id) SetNumber(env, o, "id", ev->id);
  switch (ev->kind) {
    case EventKind::kUp:
      SetString(env, o, "peerName", ev->peer_name);
      SetString(env, o, "peerInterface", ev->peer_if);
      SetNumber(env, o, "ringSize", ev->ring_size);
      SetNumber(env, o, "bufferSize", ev->buffer_size);
      break;
    case EventKind::kDown:
    case EventKind::kRejected:
      SetString(env, o, "reason", ev->reason);
      SetNumber(env, o, "code", ev->code);
      SetBool(env, o, "byPeer", ev->by_peer);
      break;
    case EventKind::kFrames: {
      napi_value ab, lengths;
      void* p = nullptr;
      size_t bytes = ev->batch->lengths.size() * sizeof(uint32_t);
      // Refused once JS may no longer run (a Worker being terminated): the frames are dropped.
      deliver = napi_create_arraybuffer(env, bytes, &p, &ab) == napi_ok;
      if (!deliver) break;
      memcpy(p, ev->batch->lengths.data(), bytes);
      napi_create_typedarray(env, napi_uint32_array, ev->batch->lengths.size(), ab, 0, &lengths);
      napi_set_named_property(env, o, "lengths", lengths);
      SetFrames(env, o, ev->batch);
      ev->batch = nullptr;
      break;
    }
  }
  napi_value global, ignored;
  napi_get_global(env, &global);
  // An exception thrown by the listener stays pending and surfaces as an uncaught exception.
  if (deliver) napi_call_function(env, global, cb, 1, &o, &ignored);
  napi_close_handle_scope(env, scope);
  delete ev->batch;
  delete ev;
}

napi_value ParseMessage(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool is_buf = false;
  void* data;
  size_t len;
  if (argc != 1 || napi_is_buffer(env, argv[0], &is_buf) != napi_ok || !is_buf ||
      napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) {
    ThrowArg(env, "parseMessage(buffer)", false);
    return nullptr;
  }
  Msg m;
  std::string err;
  napi_value o;
  napi_create_object(env, &o);
  if (!Decode(static_cast<const uint8_t*>(data), len, &m, &err)) {
    SetString(env, o, "error", err);
    return o;
  }
  SetString(env, o, "type", TypeName(m.type));
  switch (m.type) {
    case MsgType::Hello:
      SetString(env, o, "name", m.hello.name);
      SetNumber(env, o, "minVersion", m.hello.min_version);
      SetNumber(env, o, "maxVersion", m.hello.max_version);
      SetNumber(env, o, "maxRegion", m.hello.max_region);
      SetNumber(env, o, "maxS2cRing", m.hello.max_s2c_ring);
      SetNumber(env, o, "maxC2sRing", m.hello.max_c2s_ring);
      SetNumber(env, o, "maxLog2RingSize", m.hello.max_log2_ring_size);
      break;
    case MsgType::Init:
      SetNumber(env, o, "version", m.init.version);
      SetNumber(env, o, "id", m.init.id);
      SetNumber(env, o, "mode", m.init.mode);
      SetString(env, o, "secret", CleanString(m.init.secret, kSecretSize));
      SetString(env, o, "name", m.init.name);
      break;
    case MsgType::AddRegion:
      SetNumber(env, o, "index", m.add_region.index);
      SetNumber(env, o, "size", double(m.add_region.size));
      break;
    case MsgType::AddRing:
      SetNumber(env, o, "flags", m.add_ring.flags);
      SetNumber(env, o, "index", m.add_ring.index);
      SetNumber(env, o, "region", m.add_ring.region);
      SetNumber(env, o, "offset", m.add_ring.offset);
      SetNumber(env, o, "log2RingSize", m.add_ring.log2_ring_size);
      SetNumber(env, o, "privateHdrSize", m.add_ring.private_hdr_size);
      break;
    case MsgType::Connect:
    case MsgType::Connected:
      SetString(env, o, "interfaceName", m.if_name);
      break;
    case MsgType::Disconnect:
      SetNumber(env, o, "code", m.disconnect.code);
      SetString(env, o, "reason", m.disconnect.reason);
      break;
    case MsgType::None:
    case MsgType::Ack:
      break;
  }
  return o;
}

}  // namespace memif
