{
  "variables": {
    # Which platform file carries the syscalls: "native" is the one written for
    # this OS (platform_linux.c on Linux), "posix" the portable fallback that
    # every other POSIX system gets. Building the fallback on Linux
    # (node-gyp rebuild -- -Dudpkit_platform=posix) keeps it tested here.
    "udpkit_platform%": "native"
  },
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
        [ "OS=='linux' and udpkit_platform=='native'", { "sources": [ "native/platform_linux.c" ] } ],
        [ "OS!='win' and (OS!='linux' or udpkit_platform=='posix')", { "sources": [ "native/platform_posix.c" ] } ]
      ]
    }
  ]
}
