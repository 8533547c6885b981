// walferry-test-make-segment: writes one WAL segment file that walferry accepts, for the
// end-to-end tests that need no PostgreSQL server. Deliberately independent of walferry's own
// code (it links only CLI11), so a bug in walferry's header parsing cannot hide in the tests.
//
// The file starts with a valid XLogLongPageHeaderData (host byte order), every later 8 KiB page
// with a short XLogPageHeaderData, and the rest is record-shaped pseudo-WAL: increasing LSNs and
// transaction ids, a few random bytes and blank padding. It compresses about as well as pgbench
// WAL, which constant or random bytes would not. Same options, same bytes.
//
// With --pg-control it writes "<out>/global/pg_control" of cluster --sysid instead: what
// walferry-fetch reads to learn the recovering server's cluster (PostgreSQL 15's layout as far
// as it matters: system identifier first, the CRC-32C of ControlFileData at its end).
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::uint32_t kBlockSize = 8192;
constexpr std::uint16_t kLongHeaderFlag = 0x0002;
constexpr std::size_t kLongHeaderSize = 40;
constexpr std::size_t kShortHeaderSize = 24;

struct SegmentSpec {
    std::uint32_t tli = 1;
    std::uint64_t segno = 1;
    std::uint32_t seg_size = 16U << 20;
    std::uint64_t sysid = 7300000000000000001ULL;
    std::uint64_t seed = 0;
    std::uint16_t magic = 0xD110;  // PostgreSQL 15
};

template <typename T>
void put(std::vector<std::uint8_t>& page, std::size_t offset, T value) {
    std::memcpy(page.data() + offset, &value, sizeof value);
}

// XLogFileName: timeline, then segno split into "log" and "seg" of 2^32 / seg_size segments.
std::string segment_file_name(const SegmentSpec& spec) {
    const std::uint64_t per_log = 0x100000000ULL / spec.seg_size;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08X%08X%08X", spec.tli,
                  static_cast<unsigned>(spec.segno / per_log),
                  static_cast<unsigned>(spec.segno % per_log));
    return buf;
}

// Fills `page` (page number `index` of the segment) with headers and pseudo records.
void fill_page(std::vector<std::uint8_t>& page, const SegmentSpec& spec, std::uint64_t index,
               std::mt19937_64& rng, std::uint32_t& xid) {
    std::fill(page.begin(), page.end(), std::uint8_t{0});
    const std::uint64_t seg_start = spec.segno * spec.seg_size;
    const std::uint64_t page_lsn = seg_start + index * kBlockSize;
    put(page, 0, spec.magic);
    put(page, 2, static_cast<std::uint16_t>(index == 0 ? kLongHeaderFlag : 0));
    put(page, 4, spec.tli);
    put(page, 8, page_lsn);
    put(page, 16, std::uint32_t{0});  // xlp_rem_len: no record continues from the last segment
    std::size_t pos = kShortHeaderSize;
    if (index == 0) {
        put(page, 24, spec.sysid);
        put(page, 32, spec.seg_size);
        put(page, 36, kBlockSize);
        pos = kLongHeaderSize;
    }
    constexpr std::size_t kRecord = 160;
    while (pos + kRecord <= kBlockSize) {
        put(page, pos, static_cast<std::uint32_t>(kRecord));                   // xl_tot_len
        put(page, pos + 4, ++xid);                                             // xl_xid
        put(page, pos + 8, page_lsn + pos - kRecord);                          // xl_prev
        put(page, pos + 16, std::uint8_t{0x10});                               // xl_info
        put(page, pos + 17, std::uint8_t{10});                                 // xl_rmid (heap)
        put(page, pos + 20, static_cast<std::uint32_t>(rng()));                // xl_crc
        put(page, pos + 24, static_cast<std::uint32_t>(rng() % 100000));       // aid
        put(page, pos + 28, std::uint32_t{1});                                 // bid
        put(page, pos + 32, static_cast<std::int32_t>(rng() % 10000) - 5000);  // abalance
        std::memset(page.data() + pos + 36, ' ', 84);                          // filler
        pos += kRecord;
    }
}

// CRC-32C, bit by bit (PostgreSQL's pg_crc32c).
std::uint32_t crc32c(const std::uint8_t* data, std::size_t size) {
    std::uint32_t crc = 0xFFFFFFFFU;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= data[i];
        for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78U : crc >> 1;
    }
    return crc ^ 0xFFFFFFFFU;
}

