#ifndef HUBAGENT_CSYSTEMD_SHIM_H
#define HUBAGENT_CSYSTEMD_SHIM_H
/* The four functions of libsystemd's sd-daemon.h that hubagent calls, declared here rather than
   by including <systemd/sd-daemon.h>: that header pulls <sys/socket.h> into this module, and
   Swift then found SOCK_STREAM in CSystemd instead of Glibc, so files that import only Glibc
   lost it depending on how the compiler batched them (docs/platform-notes.md swift §7).
   Prototypes as in sd-daemon.h (libsystemd 252), on LP64 Linux: size_t is unsigned long,
   uint64_t unsigned long.
   sd_notifyf is variadic and not importable into Swift: messages are formatted in Swift and
   sent with sd_notify. */
int sd_notify(int unset_environment, const char *state);
int sd_listen_fds_with_names(int unset_environment, char ***names);
int sd_is_socket_unix(int fd, int type, int listening, const char *path, unsigned long length);
int sd_watchdog_enabled(int unset_environment, unsigned long *usec);
/* The first passed descriptor (sd-daemon.h). */
#define SD_LISTEN_FDS_START 3
#endif
