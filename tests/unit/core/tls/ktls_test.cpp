// kTLS detection: the kernel's ULP list decides, read from a file so both answers are testable
// on any kernel.

#include "core/tls/ktls.hpp"

#include <catch2/catch.hpp>

#include <fstream>

#include "tests/unit/core/tls/test_certificates.hpp"

using namespace portico::core::tls;
using Catch::Matchers::Contains;

TEST_CASE("tls ktls: detected from the kernel's list of TCP ULPs", "[tls]") {
    const auto& dir = portico::test::TestCertificates::get();
    std::ofstream(dir.path("ulp-without")) << "mptcp\n";
    std::ofstream(dir.path("ulp-with")) << "mptcp tls\n";

    KtlsSupport without = detect_ktls(dir.path("ulp-without"));
    CHECK_FALSE(without.available);
    KtlsSupport with = detect_ktls(dir.path("ulp-with"));
    KtlsSupport missing = detect_ktls(dir.path("no-such-file"));
    CHECK_FALSE(missing.available);
#ifdef OPENSSL_NO_KTLS
    CHECK_FALSE(with.available);
    CHECK_THAT(with.reason, Contains("without kTLS"));
#else
    CHECK_THAT(without.reason, Contains("mptcp"));
    CHECK(with.available);
    CHECK_THAT(missing.reason, Contains("cannot be read"));
#endif
    // The real answer of this machine, once; the same on a second call.
    CHECK(ktls_available() == ktls_available());
}
