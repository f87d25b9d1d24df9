#ifndef HUBAGENT_CSYSTEMD_SHIM_H
#define HUBAGENT_CSYSTEMD_SHIM_H
/* sd_notifyf is variadic and not importable into Swift: messages are formatted in Swift and
   sent with sd_notify / sd_pid_notify. */
#include <systemd/sd-daemon.h>
#endif
