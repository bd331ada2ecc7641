#pragma once
/// @file
/// The one place MS2's asynchronous operations report errors.

#include <boost/beast/core/error.hpp>

namespace ringtrace::ms2::detail {

/// Logs a failed operation `what`; ends of connection (closed, aborted, reset, EOF) are normal and go to debug.
void fail(boost::beast::error_code ec, const char* what);

}  // namespace ringtrace::ms2::detail
