// Helpers shared by the addon's source files.
#pragma once

#include <node_api.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace nsm {

struct Failure {
  Failure() = default;
  Failure(int e, std::string w) : err(e), what(std::move(w)) {}
  int err = 0;
  std::string what;  // the step that failed, for the error message
  std::string hint;  // what the failure most likely means, when errno alone is ambiguous
};

// Milliseconds on the monotonic clock, for round-trip times and deadlines.
inline double NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// A JS Error whose code is the errno name (ENOENT ...), carrying errno, syscall and reason.
inline napi_value MakeError(napi_env env, const Failure& f, const std::string& context) {
  const char* name = strerrorname_np(f.err);
  std::string code = name ? name : "E" + std::to_string(f.err);
  std::string reason = strerror(f.err);
  if (!f.hint.empty()) reason += ": " + f.hint;
  std::string msg = context + ": " + f.what + " failed: " + reason + " (" + code + ")";
  napi_value jcode, jmsg, err, jerrno, jsyscall, jreason;
  napi_create_string_utf8(env, code.c_str(), code.size(), &jcode);
  napi_create_string_utf8(env, msg.c_str(), msg.size(), &jmsg);
  napi_create_error(env, jcode, jmsg, &err);
  napi_create_int32(env, f.err, &jerrno);
  napi_create_string_utf8(env, f.what.c_str(), f.what.size(), &jsyscall);
  napi_set_named_property(env, err, "errno", jerrno);
  napi_set_named_property(env, err, "syscall", jsyscall);
  // The explanation without context, for callers that phrase their own message around it.
  napi_create_string_utf8(env, reason.c_str(), reason.size(), &jreason);
  napi_set_named_property(env, err, "reason", jreason);
  return err;
}

// Reads a JS string argument into *out; false when `v` is not a string.
inline bool GetString(napi_env env, napi_value v, std::string* out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return false;
  out->resize(len + 1);
  napi_get_value_string_utf8(env, v, out->data(), len + 1, &len);
  out->resize(len);
  return true;
}

// Starts `w`'s work (`execute` on a libuv pool thread, `complete` back on the JS thread, which
// settles `w->deferred` and frees `w`) and returns its promise. `W` has `napi_async_work work` and
// `napi_deferred deferred`; `resource` names the work in async hooks.
template <typename W>
napi_value QueueWork(napi_env env, W* w, const char* resource, napi_async_execute_callback execute,
                     napi_async_complete_callback complete) {
  napi_value promise, name;
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, nullptr, name, execute, complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}

// Moves the calling thread into the network namespace at `path`. Only for throwaway threads: the
// switch is never undone, and it must never happen on the JS thread or a libuv pool thread.
inline bool EnterNetNamespace(const std::string& path, Failure* f) {
  int nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) {
    *f = {errno, "open"};
    return false;
  }
  if (setns(nsfd, CLONE_NEWNET) < 0) {
    *f = {errno, "setns(CLONE_NEWNET)"};
    if (f->err == EINVAL) f->hint = "the file is not a network namespace";
    close(nsfd);
    return false;
  }
  close(nsfd);
  return true;
}

// Registers the ICMP echo functions (ping.cc).
void InitPing(napi_env env, napi_value exports);

// Registers the ARP request function (arp.cc).
void InitArp(napi_env env, napi_value exports);
// Registers createTap (tap.cc).
void InitTap(napi_env env, napi_value exports);

}  // namespace nsm
