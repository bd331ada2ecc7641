#pragma once
/// @file
/// The two ways a database call fails, as the ring's writer and the reports both tell them apart:
/// reconnect and retry, or give up on this statement.

#include <stdexcept>

namespace ringtrace::ms1 {

/// The database could not be reached or lost the connection; the caller may reconnect and retry.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The database refused the statement itself; retrying the same data will not help.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ringtrace::ms1
