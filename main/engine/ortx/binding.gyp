{
  "targets": [
    {
      "target_name": "ortx",
      "sources": ["ortx.cc", "jpeg.cc", "masks.cc", "masks_kernel.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20", "-O3"],
      "cflags": ["-O2", "-fexceptions", "-fvisibility=hidden", "-ffp-contract=off", "-pthread"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-frtti", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-ffp-contract=off", "-pthread"],
      "libraries": ["-ldl", "-pthread"]
    }
  ]
}
