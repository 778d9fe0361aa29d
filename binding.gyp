{
  "targets": [
    {
      "target_name": "udpkit",
      "sources": [
        "native/binding.c", "native/socket.c", "native/options.c", "native/recv.c", "native/coalesce.c", "native/send.c",
        "native/cmsg.c", "native/addr.c", "native/platform_loop.c"
      ],
      "cflags": [ "-std=gnu11", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden" ],
      "defines": [ "NAPI_VERSION=8" ],
      "conditions": [
        [ "OS=='linux'", { "sources": [ "native/platform_linux.c" ] } ],
        [ "OS!='linux' and OS!='win'", { "sources": [ "native/platform_posix.c" ] } ]
      ]
    }
  ]
}
