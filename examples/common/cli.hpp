// Cli: the command line of an example program.
//
//   examples::Cli cli(argc, argv, "Fit an MLP to a 2-D function.");
//   const auto steps = cli.option<std::size_t>("steps", 3000, "training steps");
//   const auto out = cli.option<std::string>("out", "out/mlp_regression", "output directory");
//   const bool verbose = cli.flag("verbose", "print every step");
//   cli.done();   // --help prints the options and exits; an unknown or malformed option is an error
//
// Options are written `--name value` or `--name=value`; a switch (flag()) is written `--name` alone. Each option() call declares one option and reads
// it, so the usage text is built from the same lines that define the defaults. An option given twice, a
// number that is not finite ("nan", "inf") and an integer with a sign or a fraction are errors.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace bijou::examples {

class Cli {
public:
    Cli(int argc, char** argv, std::string summary)
        : program_(argc > 0 ? argv[0] : "example"), summary_(std::move(summary))
    {
        for (int i = 1; i < argc; ++i) {
            std::string_view arg = argv[i];
            if (arg == "--help" || arg == "-h") {
                help_ = true;
                continue;
            }
            if (!arg.starts_with("--") || arg.size() == 2) fail("unexpected argument '" + std::string(arg) + "'");
            arg.remove_prefix(2);
            std::string name, value;
            if (const auto eq = arg.find('='); eq != std::string_view::npos) {
                name = std::string(arg.substr(0, eq));
                value = std::string(arg.substr(eq + 1));
            } else {
                name = std::string(arg);
                // A switch has no value: the next argument is another option, or there is none.
                const bool next_is_option = i + 1 < argc && std::string_view(argv[i + 1]).starts_with("--");
                value = i + 1 >= argc || next_is_option ? switch_marker : argv[++i];
            }
            if (!given_.emplace(name, value).second)
                fail("option --" + name + " is given twice ('" + given_[name] + "' and '" + value + "')");
        }
    }

    // Declares --name (with its default and a line of help) and returns its value.
    template <class T>
    T option(const std::string& name, T fallback, const std::string& help)
    {
        std::ostringstream line;
        line << "  --" << name << " <" << type_name<T>() << ">  " << help << " (default: " << fallback << ")";
        usage_.push_back(line.str());
        const auto it = given_.find(name);
        if (it == given_.end()) return fallback;
        const std::string text = it->second;
        given_.erase(it);
        if (text == switch_marker) fail("option --" + name + " needs a value");
        return parse<T>(name, text);
    }

    // Declares the switch --name: true when given (alone), false otherwise.
    bool flag(const std::string& name, const std::string& help)
    {
        usage_.push_back("  --" + name + "  " + help);
        const auto it = given_.find(name);
        if (it == given_.end()) return false;
        const std::string text = it->second;
        given_.erase(it);
        if (text != switch_marker) fail("--" + name + " is a switch and takes no value, got '" + text + "'");
        return true;
    }

    // Call after the last option(): handles --help and rejects options nobody declared.
    void done() const
    {
        if (help_) {
            std::printf("%s\n\nusage: %s [options]\n", summary_.c_str(), program_.c_str());
            for (const auto& line : usage_) std::printf("%s\n", line.c_str());
            std::exit(0);
        }
        if (!given_.empty()) fail("unknown option --" + given_.begin()->first + " (see --help)");
    }

private:
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

    template <class T>
    T parse(const std::string& name, const std::string& text) const
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

    static constexpr const char* switch_marker = "\x01switch";  // the "value" of an option written alone

    std::string program_;
    std::string summary_;
    std::map<std::string, std::string> given_;
    std::vector<std::string> usage_;
    bool help_ = false;
};

}  // namespace bijou::examples
