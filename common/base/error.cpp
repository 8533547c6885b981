#include "base/error.h"

#include <cstdio>
#include <cstring>

namespace walferry {

namespace {

struct Entry {
    ErrorCode code;
    std::string_view name;
    int exit;
};

// The exit status table documented in man/ (EXIT STATUS). 2 is reserved for usage errors,
// like pg_archivecleanup and CLI11.
constexpr Entry kCatalogue[] = {
    {ErrorCode::kUsage, "usage", 2},
    {ErrorCode::kInvalidName, "invalid name", 3},
    {ErrorCode::kInvalidLsn, "invalid lsn", 3},
    {ErrorCode::kInvalidHistory, "invalid history", 3},
    {ErrorCode::kInvalidWalHeader, "invalid wal header", 3},
    {ErrorCode::kInvalidContainer, "invalid container", 4},
    {ErrorCode::kChecksumMismatch, "checksum mismatch", 4},
    {ErrorCode::kConflict, "conflict", 5},
    {ErrorCode::kForeignCluster, "foreign cluster", 6},
    {ErrorCode::kConfig, "config", 7},
    {ErrorCode::kIo, "io", 8},
    {ErrorCode::kUnavailable, "unavailable", 9},
    {ErrorCode::kNotFound, "not found", 1},
    {ErrorCode::kUnsupported, "unsupported", 10},
    {ErrorCode::kInternal, "internal", 11},
    {ErrorCode::kInvalidState, "invalid state", 4},
};

const Entry& entry_of(ErrorCode code) noexcept {
    for (const auto& e : kCatalogue) {
        if (e.code == code) return e;
    }
    return kCatalogue[0];  // not reached for the code below: kInternal is in the table
}

// A code outside the catalogue can only come from a bug (a cast, a newer enum than this table):
// it is reported as what it is, an internal error, never as some other category.
const Entry& lookup(ErrorCode code) noexcept {
    const auto raw = static_cast<int>(code);
    if (raw < 1 || raw > static_cast<int>(kLastErrorCode)) return entry_of(ErrorCode::kInternal);
    return entry_of(code);
}

}  // namespace

int exit_code(ErrorCode code) noexcept {
    return lookup(code).exit;
}

int fetch_exit_code(ErrorCode code, bool recovery_mode) noexcept {
    if (code == ErrorCode::kNotFound) return 1;
    if (recovery_mode) return kExitStopRecovery;
    // "Go on" either way: a broken command line keeps its own status where it does no harm.
    return code == ErrorCode::kUsage || code == ErrorCode::kInvalidName ? exit_code(code) : 1;
}

int cleanup_exit_code(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::kUsage:
        case ErrorCode::kInvalidName:
            return 2;
        default:
            return 1;
    }
}

int status_exit_code(ErrorCode /*code*/) noexcept {
    return kStatusUnknown;
}

std::string_view error_name(ErrorCode code) noexcept {
    return lookup(code).name;
}

std::string error_tag(ErrorCode code) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "WF%03d", static_cast<int>(code));
    return buf;
}

std::string errno_text(int err) {
    char buf[256];
    // GNU strerror_r returns the message pointer, which may or may not be buf.
    return strerror_r(err, buf, sizeof buf);
}

void throw_io(std::string_view what, std::string_view path, int err) {
    throw Error(ErrorCode::kIo,
                std::string(what) + " \"" + std::string(path) + "\": " + errno_text(err));
}

}  // namespace walferry
