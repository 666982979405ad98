// Small N-API helpers for the memif addon: typed property reads that throw clear errors.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <string>

namespace memif {

// Throws a RangeError/TypeError whose code is ERR_MEMIF_ARG and returns false, for `return` chains.
bool ThrowArg(napi_env env, const std::string& msg, bool range = true);

// Reads obj[name]; absent/undefined leaves *out as is. Each returns false after throwing.
bool OptUint(napi_env env, napi_value obj, const char* name, uint64_t min, uint64_t max, uint64_t* out);
bool OptBool(napi_env env, napi_value obj, const char* name, bool* out);
bool OptString(napi_env env, napi_value obj, const char* name, size_t max_bytes, std::string* out);
bool GetString(napi_env env, napi_value v, const std::string& what, size_t max_bytes, std::string* out);

void SetNumber(napi_env env, napi_value obj, const char* name, double v);
void SetString(napi_env env, napi_value obj, const char* name, const std::string& v);
void SetBool(napi_env env, napi_value obj, const char* name, bool v);

}  // namespace memif
