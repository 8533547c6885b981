// CheckedReader's version check: the PostgreSQL version in a stored segment's metadata must be
// the one its page header names, including one that was recorded unverified.
#include "archive/checked_reader.h"

#include <catch2/catch.hpp>
#include <cstring>

#include "archive/container.h"
#include "base/error.h"
#include "test_data.h"

using namespace walferry;

namespace {

constexpr std::uint32_t k1M = 1u << 20;
constexpr std::uint64_t kSysid = 7300000000000000001ULL;

template <typename T>
void put_at(std::vector<std::uint8_t>& b, std::size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}

// A 1 MiB segment 000000010000000000000003 whose header has `magic`, stored with metadata
// recording `pg_major` and `wal_magic`.
std::vector<std::uint8_t> stored(std::uint16_t magic, int pg_major, std::uint16_t wal_magic) {
    std::vector<std::uint8_t> raw = test_data::random_bytes(k1M, 3);
    put_at(raw, 0, magic);
    put_at(raw, 2, std::uint16_t{0x0002});
    put_at(raw, 4, std::uint32_t{1});
    put_at(raw, 8, std::uint64_t{3} * k1M);
    put_at(raw, 24, kSysid);
    put_at(raw, 32, k1M);
    put_at(raw, 36, std::uint32_t{8192});
    ContainerWriter writer(CompressOptions{1, 1});
    writer.feed(raw);
    ContainerMeta meta;
    meta.name = "000000010000000000000003";
    meta.sysid = kSysid;
    meta.tli = 1;
    meta.pg_major = pg_major;
    meta.wal_magic = wal_magic;
    CompressedFile file = writer.finish(meta);
    std::vector<std::uint8_t> out = file.meta_frame;
    out.insert(out.end(), file.payload.begin(), file.payload.end());
    return out;
}

ContainerMeta check(const std::vector<std::uint8_t>& bytes) {
    CheckedReader reader(parse_wal_name("000000010000000000000003"), "memory://t",
                         [](std::span<const std::uint8_t>) {});
    reader.feed(bytes);
    return reader.finish();
}

std::string damage(const std::vector<std::uint8_t>& bytes) {
    try {
        check(bytes);
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kInvalidContainer);
        return e.what();
    }
    FAIL("accepted");
    return {};
}

}  // namespace

TEST_CASE("fetch checks the recorded PostgreSQL version against the page header",
          "[checked_reader]") {
    CHECK(check(stored(0xD121, 19, 0)).pg_major == 19);
    CHECK(check(stored(0xD120, 19, 0)).pg_major == 19);
    // A newer magic, pushed unverified: accepted by the same rule as at push.
    CHECK(check(stored(0xD125, 0, 0xD125)).wal_magic == 0xD125);
    // Pushed unverified by a walferry that did not know the magic, fetched by one that does.
    CHECK_NOTHROW(check(stored(0xD121, 0, 0xD121)));
    // Pushed by a newer walferry that knew the magic as a major past this one's table.
    CHECK_NOTHROW(check(stored(0xD125, 20, 0)));

    CHECK_THAT(
        damage(stored(0xD121, 18, 0)),
        Catch::Contains("PostgreSQL 18 but the WAL page header says") && Catch::Contains(", 19"));
    CHECK_THAT(damage(stored(0xD125, 0, 0xD126)),
               Catch::Contains("newer than 19 (WAL page magic 0xD126)"));
    CHECK_THAT(damage(stored(0xD125, 19, 0)), Catch::Contains("PostgreSQL 19 but"));
    CHECK_THAT(damage(stored(0xD200, 0, 0xD200)), Catch::Contains("magic 0xD200"));
}
