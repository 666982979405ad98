// Persistent tap devices. Linux creates a tap only through ioctl(TUNSETIFF) on an open /dev/net/tun,
// which Node cannot do; rtnetlink refuses to create the "tun" kind. The device is born in the network
// namespace of the thread that opens /dev/net/tun: the calling thread's, or a throwaway pthread's
// that has entered the namespace named by `nsPath`.
//
// createTap is synchronous: open, two to four ioctls, if_nametoindex and close, none of which waits
// on I/O or on another process (TUNSETIFF takes the rtnl lock, held by the kernel only briefly). A
// pool thread would cost more than the call itself.
#include <node_api.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"

namespace nsm {
namespace {

constexpr const char* kTunDevice = "/dev/net/tun";
constexpr size_t kMaxName = IFNAMSIZ - 1;

struct TapJob {
  std::string name;
  std::string ns_path;  // empty: the calling thread's namespace
  bool multi_queue = false;
  bool vnet_hdr = false;
  int64_t owner = -1;  // -1: no owner (only CAP_NET_ADMIN may attach)
  int64_t group = -1;
  int ifindex = 0;
  Failure failure;
};

const char* OpenHint(int err) {
  switch (err) {
    case ENOENT:
      return "there is no /dev/net/tun (a container needs it mounted as a character device 10:200)";
    case ENODEV:
    case ENXIO:
      return "the kernel has no tun driver (CONFIG_TUN; modprobe tun)";
    case EPERM:
    case EACCES:
      return "this process may not open /dev/net/tun (file mode or device cgroup)";
    default:
      return "";
  }
}

// Creates the device and makes it persistent. Until TUNSETPERSIST succeeds the device lives only as
// long as the descriptor, so every failure path is cleaned up by closing it.
bool CreateTap(TapJob* job) {
  int fd = open(kTunDevice, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    job->failure = {errno, std::string("open(") + kTunDevice + ")"};
    job->failure.hint = OpenHint(job->failure.err);
    return false;
  }
  auto fail = [&](const char* what, const char* hint) {
    job->failure = {errno, what};
    job->failure.hint = hint;
    close(fd);
    return false;
  };
  ifreq ifr{};
  memcpy(ifr.ifr_name, job->name.data(), job->name.size());
  // IFF_TUN_EXCL: fail when the name exists instead of attaching to that device.
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL;
  if (job->vnet_hdr) ifr.ifr_flags |= IFF_VNET_HDR;
  if (job->multi_queue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const char* hint = errno == EBUSY    ? "an interface of that name exists"
                       : errno == EPERM  ? "creating a tap needs CAP_NET_ADMIN"
                       : errno == EINVAL ? "the kernel refused the flags (multi-queue unsupported?)"
                                         : "";
    return fail("ioctl(TUNSETIFF)", hint);
  }
  if (job->owner >= 0 && ioctl(fd, TUNSETOWNER, static_cast<unsigned long>(job->owner)) < 0)
    return fail("ioctl(TUNSETOWNER)", "");
  if (job->group >= 0 && ioctl(fd, TUNSETGROUP, static_cast<unsigned long>(job->group)) < 0)
    return fail("ioctl(TUNSETGROUP)", "");
  unsigned index = if_nametoindex(ifr.ifr_name);
  if (index == 0) return fail("if_nametoindex", "");
  if (ioctl(fd, TUNSETPERSIST, 1UL) < 0) return fail("ioctl(TUNSETPERSIST)", "");
  close(fd);  // the device stays: it is persistent now, with no queue attached until a VM opens it
  job->ifindex = static_cast<int>(index);
  return true;
}

void* CreateInNamespaceThread(void* arg) {
  auto* job = static_cast<TapJob*>(arg);
  if (EnterNetNamespace(job->ns_path, &job->failure)) CreateTap(job);
  return nullptr;
}

bool OptionalBool(napi_env env, napi_value obj, const char* key, bool* out) {
  napi_value v;
  napi_valuetype type;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok)
    return false;
  if (type == napi_undefined) return true;
  if (type != napi_boolean) {
    napi_throw_type_error(env, "EINVAL", (std::string(key) + " must be a boolean").c_str());
    return false;
  }
  napi_get_value_bool(env, v, out);
  return true;
}

// An id for TUNSETOWNER/TUNSETGROUP: 0..4294967294 (4294967295 is the kernel's "none").
bool OptionalId(napi_env env, napi_value obj, const char* key, int64_t* out) {
  napi_value v;
  napi_valuetype type;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok)
    return false;
  if (type == napi_undefined || type == napi_null) return true;
  int64_t id = -1;
  if (type != napi_number || napi_get_value_int64(env, v, &id) != napi_ok || id < 0 || id > 4294967294LL) {
    napi_throw_range_error(env, "EINVAL", (std::string(key) + " must be an id in 0..4294967294").c_str());
    return false;
  }
  *out = id;
  return true;
}

