// N-API face of the memif proxy: openProxy({ listen, connect, listenNetns?, connectNetns?,
// handshakeMs? }, onEvent) and proxyStats(handle); close(handle) is the engines' own.
#include "addon.h"
#include "napi_util.h"

namespace memif {
namespace {

bool ReadAddress(napi_env env, napi_value obj, const char* name, Address* a) {
  napi_value v;
  std::string s, err;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || !GetString(env, v, name, 256, &s)) return false;
  if (!ParseAddress(s, a, &err)) return ThrowArg(env, std::string(name) + ": " + err);
  return true;
}

bool ReadProxyConfig(napi_env env, napi_value obj, ProxyConfig* cfg) {
  uint64_t hs = cfg->handshake_ms;
  return ReadAddress(env, obj, "listen", &cfg->listen) && ReadAddress(env, obj, "connect", &cfg->connect) &&
         OptString(env, obj, "listenNetns", 4096, &cfg->listen_ns) &&
         OptString(env, obj, "connectNetns", 4096, &cfg->connect_ns) &&
         OptUint(env, obj, "handshakeMs", 10, 600000, &hs) && OptBool(env, obj, "requireSeal", &cfg->require_seal) &&
         (cfg->handshake_ms = uint32_t(hs), true);
}

}  // namespace

napi_value OpenProxy(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
  if (argc == 2) {
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
  }
  if (t0 != napi_object || t1 != napi_function) return ThrowArg(env, "openProxy(config: object, onEvent: function)", false), nullptr;
  ProxyConfig cfg;
  if (!ReadProxyConfig(env, argv[0], &cfg)) return nullptr;
  return WrapHandle(env, argv[1], "nsm_memif.proxy", "memif proxy open", [&](Handle* h, int* err_no, std::string* err) {
    if (!OpenFiles({{&cfg.listen_ns, &cfg.listen_ns_fd}, {&cfg.connect_ns, &cfg.connect_ns_fd}}, err_no, err)) return false;
    h->proxy = Proxy::Start(std::move(cfg), Sink, h, err_no, err);
    return h->proxy != nullptr;
  });
}

napi_value ProxyStatsOf(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Handle* h = argc == 1 ? GetHandle(env, argv[0]) : nullptr;
  if (!h) return nullptr;
  if (!h->proxy) return ThrowArg(env, "not a memif proxy handle", false), nullptr;
  const ProxyStats& s = h->proxy->stats;
  napi_value o;
  napi_create_object(env, &o);
  SetNumber(env, o, "sessions", double(s.sessions.load()));
  SetNumber(env, o, "messages", double(s.messages.load()));
  SetNumber(env, o, "descriptors", double(s.descriptors.load()));
  SetNumber(env, o, "refused", double(s.refused.load()));
  SetNumber(env, o, "bad", double(s.bad.load()));
  SetBool(env, o, "active", h->proxy->InSession());
  return o;
}

}  // namespace memif
