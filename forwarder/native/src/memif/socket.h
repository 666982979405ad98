// The control channel: AF_UNIX SOCK_SEQPACKET at a path or an abstract address, 128-byte
// messages with at most one descriptor each.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "proto.h"

namespace memif {

struct Address {
  sockaddr_un sa{};
  socklen_t len = 0;
  bool abstract = false;
  std::string text;  // as given: "@name" or a path
};

// "@name" is abstract (the address is exactly the name's bytes after a leading NUL, no padding);
// anything else is a path. Refuses empty names, NUL bytes and names longer than sun_path.
bool ParseAddress(const std::string& s, Address* a, std::string* err);

// Binds and listens. A leftover socket file that nobody listens on is replaced; one in use is
// refused (EADDRINUSE). `ino` receives the socket file's inode (0 for abstract) so that close
// removes only our own file.
int Listen(const Address& a, ino_t* ino, int* err_no, std::string* err);

// Removes the socket file if it is still the one we bound.
void Unlink(const Address& a, ino_t ino);

// Accepts one connection (non-blocking, close-on-exec). Returns the fd, or -1 when there is none to
// take now. Out of descriptors (EMFILE, ENFILE) it takes the waiting connection with the spare
// descriptor and closes it at once, so that a level-triggered listener does not wake for ever;
// `*spare` is the caller's reserve: an open /dev/null taken when it started listening.
int AcceptOne(int listenfd, int* spare);

// Non-blocking connect; -1 with errno set when nobody listens there yet.
int Connect(const Address& a);

// Sends `len` bytes as one packet, with `pass_fd` as SCM_RIGHTS when >= 0, without waiting.
// Returns what sendmsg returns (-1 with errno).
ssize_t SendRaw(int fd, const uint8_t* buf, size_t len, int pass_fd);

// Sends one message, with `pass_fd` as SCM_RIGHTS when >= 0.
bool Send(int fd, const Msg& m, int pass_fd, std::string* err);

// Receives one packet into `buf` without waiting, and the descriptors that came with it (appended
// to `fds`, caller owns them; `ctrunc` when more came than fit). Returns the packet's real length,
// even beyond `size`; 0 when the peer closed; -1 with errno (EAGAIN: nothing there).
ssize_t RecvRaw(int fd, uint8_t* buf, size_t size, std::vector<int>* fds, bool* ctrunc);

enum class Recv { kOk, kAgain, kClosed, kBad };

// Receives one message and the descriptors that came with it (caller owns them). kBad: the
// bytes are not a valid message (err says why; descriptors already closed).
Recv Receive(int fd, Msg* m, std::vector<int>* fds, std::string* err);

void CloseAll(std::vector<int>* fds);

}  // namespace memif
