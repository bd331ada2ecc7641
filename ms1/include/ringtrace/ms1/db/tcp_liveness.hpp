#pragma once
/// @file
/// How a database connection notices a server that went silent (a partition, a dead host: no
/// reset ever comes) within `database.io_timeout_ms`, without cutting a server that is only slow.
/// Two kernel mechanisms, and no read timeout: TCP_USER_TIMEOUT drops the connection when data we
/// sent stays unacknowledged that long (a query in flight), keepalive probes when the connection
/// is idle. A slow server's TCP stack still acknowledges our query and answers the probes, so a
/// long query is never cut.

#include <string>

namespace ringtrace::ms1 {

/// The TCP settings one io timeout stands for: idle + count × interval ≈ the timeout.
struct TcpLiveness {
  int keepalive_idle_s = 0;      ///< TCP_KEEPIDLE / libpq keepalives_idle: silence before the first probe
  int keepalive_interval_s = 0;  ///< TCP_KEEPINTVL / libpq keepalives_interval: between probes
  int keepalive_count = 0;       ///< TCP_KEEPCNT / libpq keepalives_count: unanswered probes that drop it
  int user_timeout_ms = 0;       ///< TCP_USER_TIMEOUT / libpq tcp_user_timeout: unacknowledged data that long drops it
};

/// The settings for `io_timeout_ms` (at least 1000): three probes a sixth of it apart after the rest
/// idle, in whole seconds as the kernel counts them (so at least 1 s each), and the user timeout equal to it.
TcpLiveness tcp_liveness(int io_timeout_ms);

/// Whether `fd` is a TCP socket; a driver given `localhost` may use a Unix socket, which has no
/// TCP options and no network to go silent.
bool is_tcp_socket(int fd);

/// Sets `liveness` and SO_KEEPALIVE on the connected TCP socket `fd` and reads each back; throws
/// std::runtime_error naming the option the kernel refused or did not keep.
void apply_tcp_liveness(int fd, const TcpLiveness& liveness);

/// What getsockopt says `fd` has, to check a driver kept what it was given (`keepalive_idle_s`
/// and the rest are 0 when SO_KEEPALIVE is off); throws std::runtime_error when it cannot read them.
TcpLiveness read_tcp_liveness(int fd);

}  // namespace ringtrace::ms1
