#include "worker.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace memif {
namespace {

struct Launch {
  const char* name;
  std::function<bool()> enter;
  std::function<void()> run;
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false, ok = false;
};

void* Main(void* arg) {
  Launch* l = static_cast<Launch*>(arg);
  // Named so that a thread listing (top -H, /proc/<pid>/task) says what each one is.
  pthread_setname_np(pthread_self(), l->name);
  bool ok = l->enter();
  std::function<void()> run = ok ? std::move(l->run) : nullptr;
  {
    std::lock_guard<std::mutex> lock(l->mu);
    l->ok = ok;
    l->ready = true;
    // Under the lock: once it is released Start may return and `l` is gone.
    l->cv.notify_one();
  }
  if (run) run();
  return nullptr;
}

}  // namespace

bool Worker::Start(const char* name, std::function<bool()> enter, std::function<void()> run, int* err_no,
                   std::string* err) {
  Launch l;
  l.name = name;
  l.enter = std::move(enter);
  l.run = std::move(run);
  int rc = pthread_create(&tid_, nullptr, Main, &l);
  if (rc != 0) {
    *err_no = rc;
    *err = std::string("pthread_create(") + name + ")";
    return false;
  }
  {
    std::unique_lock<std::mutex> lock(l.mu);
    l.cv.wait(lock, [&] { return l.ready; });
  }
  running_ = true;
  if (!l.ok) Join();
  return l.ok;
}

void Worker::Stop(std::atomic<bool>* stop, int wakefd) {
  if (!running_) return;
  *stop = true;
  uint64_t one = 1;
  ssize_t n = write(wakefd, &one, sizeof one);
  (void)n;  // the eventfd cannot be full: one write is enough to wake the poll
  Join();
}

void Worker::Join() {
  if (!running_) return;
  pthread_join(tid_, nullptr);
  running_ = false;
}

}  // namespace memif
