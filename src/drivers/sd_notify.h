// systemd's notify protocol (sd_notify(3)) without libsystemd: a datagram
// to $NOTIFY_SOCKET ("READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=...").
// banger-watch.service is Type=notify with a watchdog.
#pragma once

#include <chrono>
#include <string>

namespace banger {

/// Sends `state`; false when not run by systemd (no $NOTIFY_SOCKET) or the
/// send failed. Never throws.
bool sd_notify_state(const std::string& state);

/// How often systemd wants a WATCHDOG=1 ($WATCHDOG_USEC, when
/// $WATCHDOG_PID is unset or this process), or 0 for never.
std::chrono::microseconds sd_watchdog_interval();

}  // namespace banger
