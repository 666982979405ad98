// N-API face of the memif engine: open(config, onEvent), send(handle, id, frames),
// stats(handle, id), isUp(handle, id), close(handle), parseMessage(buffer).
#include "addon.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "../common.h"
#include "napi_util.h"

namespace memif {

Handle* GetHandle(napi_env env, napi_value v) {
  void* p = nullptr;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_external || napi_get_value_external(env, v, &p) != napi_ok || !p) {
    ThrowArg(env, "not a memif handle", false);
    return nullptr;
  }
  Handle* h = static_cast<Handle*>(p);
  if (h->closed) {
    ThrowArg(env, "memif handle is closed", false);
    return nullptr;
  }
  return h;
}

void Unref(Handle* h) {
  if (--h->refs > 0) return;
  delete h->engine;
  delete h->proxy;
  delete h;
}

void Sink(void* ctx, Event* ev) {
  Handle* h = static_cast<Handle*>(ctx);
  if (napi_call_threadsafe_function(h->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) {
    if (ev->batch) h->engine->inflight--;
    delete ev->batch;
    delete ev;
  }
}

namespace {

// The environment ends with the handle still open: a Worker exits or is terminated. (The main
// thread's process.exit() runs no cleanup hooks: the process ends, and the kernel takes it all.)
void Teardown(void* data) { CloseHandle(static_cast<Handle*>(data)); }

}  // namespace

void CloseHandle(Handle* h) {
  if (h->closed) return;
  h->closed = true;
  napi_remove_env_cleanup_hook(h->env, Teardown, h);
  if (h->engine) h->engine->Stop();
  if (h->proxy) h->proxy->Stop();
  napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
}

void FinalizeExternal(napi_env, void* data, void*) {
  Handle* h = static_cast<Handle*>(data);
  CloseHandle(h);
  Unref(h);
}

void FinalizeTsfn(napi_env, void* data, void*) { Unref(static_cast<Handle*>(data)); }

bool OpenFiles(std::initializer_list<std::pair<const std::string*, int*>> files, int* err_no, std::string* err) {
  for (auto [path, fd] : files) {
    if (path->empty()) continue;
    *fd = open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (*fd >= 0) continue;
    *err_no = errno;
    *err = "open(" + *path + ")";
    for (const auto& file : files) {
      if (*file.second >= 0) close(*file.second);
      *file.second = -1;
    }
    return false;
  }
  return true;
}

napi_value WrapHandle(napi_env env, napi_value on_event, const char* name, const char* what,
                      const std::function<bool(Handle*, int*, std::string*)>& start) {
  Handle* h = new Handle();
  h->env = env;
  napi_value resource;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  if (napi_create_threadsafe_function(env, on_event, nullptr, resource, 0, 1, h, FinalizeTsfn, h, CallJs, &h->tsfn) != napi_ok) {
    delete h;
    napi_throw_error(env, nullptr, "napi_create_threadsafe_function failed");
    return nullptr;
  }
  int err_no = 0;
  std::string failed;
  if (!start(h, &err_no, &failed)) {
    h->closed = true;
    h->refs = 1;  // only the thread-safe function's finaliser remains
    napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
    napi_throw(env, nsm::MakeError(env, nsm::Failure(err_no, failed), what));
    return nullptr;
  }
  // Node frees the thread-safe function at teardown, in a cleanup hook of its own, whatever its
  // threads: this one, added later, runs first and stops the thread and releases the function
  // while it is still there (the thread would call into freed memory otherwise).
  napi_add_env_cleanup_hook(env, Teardown, h);
  napi_value ext;
  napi_create_external(env, h, FinalizeExternal, nullptr, &ext);
  return ext;
}

namespace {

bool ReadInterfaces(napi_env env, napi_value obj, Config* cfg) {
  napi_value arr;
  bool is_array = false;
  if (napi_get_named_property(env, obj, "interfaces", &arr) != napi_ok ||
      napi_is_array(env, arr, &is_array) != napi_ok || !is_array) {
    return ThrowArg(env, "interfaces must be an array", false);
  }
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  if (n == 0 || n > 1024 || (cfg->role == Role::kClient && n != 1)) {
    return ThrowArg(env, cfg->role == Role::kClient ? "a client has exactly one interface" : "a server has 1..1024 interfaces");
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value it;
    napi_get_element(env, arr, i, &it);
    IfaceConfig ic;
    uint64_t id = 0;
    if (!OptUint(env, it, "id", 0, 0xffffffffu, &id) || !OptString(env, it, "secret", kSecretSize, &ic.secret) ||
        !OptString(env, it, "name", kNameSize - 1, &ic.name)) {
      return false;
    }
    ic.id = uint32_t(id);
    for (const IfaceConfig& o : cfg->ifaces)
      if (o.id == ic.id) return ThrowArg(env, "interface id " + std::to_string(ic.id) + " given twice");
    cfg->ifaces.push_back(ic);
  }
  return true;
}

bool ReadConfig(napi_env env, napi_value obj, Config* cfg) {
  std::string role, socket, err;
  napi_value v;
  if (napi_get_named_property(env, obj, "role", &v) != napi_ok || !GetString(env, v, "role", 16, &role)) return false;
  if (role != "server" && role != "client") return ThrowArg(env, "role must be 'server' or 'client', got '" + role + "'");
  cfg->role = role == "server" ? Role::kServer : Role::kClient;
  if (napi_get_named_property(env, obj, "socket", &v) != napi_ok || !GetString(env, v, "socket", 256, &socket)) return false;
  if (!ParseAddress(socket, &cfg->address, &err)) return ThrowArg(env, err);
  uint64_t ring = 1u << cfg->log2_ring, bs = cfg->buffer_size, rc = cfg->reconnect_ms, hs = cfg->handshake_ms;
  uint64_t pend = cfg->max_pending;
  if (!OptUint(env, obj, "ringSize", 2, 1u << kMaxLog2Ring, &ring) || !OptUint(env, obj, "bufferSize", 64, 65535, &bs) ||
      !OptUint(env, obj, "reconnectMs", 10, 3600000, &rc) || !OptUint(env, obj, "handshakeMs", 10, 600000, &hs) ||
      !OptUint(env, obj, "maxPending", 1, 1024, &pend) || !OptBool(env, obj, "polling", &cfg->polling) ||
      !OptBool(env, obj, "requireSeal", &cfg->require_seal) || !OptString(env, obj, "appName", kNameSize - 1, &cfg->app_name)) {
    return false;
  }
  if (!OptString(env, obj, "netns", 4096, &cfg->netns)) return false;
  if (ring & (ring - 1)) return ThrowArg(env, "ringSize must be a power of two, got " + std::to_string(ring));
  cfg->log2_ring = uint8_t(__builtin_ctzll(ring));
  cfg->buffer_size = uint32_t(bs);
  cfg->reconnect_ms = uint32_t(rc);
  cfg->handshake_ms = uint32_t(hs);
  cfg->max_pending = size_t(pend);
  return ReadInterfaces(env, obj, cfg);
}

napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_valuetype t0, t1;
  napi_typeof(env, argv[0], &t0);
  napi_typeof(env, argv[1], &t1);
  if (argc < 2 || t0 != napi_object || t1 != napi_function) {
    ThrowArg(env, "open(config: object, onEvent: function)", false);
    return nullptr;
  }
  Config cfg;
  if (!ReadConfig(env, argv[0], &cfg) || !ReadKernel(env, argv[0], &cfg)) return nullptr;
  const char* what = cfg.kernel.ifname.empty() ? "memif open" : "memif bridge open";
  return WrapHandle(env, argv[1], "nsm_memif.events", what, [&](Handle* h, int* err_no, std::string* err) {
    if (!OpenFiles({{&cfg.netns, &cfg.netns_fd}, {&cfg.kernel.netns, &cfg.kernel.netns_fd}}, err_no, err)) return false;
    h->engine = Engine::Start(std::move(cfg), Sink, h, err_no, err);
    return h->engine != nullptr;
  });
}

napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Handle* h = argc == 3 ? GetHandle(env, argv[0]) : nullptr;
  if (h && !h->engine) return ThrowArg(env, "not a memif interface handle", false), nullptr;
  if (!h) return argc == 3 ? nullptr : (ThrowArg(env, "send(handle, id, frames)", false), nullptr);
  uint32_t id, n = 0;
  bool is_array = false;
  if (napi_get_value_uint32(env, argv[1], &id) != napi_ok) return ThrowArg(env, "id must be a number", false), nullptr;
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array) {
    return ThrowArg(env, "frames must be an array of Buffers", false), nullptr;
  }
  napi_get_array_length(env, argv[2], &n);
  static thread_local std::vector<Frame> frames;
  frames.clear();
  for (uint32_t i = 0; i < n; i++) {
    napi_value b;
    bool is_buf = false;
    void* data;
    size_t len;
    napi_get_element(env, argv[2], i, &b);
    if (napi_is_buffer(env, b, &is_buf) != napi_ok || !is_buf || napi_get_buffer_info(env, b, &data, &len) != napi_ok) {
      return ThrowArg(env, "frames[" + std::to_string(i) + "] is not a Buffer", false), nullptr;
    }
    if (len == 0 || len > kMaxFrame) {
      return ThrowArg(env, "frames[" + std::to_string(i) + "] is " + std::to_string(len) + " bytes, expected 1.." +
                               std::to_string(kMaxFrame)),
             nullptr;
    }
    frames.push_back(Frame{static_cast<const uint8_t*>(data), uint32_t(len)});
  }
  long sent = h->engine->Send(id, frames.data(), frames.size());
  if (sent < 0) return ThrowArg(env, "no interface with id " + std::to_string(id)), nullptr;
  napi_value r;
  napi_create_uint32(env, uint32_t(sent), &r);
  return r;
}

