#include "cleanup/cleanup_report.h"

#include <cerrno>
#include <cstdio>

#include "base/error.h"
#include "base/human_units.h"

namespace walferry {

namespace {

// -d's report goes to stderr, which stdio does not buffer: a write that failed is an error at
// once, before the next removal (a script reading the report must not lose what was removed).
// stdout (-n) is checked when the tool exits (tool_main.h).
void check_report_write(int written, std::FILE* out) {
    if (written >= 0 || out != stderr) return;
    throw Error(ErrorCode::kIo, "cannot write the -d report to stderr: " + errno_text(errno));
}

}  // namespace

void CleanupReport::note(const std::string& stored, const CleanupDecision& decision) {
    if (!dry_run_ && !debug_) return;  // sizes cost a stat per file: only when reporting
    std::optional<ObjectStat> st = store_.stat(stored, 0);
    Tally& t = tallies_[{decision.remove, decision.category}];
    ++t.files;
    t.bytes += st ? st->size : 0;
    if (dry_run_) {
        std::printf("%s %s: %s\n", decision.remove ? "remove" : "keep", stored.c_str(),
                    decision.reason.c_str());
    } else if (decision.remove) {
        check_report_write(std::fprintf(stderr, "walferry-cleanup: removing file \"%s\": %s\n",
                                        stored.c_str(), decision.reason.c_str()),
                           stderr);
    }
}

bool CleanupReport::younger_than(const std::string& stored, std::int64_t threshold) {
    std::optional<ObjectStat> st = store_.stat(stored, 0);
    return st && st->mtime > threshold;
}

void CleanupReport::finish() {
    if (!dry_run_ && !debug_) return;
    Tally removed;
    Tally kept;
    std::string detail;
    for (const auto& [key, t] : tallies_) {
        Tally& total = key.first ? removed : kept;
        total.files += t.files;
        total.bytes += t.bytes;
        detail += std::string(detail.empty() ? "" : "; ") + (key.first ? "remove " : "keep ") +
                  key.second + ": " + std::to_string(t.files) + " (" + human_bytes(t.bytes) + ")";
    }
    std::FILE* out = dry_run_ ? stdout : stderr;
    int written = std::fprintf(
        out, "%s%s %llu files (%s), kept %llu files (%s)%s%s\n",
        dry_run_ ? "summary (dry run): " : "walferry-cleanup: summary: ",
        dry_run_ ? "would remove" : "removed", static_cast<unsigned long long>(removed.files),
        human_bytes(removed.bytes).c_str(), static_cast<unsigned long long>(kept.files),
        human_bytes(kept.bytes).c_str(), detail.empty() ? "" : " — ", detail.c_str());
    check_report_write(written, out);
}

}  // namespace walferry
