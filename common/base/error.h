// The one catalogue of walferry errors. Every failure is raised as walferry::Error carrying one
// of these codes; only main() catches it and turns the code into an exit status (exit_code()).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace walferry {

// Stable numeric codes: never renumber, only append. The number is printed in messages
// ("error WF012") so operators can grep logs and docs for it.
enum class ErrorCode : int {
    kUsage = 1,             // bad command line
    kInvalidName = 2,       // not a WAL file name walferry accepts
    kInvalidLsn = 3,        // not an LSN
    kInvalidHistory = 4,    // malformed timeline history file
    kInvalidWalHeader = 5,  // WAL page header missing, malformed, or not matching the file name
    kInvalidContainer = 6,  // archived file is not a walferry container or is damaged
    kChecksumMismatch = 7,  // archived content does not match its recorded SHA-256 or size
    kConflict = 8,          // a different file is already archived under this name
    kForeignCluster = 9,    // segment belongs to another cluster than the archive
    kConfig = 10,           // configuration file or URL is wrong
    kIo = 11,               // local file system error
    kUnavailable = 12,      // a destination or source could not be reached
    kNotFound = 13,         // requested file is in no source
    kUnsupported = 14,      // feature not available in this build
    kInternal = 15,         // a bug: an invariant did not hold
    kInvalidState = 16,     // walferry's own state (cleanup consumers, spool) is damaged
};
inline constexpr ErrorCode kLastErrorCode = ErrorCode::kInvalidState;

class Error : public std::runtime_error {
  public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

  private:
    ErrorCode code_;
};

// Exit status of walferry-push for an error (always 1..125, as archive_command requires).
int exit_code(ErrorCode code) noexcept;

// Exit status of walferry-fetch (restore_command). PostgreSQL reads 1..125 as "not available,
// go on" and anything above 125 as "stop recovery". Not found is 1. Every failure, a usage error
// or an invalid name too, is 255 in targeted recovery, where "go on" would end recovery early at
// the wrong point; in standby mode (the server asks again later) 1, usage errors and invalid
// names their own 2 and 3. (walferry-fetch run by hand outside a data directory keeps
// exit_code() for those two: see archive_fetch/fetch.h.)
int fetch_exit_code(ErrorCode code, bool recovery_mode) noexcept;
inline constexpr int kExitStopRecovery = 255;

// Exit status of walferry-cleanup, a drop-in for pg_archivecleanup: 2 for usage errors and bad
// file name arguments, 1 for every runtime error.
int cleanup_exit_code(ErrorCode code) noexcept;

// walferry-status follows the monitoring-plugin convention (Nagios, Icinga): 0 OK, 1 WARNING,
// 2 CRITICAL from what it found; every error (usage, config, a failure to look) is 3 UNKNOWN.
inline constexpr int kStatusOk = 0;
inline constexpr int kStatusWarning = 1;
inline constexpr int kStatusCritical = 2;
inline constexpr int kStatusUnknown = 3;
int status_exit_code(ErrorCode code) noexcept;

// "WF008" for kConflict.
std::string error_tag(ErrorCode code);

// Short lower-case name of the category, e.g. "conflict".
std::string_view error_name(ErrorCode code) noexcept;

// Text of errno `err`, as strerror would give it (thread-safe).
std::string errno_text(int err);

// Error(kIo, "<what> \"<path>\": <strerror(err)>").
[[noreturn]] void throw_io(std::string_view what, std::string_view path, int err);

}  // namespace walferry
