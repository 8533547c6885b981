#include "archive/sha256.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "base/error.h"

namespace walferry {

namespace {

#define WALFERRY_STRINGIFY2(x) #x
#define WALFERRY_STRINGIFY(x) WALFERRY_STRINGIFY2(x)
// The soname of the libcrypto the build compiled against ("libcrypto.so.3"): Debian's shared
// library, found by the dynamic linker as a DT_NEEDED entry would be, and the same object a store
// module that links libcrypto gets.
constexpr const char* kLibCrypto = "libcrypto.so." WALFERRY_STRINGIFY(OPENSSL_SHLIB_VERSION);
#undef WALFERRY_STRINGIFY
#undef WALFERRY_STRINGIFY2

// libcrypto is loaded the first time a digest is made, not at process start: a call that hashes
// nothing (--version, a push answered by a batch marker, a fetch that finds nothing) does not pay
// for mapping and relocating it (about 3,400 symbol bindings, more than the rest of a command).
struct LibCrypto {
    decltype(&EVP_MD_CTX_new) md_ctx_new = nullptr;
    decltype(&EVP_MD_CTX_free) md_ctx_free = nullptr;
    decltype(&EVP_sha256) sha256 = nullptr;
    decltype(&EVP_DigestInit_ex) digest_init = nullptr;
    decltype(&EVP_DigestUpdate) digest_update = nullptr;
    decltype(&EVP_DigestFinal_ex) digest_final = nullptr;
};

template <typename F>
void bind(void* handle, F& fn, const char* name) {
    fn = reinterpret_cast<F>(dlsym(handle, name));
    if (fn == nullptr) {
        const char* why = dlerror();
        throw Error(ErrorCode::kUnsupported,
                    std::string(kLibCrypto) + " (SHA-256): " + (why != nullptr ? why : name));
    }
}

LibCrypto load_libcrypto() {
    void* handle = dlopen(kLibCrypto, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        throw Error(ErrorCode::kUnsupported, std::string("cannot load ") + kLibCrypto +
                                                 " (SHA-256): " + (why != nullptr ? why : "?"));
    }
    LibCrypto c;
    bind(handle, c.md_ctx_new, "EVP_MD_CTX_new");
    bind(handle, c.md_ctx_free, "EVP_MD_CTX_free");
    bind(handle, c.sha256, "EVP_sha256");
    bind(handle, c.digest_init, "EVP_DigestInit_ex");
    bind(handle, c.digest_update, "EVP_DigestUpdate");
    bind(handle, c.digest_final, "EVP_DigestFinal_ex");
    return c;  // the handle stays open until the process ends
}

// Loaded once per process (thread-safe); a failure is thrown again by every later call.
const LibCrypto& libcrypto() {
    static const LibCrypto loaded = load_libcrypto();
    return loaded;
}

struct EvpMdCtxDeleter {
    decltype(&EVP_MD_CTX_free) free = nullptr;
    void operator()(EVP_MD_CTX* ctx) const noexcept { free(ctx); }
};

// OpenSSL reports failures only through return codes; a failure here means libcrypto itself is
// broken (out of memory, disabled algorithm), which no caller can recover from.
[[noreturn]] void fail(const char* what) {
    throw Error(ErrorCode::kInternal, std::string("OpenSSL SHA-256 ") + what + " failed");
}

}  // namespace

struct Sha256::Ctx {
    const LibCrypto& crypto = libcrypto();
    std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter> md{crypto.md_ctx_new(),
                                                    EvpMdCtxDeleter{crypto.md_ctx_free}};
    bool finished = false;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
    if (!ctx_->md) fail("context allocation");
    if (ctx_->crypto.digest_init(ctx_->md.get(), ctx_->crypto.sha256(), nullptr) != 1) {
        fail("init");
    }
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const std::uint8_t> bytes) {
    if (ctx_->finished) throw Error(ErrorCode::kInternal, "Sha256::update after finish");
    if (bytes.empty()) return;
    if (ctx_->crypto.digest_update(ctx_->md.get(), bytes.data(), bytes.size()) != 1) {
        fail("update");
    }
}

Sha256Digest Sha256::finish() {
    if (ctx_->finished) throw Error(ErrorCode::kInternal, "Sha256::finish called twice");
    ctx_->finished = true;
    Sha256Digest digest{};
    unsigned int len = 0;
    if (ctx_->crypto.digest_final(ctx_->md.get(), digest.data(), &len) != 1 ||
        len != digest.size()) {
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
