// N-API binding of the SHA-256d kernels (the shape is declared in
// src/shares/native-addon.ts).
//
// This file holds no hashing rules beyond FIPS 180-4 padding for arbitrary
// lengths: it validates every argument (a bad one throws a TypeError or
// RangeError naming the function and argument, never reads out of bounds),
// picks the kernels of one implementation and converts results to JS values.
//
// Built with NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS: errors are thrown with
// ThrowAsJavaScriptException() and the callback returns at once.
//
// Thread safety: the only globals are const tables and the CPU features,
// computed once when the shared object is loaded; every call works on its
// arguments and the stack, so the addon may be loaded in worker threads.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "cpu_features.h"
#include "fanout.h"
#include "sha256_common.h"
#include "sha256_kernels.h"

namespace headframe {
namespace {

const CpuFeatures kCpu = detect_cpu_features();

// One exported implementation: `single` does the one-stream work (sha256,
// sha256d, merkleRoot), `wide` the many-stream work (checkHeaders and
// scanNonces). The multi-buffer implementations have no fast one-stream
// path of their own, so they borrow the best single-stream one: SHA-NI when
// the CPU has it, else generic.
struct Impl {
  const char* name;
  const Kernels* single;
  const Kernels* wide;
};

#if defined(HEADFRAME_X86)
const Kernels* const kBestSingle = kCpu.shani ? &kShaniKernels : &kGenericKernels;
#endif

const Impl kGeneric{"generic", &kGenericKernels, &kGenericKernels};
#if defined(HEADFRAME_X86)
const Impl kShani{"shani", &kShaniKernels, &kShaniKernels};
const Impl kAvx2{"avx2", kBestSingle, &kAvx2Kernels};
const Impl kAvx512{"avx512", kBestSingle, &kAvx512Kernels};
#endif

// ---------------------------------------------------------------------------
// Argument checking

struct Bytes {
  uint8_t* data;
  size_t length;
};

std::string describe(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return "unknown";
  switch (t) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_function: return "function";
    case napi_bigint: return "bigint";
    case napi_external: return "external";
    case napi_object: {
      bool is_typed = false;
      napi_is_typedarray(env, v, &is_typed);
      return is_typed ? "another TypedArray" : "object";
    }
  }
  return "unknown";
}

void throw_type(const Napi::CallbackInfo& info, const std::string& msg) {
  Napi::TypeError::New(info.Env(), msg).ThrowAsJavaScriptException();
}
void throw_range(const Napi::CallbackInfo& info, const std::string& msg) {
  Napi::RangeError::New(info.Env(), msg).ThrowAsJavaScriptException();
}

// Reads argument `i` as a Uint8Array (Buffer is one). On failure throws a
// TypeError and returns false. A detached buffer reads as length 0.
bool get_bytes(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg, Bytes* out) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  const napi_value v = info[i];
  if (napi_get_typedarray_info(info.Env(), v, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    throw_type(info, std::string(fn) + ": " + arg + " must be a Uint8Array or Buffer, got " + describe(info.Env(), v));
    return false;
  }
  out->data = static_cast<uint8_t*>(data);
  out->length = length;
  return true;
}

bool get_bytes_exact(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg, size_t want,
                     Bytes* out) {
  if (!get_bytes(info, i, fn, arg, out)) return false;
  if (out->length != want) {
    throw_range(info, std::string(fn) + ": " + arg + " length " + std::to_string(out->length) + " is not " +
                          std::to_string(want));
    return false;
  }
  return true;
}

// Reads argument `i` as an integer in 0..max (max <= 2^53).
bool get_uint(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* arg, double max, uint64_t* out) {
  const napi_value v = info[i];
  double d;
  if (napi_get_value_double(info.Env(), v, &d) != napi_ok) {
    throw_type(info, std::string(fn) + ": " + arg + " must be a number, got " + describe(info.Env(), v));
    return false;
  }
  if (!(d >= 0 && d <= max && std::floor(d) == d)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    throw_range(info, std::string(fn) + ": " + arg + " must be an integer in 0.." +
                          std::to_string(static_cast<uint64_t>(max)) + ", got " + buf);
    return false;
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

bool overlap(const Bytes& a, const Bytes& b) {
  if (a.length == 0 || b.length == 0) return false;
  const uintptr_t a0 = reinterpret_cast<uintptr_t>(a.data), b0 = reinterpret_cast<uintptr_t>(b.data);
  return a0 < b0 + b.length && b0 < a0 + a.length;
}

bool check_disjoint(const Napi::CallbackInfo& info, const char* fn, const Bytes& out, const char* out_name,
                    const Bytes& in, const char* in_name) {
  if (!overlap(out, in)) return true;
  throw_range(info, std::string(fn) + ": " + out_name + " overlaps " + in_name);
  return false;
}

const Impl& impl_of(const Napi::CallbackInfo& info) { return *static_cast<const Impl*>(info.Data()); }

// ---------------------------------------------------------------------------
// Hashing on top of the kernels

// SHA-256 of any length: whole blocks straight from the caller's memory,
// then the FIPS 180-4 5.1.1 padding (0x80, zeros, 64-bit big-endian bit
// length) in one or two blocks on the stack.
void sha256_any(const Kernels& k, const uint8_t* data, size_t len, uint8_t out[32]) {
  uint32_t s[8];
  std::memcpy(s, kIV, sizeof s);
  const size_t whole = len / 64;
  if (whole != 0) k.transform(s, data, whole);
  uint8_t tail[128] = {};
  const size_t rem = len % 64;
  if (rem != 0) std::memcpy(tail, data + whole * 64, rem);
  tail[rem] = 0x80;
  const size_t tail_blocks = rem < 56 ? 1 : 2;
  const uint64_t bits = uint64_t(len) * 8;
  uint8_t* end = tail + 64 * tail_blocks;
  store_be32(end - 8, uint32_t(bits >> 32));
  store_be32(end - 4, uint32_t(bits));
  k.transform(s, tail, tail_blocks);
  for (int i = 0; i < 8; ++i) store_be32(out + 4 * i, s[i]);
}

void sha256d_any(const Kernels& k, const uint8_t* data, size_t len, uint8_t out[32]) {
  if (len == 80) return k.sha256d80(out, data, 1);
  if (len == 64) return k.sha256d64(out, data);
  uint8_t first[32];
  sha256_any(k, data, len, first);
  sha256_any(k, first, 32, out);
}

// ---------------------------------------------------------------------------
// The exported functions (info.Data() is the Impl)

// The one-hash functions write into a 32-byte `out` that the JS wrapper
// (kWrapperSource below) allocates; see there for why.
bool get_out(const Napi::CallbackInfo& info, size_t i, const char* fn, Bytes* out) {
  return get_bytes_exact(info, i, fn, "out", 32, out);
}

Napi::Value Sha256Into(const Napi::CallbackInfo& info) {
  Bytes data, out;
  if (!get_bytes(info, 0, "sha256", "data", &data) || !get_out(info, 1, "sha256", &out)) return Napi::Value();
  uint8_t hash[32];
  sha256_any(*impl_of(info).single, data.data, data.length, hash);
  std::memcpy(out.data, hash, 32);
  return Napi::Value();
}

Napi::Value Sha256dInto(const Napi::CallbackInfo& info) {
  Bytes data, out;
  if (!get_bytes(info, 0, "sha256d", "data", &data) || !get_out(info, 1, "sha256d", &out)) return Napi::Value();
  uint8_t hash[32];
  sha256d_any(*impl_of(info).single, data.data, data.length, hash);
  std::memcpy(out.data, hash, 32);
  return Napi::Value();
}

Napi::Value MerkleRootInto(const Napi::CallbackInfo& info) {
  Bytes leaf, branch, out;
  if (!get_bytes_exact(info, 0, "merkleRoot", "leaf", 32, &leaf) || !get_bytes(info, 1, "merkleRoot", "branch", &branch) ||
      !get_out(info, 2, "merkleRoot", &out)) {
    return Napi::Value();
  }
  if (branch.length % 32 != 0) {
    throw_range(info, "merkleRoot: branch length " + std::to_string(branch.length) + " is not a multiple of 32");
    return Napi::Value();
  }
  uint8_t root[32];
  impl_of(info).single->merkle_root(root, leaf.data, branch.data, branch.length / 32);
  std::memcpy(out.data, root, 32);
  return Napi::Value();
}

Napi::Value CheckHeaders(const Napi::CallbackInfo& info) {
  static const char fn[] = "checkHeaders";
  Bytes headers, targets, out_hashes, out_ok;
  if (!get_bytes(info, 0, fn, "headers", &headers) || !get_bytes(info, 1, fn, "targets", &targets) ||
      !get_bytes(info, 2, fn, "outHashes", &out_hashes) || !get_bytes(info, 3, fn, "outOk", &out_ok)) {
    return Napi::Value();
  }
  if (headers.length % 80 != 0) {
    throw_range(info, "checkHeaders: headers length " + std::to_string(headers.length) + " is not a multiple of 80");
    return Napi::Value();
  }
  const size_t n = headers.length / 80;
  const auto wrong_length = [&](const char* arg, size_t got, size_t want) {
    throw_range(info, std::string("checkHeaders: ") + arg + " length " + std::to_string(got) + " is not " +
                          std::to_string(want) + " for " + std::to_string(n) + " headers");
    return Napi::Value();
  };
  if (targets.length != 32 * n) return wrong_length("targets", targets.length, 32 * n);
  if (out_hashes.length != 32 * n) return wrong_length("outHashes", out_hashes.length, 32 * n);
  if (out_ok.length != n) return wrong_length("outOk", out_ok.length, n);
  // The kernels read a group of headers before writing its hashes, so an
  // output that overlaps an input would give wrong results: refuse it.
  if (!check_disjoint(info, fn, out_hashes, "outHashes", headers, "headers") ||
      !check_disjoint(info, fn, out_hashes, "outHashes", targets, "targets") ||
      !check_disjoint(info, fn, out_ok, "outOk", headers, "headers") ||
      !check_disjoint(info, fn, out_ok, "outOk", targets, "targets") ||
      !check_disjoint(info, fn, out_ok, "outOk", out_hashes, "outHashes")) {
    return Napi::Value();
  }
  uint8_t* hashes = out_hashes.data;
  uint8_t* ok = out_ok.data;
  const Impl& impl = impl_of(info);
  // Whole groups go to the wide kernel; a small remainder is cheaper on the
  // single-stream kernel than in a mostly empty vector.
  const size_t lanes = impl.wide->lanes;
  const size_t rem = n % lanes;
  const size_t wide_n = rem * 2 >= lanes ? n : n - rem;
  if (wide_n != 0) impl.wide->sha256d80(hashes, headers.data, wide_n);
  if (wide_n != n) impl.single->sha256d80(hashes + 32 * wide_n, headers.data + 80 * wide_n, n - wide_n);
  uint32_t passed = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool pass = hash_le_target(hashes + 32 * i, targets.data + 32 * i);
    ok[i] = pass ? 1 : 0;
    passed += pass ? 1 : 0;
  }
  return Napi::Number::New(info.Env(), passed);
}

Napi::Value ScanNonces(const Napi::CallbackInfo& info) {
  static const char fn[] = "scanNonces";
  constexpr double k2to32 = 4294967296.0;
  Bytes header, target;
  uint64_t start, count, max_results;
  if (!get_bytes_exact(info, 0, fn, "header", 80, &header) || !get_uint(info, 1, fn, "start", k2to32 - 1, &start) ||
      !get_uint(info, 2, fn, "count", k2to32, &count) || !get_bytes_exact(info, 3, fn, "target", 32, &target) ||
      !get_uint(info, 4, fn, "maxResults", 9007199254740991.0, &max_results)) {
    return Napi::Value();
  }
  if (start + count > uint64_t(1) << 32) {
    throw_range(info, "scanNonces: start + count = " + std::to_string(start + count) + " exceeds 2^32 (4294967296)");
    return Napi::Value();
  }
  // Private copies: setting array elements below could run user code (an
  // indexed setter on Array.prototype) that detaches the caller's buffers.
  uint8_t hdr[80], tgt[32];
  std::memcpy(hdr, header.data, 80);
  std::memcpy(tgt, target.data, 32);
  const Kernels& k = *impl_of(info).wide;
  Napi::Env env = info.Env();
  Napi::Array result = Napi::Array::New(env);
  uint32_t length = 0;
  // Results go through a small stack buffer: no allocation sized by the
  // caller's maxResults. When it fills, the scan resumes after the last hit.
  uint32_t found[256];
  uint64_t pos = start;
  const uint64_t end = start + count;
  while (pos < end && length < max_results) {
    const uint64_t want = max_results - length;
    const size_t cap = want < 256 ? size_t(want) : 256;
    const size_t got = k.scan(hdr, uint32_t(pos), end - pos, tgt, found, cap);
    for (size_t i = 0; i < got; ++i) result.Set(length++, Napi::Number::New(env, found[i]));
    if (got < cap) break;
    pos = uint64_t(found[got - 1]) + 1;
  }
  return result;
}

// ---------------------------------------------------------------------------
// Module

// Why the one-hash functions are JS wrappers around native "into" calls: a
// Buffer created from native code (napi_create_buffer_copy, or an
// ArrayBuffer plus typed array) costs 400-600 ns on Node 20 (an off-heap
// backing store and its GC bookkeeping each time; measured, see
// docs/benchmarks.md), several times the hash itself, while
// Buffer.allocUnsafe(32) slices Node's Buffer pool in JS for a small
// fraction of that. So each sha256/sha256d/merkleRoot is a two-line JS
// function that allocates the result there and lets the native code write
// into it: still one allocation per call, a cheap one. The result is a
// pooled Buffer, like Buffer.from()'s.
constexpr const char kWrapperSource[] = R"JS(
(function makeImpl(name, raw) {
  'use strict';
  const alloc = Buffer.allocUnsafe;
  const { sha256Into, sha256dInto, merkleRootInto } = raw;
  return Object.freeze({
    name,
    sha256(data) { const out = alloc(32); sha256Into(data, out); return out; },
    sha256d(data) { const out = alloc(32); sha256dInto(data, out); return out; },
    merkleRoot(leaf, branch) { const out = alloc(32); merkleRootInto(leaf, branch, out); return out; },
    checkHeaders: raw.checkHeaders,
    scanNonces: raw.scanNonces,
  });
})
)JS";

Napi::Value make_impl(Napi::Env env, Napi::Function factory, const Impl& impl) {
  void* data = const_cast<Impl*>(&impl);
  Napi::Object raw = Napi::Object::New(env);
  raw.Set("sha256Into", Napi::Function::New<Sha256Into>(env, "sha256Into", data));
  raw.Set("sha256dInto", Napi::Function::New<Sha256dInto>(env, "sha256dInto", data));
  raw.Set("merkleRootInto", Napi::Function::New<MerkleRootInto>(env, "merkleRootInto", data));
  raw.Set("checkHeaders", Napi::Function::New<CheckHeaders>(env, "checkHeaders", data));
  raw.Set("scanNonces", Napi::Function::New<ScanNonces>(env, "scanNonces", data));
  return factory.Call({Napi::String::New(env, impl.name), raw});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const Napi::Value factory_value = env.RunScript(kWrapperSource);
  if (env.IsExceptionPending() || !factory_value.IsFunction()) return exports;
  const Napi::Function factory = factory_value.As<Napi::Function>();
  Napi::Object impls = Napi::Object::New(env);
  const char* best = kGeneric.name;
  bool ok = true;
  auto add = [&](const Impl& impl) {
    const Napi::Value v = make_impl(env, factory, impl);
    if (env.IsExceptionPending() || v.IsEmpty()) {
      ok = false;
      return;
    }
    impls.Set(impl.name, v);
  };
  add(kGeneric);
#if defined(HEADFRAME_X86)
  // Added from the least to the most preferred, so `best` ends as the most
  // preferred one the CPU has (order measured: docs/benchmarks.md).
  if (kCpu.avx2) add(kAvx2), best = kAvx2.name;
  if (kCpu.shani) add(kShani), best = kShani.name;
  if (kCpu.avx512) add(kAvx512), best = kAvx512.name;
#endif
  if (!ok) return exports;
  impls.Freeze();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("shani", Napi::Boolean::New(env, kCpu.shani));
  cpu.Set("avx2", Napi::Boolean::New(env, kCpu.avx2));
  cpu.Set("avx512", Napi::Boolean::New(env, kCpu.avx512));
  cpu.Freeze();
  exports.Set("implementations", impls);
  exports.Set("best", Napi::String::New(env, best));
  exports.Set("cpu", cpu);
  // Not hashing: the block-change fan-out (fanout.cc), here to share the one addon.
  exports.Set("writeToMany", Napi::Function::New(env, WriteToMany, "writeToMany"));
  return exports;
}

}  // namespace
}  // namespace headframe

static Napi::Object InitHeadframeSha256(Napi::Env env, Napi::Object exports) { return headframe::Init(env, exports); }
NODE_API_MODULE(headframe_sha256, InitHeadframeSha256)