bool ReadOptions(napi_env env, napi_value obj, TapJob* job) {
  napi_valuetype type;
  napi_typeof(env, obj, &type);
  if (type == napi_undefined) return true;
  if (type != napi_object) {
    napi_throw_type_error(env, "EINVAL", "options must be an object");
    return false;
  }
  if (!OptionalBool(env, obj, "multiQueue", &job->multi_queue) ||
      !OptionalBool(env, obj, "vnetHdr", &job->vnet_hdr) || !OptionalId(env, obj, "owner", &job->owner) ||
      !OptionalId(env, obj, "group", &job->group)) {
    return false;
  }
  napi_value ns;
  napi_get_named_property(env, obj, "nsPath", &ns);
  napi_typeof(env, ns, &type);
  if (type == napi_undefined || type == napi_null) return true;
  size_t len;
  if (type != napi_string || napi_get_value_string_utf8(env, ns, nullptr, 0, &len) != napi_ok || len == 0) {
    napi_throw_type_error(env, "EINVAL", "nsPath must be a non-empty string or null");
    return false;
  }
  job->ns_path.resize(len + 1);
  napi_get_value_string_utf8(env, ns, job->ns_path.data(), len + 1, &len);
  job->ns_path.resize(len);
  return true;
}

// createTap(name, { multiQueue?, vnetHdr?, owner?, group?, nsPath? }) -> ifindex
napi_value CreateTapJs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 1) {
    napi_throw_type_error(env, "EINVAL", "missing arguments");
    return nullptr;
  }
  TapJob job;
  size_t len;
  napi_valuetype type;
  napi_typeof(env, argv[0], &type);
  if (type != napi_string || napi_get_value_string_utf8(env, argv[0], nullptr, 0, &len) != napi_ok ||
      len == 0 || len > kMaxName) {
    napi_throw_type_error(env, "EINVAL", "name must be an interface name of 1..15 bytes");
    return nullptr;
  }
  job.name.resize(len + 1);
  napi_get_value_string_utf8(env, argv[0], job.name.data(), len + 1, &len);
  job.name.resize(len);
  if (argc > 1 && !ReadOptions(env, argv[1], &job)) return nullptr;
  bool ok;
  if (job.ns_path.empty()) {
    ok = CreateTap(&job);
  } else {
    pthread_t thread;
    int rc = pthread_create(&thread, nullptr, CreateInNamespaceThread, &job);
    if (rc != 0) {
      job.failure = {rc, "pthread_create"};
    } else {
      pthread_join(thread, nullptr);
    }
    ok = job.ifindex > 0;
  }
  if (!ok) {
    std::string where = job.ns_path.empty() ? "current namespace" : job.ns_path;
    napi_throw(env, MakeError(env, job.failure, "createTap(" + job.name + ", " + where + ")"));
    return nullptr;
  }
  napi_value result;
  napi_create_int32(env, job.ifindex, &result);
  return result;
}

}  // namespace

void InitTap(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"createTap", nullptr, CreateTapJs, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}

}  // namespace nsm
