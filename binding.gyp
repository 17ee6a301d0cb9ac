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
    },
    {
      # The FUSE mount of the exported sysfs (native/mtty_fuse.c, libfuse3).
      # Built only where libfuse3's headers are (Debian: libfuse3-dev); without
      # it `serve --sysfs-root` falls back to the plain mirror.
      "target_name": "mtty_fuse",
      "variables": { "have_fuse3": "<!(pkg-config --exists fuse3 && echo 1 || echo 0)" },
      "conditions": [
        ["OS=='linux' and have_fuse3==1", {
          "sources": ["native/mtty_fuse.c"],
          "defines": ["NAPI_VERSION=8"],
          "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "<!@(pkg-config --cflags fuse3)"],
          "libraries": ["<!@(pkg-config --libs fuse3)"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
