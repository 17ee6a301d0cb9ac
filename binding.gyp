{
  # The vfio-user fd-passing addon (native/vfio_user_native.c). Its presence
  # at the top level makes `npm install` / `npm ci` run `node-gyp rebuild`,
  # which writes build/Release/vfio_user_native.node (build/ is gitignored).
  "targets": [
    {
      "target_name": "vfio_user_native",
      "sources": ["native/vfio_user_native.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", {
          # eventfd, accept4, MSG_CMSG_CLOEXEC are Linux APIs, like VFIO itself.
          "type": "none"
        }]
      ]
    }
  ]
}
