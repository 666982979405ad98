// Shared between the addon's N-API files.
#pragma once

#include <node_api.h>

#include "engine.h"

namespace memif {

// What JS holds for one engine. Deleted when both the JS external and the thread-safe function
// are gone, so late events never see freed memory.
struct Handle {
  Engine* engine = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  bool closed = false;
  int refs = 2;
};

void Unref(Handle* h);

// Turns an engine event into a JS object and calls the callback (addon_events.cc).
void CallJs(napi_env env, napi_value cb, void* ctx, void* data);

// parseMessage(buffer) for tests and fuzzing: the decoded fields, or { error }.
napi_value ParseMessage(napi_env env, napi_callback_info info);

}  // namespace memif
