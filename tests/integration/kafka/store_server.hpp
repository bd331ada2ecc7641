#pragma once
/// @file
/// A stand-in for MS1's POST /store: answers scripted statuses and records what it received.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace ringtrace::test {

/// One request the server saw.
struct ReceivedRequest {
  std::string method;        ///< e.g. POST
  std::string target;        ///< e.g. /store
  std::string content_type;  ///< request Content-Type
  std::string body;          ///< request body
  unsigned answered = 0;     ///< status it was given
};

/// HTTP/1.1 server with keep-alive on its own thread; answers 503 while held, then 200.
class StoreServer {
 public:
  /// Listens on 127.0.0.1:`port` (0: any free port) and starts serving.
  explicit StoreServer(std::uint16_t port = 0);
  /// Stops the loop and joins its thread.
  ~StoreServer();

  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  /// The bound port.
  std::uint16_t port() const { return port_; }
  /// While held, every request is answered 503.
  void hold(bool held) { held_.store(held); }
  /// Closes each connection after answering while still advertising keep-alive, like a server's idle timeout.
  void drop_connections(bool drop) { drop_.store(drop); }
  /// True when connections are dropped after each answer (server thread).
  bool dropping() const { return drop_.load(); }
  /// Every request seen so far.
  std::vector<ReceivedRequest> requests() const;
  /// Bodies answered 2xx, in order.
  std::vector<std::string> stored() const;
  /// Connections accepted (to check keep-alive).
  std::size_t connections() const { return connections_.load(); }
  /// Polls until `predicate(*this)` or `timeout`; true if it came true.
  template <class Predicate>
  bool wait_until(Predicate predicate, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (predicate(*this)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return predicate(*this);
  }

  /// Records a request and chooses the status (server thread).
  unsigned record(ReceivedRequest request);
  /// Counts an accepted connection (server thread).
  void count_connection() { connections_.fetch_add(1); }

 private:
  void do_accept();

  boost::asio::io_context ioc_{1};
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> held_{false};
  std::atomic<bool> drop_{false};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
  std::thread thread_;
};

/// A port nobody listens on right now (bound then released), for "MS1 is down" tests.
std::uint16_t free_port();

}  // namespace ringtrace::test
