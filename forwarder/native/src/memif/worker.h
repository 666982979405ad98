// The one thread an engine or a proxy runs on: started with pthread_create (a failure is an error
// the caller reports, not an abort: std::thread would throw, and this addon has no exceptions),
// named, and first running `enter` (joining namespaces, binding) whose result Start waits for.
#pragma once

#include <pthread.h>

#include <atomic>
#include <functional>
#include <string>

namespace memif {

class Worker {
 public:
  // Runs enter(), then run() when it succeeded. False (err_no, err set) when the thread could not
  // be created or enter() failed; the thread is gone by then.
  bool Start(const char* name, std::function<bool()> enter, std::function<void()> run, int* err_no,
             std::string* err);
  bool running() const { return running_; }
  // Waits for the thread to end (the caller has told it to stop).
  void Join();
  // Tells a thread that polls the eventfd `wakefd` and checks `*stop` to end, and waits for it.
  void Stop(std::atomic<bool>* stop, int wakefd);

 private:
  pthread_t tid_{};
  bool running_ = false;
};

}  // namespace memif
