// Netlink sockets opened inside network namespaces, and batched request/reply on them.
//
// Only the parts Node cannot do itself live here: entering a namespace (setns is per thread, so it
// happens on a throwaway pthread and never on the JS thread or a libuv pool thread) and raw
// AF_NETLINK I/O. Message encoding and decoding stay in TypeScript.
#include <node_api.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace {

using nsm::Failure;
using nsm::MakeError;

constexpr int kReplyTimeoutSeconds = 10;
constexpr int kSocketBufferBytes = 1 << 20;
constexpr size_t kReceiveBufferBytes = 1 << 16;

// ---- socket creation ------------------------------------------------------------------------

int ConfigureSocket(int fd, Failure* f) {
  int one = 1;
  int size = kSocketBufferBytes;
  timeval tv{kReplyTimeoutSeconds, 0};
  // Extended acks carry the kernel's own explanation ("Unknown device type"); capped acks keep
  // error replies small because the request payload is not echoed back.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  // A bounded wait keeps a pool thread from hanging forever if a reply never comes.
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    f->err = errno;
    f->what = "bind(AF_NETLINK)";
    return -1;
  }
  return 0;
}

int OpenSocket(Failure* f) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    f->err = errno;
    f->what = "socket(AF_NETLINK, NETLINK_ROUTE)";
    return -1;
  }
  if (ConfigureSocket(fd, f) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

struct OpenJob {
  std::string path;
  // domain < 0: a configured NETLINK_ROUTE socket; otherwise socket(domain, type, protocol).
  int domain = -1;
  int type = 0;
  int protocol = 0;
  int fd = -1;
  Failure failure;
};

int OpenJobSocket(OpenJob* job) {
  if (job->domain < 0) return OpenSocket(&job->failure);
  int fd = socket(job->domain, job->type | SOCK_CLOEXEC, job->protocol);
  if (fd < 0) job->failure = {errno, "socket(" + std::to_string(job->domain) + ", " +
                                         std::to_string(job->type) + ", " + std::to_string(job->protocol) + ")"};
  return fd;
}

// Runs on its own thread: the namespace switch dies with the thread, so no shared thread is moved.
void* OpenInNamespaceThread(void* arg) {
  auto* job = static_cast<OpenJob*>(arg);
  if (!nsm::EnterNetNamespace(job->path, &job->failure)) return nullptr;
  job->fd = OpenJobSocket(job);
  return nullptr;
}

// ---- request / reply ------------------------------------------------------------------------

struct Pending {
  uint32_t seq;
  bool done;
};

bool CollectRequests(const std::vector<uint8_t>& req, std::vector<Pending>* pending, Failure* f) {
  size_t off = 0;
  while (off < req.size()) {
    nlmsghdr h;
    if (req.size() - off < sizeof h) break;
    memcpy(&h, req.data() + off, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > req.size() - off) break;
    bool dump = (h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP && !(h.nlmsg_flags & NLM_F_ACK);
    // Without an ack a successful request is silent and the wait below could never end.
    if (!dump && !(h.nlmsg_flags & NLM_F_ACK)) {
      *f = {EINVAL, "request without NLM_F_ACK"};
      return false;
    }
    pending->push_back({h.nlmsg_seq, false});
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  if (off < req.size() || pending->empty()) {
    *f = {EINVAL, "malformed netlink request batch"};
    return false;
  }
  return true;
}

// Marks the request a reply finishes; returns how many requests are still open.
size_t Account(const uint8_t* data, size_t len, std::vector<Pending>* pending, size_t open) {
  size_t off = 0;
  while (len - off >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    memcpy(&h, data + off, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > len - off) break;
    if (h.nlmsg_type == NLMSG_ERROR || h.nlmsg_type == NLMSG_DONE) {
      for (auto& p : *pending) {
        if (!p.done && p.seq == h.nlmsg_seq) {
          p.done = true;
          open--;
          break;
        }
      }
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return open;
}

bool Transact(int fd, const std::vector<uint8_t>& req, std::vector<uint8_t>* out, Failure* f) {
  std::vector<Pending> pending;
  if (!CollectRequests(req, &pending, f)) return false;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    *f = {errno, "sendto(netlink)"};
    return false;
  }
  std::vector<uint8_t> buf(kReceiveBufferBytes);
  size_t open = pending.size();
  while (open > 0) {
    ssize_t n = recv(fd, buf.data(), buf.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      bool timeout = errno == EAGAIN || errno == EWOULDBLOCK;
      *f = {timeout ? ETIMEDOUT : errno, timeout ? "waiting for netlink replies" : "recv(netlink)"};
      return false;
    }
    if (static_cast<size_t>(n) > buf.size()) {
      *f = {EMSGSIZE, "netlink reply larger than the receive buffer"};
      return false;
    }
    out->insert(out->end(), buf.data(), buf.data() + n);
    open = Account(buf.data(), static_cast<size_t>(n), &pending, open);
  }
  return true;
}

// ---- N-API glue ----------------------------------------------------------------------------


bool ArgCount(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < want) {
    napi_throw_type_error(env, "EINVAL", "missing arguments");
    return false;
  }
  return true;
}

bool GetFd(napi_env env, napi_value v, int* fd) {
  if (napi_get_value_int32(env, v, fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, "EBADF", "fd must be a non-negative integer");
    return false;
  }
  return true;
}

bool GetBuffer(napi_env env, napi_value v, std::vector<uint8_t>* out) {
  void* data;
  size_t len;
  if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "request must be a Buffer");
    return false;
  }
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->assign(bytes, bytes + len);
  return true;
}

// Opens job's socket in the namespace named by `arg` (a path, or null for this process's own).
napi_value OpenIn(napi_env env, napi_value arg, OpenJob* job, const std::string& fn) {
  napi_valuetype type;
  napi_typeof(env, arg, &type);
  std::string context = fn + "(current namespace)";
  if (type == napi_null || type == napi_undefined) {
    job->fd = OpenJobSocket(job);
  } else {
    size_t len;
    if (type != napi_string || napi_get_value_string_utf8(env, arg, nullptr, 0, &len) != napi_ok) {
      napi_throw_type_error(env, "EINVAL", "nsPath must be a string or null");
      return nullptr;
    }
    job->path.resize(len + 1);
    napi_get_value_string_utf8(env, arg, job->path.data(), len + 1, &len);
    job->path.resize(len);
    context = fn + "(" + job->path + ")";
    pthread_t thread;
    int rc = pthread_create(&thread, nullptr, OpenInNamespaceThread, job);
    if (rc != 0) {
      job->failure = {rc, "pthread_create"};
    } else {
      pthread_join(thread, nullptr);
    }
  }
  if (job->fd < 0) {
    napi_throw(env, MakeError(env, job->failure, context));
    return nullptr;
  }
  napi_value result;
  napi_create_int32(env, job->fd, &result);
  return result;
}

napi_value OpenNetlinkInNamespace(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ArgCount(env, info, 1, argv)) return nullptr;
  OpenJob job;
  return OpenIn(env, argv[0], &job, "openNetlinkInNamespace");
}

