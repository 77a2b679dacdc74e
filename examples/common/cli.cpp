// The experiment kit's command line (cli.hpp) on CLI11, compiled once into the kit.
#include <bijou/examples/common/cli.hpp>

#include <CLI/CLI.hpp>

#include <bijou/engine/parallel/process_group.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace bijou::examples {

struct Cli::Parser {
    Parser(std::string summary, const std::string& program) : app(std::move(summary), program) {}
    CLI::App app;
    std::vector<std::string> reversed_arguments;  // CLI11 parses the arguments last first
    CLI::Option* help = nullptr;
};

Cli::Cli(int argc, char** argv, std::string summary)
    : program_(argc > 0 ? argv[0] : "example"), parser_(std::make_unique<Parser>(std::move(summary), program_))
{
    for (int i = argc - 1; i > 0; --i) parser_->reversed_arguments.emplace_back(argv[i]);
    parser_->app.allow_extras();
    parser_->app.set_help_flag();  // --help is answered by done(), once every option is declared
    parser_->help = parser_->app.add_flag("-h,--help")->description("print this help and exit");
    parse();
}

Cli::~Cli() = default;

void Cli::parse()
{
    try {
        parser_->app.parse(std::vector<std::string>(parser_->reversed_arguments));  // a copy: parse() consumes it
    } catch (const CLI::ArgumentMismatch& e) {
        // An option followed by nothing where its value belongs: CLI11 says "--cases: 1 required TYPE missing".
        const std::string what = e.what();
        if (what.find("required") != std::string::npos) fail("option " + what.substr(0, what.find(':')) + " needs a value");
        fail(what);
    } catch (const CLI::ParseError& e) {
        fail(e.what());
    }
}

std::optional<std::string> Cli::declare_option(const std::string& name, const char* type, const std::string& shown,
                                               const std::string& help)
{
    // A one-letter name is also its short form: -n 100 as well as --n 100.
    const std::string spelled = name.size() == 1 ? "-" + name + ",--" + name : "--" + name;
    CLI::Option* declared = parser_->app.add_option(spelled, help)
                                ->type_name(type)
                                ->default_str(shown)
                                ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);  // twice: see below
    parse();
    const std::vector<std::string>& given = declared->results();
    if (given.empty()) return std::nullopt;
    if (given.size() > 1) fail("option --" + name + " is given twice ('" + given[0] + "' and '" + given[1] + "')");
    // While later options are undeclared, CLI11 takes one of them for this option's value.
    if (given[0].starts_with("--")) fail("option --" + name + " needs a value");
    return given[0];
}

bool Cli::flag(const std::string& name, const std::string& help)
{
    CLI::Option* declared = parser_->app.add_flag("--" + name)->description(help)->disable_flag_override();
    parse();
    return declared->count() > 0;
}

void Cli::done() const
{
    if (parser_->help->count() > 0) {
        std::printf("%s", parser_->app.help().c_str());
        std::exit(0);
    }
    const std::vector<std::string> extras = parser_->app.remaining();
    const ProcessGroup& processes = world();
    if (extras.empty() && processes.parallel() && !data_parallel_)
        fail("runs in one process, but was launched as " + std::to_string(processes.size()) +
             " processes (mpirun -np " + std::to_string(processes.size()) +
             "): launch it without mpirun (the programs that train data-parallel: bijou fit, density2d, digits, "
             "eight_modes, fashion_mnist)");
    if (extras.empty()) return;
    const std::string& first = extras.front();
    if (first.starts_with("--") && first.size() > 2)
        fail("unknown option " + first.substr(0, first.find('=')) + " (see --help)");
    fail("unexpected argument '" + first + "'");
}

void Cli::fail(const std::string& message) const
{
    // Every process of a data-parallel launch parses the same command line and fails alike; one says why.
    if (world().is_root()) std::fprintf(stderr, "%s: %s\n", program_.c_str(), message.c_str());
    std::exit(2);
}

}  // namespace bijou::examples
