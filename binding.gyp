{
  "targets": [
    {
      "target_name": "udpkit",
      "sources": [ "native/udpkit.c" ],
      "cflags": [ "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter" ],
      "defines": [ "NAPI_VERSION=8" ]
    }
  ]
}
