// packetBlast(options): sends copies of one frame on a kernel interface as fast as sendmmsg
// takes them, for a while, from a thread of its own (it enters the interface's namespace). The
// baseline that the bridge's memif -> kernel rate is measured against; tests and benchmarks only.
#include <fcntl.h>
#include <linux/if_packet.h>
#include <sys/mman.h>
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
  bool ring = false;  // PACKET_TX_RING (PACKET_MMAP) instead of sendmmsg
  napi_deferred deferred = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  uint64_t frames = 0, failed = 0;
  double elapsed_ms = 0;
  int err_no = 0;
  std::string err;
};

// PACKET_MMAP, TPACKET_V2: fill free slots of a shared TX ring, then one send() to kick it.
void RingLoop(Job* j, int fd, const std::vector<uint8_t>& frame) {
  int ver = TPACKET_V2;
  tpacket_req req{};
  req.tp_block_size = 1 << 16;
  req.tp_block_nr = 64;
  req.tp_frame_size = 2048;
  req.tp_frame_nr = req.tp_block_size / req.tp_frame_size * req.tp_block_nr;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) {
    j->err_no = errno;
    j->err = "setsockopt(PACKET_TX_RING)";
    return;
  }
  size_t bytes = size_t(req.tp_block_size) * req.tp_block_nr;
  void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    j->err_no = errno;
    j->err = "mmap(PACKET_TX_RING)";
    return;
  }
  uint8_t* base = static_cast<uint8_t*>(map);
  const size_t data = TPACKET_ALIGN(sizeof(tpacket2_hdr));
  uint32_t slot = 0;
  auto start = std::chrono::steady_clock::now(), end = start + std::chrono::milliseconds(j->ms);
  while (std::chrono::steady_clock::now() < end) {
    uint32_t filled = 0;
    for (; filled < j->k.batch; filled++) {
      auto* h = reinterpret_cast<tpacket2_hdr*>(base + size_t(slot) * req.tp_frame_size);
      if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) break;
      memcpy(reinterpret_cast<uint8_t*>(h) + data, frame.data(), frame.size());
      h->tp_len = uint32_t(frame.size());
      __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
      slot = (slot + 1) % req.tp_frame_nr;
    }
    if (send(fd, nullptr, 0, MSG_DONTWAIT) < 0) j->failed++;
    j->frames += filled;
  }
  // Frames still waiting in the ring when time is up are not counted as sent.
  j->elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  munmap(map, bytes);
}

// sendmmsg of `batch` copies of the frame, again and again.
void SendLoop(Job* j, int fd, const std::vector<uint8_t>& frame) {
  std::vector<iovec> iov(j->k.batch, iovec{const_cast<uint8_t*>(frame.data()), frame.size()});
  std::vector<mmsghdr> msgs(j->k.batch);
  for (uint32_t i = 0; i < j->k.batch; i++) {
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  auto start = std::chrono::steady_clock::now(), end = start + std::chrono::milliseconds(j->ms);
  while (std::chrono::steady_clock::now() < end) {
    int r = sendmmsg(fd, msgs.data(), j->k.batch, MSG_DONTWAIT);
    if (r > 0) j->frames += uint64_t(r);
    if (r < 0) j->failed++;
  }
  j->elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void Run(Job* j) {
  Tap* t = Tap::Open(j->k, &j->err_no, &j->err, false);  // raw frames, no virtio header
  if (j->k.netns_fd >= 0) close(j->k.netns_fd);
  if (t) {
    std::vector<uint8_t> frame(j->size, 0xa5);
    memset(frame.data(), 0x02, 12);  // unicast to nobody: the receiver drops it in its stack
    frame[12] = 0x88;
    frame[13] = 0xb5;
    if (j->ring) {
      RingLoop(j, t->fd(), frame);
    } else {
      SendLoop(j, t->fd(), frame);
    }
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
  bool j_ring = false;
  if (!ReadKernel(env, argv[0], &cfg) || !OptUint(env, argv[0], "size", 14, 9000, &size) ||
      !OptUint(env, argv[0], "ms", 1, 60000, &ms) || !OptBool(env, argv[0], "ring", &j_ring)) {
    return nullptr;
  }
  if (cfg.kernel.ifname.empty()) return ThrowArg(env, "packetBlast needs kernel.ifname", false), nullptr;
  Job* j = new Job();
  j->k = cfg.kernel;
  j->size = uint32_t(size);
  j->ms = uint32_t(ms);
  j->ring = j_ring;
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
