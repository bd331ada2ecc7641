#pragma once
/// @file
/// A link that goes silent the way a partition does: packets dropped, no FIN, no reset. A relay
/// in user space cannot do it alone (its kernel keeps acknowledging what it no longer forwards,
/// which looks like a slow peer, not a lost one), so the client side lives in a network namespace
/// of the test's own, where a DROP rule on the relay's port silences both directions.
/// Needs root, `ip` and `iptables`; touches no address, route or rule outside its namespace.

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ringtrace::test {

/// Runs `command` through the shell, output discarded; true on exit status 0.
inline bool shell(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

/// A network namespace `rt-t<pid>-link` with its loopback up, deleted on destruction (and, if a run
/// was killed, by the next run: a namespace of a pid no longer alive is swept at construction).
class PrivateNetwork {
 public:
  /// Why this machine cannot make one (not root, no `ip` or `iptables`); nullopt when it can.
  static std::optional<std::string> unavailable() {
    if (geteuid() != 0) return "needs root for a network namespace";
    if (!shell("command -v ip") || !shell("command -v iptables")) return "needs ip and iptables";
    return std::nullopt;
  }

  /// Creates the namespace; throws std::runtime_error when it cannot.
  PrivateNetwork() : name_("rt-t" + std::to_string(getpid()) + "-link") {
    sweep();
    shell("ip netns del " + name_);
    if (!shell("ip netns add " + name_) || !shell("ip -n " + name_ + " link set lo up")) {
      shell("ip netns del " + name_);
      throw std::runtime_error("cannot create network namespace " + name_);
    }
    root_ = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    own_ = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    if (root_ < 0 || own_ < 0) {
      close_fds();
      shell("ip netns del " + name_);
      throw std::runtime_error("cannot open network namespace " + name_);
    }
  }
  /// Deletes the namespace; its sockets go with it.
  ~PrivateNetwork() {
    close_fds();
    shell("ip netns del " + name_);
  }
  PrivateNetwork(const PrivateNetwork&) = delete;
  PrivateNetwork& operator=(const PrivateNetwork&) = delete;

  /// Runs `f` on this thread inside the namespace, so the sockets it creates live there for good.
  template <typename F>
  void inside(F&& f) {
    if (setns(own_, CLONE_NEWNET) != 0) throw std::runtime_error("setns into " + name_);
    try {
      f();
    } catch (...) {
      setns(root_, CLONE_NEWNET);
      throw;
    }
    if (setns(root_, CLONE_NEWNET) != 0) throw std::runtime_error("setns back from " + name_);
  }

  /// Drops every packet to and from `port` inside the namespace, silently, both ways.
  void silence(std::uint16_t port) {
    for (const char* side : {"--dport", "--sport"}) {
      if (!shell(rule("-I", side, port))) throw std::runtime_error("iptables in " + name_);
    }
  }
  /// Undoes silence(`port`).
  void heal(std::uint16_t port) {
    for (const char* side : {"--dport", "--sport"}) shell(rule("-D", side, port));
  }

 private:
  std::string rule(const char* action, const char* side, std::uint16_t port) const {
    return "ip netns exec " + name_ + " iptables " + action + " INPUT -p tcp " + side + " " + std::to_string(port) +
           " -j DROP";
  }
  void close_fds() {
    if (root_ >= 0) ::close(root_);
    if (own_ >= 0) ::close(own_);
    root_ = own_ = -1;
  }
  /// Deletes the namespaces left by runs that were killed.
  static void sweep() {
    std::unique_ptr<FILE, int (*)(FILE*)> list(popen("ip netns list 2>/dev/null", "r"), pclose);
    if (!list) return;
    static const std::regex pattern(R"(^rt-t(\d+)-link\b)");
    char line[256];
    while (fgets(line, sizeof line, list.get()) != nullptr) {
      std::cmatch match;
      if (!std::regex_search(line, match, pattern)) continue;
      const auto pid = static_cast<pid_t>(std::stol(match[1].str()));
      if (pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) shell("ip netns del " + match[0].str());
    }
  }

  std::string name_;
  int root_ = -1;
  int own_ = -1;
};

/// Listens on 127.0.0.1 inside `network` and relays each connection to `upstream_port` on the
/// host's 127.0.0.1, byte for byte, on a thread per connection. PrivateNetwork::silence() on
/// port() is the partition.
class TcpRelay {
 public:
  /// Starts listening; throws std::runtime_error when it cannot.
  TcpRelay(PrivateNetwork& network, std::uint16_t upstream_port) : upstream_port_(upstream_port) {
    network.inside([&] {
      listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address = loopback(0);
      socklen_t size = sizeof address;
      if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
          ::listen(listener_, 16) != 0 ||
          ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
        throw std::runtime_error("relay: cannot listen");
      }
      port_ = ntohs(address.sin_port);
    });
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  /// Stops relaying and closes every connection.
  ~TcpRelay() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : pumps_) t.join();
    ::close(listener_);
  }
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  /// The port clients connect to, inside the namespace.
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    return address;
  }

  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      // This thread never left the host's namespace, so the upstream socket is made there.
      const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const sockaddr_in address = loopback(upstream_port_);
      if (server < 0 || ::connect(server, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(client);
        if (server >= 0) ::close(server);
        continue;
      }
      pumps_.emplace_back([this, client, server] { pump(client, server); });
    }
  }

  void pump(int a, int b) {
    char buffer[16384];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    while (!stop_) {
      if (::poll(fds, 2, 50) <= 0) continue;
      bool open = true;
      for (int i = 0; i < 2 && open; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        open = n > 0 && ::send(fds[1 - i].fd, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) == n;
      }
      if (!open) break;
    }
    ::close(a);
    ::close(b);
  }

  std::uint16_t upstream_port_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;  ///< only the acceptor thread adds; joined after it stopped
};

}  // namespace ringtrace::test
