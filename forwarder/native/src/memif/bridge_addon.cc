// N-API face of the kernel bridge: its options on open(), and bridgeStats(handle).
#include <net/if.h>

#include <cstring>
#include <string>

#include "addon.h"
#include "bridge.h"
#include "napi_util.h"

namespace memif {
namespace {

napi_value DirectionObject(napi_env env, const Direction& d) {
  napi_value o;
  napi_create_object(env, &o);
  SetNumber(env, o, "frames", double(d.frames.load()));
  SetNumber(env, o, "bytes", double(d.bytes.load()));
  SetNumber(env, o, "drops", double(d.drops.load()));
  return o;
}

}  // namespace

bool ReadKernel(napi_env env, napi_value obj, Config* cfg) {
  bool has = false;
  napi_value k;
  if (napi_has_named_property(env, obj, "kernel", &has) != napi_ok || !has) return true;
  napi_get_named_property(env, obj, "kernel", &k);
  napi_valuetype t;
  napi_typeof(env, k, &t);
  if (t == napi_undefined) return true;
  if (t != napi_object) return ThrowArg(env, "kernel must be an object { ifname, netns? }", false);
  napi_value v;
  KernelConfig& kc = cfg->kernel;
  if (napi_get_named_property(env, k, "ifname", &v) != napi_ok || !GetString(env, v, "kernel.ifname", IFNAMSIZ - 1, &kc.ifname)) {
    return false;
  }
  if (kc.ifname.empty()) return ThrowArg(env, "kernel.ifname is empty; expected an interface name");
  if (!OptString(env, k, "netns", 4096, &kc.netns)) return false;
  uint64_t batch = kc.batch;
  if (!OptUint(env, obj, "batch", 1, 256, &batch)) return false;  // 64 KiB receive slots each
  kc.batch = uint32_t(batch);
  if (cfg->ifaces.size() != 1) return ThrowArg(env, "a bridge has exactly one memif interface");
  return true;
}

napi_value BridgeStats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Handle* h = argc == 1 ? GetHandle(env, argv[0]) : nullptr;
  if (!h) return nullptr;
  const Tap* tap = h->engine ? h->engine->tap() : nullptr;
  if (!tap) return ThrowArg(env, "not a bridge handle", false), nullptr;
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "toKernel", DirectionObject(env, tap->stats.to_kernel));
  napi_set_named_property(env, o, "toMemif", DirectionObject(env, tap->stats.to_memif));
  SetBool(env, o, "up", h->engine->IsUp(h->engine->cfg().ifaces[0].id));
  int e = tap->stats.last_errno.load();
  SetString(env, o, "kernelError", e ? std::string(strerror(e)) + " (" + (strerrorname_np(e) ? strerrorname_np(e) : "?") + ")" : "");
  return o;
}

}  // namespace memif
