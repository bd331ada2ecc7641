#pragma once
/// @file
/// The one fake HTTP server of the tests: a stand-in for MS1's POST /store and for an OTLP
/// collector, scriptable per request, recording what it received.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace ringtrace::test {

/// One request the server saw.
struct ReceivedRequest {
  std::string method;        ///< e.g. POST
  std::string target;        ///< e.g. /store
  std::string content_type;  ///< request Content-Type
  std::string traceparent;   ///< request traceparent header; empty = none
  std::string clock;         ///< request Ringtrace-Clock-Offset header; empty = none
  std::string body;          ///< request body
  unsigned answered = 0;     ///< status it was given; 0 = hung up without answering
  std::size_t connection = 0;  ///< which connection it came on, counted from 0 in accept order
  std::size_t index = 0;       ///< its place on that connection, from 0
};

/// What becomes of the connection after a request.
enum class AfterAnswer {
  kKeepAlive,  ///< answer keep-alive and read the next request
  kClose,      ///< answer with `Connection: close`, then close
  kDrop,       ///< answer still advertising keep-alive, then close anyway, as a server's idle timeout does
  kHangUp,     ///< close without answering, as a server dying mid-request does
};

/// How the server answers one request.
struct FakeResponse {
  unsigned status = 200;  ///< HTTP status
  std::string body;       ///< JSON body; empty: `{"stored":true}` for 2xx, `{"error":"scripted"}` otherwise
  AfterAnswer after = AfterAnswer::kKeepAlive;  ///< what happens to the connection next
  std::vector<std::pair<std::string, std::string>> headers = {};  ///< further answer headers, as name and value
};

/// HTTP/1.1 server on 127.0.0.1 with keep-alive and pipelining, on its own thread. Answers 200
/// unless told otherwise (a status, held, closing modes, or a responder for anything else);
/// every setter may be called while it serves.
class FakeHttpServer {
 public:
  /// Decides the answer to each request, on the server thread (scripted tests).
  using Responder = std::function<FakeResponse(const ReceivedRequest&)>;

  /// Listens on 127.0.0.1:`port` (0: any free port) and starts serving.
  explicit FakeHttpServer(std::uint16_t port = 0);
  /// Stops the loop and joins its thread.
  ~FakeHttpServer();

  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  /// The bound port.
  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// http://127.0.0.1:PORT followed by `target`.
  [[nodiscard]] std::string url(std::string_view target) const;

  /// The status every request gets (default 200).
  void set_status(unsigned status) { status_.store(status); }
  /// While held, every request is answered 503 (MS1 busy).
  void hold(bool held) { held_.store(held); }
  /// Closes each connection after answering while still advertising keep-alive.
  void drop_connections(bool drop) { drop_.store(drop); }
  /// Answers `Connection: close` and closes each connection after its first answer.
  void close_connections(bool close) { close_.store(close); }
  /// Replaces the rules above by `responder` (empty: back to them).
  void set_responder(Responder responder);
  /// Holds the answers on a connection until `count` requests arrived on it, then writes them
  /// at once: a client that waits for an answer before sending the next request never gets one.
  void answer_after(std::size_t count) { answer_after_.store(count); }

  /// Every request seen so far, in arrival order.
  [[nodiscard]] std::vector<ReceivedRequest> requests() const;
  /// Bodies answered 2xx, in order.
  [[nodiscard]] std::vector<std::string> stored() const;
  /// Connections accepted (to check keep-alive).
  [[nodiscard]] std::size_t connections() const { return connections_.load(); }
  /// Every byte received, as sent (heads and bodies), connections in accept order.
  [[nodiscard]] std::string received() const;

  /// Records a request and decides its answer (server thread).
  FakeResponse answer(ReceivedRequest request);
  /// Appends bytes read from a connection (server thread).
  void record_bytes(std::size_t connection, std::string_view bytes);
  /// How many requests a connection waits for before it answers (server thread).
  [[nodiscard]] std::size_t answers_held_until() const { return answer_after_.load(); }

 private:
  void do_accept();

  boost::asio::io_context ioc_{1};
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<unsigned> status_{200};
  std::atomic<bool> held_{false};
  std::atomic<bool> drop_{false};
  std::atomic<bool> close_{false};
  std::atomic<std::size_t> answer_after_{0};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mutex_;
  Responder responder_;                   ///< guarded by mutex_
  std::vector<ReceivedRequest> requests_;  ///< guarded by mutex_
  std::vector<std::string> received_;     ///< per connection; guarded by mutex_
  std::thread thread_;                    ///< last: starts once everything above exists
};

/// A port nobody listens on right now (bound then released), for "the server is down" tests.
std::uint16_t free_port();

/// A listener that never accepts: connects complete in the kernel backlog, but nothing is read
/// or answered, for time-limit tests.
class SilentServer {
 public:
  SilentServer();
  /// The bound port.
  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  /// http://127.0.0.1:PORT followed by `target`.
  [[nodiscard]] std::string url(std::string_view target) const;

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace ringtrace::test
