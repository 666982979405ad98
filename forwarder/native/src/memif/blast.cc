// packetBlast(options): sends copies of one frame on a kernel interface as fast as sendmmsg
// takes them, for a while, from a thread of its own (it enters the interface's namespace). The
// baseline that the bridge's memif -> kernel rate is measured against; tests and benchmarks only.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "../common.h"
#include "addon.h"
#include "bridge.h"
#include "napi_util.h"

namespace memif {
namespace {

struct Job {
  KernelConfig k;
  uint32_t size = 64, ms = 1000;
  napi_deferred deferred = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  uint64_t frames = 0, failed = 0;
  double elapsed_ms = 0;
  int err_no = 0;
  std::string err;
};

void Run(Job* j) {
  Tap* t = Tap::Open(j->k, &j->err_no, &j->err);
  if (j->k.netns_fd >= 0) close(j->k.netns_fd);
  if (t) {
    std::vector<uint8_t> frame(j->size, 0xa5);
    memset(frame.data(), 0x02, 12);  // unicast to nobody: the receiver drops it in its stack
    frame[12] = 0x88;
    frame[13] = 0xb5;
    std::vector<iovec> iov(j->k.batch, iovec{frame.data(), frame.size()});
    std::vector<mmsghdr> msgs(j->k.batch);
    for (uint32_t i = 0; i < j->k.batch; i++) {
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    auto start = std::chrono::steady_clock::now(), end = start + std::chrono::milliseconds(j->ms);
    while (std::chrono::steady_clock::now() < end) {
      int r = sendmmsg(t->fd(), msgs.data(), j->k.batch, MSG_DONTWAIT);
      if (r > 0) j->frames += uint64_t(r);
      if (r < 0) j->failed++;
    }
    j->elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    delete t;
  }
  napi_threadsafe_function tsfn = j->tsfn;  // Settle may free j as soon as it is queued
  napi_call_threadsafe_function(tsfn, j, napi_tsfn_blocking);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
}

void Settle(napi_env env, napi_value, void*, void* data) {
  Job* j = static_cast<Job*>(data);
  if (env) {
    if (!j->err.empty()) {
      napi_reject_deferred(env, j->deferred, nsm::MakeError(env, nsm::Failure(j->err_no, j->err), "packetBlast"));
    } else {
      napi_value o;
      napi_create_object(env, &o);
      SetNumber(env, o, "frames", double(j->frames));
      SetNumber(env, o, "failedCalls", double(j->failed));
      SetNumber(env, o, "ms", j->elapsed_ms);
      napi_resolve_deferred(env, j->deferred, o);
    }
  }
  delete j;
}

}  // namespace

napi_value PacketBlast(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_valuetype t = napi_undefined;
  if (argc == 1) napi_typeof(env, argv[0], &t);
  if (t != napi_object) return ThrowArg(env, "packetBlast({ kernel: { ifname, netns? }, size, ms, batch })", false), nullptr;
  Config cfg;
  cfg.ifaces.emplace_back();
  uint64_t size = 64, ms = 1000;
  if (!ReadKernel(env, argv[0], &cfg) || !OptUint(env, argv[0], "size", 14, 9000, &size) ||
      !OptUint(env, argv[0], "ms", 1, 60000, &ms)) {
    return nullptr;
  }
  if (cfg.kernel.ifname.empty()) return ThrowArg(env, "packetBlast needs kernel.ifname", false), nullptr;
  Job* j = new Job();
  j->k = cfg.kernel;
  j->size = uint32_t(size);
  j->ms = uint32_t(ms);
  if (!j->k.netns.empty() && (j->k.netns_fd = open(j->k.netns.c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
    napi_throw(env, nsm::MakeError(env, nsm::Failure(errno, "open(" + j->k.netns + ")"), "packetBlast"));
    delete j;
    return nullptr;
  }
  napi_value promise, name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, "nsm_memif.blast", NAPI_AUTO_LENGTH, &name);
  napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, nullptr, Settle, &j->tsfn);
  std::thread(Run, j).detach();
  return promise;
}

}  // namespace memif
