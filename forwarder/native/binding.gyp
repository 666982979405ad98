{
  "targets": [
    {
      "target_name": "nsm_netlink",
      "sources": ["src/nsm_netlink.cc", "src/ping.cc"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fno-exceptions"],
      "libraries": ["-lpthread"]
    }
  ]
}
