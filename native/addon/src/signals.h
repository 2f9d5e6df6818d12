// Keeps asynchronous signals away from threads while they run oneDNN kernels.
//
// Some of oneDNN 2.6.3's AVX-512 JIT kernels (its sgemm, at least) keep data below the stack pointer; a
// signal handled on that thread (V8's profiler sends SIGPROF every millisecond; SIGCHLD, SIGINT...)
// pushes its frame there and corrupts the process heap. Deferring signals for the duration of a kernel
// is cheap (two system calls) and makes every kernel safe, whatever its stack discipline.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <initializer_list>

namespace clearsky {

// Blocks the asynchronous signals on this thread for its lifetime; they are delivered when it ends.
// Synchronous ones (faults) stay unblocked: blocking them would not stop them, only hide their cause.
class SignalsDeferred {
 public:
  SignalsDeferred() {
    sigset_t deferred;
    sigfillset(&deferred);
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT}) sigdelset(&deferred, s);
    pthread_sigmask(SIG_BLOCK, &deferred, &previous_);
  }
  ~SignalsDeferred() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  SignalsDeferred(const SignalsDeferred&) = delete;
  SignalsDeferred& operator=(const SignalsDeferred&) = delete;

 private:
  sigset_t previous_;
};

// Starts OpenMP's worker threads with asynchronous signals blocked (threads inherit the creator's mask),
// so that process-directed signals are never handled on a worker running a kernel. Call once at start-up
// and again whenever the team may grow.
void startThreadTeam();

}  // namespace clearsky
