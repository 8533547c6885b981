#include "archive/sha256.h"

#include <openssl/evp.h>

#include "base/error.h"

namespace walferry {

namespace {

struct EvpMdCtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

// OpenSSL reports failures only through return codes; a failure here means libcrypto itself is
// broken (out of memory, disabled algorithm), which no caller can recover from.
[[noreturn]] void fail(const char* what) {
    throw Error(ErrorCode::kInternal, std::string("OpenSSL SHA-256 ") + what + " failed");
}

}  // namespace

struct Sha256::Ctx {
    std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter> md{EVP_MD_CTX_new()};
    bool finished = false;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
    if (!ctx_->md) fail("context allocation");
    if (EVP_DigestInit_ex(ctx_->md.get(), EVP_sha256(), nullptr) != 1) fail("init");
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const std::uint8_t> bytes) {
    if (ctx_->finished) throw Error(ErrorCode::kInternal, "Sha256::update after finish");
    if (bytes.empty()) return;
    if (EVP_DigestUpdate(ctx_->md.get(), bytes.data(), bytes.size()) != 1) fail("update");
}

Sha256Digest Sha256::finish() {
    if (ctx_->finished) throw Error(ErrorCode::kInternal, "Sha256::finish called twice");
    ctx_->finished = true;
    Sha256Digest digest{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_->md.get(), digest.data(), &len) != 1 || len != digest.size()) {
        fail("final");
    }
    return digest;
}

Sha256Digest sha256(std::span<const std::uint8_t> bytes) {
    Sha256 h;
    h.update(bytes);
    return h.finish();
}

std::string to_hex(const Sha256Digest& digest) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(digest.size() * 2);
    for (std::uint8_t b : digest) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0f]);
    }
    return out;
}

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

Sha256Digest digest_from_hex(std::string_view hex) {
    // The text comes from stored metadata that may be damaged, so it is described, not echoed.
    Sha256Digest digest{};
    if (hex.size() != digest.size() * 2) {
        throw Error(ErrorCode::kInvalidContainer, "invalid sha256: expected 64 hex digits, got " +
                                                      std::to_string(hex.size()) + " characters");
    }
    for (std::size_t i = 0; i < digest.size(); ++i) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            std::size_t at = hi < 0 ? 2 * i : 2 * i + 1;
            throw Error(
                ErrorCode::kInvalidContainer,
                "invalid sha256: character " + std::to_string(at + 1) + " is not a hex digit");
        }
        digest[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return digest;
}

}  // namespace walferry