bool GetInt(napi_env env, napi_value v, const char* what, int* out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", (std::string(what) + " must be an integer").c_str());
    return false;
  }
  return true;
}

napi_value OpenSocketInNamespace(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!ArgCount(env, info, 4, argv)) return nullptr;
  OpenJob job;
  if (!GetInt(env, argv[1], "domain", &job.domain) || !GetInt(env, argv[2], "type", &job.type) ||
      !GetInt(env, argv[3], "protocol", &job.protocol)) {
    return nullptr;
  }
  if (job.domain < 0) {
    napi_throw_range_error(env, "EINVAL", "domain must not be negative");
    return nullptr;
  }
  return OpenIn(env, argv[0], &job, "openSocketInNamespace");
}

struct TransactWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  int fd = -1;
  std::vector<uint8_t> request;
  std::vector<uint8_t> reply;
  Failure failure;
  bool ok = false;
};

napi_value ReplyBuffer(napi_env env, const std::vector<uint8_t>& reply) {
  napi_value buf;
  void* copy;
  napi_create_buffer_copy(env, reply.size(), reply.data(), &copy, &buf);
  return buf;
}

void TransactExecute(napi_env, void* data) {
  auto* w = static_cast<TransactWork*>(data);
  w->ok = Transact(w->fd, w->request, &w->reply, &w->failure);
}

void TransactComplete(napi_env env, napi_status, void* data) {
  auto* w = static_cast<TransactWork*>(data);
  if (w->ok) {
    napi_resolve_deferred(env, w->deferred, ReplyBuffer(env, w->reply));
  } else {
    napi_reject_deferred(env, w->deferred, MakeError(env, w->failure, "transact"));
  }
  napi_delete_async_work(env, w->work);
  delete w;
}

napi_value TransactAsync(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!ArgCount(env, info, 2, argv)) return nullptr;
  auto* w = new TransactWork();
  if (!GetFd(env, argv[0], &w->fd) || !GetBuffer(env, argv[1], &w->request)) {
    delete w;
    return nullptr;
  }
  return nsm::QueueWork(env, w, "nsm_netlink.transact", TransactExecute, TransactComplete);
}

napi_value TransactSync(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!ArgCount(env, info, 2, argv)) return nullptr;
  TransactWork w;
  if (!GetFd(env, argv[0], &w.fd) || !GetBuffer(env, argv[1], &w.request)) return nullptr;
  if (!Transact(w.fd, w.request, &w.reply, &w.failure)) {
    napi_throw(env, MakeError(env, w.failure, "transactSync"));
    return nullptr;
  }
  return ReplyBuffer(env, w.reply);
}

napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!ArgCount(env, info, 1, argv) || !GetFd(env, argv[0], &fd)) return nullptr;
  // Linux releases the descriptor even when close reports EINTR, so never retry.
  if (close(fd) < 0 && errno != EINTR) {
    napi_throw(env, MakeError(env, Failure(errno, "close"), "close(" + std::to_string(fd) + ")"));
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openNetlinkInNamespace", nullptr, OpenNetlinkInNamespace, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transact", nullptr, TransactAsync, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transactSync", nullptr, TransactSync, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"openSocketInNamespace", nullptr, OpenSocketInNamespace, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  nsm::InitPing(env, exports);
  nsm::InitArp(env, exports);
  nsm::InitTap(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