napi_value StatsOf(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Handle* h = argc == 2 ? GetHandle(env, argv[0]) : nullptr;
  uint32_t id;
  if (h && !h->engine) return ThrowArg(env, "not a memif interface handle", false), nullptr;
  if (!h || napi_get_value_uint32(env, argv[1], &id) != napi_ok) return nullptr;
  const Stats* s = h->engine->StatsOf(id);
  if (!s) return ThrowArg(env, "no interface with id " + std::to_string(id)), nullptr;
  napi_value o;
  napi_create_object(env, &o);
  SetNumber(env, o, "rxFrames", double(s->rx_frames.load()));
  SetNumber(env, o, "rxBytes", double(s->rx_bytes.load()));
  SetNumber(env, o, "rxErrors", double(s->rx_errors.load()));
  SetNumber(env, o, "txFrames", double(s->tx_frames.load()));
  SetNumber(env, o, "txBytes", double(s->tx_bytes.load()));
  SetNumber(env, o, "txNoSpace", double(s->tx_no_space.load()));
  SetNumber(env, o, "txErrors", double(s->tx_errors.load()));
  SetNumber(env, o, "connects", double(s->connects.load()));
  SetNumber(env, o, "disconnects", double(s->disconnects.load()));
  SetBool(env, o, "up", h->engine->IsUp(id));
  return o;
}

napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void* p = nullptr;
  if (argc == 1 && napi_get_value_external(env, argv[0], &p) == napi_ok && p) CloseHandle(static_cast<Handle*>(p));
  return nullptr;
}

}  // namespace

napi_value RegisterAddon(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", nullptr, Open, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"send", nullptr, Send, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stats", nullptr, StatsOf, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"parseMessage", nullptr, ParseMessage, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bridgeStats", nullptr, BridgeStats, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"packetBlast", nullptr, PacketBlast, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"openProxy", nullptr, OpenProxy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"proxyStats", nullptr, ProxyStatsOf, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace memif

NAPI_MODULE(NODE_GYP_MODULE_NAME, memif::RegisterAddon)
