{
  "targets": [
    {
      "target_name": "clearsky_native",
      "sources": ["src/addon.cc", "src/napi_conv.cc", "src/napi_elementwise.cc", "src/conv.cc", "src/plan.cc", "src/elementwise.cc", "src/napi_batch_norm.cc", "src/batch_norm.cc", "src/napi_resize.cc", "src/resize.cc", "src/signals.cc", "src/adam.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"]
    }
  ]
}
