// Control channel sockets.
#include "socket.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memif {

bool ParseAddress(const std::string& s, Address* a, std::string* err) {
  bool abstract = !s.empty() && s[0] == '@';
  std::string name = abstract ? s.substr(1) : s;
  size_t max = sizeof(a->sa.sun_path) - 1;
  if (name.empty()) {
    *err = "socket address is empty";
    return false;
  }
  if (name.find('\0') != std::string::npos) {
    *err = "socket address contains a NUL byte";
    return false;
  }
  if (name.size() > max) {
    *err = "socket address is " + std::to_string(name.size()) + " bytes, at most " + std::to_string(max);
    return false;
  }
  *a = Address();
  a->sa.sun_family = AF_UNIX;
  a->abstract = abstract;
  a->text = s;
  size_t at = abstract ? 1 : 0;
  memcpy(a->sa.sun_path + at, name.data(), name.size());
  a->len = socklen_t(offsetof(sockaddr_un, sun_path) + at + name.size() + (abstract ? 0 : 1));
  return true;
}

int AcceptOne(int listenfd, int* spare) {
  for (;;) {
    int fd = accept4(listenfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if ((errno != EMFILE && errno != ENFILE) || *spare < 0) return -1;
    // Shed the connection we cannot serve: free the reserve, take it, close it, keep a reserve.
    close(*spare);
    *spare = -1;
    int shed = accept4(listenfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (shed >= 0) close(shed);
    *spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (shed < 0) return -1;
  }
}

int Connect(const Address& a) {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a.sa), a.len) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int Listen(const Address& a, ino_t* ino, int* err_no, std::string* err) {
  *ino = 0;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err_no = errno;
    *err = "socket(AF_UNIX, SOCK_SEQPACKET)";
    return -1;
  }
  int rc = bind(fd, reinterpret_cast<const sockaddr*>(&a.sa), a.len);
  if (rc < 0 && errno == EADDRINUSE && !a.abstract) {
    struct stat st;
    int probe = Connect(a);
    if (probe >= 0) {
      close(probe);
      errno = EADDRINUSE;
    } else if (errno == ECONNREFUSED && lstat(a.sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
      // Nobody listens: a file left by a process that died. Replace it.
      unlink(a.sa.sun_path);
      rc = bind(fd, reinterpret_cast<const sockaddr*>(&a.sa), a.len);
    } else {
      errno = EADDRINUSE;
    }
  }
  if (rc < 0 || listen(fd, 16) < 0) {
    *err_no = errno;
    *err = rc < 0 ? "bind(" + a.text + ")" : "listen(" + a.text + ")";
    close(fd);
    return -1;
  }
  struct stat st;
  if (!a.abstract && stat(a.sa.sun_path, &st) == 0) *ino = st.st_ino;
  return fd;
}

void Unlink(const Address& a, ino_t ino) {
  struct stat st;
  if (a.abstract || ino == 0) return;
  if (lstat(a.sa.sun_path, &st) == 0 && st.st_ino == ino) unlink(a.sa.sun_path);
}

ssize_t SendRaw(int fd, const uint8_t* buf, size_t len, int pass_fd) {
  iovec iov{const_cast<uint8_t*>(buf), len};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  if (pass_fd >= 0) {
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

bool Send(int fd, const Msg& m, int pass_fd, std::string* err) {
  uint8_t buf[kMsgSize];
  Encode(m, buf);
  ssize_t n = SendRaw(fd, buf, sizeof buf, pass_fd);
  if (n != ssize_t(sizeof buf)) {
    *err = std::string("sending ") + TypeName(m.type) + ": " + (n < 0 ? strerror(errno) : "short write");
    return false;
  }
  return true;
}

ssize_t RecvRaw(int fd, uint8_t* buf, size_t size, std::vector<int>* fds, bool* ctrunc) {
  iovec iov{buf, size};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(8 * sizeof(int))];
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  // MSG_TRUNC makes a seqpacket socket report the packet's real length, however long.
  ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int f;
      memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      fds->push_back(f);
    }
  }
  *ctrunc = mh.msg_flags & MSG_CTRUNC;
  return n;
}

void CloseAll(std::vector<int>* fds) {
  for (int f : *fds) close(f);
  fds->clear();
}

Recv Receive(int fd, Msg* m, std::vector<int>* fds, std::string* err) {
  uint8_t buf[2 * kMsgSize];
  bool ctrunc = false;
  ssize_t n = RecvRaw(fd, buf, sizeof buf, fds, &ctrunc);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return Recv::kAgain;
    *err = std::string("control channel: ") + strerror(errno);
    return Recv::kClosed;
  }
  if (n == 0) {
    CloseAll(fds);
    *err = "peer closed the control channel";
    return Recv::kClosed;
  }
  if (ctrunc) {
    CloseAll(fds);
    *err = "too many descriptors with one message";
    return Recv::kBad;
  }
  if (!Decode(buf, size_t(n), m, err)) {
    CloseAll(fds);
    return Recv::kBad;
  }
  return Recv::kOk;
}

}  // namespace memif
