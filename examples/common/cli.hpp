// Cli: the command line of an example program, parsed by CLI11 (libcli11-dev).
//
//   examples::Cli cli(argc, argv, "Fit an MLP to a 2-D function.");
//   const auto steps = cli.option<std::size_t>("steps", 3000, "training steps");
//   const auto out = cli.option<std::string>("out", "out/mlp_regression", "output directory");
//   const bool verbose = cli.flag("verbose", "print every step");
//   cli.done();   // --help prints the options and exits; an unknown or malformed option is an error
//
// Options are written `--name value` or `--name=value` (a one-letter name also `-n value`); a switch (flag()) is written `--name` alone. Each
// option() call declares one option and reads it, so the usage text is built from the same lines that
// define the defaults: CLI11 parses the command line again after each declaration, keeping what is not
// declared yet aside (allow_extras) until done() rejects what nobody declared. An option given twice, a
// number that is not finite ("nan", "inf") and an integer with a sign or a fraction are errors: the
// program prints one line naming the option and exits with status 2.
//
// CLI11 itself is used only in cli.cpp, compiled once into the experiment kit: its header costs 3-6 s
// of compiler time in every translation unit that includes it.
#pragma once

#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

namespace bijou::examples {

class Cli {
public:
    Cli(int argc, char** argv, std::string summary);
    ~Cli();
    Cli(const Cli&) = delete;
    Cli& operator=(const Cli&) = delete;

    // Declares --name (with its default and a line of help) and returns its value.
    template <class T>
    T option(const std::string& name, T fallback, const std::string& help)
    {
        std::ostringstream shown;
        shown << fallback;
        const std::optional<std::string> given = declare_option(name, type_name<T>(), shown.str(), help);
        return given ? parse_value<T>(name, *given) : fallback;
    }

    // Declares the switch --name: true when given (alone), false otherwise.
    bool flag(const std::string& name, const std::string& help);

    // Declares that the program trains data-parallel when launched by mpirun (examples/common/training_run.hpp).
    // done() refuses a launch of several processes for a program that has not declared it.
    void data_parallel() { data_parallel_ = true; }

    // Call after the last option(): handles --help and rejects options nobody declared.
    void done() const;

private:
    // Declares the option to CLI11, parses again, and returns the text given for it, if any (cli.cpp).
    std::optional<std::string> declare_option(const std::string& name, const char* type, const std::string& shown,
                                              const std::string& help);

    template <class T>
    static const char* type_name()
    {
        if constexpr (std::is_same_v<T, std::string>)
            return "text";
        else if constexpr (std::is_floating_point_v<T>)
            return "number";
        else
            return "integer";
    }

    // The value's own rules, stricter than CLI11's conversions: the whole text must be the number, a
    // floating-point number must be finite, an integer has neither sign nor fraction.
    template <class T>
    T parse_value(const std::string& name, const std::string& text) const
    {
        if constexpr (std::is_same_v<T, std::string>) {
            return text;
        } else {
            T value{};
            const char* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, value);
            if (ec != std::errc() || ptr != end || text.empty())
                fail("--" + name + " expects " + (std::is_floating_point_v<T> ? "a number" : "a non-negative integer") +
                     ", got '" + text + "'");
            if constexpr (std::is_floating_point_v<T>)
                if (!std::isfinite(value)) fail("--" + name + " expects a finite number, got '" + text + "'");
            return value;
        }
    }

    void parse();  // the saved arguments again, with every option declared so far
    // Prints "program: message" and exits with status 2.
    [[noreturn]] void fail(const std::string& message) const;

    struct Parser;  // CLI11's App and the saved arguments (cli.cpp)
    std::string program_;
    std::unique_ptr<Parser> parser_;
    bool data_parallel_ = false;
};

}  // namespace bijou::examples
