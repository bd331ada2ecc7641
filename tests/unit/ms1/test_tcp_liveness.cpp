#include "ringtrace/ms1/db/tcp_liveness.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace ringtrace::ms1;

namespace {

/// A socket closed on scope exit.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// The kernel's upper limits (include/net/tcp.h: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT).
constexpr int kMaxKeepIdle = 32767;
constexpr int kMaxKeepCount = 127;

}  // namespace

TEST(TcpLiveness, TheDefaultDropsASilentServerInFiveSeconds) {
  const auto l = tcp_liveness(5000);
  EXPECT_EQ(l.keepalive_idle_s, 2);
  EXPECT_EQ(l.keepalive_interval_s, 1);
  EXPECT_EQ(l.keepalive_count, 3);
  EXPECT_EQ(l.user_timeout_ms, 5000);
}

TEST(TcpLiveness, IdleProbesFitTheTimeoutOverTheWholeRange) {
  for (const int io_ms : {1000, 1999, 2000, 3000, 5000, 7500, 10000, 60000, 3600 * 1000}) {
    const auto l = tcp_liveness(io_ms);
    EXPECT_GE(l.keepalive_idle_s, 1) << io_ms;
    EXPECT_GE(l.keepalive_interval_s, 1) << io_ms;
    EXPECT_EQ(l.user_timeout_ms, io_ms);
    const int idle_bound_ms = (l.keepalive_idle_s + l.keepalive_count * l.keepalive_interval_s) * 1000;
    // Whole seconds: never more than the timeout once it has room for them (below 4 s the minimum of
    // 1 s each is longer, and TCP_USER_TIMEOUT, which also bounds probing, cuts at the timeout).
    if (io_ms >= 4000) {
      EXPECT_LE(idle_bound_ms, io_ms) << io_ms;
    }
    EXPECT_GE(idle_bound_ms, io_ms * 3 / 4) << io_ms << ": probing far sooner than asked";
    EXPECT_LE(l.keepalive_idle_s, kMaxKeepIdle);
    EXPECT_LE(l.keepalive_interval_s, kMaxKeepIdle);
    EXPECT_LE(l.keepalive_count, kMaxKeepCount);
  }
}

TEST(TcpLiveness, AppliedToATcpSocketAndReadBack) {
  Fd listener{::socket(AF_INET, SOCK_STREAM, 0)};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ASSERT_EQ(::bind(listener.fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener.fd, 1), 0);
  ASSERT_EQ(::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&address), &size), 0);
  Fd client{::socket(AF_INET, SOCK_STREAM, 0)};
  ASSERT_EQ(::connect(client.fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);

  ASSERT_TRUE(is_tcp_socket(client.fd));
  const auto before = read_tcp_liveness(client.fd);
  EXPECT_EQ(before.keepalive_idle_s, 0) << "keepalive is off on a fresh socket";
  EXPECT_EQ(before.user_timeout_ms, 0);

  const auto wanted = tcp_liveness(5000);
  apply_tcp_liveness(client.fd, wanted);
  const auto kept = read_tcp_liveness(client.fd);
  EXPECT_EQ(kept.keepalive_idle_s, wanted.keepalive_idle_s);
  EXPECT_EQ(kept.keepalive_interval_s, wanted.keepalive_interval_s);
  EXPECT_EQ(kept.keepalive_count, wanted.keepalive_count);
  EXPECT_EQ(kept.user_timeout_ms, wanted.user_timeout_ms);
}

TEST(TcpLiveness, AUnixSocketIsLeftAlone) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  Fd a{pair[0]};
  Fd b{pair[1]};
  EXPECT_FALSE(is_tcp_socket(a.fd));
  EXPECT_FALSE(is_tcp_socket(-1));
  EXPECT_THROW(apply_tcp_liveness(a.fd, tcp_liveness(5000)), std::runtime_error) << "the error names the option";
}
