#include "archive_fetch/prefetch_plan.h"

#include <algorithm>

#include "base/error.h"

namespace walferry {

namespace {

bool contains(const std::vector<WalName>& names, const WalName& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

bool segment_before(const WalName& a, const WalName& b) noexcept {
    if (a.tli != b.tli) return a.tli < b.tli;
    if (a.log != b.log) return a.log < b.log;
    return a.seg < b.seg;
}

std::vector<WalName> prefetch_window(const WalName& served, std::uint64_t seg_size, int depth) {
    std::vector<WalName> window;
    WalName name = served;
    name.compressed = false;
    for (int i = 0; i < depth; ++i) {
        try {
            name = next_segment(name, seg_size);
        } catch (const Error&) {
            break;  // past the last segment there is nothing to fetch
        }
        window.push_back(name);
    }
    return window;
}

std::vector<WalName> stale_entries(const std::vector<WalName>& entries, const WalName& requested) {
    bool other_timeline = std::any_of(entries.begin(), entries.end(),
                                      [&](const WalName& e) { return e.tli != requested.tli; });
    if (other_timeline) return entries;
    std::vector<WalName> stale;
    for (const WalName& e : entries) {
        if (segment_before(e, requested)) stale.push_back(e);
    }
    return stale;
}

std::vector<WalName> names_not_in(const std::vector<WalName>& names,
                                  const std::vector<WalName>& others) {
    std::vector<WalName> out;
    for (const WalName& n : names) {
        if (!contains(others, n)) out.push_back(n);
    }
    return out;
}

bool worker_wanted(const std::vector<WalName>& window, const std::vector<WalName>& entries) {
    if (window.empty()) return false;
    std::size_t present = window.size() - names_not_in(window, entries).size();
    return present * 2 <= window.size();
}

}  // namespace walferry
