#pragma once
// Certificates made for the tests by the openssl command line, once per test binary, in a
// scratch directory removed at exit:
//   a-rsa.pem/.key     RSA 2048, CN and SAN a.test        a-ecdsa.pem/.key  ECDSA P-256, a.test
//   b-ecdsa.pem/.key   ECDSA P-256, b.test                 expired.pem/.key  ECDSA, ended 2020-01-02
//   ca.pem             a-rsa, a-ecdsa and b-ecdsa together (all self-signed), for clients to trust

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace portico::test {

class TestCertificates {
public:
    static const TestCertificates& get() {
        static const TestCertificates instance;
        return instance;
    }
    [[nodiscard]] std::string path(const std::string& name) const { return (dir_ / name).string(); }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

    ~TestCertificates() { std::filesystem::remove_all(dir_); }
    TestCertificates(const TestCertificates&) = delete;
    TestCertificates& operator=(const TestCertificates&) = delete;

private:
    TestCertificates() {
        char pattern[] = "/tmp/portico-tls-certs-XXXXXX";
        if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        self_signed("a-rsa", "rsa:2048", "", "a.test");
        self_signed("a-ecdsa", "ec", "-pkeyopt ec_paramgen_curve:P-256", "a.test");
        self_signed("b-ecdsa", "ec", "-pkeyopt ec_paramgen_curve:P-256", "b.test");
        expired();
        std::ofstream ca(dir_ / "ca.pem");
        for (const char* name : {"a-rsa.pem", "a-ecdsa.pem", "b-ecdsa.pem"}) {
            ca << std::ifstream(dir_ / name).rdbuf();
        }
    }

    void run(const std::string& command) const {
        std::string line = "cd '" + dir_.string() + "' && " + command + " >/dev/null 2>&1";
        if (std::system(line.c_str()) != 0) throw std::runtime_error("failed: " + command);
    }

    void self_signed(const std::string& name, const std::string& key, const std::string& options,
                     const std::string& host) const {
        run("openssl req -x509 -newkey " + key + " " + options + " -nodes -keyout " + name + ".key -out " +
            name + ".pem -days 2 -subj /CN=" + host + " -addext subjectAltName=DNS:" + host);
    }

    // `openssl req` cannot back-date; `openssl ca` takes explicit start and end dates.
    void expired() const {
        std::ofstream(dir_ / "ca.cnf")
            << "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\n"
               "default_md=sha256\npolicy=p\nserial=serial\n[p]\ncommonName=supplied\n";
        std::ofstream(dir_ / "index.txt");
        std::ofstream(dir_ / "serial") << "01\n";
        run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key "
            "-out expired.csr -subj /CN=old.test");
        run("openssl ca -batch -config ca.cnf -selfsign -keyfile expired.key -in expired.csr -out "
            "expired.pem "
            "-notext -startdate 20200101000000Z -enddate 20200102000000Z");
    }

    std::filesystem::path dir_;
};

}  // namespace portico::test
