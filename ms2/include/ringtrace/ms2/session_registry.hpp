#pragma once
/// @file
/// The live WebSocket sessions, so shutdown can send each a close frame.

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace ringtrace::ms2 {

class WsSession;

/// Weak references to live sessions; sessions own themselves, the registry never keeps one alive.
class SessionRegistry {
 public:
  /// Records a session that has completed its upgrade.
  void add(const std::shared_ptr<WsSession>& session);
  /// Forgets a session (called from its destructor); runs the on-empty action when the last one goes.
  void remove(const WsSession* session);
  /// Asks every live session to close with a close frame; returns how many were asked.
  std::size_t close_all();
  /// Sessions currently registered.
  std::size_t size() const;
  /// Action run (outside the lock) when the registry becomes empty; empty function to clear.
  void set_on_empty(std::function<void()> action);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const WsSession*, std::weak_ptr<WsSession>> sessions_;
  std::function<void()> on_empty_;
};

}  // namespace ringtrace::ms2
