// writeToMany: the same bytes to many sockets, in one native call, from a
// few threads (the block-change fan-out; docs/benchmarks.md, "Block change
// to mining.notify").
//
// Each fd gets one non-blocking send(2) of the whole buffer (MSG_DONTWAIT,
// and MSG_NOSIGNAL so a peer that has gone away gives EPIPE, never SIGPIPE,
// whatever the process's signal disposition). results[i] is the number of
// bytes the kernel took for fds[i] (data.length when all of it) or -errno
// (-EAGAIN when the send buffer is full, -EPIPE/-ECONNRESET for a dead peer,
// -EBADF for a negative or closed fd, -ENOTSOCK for a pipe). It never
// retries a short write: the caller writes the rest through its own queue.
// Returns how many fds took the whole buffer.
//
// Threads: the fds are split into `threads` contiguous ranges; the calling
// thread does the first and joins the others before returning, so nothing
// runs after the call and the caller's buffers are only read while it is
// blocked here. Threads are made per call (18-67 µs each on the 2-core VM,
// against about 7 µs of kernel work per send; the caller passes 1,024 fds
// per thread, src/server/fanout.ts) and only for ranges of at least
// kMinPerThread fds; a thread that cannot be created leaves its range to the
// calling thread.
//
// Why writing to fds that libuv owns is safe, under the caller's conditions
// (src/server/fanout.ts): the caller only passes the fd of a plain TCP
// socket whose Node and libuv write queues are empty, and its main thread is
// blocked in this call, so libuv cannot write, close or reuse the fd
// meanwhile. A send on a socket with nothing queued is exactly what libuv
// itself does first for every write (uv_try_write); the kernel keeps the
// order of the bytes. Anything not taken here is queued by the caller through
// socket.write afterwards, behind these bytes.
#include "fanout.h"

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#if !defined(_WIN32)
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>
#endif

namespace headframe {
namespace {

constexpr uint32_t kMaxThreads = 64;
constexpr size_t kMinPerThread = 256;

#if !defined(MSG_NOSIGNAL)
#define MSG_NOSIGNAL 0  // macOS: Node ignores SIGPIPE; SO_NOSIGPIPE is not set by libuv
#endif

struct Range {
  const int32_t* fds;
  int32_t* results;
  size_t count;
  const uint8_t* data;
  size_t length;
  size_t whole;  // out: fds that took everything
};

void write_range(Range* r) {
  size_t whole = 0;
  for (size_t i = 0; i < r->count; ++i) {
    const int fd = r->fds[i];
    int32_t result;
#if defined(_WIN32)
    (void)fd;
    result = -38;  // ENOSYS: the caller falls back to socket.write
#else
    if (fd < 0) {
      result = -EBADF;
    } else {
      ssize_t n;
      do {
        n = send(fd, r->data, r->length, MSG_DONTWAIT | MSG_NOSIGNAL);
      } while (n < 0 && errno == EINTR);
      result = n < 0 ? -errno : static_cast<int32_t>(n);
    }
#endif
    if (result >= 0 && static_cast<size_t>(result) == r->length) ++whole;
    r->results[i] = result;
  }
  r->whole = whole;
}

#if !defined(_WIN32)
void* thread_main(void* arg) {
  write_range(static_cast<Range*>(arg));
  return nullptr;
}
#endif

bool get_typed(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type want, const char* arg, const char* type_name,
               void** data, size_t* length) {
  napi_typedarray_type type;
  const napi_value v = info[i];
  if (napi_get_typedarray_info(info.Env(), v, &type, length, data, nullptr, nullptr) != napi_ok || type != want) {
    Napi::TypeError::New(info.Env(), std::string("writeToMany: ") + arg + " must be " + type_name)
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

}  // namespace

Napi::Value WriteToMany(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  void* fds_data = nullptr;
  void* bytes_data = nullptr;
  void* results_data = nullptr;
  size_t fd_count = 0, length = 0, result_count = 0;
  if (!get_typed(info, 0, napi_int32_array, "fds", "an Int32Array", &fds_data, &fd_count)) return env.Undefined();
  if (!get_typed(info, 1, napi_uint8_array, "data", "a Uint8Array or Buffer", &bytes_data, &length)) return env.Undefined();
  if (!get_typed(info, 2, napi_int32_array, "results", "an Int32Array", &results_data, &result_count)) return env.Undefined();
  double threads_d = 0;
  if (napi_get_value_double(env, info[3], &threads_d) != napi_ok) {
    Napi::TypeError::New(env, "writeToMany: threads must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!(threads_d >= 1 && threads_d <= kMaxThreads && static_cast<double>(static_cast<uint32_t>(threads_d)) == threads_d)) {
    Napi::RangeError::New(env, "writeToMany: threads must be an integer in 1..64").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (result_count < fd_count) {
    Napi::RangeError::New(env, "writeToMany: results is shorter than fds").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // A short write is reported as an int32: keep data within that range.
  if (length > INT32_MAX) {
    Napi::RangeError::New(env, "writeToMany: data longer than 2^31-1 bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // The output must not alias the inputs (another thread writes it while they are read).
  const uintptr_t r0 = reinterpret_cast<uintptr_t>(results_data), r1 = r0 + 4 * fd_count;
  const uintptr_t f0 = reinterpret_cast<uintptr_t>(fds_data), f1 = f0 + 4 * fd_count;
  const uintptr_t d0 = reinterpret_cast<uintptr_t>(bytes_data), d1 = d0 + length;
  if (fd_count > 0 && ((r0 < f1 && f0 < r1) || (length > 0 && r0 < d1 && d0 < r1))) {
    Napi::RangeError::New(env, "writeToMany: results overlaps fds or data").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  const int32_t* fds = static_cast<const int32_t*>(fds_data);
  int32_t* results = static_cast<int32_t*>(results_data);
  const uint8_t* data = static_cast<const uint8_t*>(bytes_data);
  size_t threads = static_cast<size_t>(threads_d);
  if (threads > fd_count / kMinPerThread) threads = fd_count / kMinPerThread;
  if (threads < 1) threads = 1;

  std::vector<Range> ranges(threads);
  const size_t per = fd_count / threads, extra = fd_count % threads;
  size_t at = 0;
  for (size_t t = 0; t < threads; ++t) {
    const size_t n = per + (t < extra ? 1 : 0);
    ranges[t] = Range{fds + at, results + at, n, data, length, 0};
    at += n;
  }
#if defined(_WIN32)
  for (auto& r : ranges) write_range(&r);
#else
  std::vector<pthread_t> ids(threads);
  std::vector<bool> started(threads, false);
  for (size_t t = 1; t < threads; ++t) started[t] = pthread_create(&ids[t], nullptr, thread_main, &ranges[t]) == 0;
  write_range(&ranges[0]);
  for (size_t t = 1; t < threads; ++t) {
    if (started[t])
      pthread_join(ids[t], nullptr);
    else
      write_range(&ranges[t]);
  }
#endif
  size_t whole = 0;
  for (const auto& r : ranges) whole += r.whole;
  return Napi::Number::New(env, static_cast<double>(whole));
}

}  // namespace headframe
