// Shared between the addon's N-API files.
#pragma once

#include <node_api.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>

#include "engine.h"
#include "proxy.h"

namespace memif {

// What JS holds for one engine. Deleted when both the JS external and the thread-safe function
// are gone, so late events never see freed memory.
struct Handle {
  Engine* engine = nullptr;  // an interface engine (server, client or bridge), or
  Proxy* proxy = nullptr;    // a control-channel proxy
  napi_env env = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  bool closed = false;
  int refs = 2;
};

void Unref(Handle* h);

// Shared by every kind of handle (addon.cc): events to the thread-safe function, finalisers.
void Sink(void* ctx, Event* ev);
void CloseHandle(Handle* h);
void FinalizeExternal(napi_env env, void* data, void* hint);
void FinalizeTsfn(napi_env env, void* data, void* hint);

// Opens each (path, descriptor) whose path is not empty, read-only. On failure (err_no, err set)
// closes those it opened and returns false.
bool OpenFiles(std::initializer_list<std::pair<const std::string*, int*>> files, int* err_no, std::string* err);

// The JS face of an engine or a proxy: a handle with the thread-safe function that delivers its
// events to `on_event`, what `start` started on it (setting h->engine or h->proxy; false with
// err_no and err on failure) and the external that JS holds. nullptr after throwing an error that
// begins with `what`; `name` names the thread-safe function's async resource.
napi_value WrapHandle(napi_env env, napi_value on_event, const char* name, const char* what,
                      const std::function<bool(Handle* h, int* err_no, std::string* err)>& start);

// openProxy(config, onEvent) and proxyStats(handle) (proxy_addon.cc).
napi_value OpenProxy(napi_env env, napi_callback_info info);
napi_value ProxyStatsOf(napi_env env, napi_callback_info info);

// The handle behind a JS external; throws (and returns nullptr) when it is not one or is closed.
Handle* GetHandle(napi_env env, napi_value v);

// Reads a bridge's `kernel: { ifname, netns? }` and `batch` into cfg.kernel (bridge_addon.cc).
bool ReadKernel(napi_env env, napi_value obj, Config* cfg);

// bridgeStats(handle): the bridge's counters per direction and the link state.
napi_value BridgeStats(napi_env env, napi_callback_info info);

// packetBlast(options): a promise of how many frames sendmmsg took in a while (blast.cc).
napi_value PacketBlast(napi_env env, napi_callback_info info);

// Turns an engine event into a JS object and calls the callback (addon_events.cc).
void CallJs(napi_env env, napi_value cb, void* ctx, void* data);

// parseMessage(buffer) for tests and fuzzing: the decoded fields, or { error }.
napi_value ParseMessage(napi_env env, napi_callback_info info);

}  // namespace memif
