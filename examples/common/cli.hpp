// Cli: the command line of an example program, parsed by CLI11 (libcli11-dev).
//
//   examples::Cli cli(argc, argv, "Fit an MLP to a 2-D function.");
//   const auto steps = cli.option<std::size_t>("steps", 3000, "training steps");
//   const auto out = cli.option<std::string>("out", "out/mlp_regression", "output directory");
//   const bool verbose = cli.flag("verbose", "print every step");
//   cli.done();   // --help prints the options and exits; an unknown or malformed option is an error
//
// Options are written `--name value` or `--name=value`; a switch (flag()) is written `--name` alone. Each
// option() call declares one option and reads it, so the usage text is built from the same lines that
// define the defaults: CLI11 parses the command line again after each declaration, keeping what is not
// declared yet aside (allow_extras) until done() rejects what nobody declared. An option given twice, a
// number that is not finite ("nan", "inf") and an integer with a sign or a fraction are errors: the
// program prints one line naming the option and exits with status 2.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace bijou::examples {

class Cli {
public:
    Cli(int argc, char** argv, std::string summary)
        : program_(argc > 0 ? argv[0] : "example"), app_(std::move(summary), program_)
    {
        for (int i = argc - 1; i > 0; --i) reversed_arguments_.emplace_back(argv[i]);  // CLI11's order
        app_.allow_extras();
        app_.set_help_flag();  // --help is answered by done(), once every option is declared
        help_ = app_.add_flag("-h,--help")->description("print this help and exit");
        parse();
    }

    // Declares --name (with its default and a line of help) and returns its value.
    template <class T>
    T option(const std::string& name, T fallback, const std::string& help)
    {
        std::ostringstream shown;
        shown << fallback;
        CLI::Option* declared = app_.add_option("--" + name, help)
                                    ->type_name(type_name<T>())
                                    ->default_str(shown.str())
                                    ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);  // twice: see below
        parse();
        const std::vector<std::string>& given = declared->results();
        if (given.empty()) return fallback;
        if (given.size() > 1) fail("option --" + name + " is given twice ('" + given[0] + "' and '" + given[1] + "')");
        // While later options are undeclared, CLI11 takes one of them for this option's value.
        if (given[0].starts_with("--")) fail("option --" + name + " needs a value");
        return parse_value<T>(name, given[0]);
    }

    // Declares the switch --name: true when given (alone), false otherwise.
    bool flag(const std::string& name, const std::string& help)
    {
        CLI::Option* declared = app_.add_flag("--" + name)->description(help)->disable_flag_override();
        parse();
        return declared->count() > 0;
    }

    // Call after the last option(): handles --help and rejects options nobody declared.
    void done() const
    {
        if (help_->count() > 0) {
            std::printf("%s", app_.help().c_str());
            std::exit(0);
        }
        const std::vector<std::string> extras = app_.remaining();
        if (extras.empty()) return;
        const std::string& first = extras.front();
        if (first.starts_with("--") && first.size() > 2)
            fail("unknown option " + first.substr(0, first.find('=')) + " (see --help)");
        fail("unexpected argument '" + first + "'");
    }

private:
    void parse()
    {
        try {
            app_.parse(std::vector<std::string>(reversed_arguments_));  // a copy: parse() consumes it
        } catch (const CLI::ArgumentMismatch& e) {
            // An option followed by nothing, or by another option, where its value belongs.
            fail(std::string(e.what()).find("required") != std::string::npos ? value_missing(e.what()) : e.what());
        } catch (const CLI::ParseError& e) {
            fail(e.what());
        }
    }

    // CLI11 says "--cases: 1 required TYPE missing"; the message names the option as the others do.
    static std::string value_missing(const std::string& what)
    {
        const std::string name = what.substr(0, what.find(':'));
        return "option " + name + " needs a value";
    }

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

    [[noreturn]] void fail(const std::string& message) const
    {
        std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
        std::exit(2);
    }

    std::string program_;
    CLI::App app_;
    std::vector<std::string> reversed_arguments_;
    CLI::Option* help_ = nullptr;
};

}  // namespace bijou::examples
