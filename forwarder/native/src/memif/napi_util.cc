// N-API helpers.
#include "napi_util.h"

#include <cmath>

namespace memif {

bool ThrowArg(napi_env env, const std::string& msg, bool range) {
  if (range) {
    napi_throw_range_error(env, "ERR_MEMIF_ARG", msg.c_str());
  } else {
    napi_throw_type_error(env, "ERR_MEMIF_ARG", msg.c_str());
  }
  return false;
}

namespace {

// The property, or nullptr when absent or undefined.
napi_value Prop(napi_env env, napi_value obj, const char* name) {
  bool has = false;
  napi_value v;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return nullptr;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return nullptr;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_undefined ? nullptr : v;
}

}  // namespace

bool OptUint(napi_env env, napi_value obj, const char* name, uint64_t min, uint64_t max, uint64_t* out) {
  napi_value v = Prop(env, obj, name);
  if (!v) return true;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return ThrowArg(env, std::string(name) + " must be a number", false);
  if (!(d >= double(min) && d <= double(max)) || std::floor(d) != d) {
    return ThrowArg(env, std::string(name) + " must be an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                             ", got " + std::to_string(d));
  }
  *out = uint64_t(d);
  return true;
}

bool OptBool(napi_env env, napi_value obj, const char* name, bool* out) {
  napi_value v = Prop(env, obj, name);
  if (!v) return true;
  if (napi_get_value_bool(env, v, out) != napi_ok) return ThrowArg(env, std::string(name) + " must be a boolean", false);
  return true;
}

bool GetString(napi_env env, napi_value v, const std::string& what, size_t max_bytes, std::string* out) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return ThrowArg(env, what + " must be a string", false);
  if (len > max_bytes) {
    return ThrowArg(env, what + " is " + std::to_string(len) + " bytes, at most " + std::to_string(max_bytes));
  }
  out->assign(len, '\0');
  std::string buf(len + 1, '\0');
  napi_get_value_string_utf8(env, v, &buf[0], len + 1, &len);
  out->assign(buf.data(), len);
  return true;
}

bool OptString(napi_env env, napi_value obj, const char* name, size_t max_bytes, std::string* out) {
  napi_value v = Prop(env, obj, name);
  if (!v) return true;
  return GetString(env, v, name, max_bytes, out);
}

void SetNumber(napi_env env, napi_value obj, const char* name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

void SetString(napi_env env, napi_value obj, const char* name, const std::string& v) {
  napi_value s;
  napi_create_string_utf8(env, v.data(), v.size(), &s);
  napi_set_named_property(env, obj, name, s);
}

void SetBool(napi_env env, napi_value obj, const char* name, bool v) {
  napi_value b;
  napi_get_boolean(env, v, &b);
  napi_set_named_property(env, obj, name, b);
}

}  // namespace memif
