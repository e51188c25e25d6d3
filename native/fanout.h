// Batched fan-out write (see fanout.cc and src/server/fanout.ts).
#pragma once

#include <napi.h>

namespace headframe {

// writeToMany(fds: Int32Array, data: Uint8Array, results: Int32Array, threads: number): number
Napi::Value WriteToMany(const Napi::CallbackInfo& info);

}  // namespace headframe
