// Regions in memfd, shared with the peer by descriptor.
#include "shm.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memif {
namespace {

std::string Errno(const char* what) { return std::string(what) + ": " + strerror(errno); }

}  // namespace

void Region::Release() {
  if (addr) munmap(addr, size);
  if (fd >= 0) close(fd);
  addr = nullptr;
  fd = -1;
  size = 0;
}

bool CreateRegion(const char* name, uint64_t size, Region* r, std::string* err) {
  int fd = memfd_create(name, MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (fd < 0) {
    *err = Errno("memfd_create");
    return false;
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
    *err = Errno("fcntl(F_ADD_SEALS)");
  } else if (ftruncate(fd, off_t(size)) < 0) {
    *err = Errno("ftruncate");
  } else {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
      r->fd = fd;
      r->addr = static_cast<uint8_t*>(p);
      r->size = size;
      return true;
    }
    *err = Errno("mmap");
  }
  close(fd);
  return false;
}

bool CheckRegion(int fd, uint64_t size, bool require_seal, std::string* err) {
  struct stat st;
  if (size == 0 || size > kMaxRegionSize) {
    *err = "region size " + std::to_string(size) + " out of range";
    return false;
  }
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    *err = "region descriptor is not a memory file";
    return false;
  }
  if (uint64_t(st.st_size) < size) {
    *err = "region size " + std::to_string(size) + " exceeds its file (" + std::to_string(st.st_size) + ")";
    return false;
  }
  int seals = fcntl(fd, F_GET_SEALS);
  if (require_seal && (seals < 0 || !(seals & F_SEAL_SHRINK))) {
    *err = "region file not sealed against shrinking";
    return false;
  }
  return true;
}

bool AdoptRegion(int fd, uint64_t size, bool require_seal, Region* r, std::string* err) {
  if (!CheckRegion(fd, size, require_seal, err)) return false;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    *err = Errno("mmap region");
    return false;
  }
  r->fd = fd;
  r->addr = static_cast<uint8_t*>(p);
  r->size = size;
  return true;
}

bool IsEventFd(int fd) {
  char path[64], target[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n < 0) return false;
  target[n] = 0;
  return strcmp(target, "anon_inode:[eventfd]") == 0;
}

uint8_t* BufferAt(const std::vector<Region>& regions, uint16_t region, uint32_t offset, uint32_t len) {
  if (region >= regions.size()) return nullptr;
  const Region& r = regions[region];
  if (uint64_t(offset) + len > r.size) return nullptr;
  return r.addr + offset;
}

}  // namespace memif
