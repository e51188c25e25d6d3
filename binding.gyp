# Native SHA-256d addon (see native/binding.cc and docs/benchmarks.md).
#
# One static library per instruction set, each compiled with only its own
# ISA flags, linked into one addon that picks at run time (cpuid + XCR0) what
# the CPU can execute: the layout of node-argon2's and classic-level's
# binding.gyp. Only the libraries' own translation units see -mavx2 etc.;
# binding.cc and the generic code stay baseline so the addon loads anywhere.
# Non-x64 targets build the generic implementation only.
#
# C++ exceptions stay off (node-gyp's default -fno-exceptions); node-addon-api
# is told so by NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS and errors are thrown
# as JS exceptions explicitly.
{
  "target_defaults": {
    "defines": [
      "NAPI_VERSION=8",
      "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS",
      "NODE_ADDON_API_DISABLE_DEPRECATED"
    ],
    "cflags": ["-Wall", "-Wextra", "-Werror", "-O3"],
    "cflags_cc": ["-Wall", "-Wextra", "-Werror", "-O3"],
    # node's common.gypi adds -Wno-unused-parameter; keep all of -Wextra.
    "cflags!": ["-Wno-unused-parameter"],
    "cflags_cc!": ["-Wno-unused-parameter"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
      "CLANG_CXX_LIBRARY": "libc++",
      "MACOSX_DEPLOYMENT_TARGET": "10.15",
      "WARNING_CFLAGS": ["-Wall", "-Wextra", "-Werror"],
      "OTHER_CFLAGS": ["-O3"]
    },
    "conditions": [
      ["target_arch == 'x64'", {"defines": ["HEADFRAME_X86"]}]
    ]
  },
  "targets": [
    {
      "target_name": "hf_sha256_generic",
      "type": "static_library",
      "sources": ["native/sha256_generic.cc"]
    },
    {
      "target_name": "headframe_sha256",
      "sources": ["native/binding.cc", "native/cpu_features.cc", "native/fanout.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["hf_sha256_generic"],
      "conditions": [
        ["target_arch == 'x64'", {
          "dependencies": ["hf_sha256_shani", "hf_sha256_avx2", "hf_sha256_avx512"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch == 'x64'", {
      "targets": [
        {
          "target_name": "hf_sha256_shani",
          "type": "static_library",
          "sources": ["native/sha256_shani.cc"],
          "cflags_cc": ["-msha", "-msse4.1", "-mssse3"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-msha", "-msse4.1", "-mssse3"]}
        },
        {
          "target_name": "hf_sha256_avx2",
          "type": "static_library",
          "sources": ["native/sha256_avx2.cc"],
          "cflags_cc": ["-mavx2"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx2"]}
        },
        {
          "target_name": "hf_sha256_avx512",
          "type": "static_library",
          "sources": ["native/sha256_avx512.cc"],
          "cflags_cc": ["-mavx512f", "-mavx512vl"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512vl"]}
        }
      ]
    }]
  ]
}
