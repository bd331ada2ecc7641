#include "ringtrace/ms2/session_registry.hpp"

#include <vector>

#include "ringtrace/ms2/ws_session.hpp"

namespace ringtrace::ms2 {

void SessionRegistry::add(const std::shared_ptr<WsSession>& session) {
  std::lock_guard lock(mutex_);
  sessions_[session.get()] = session;
}

void SessionRegistry::remove(const WsSession* session) {
  std::function<void()> action;
  {
    std::lock_guard lock(mutex_);
    if (sessions_.erase(session) == 0 || !sessions_.empty()) {
      return;
    }
    action = on_empty_;
  }
  if (action) {
    action();
  }
}

std::size_t SessionRegistry::close_all() {
  std::vector<std::shared_ptr<WsSession>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, weak] : sessions_) {
      if (auto session = weak.lock()) {
        live.push_back(std::move(session));
      }
    }
  }
  for (auto& session : live) {
    session->close();
  }
  return live.size();
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void SessionRegistry::set_on_empty(std::function<void()> action) {
  std::lock_guard lock(mutex_);
  on_empty_ = std::move(action);
}

}  // namespace ringtrace::ms2
