#include "ringtrace/ms1/db/tcp_liveness.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ringtrace::ms1 {

namespace {

constexpr int kProbes = 3;

int get_int(int fd, int level, int option, const char* name) {
  int value = 0;
  socklen_t size = sizeof value;
  if (getsockopt(fd, level, option, &value, &size) != 0) {
    throw std::runtime_error(std::string("reading ") + name + ": " + std::strerror(errno));
  }
  return value;
}

void set_int(int fd, int level, int option, const char* name, int value) {
  if (setsockopt(fd, level, option, &value, sizeof value) != 0) {
    throw std::runtime_error(std::string("setting ") + name + "=" + std::to_string(value) + ": " + std::strerror(errno));
  }
  if (const int kept = get_int(fd, level, option, name); kept != value) {
    throw std::runtime_error(std::string(name) + " set to " + std::to_string(value) + " reads back " +
                             std::to_string(kept));
  }
}

}  // namespace

TcpLiveness tcp_liveness(int io_timeout_ms) {
  TcpLiveness out;
  out.keepalive_interval_s = std::max(1, io_timeout_ms / (2 * kProbes * 1000));
  out.keepalive_idle_s = std::max(1, io_timeout_ms / 1000 - kProbes * out.keepalive_interval_s);
  out.keepalive_count = kProbes;
  out.user_timeout_ms = io_timeout_ms;
  return out;
}

bool is_tcp_socket(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return false;
  return address.ss_family == AF_INET || address.ss_family == AF_INET6;
}

void apply_tcp_liveness(int fd, const TcpLiveness& liveness) {
  set_int(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1);
  set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", liveness.keepalive_idle_s);
  set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", liveness.keepalive_interval_s);
  set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", liveness.keepalive_count);
  set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", liveness.user_timeout_ms);
}

TcpLiveness read_tcp_liveness(int fd) {
  TcpLiveness out;
  out.user_timeout_ms = get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT");
  if (get_int(fd, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE") == 0) return out;
  out.keepalive_idle_s = get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE");
  out.keepalive_interval_s = get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL");
  out.keepalive_count = get_int(fd, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT");
  return out;
}

}  // namespace ringtrace::ms1
