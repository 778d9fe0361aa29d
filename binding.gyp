{
  "targets": [
    {
      "target_name": "udpkit",
      "sources": [ "native/udpkit.c", "native/addr.c", "native/platform_loop.c" ],
      "cflags": [ "-std=gnu11", "-O2", "-Wall", "-Wextra" ],
      "defines": [ "NAPI_VERSION=8" ],
      "conditions": [
        [ "OS=='linux'", { "sources": [ "native/platform_linux.c" ] } ],
        [ "OS!='linux' and OS!='win'", { "sources": [ "native/platform_posix.c" ] } ]
      ]
    }
  ]
}
