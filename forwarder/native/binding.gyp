{
  "targets": [
    {
      "target_name": "nsm_netlink",
      "sources": ["src/nsm_netlink.cc", "src/ping.cc", "src/ping_errors.cc", "src/arp.cc", "src/tap.cc"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fno-exceptions"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "nsm_memif",
      "sources": [
        "src/memif/addon.cc",
        "src/memif/addon_events.cc",
        "src/memif/blast.cc",
        "src/memif/bridge.cc",
        "src/memif/bridge_addon.cc",
        "src/memif/channel.cc",
        "src/memif/client.cc",
        "src/memif/datapath.cc",
        "src/memif/engine.cc",
        "src/memif/gso.cc",
        "src/memif/lifecycle.cc",
        "src/memif/napi_util.cc",
        "src/memif/proto.cc",
        "src/memif/proxy.cc",
        "src/memif/proxy_addon.cc",
        "src/memif/proxy_relay.cc",
        "src/memif/server.cc",
        "src/memif/shm.cc",
        "src/memif/socket.cc",
        "src/memif/worker.cc"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fno-exceptions", "-O2"],
      "libraries": ["-lpthread"]
    }
  ]
}
