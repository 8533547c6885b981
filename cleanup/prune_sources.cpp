#include "cleanup/prune_sources.h"

#include <algorithm>
#include <tuple>

#include "base/error.h"
#include "pg/pg_connection.h"
#include "wal/lsn.h"

namespace walferry {

namespace {

// Every failure to ask a server stops the prune before anything is removed.
class Server : public PgConnection {
  public:
    explicit Server(const ServerSpec& spec)
        : PgConnection(spec.name, spec.conninfo, "walferry-cleanup", "nothing removed") {}
};

std::uint32_t parse_tli(Server& server, const std::string& text) {
    try {
        std::size_t used = 0;
        unsigned long v = std::stoul(text, &used);
        if (used == text.size() && v > 0 && v <= 0xFFFFFFFFul) return static_cast<std::uint32_t>(v);
    } catch (const std::exception&) {
    }
    server.fail("unexpected timeline \"" + text + "\"");
}

// nullopt: the server needs nothing from the archive (a primary without physical slots).
std::optional<WalName> server_cutoff(const ServerSpec& spec, std::uint64_t seg_size) {
    Server server(spec);
    std::vector<std::string> control = server.row(
        "SELECT pg_is_in_recovery()::text, redo_wal_file, timeline_id::text "
        "FROM pg_control_checkpoint()");
    if (control[0] == "true") {
        WalName redo;
        if (!try_parse_wal_name(control[1], redo) || redo.kind != WalKind::kSegment) {
            server.fail("unexpected redo_wal_file \"" + control[1] + "\"");
        }
        return redo;
    }
    std::vector<std::string> slots = server.row(
        "SELECT min(restart_lsn)::text FROM pg_replication_slots "
        "WHERE slot_type = 'physical' AND restart_lsn IS NOT NULL");
    if (slots[0].empty()) return std::nullopt;
    Lsn lsn = parse_lsn(slots[0]);
    return segment_name(parse_tli(server, control[2]), lsn_to_segno(lsn, seg_size), seg_size);
}

}  // namespace

WalName keep_backups_cutoff(const std::vector<ArchiveEntry>& entries, int keep) {
    if (keep < 1) throw Error(ErrorCode::kInternal, "keep_backups_cutoff needs keep >= 1");
    std::vector<WalName> backups;
    for (const ArchiveEntry& e : entries) {
        if (e.is_wal && e.name.kind == WalKind::kBackupHistory) backups.push_back(e.name);
    }
    if (backups.empty()) {
        throw Error(ErrorCode::kInvalidState,
                    "keep_backups = " + std::to_string(keep) +
                        " but the archive holds no .backup file; nothing removed");
    }
    std::sort(backups.begin(), backups.end(), [](const WalName& a, const WalName& b) {
        return std::tie(a.log, a.seg, a.offset) > std::tie(b.log, b.seg, b.offset);
    });
    WalName cut =
        backups[std::min<std::size_t>(static_cast<std::size_t>(keep), backups.size()) - 1];
    cut.kind = WalKind::kSegment;
    cut.offset = 0;
    cut.compressed = false;
    return cut;
}

std::vector<std::pair<std::string, WalName>> prune_cutoffs(const Config& config,
                                                           const std::vector<ArchiveEntry>& entries,
                                                           std::uint64_t seg_size) {
    std::vector<std::pair<std::string, WalName>> out;
    for (const ServerSpec& spec : config.servers) {
        if (std::optional<WalName> cut = server_cutoff(spec, seg_size)) {
            out.emplace_back("server." + spec.name, *cut);
        }
    }
    if (config.cleanup.keep_backups > 0) {
        out.emplace_back("keep-backups", keep_backups_cutoff(entries, config.cleanup.keep_backups));
    }
    if (out.empty()) {
        throw Error(ErrorCode::kConfig,
                    "--prune: no [[server]] reported a position and keep_backups is not set in \"" +
                        config.origin +
                        "\", so nothing says what is still needed; nothing removed");
    }
    return out;
}

}  // namespace walferry