int write_pg_control(const SegmentSpec& spec, const std::string& out_dir) {
    constexpr std::size_t kCrcOffset = 292;  // offsetof(ControlFileData, crc) in PostgreSQL 15
    std::vector<std::uint8_t> file(8192, 0);
    put(file, 0, spec.sysid);
    put(file, 8, std::uint32_t{1300});        // pg_control_version
    put(file, 12, std::uint32_t{202209061});  // catalog_version_no
    put(file, kCrcOffset, crc32c(file.data(), kCrcOffset));
    const std::string dir = out_dir + "/global";
    const std::string path = dir + "/pg_control";
    std::FILE* out = nullptr;
    if ((::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) ||
        (out = std::fopen(path.c_str(), "wbx")) == nullptr ||
        std::fwrite(file.data(), 1, file.size(), out) != file.size() || std::fclose(out) != 0) {
        std::fprintf(stderr, "walferry-test-make-segment: cannot write \"%s\": %s\n", path.c_str(),
                     std::strerror(errno));
        return 1;
    }
    std::printf("%s\n", path.c_str());
    return 0;
}

int write_segment(const SegmentSpec& spec, const std::string& out_dir) {
    const std::string path = out_dir + "/" + segment_file_name(spec);
    std::FILE* file = std::fopen(path.c_str(), "wbx");
    if (file == nullptr) {
        std::fprintf(stderr, "walferry-test-make-segment: cannot create \"%s\": %s\n", path.c_str(),
                     std::strerror(errno));
        return 1;
    }
    std::mt19937_64 rng(spec.seed * 0x9E3779B97F4A7C15ULL ^ spec.segno ^
                        (std::uint64_t{spec.tli} << 48));
    std::uint32_t xid = 1000 + static_cast<std::uint32_t>(spec.seed);
    std::vector<std::uint8_t> page(kBlockSize);
    const std::uint64_t pages = spec.seg_size / kBlockSize;
    bool ok = true;
    for (std::uint64_t i = 0; i < pages && ok; ++i) {
        fill_page(page, spec, i, rng, xid);
        ok = std::fwrite(page.data(), 1, page.size(), file) == page.size();
    }
    ok = std::fclose(file) == 0 && ok;
    if (!ok) {
        std::fprintf(stderr, "walferry-test-make-segment: cannot write \"%s\": %s\n", path.c_str(),
                     std::strerror(errno));
        std::remove(path.c_str());
        return 1;
    }
    std::printf("%s\n", path.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    SegmentSpec spec;
    std::string out_dir = ".";
    CLI::App app(
        "Write one valid WAL segment (long page header + pseudo-WAL) for tests.\n"
        "Prints the path of the file written; never replaces an existing file.",
        "walferry-test-make-segment");
    app.add_option("--tli", spec.tli, "Timeline (default 1)")->check(CLI::Range(1U, 0xFFFFFFFFU));
    app.add_option("--segno", spec.segno, "Segment number (default 1)");
    app.add_option("--seg-size", spec.seg_size, "wal_segment_size in bytes (default 16 MiB)")
        ->check([](const std::string& text) -> std::string {
            unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
            bool pow2 = v != 0 && (v & (v - 1)) == 0;
            return pow2 && v >= (1ULL << 20) && v <= (1ULL << 30)
                       ? std::string()
                       : "must be a power of two from 1 MiB to 1 GiB";
        });
    app.add_option("--sysid", spec.sysid, "System identifier (default 7300000000000000001)")
        ->check(CLI::Range(std::uint64_t{1}, UINT64_MAX));
    app.add_option("--seed", spec.seed, "Varies the content, not the header (default 0)");
    app.add_option("--magic", spec.magic, "WAL page magic (default 0xD110, PostgreSQL 15)");
    app.add_option("--out", out_dir, "Directory to write into (default .)");
    bool pg_control = false;
    app.add_flag("--pg-control", pg_control,
                 "Write <out>/global/pg_control of cluster --sysid instead of a segment");
    CLI11_PARSE(app, argc, argv);
    if (pg_control) return write_pg_control(spec, out_dir);
    if (spec.segno >= (0xFFFFFFFFULL + 1) * (0x100000000ULL / spec.seg_size)) {
        std::fprintf(stderr, "walferry-test-make-segment: --segno too large for --seg-size\n");
        return 2;
    }
    return write_segment(spec, out_dir);
}
