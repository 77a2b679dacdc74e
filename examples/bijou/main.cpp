// bijou: normalizing flows for users who do not write C++. Fits a flow to a data set (.npy or .csv),
// scores and samples it, and property-tests the trained model (commands.hpp lists the subcommands).
//
//   bijou fit --data x.npy --flow spline --out model/
//   bijou log-prob --model model/ --data x_test.npy --out lp.npy
//   bijou sample --model model/ -n 1000 --out samples.npy
//   bijou check --model model/
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <bijou/examples/bijou/commands.hpp>

namespace {

constexpr const char* usage = R"(usage: bijou COMMAND [options]     (bijou COMMAND --help lists a command's options)

commands:
  fit       train a flow on a data set: --data X.npy|X.csv [--condition C] --flow realnvp|glow|spline|all_in_one --out DIR
  log-prob  log-density of each row (nats, in the data's units): --model DIR --data X [--condition C] --out lp.npy
  sample    draw samples: --model DIR -n N [--condition C] [--temperature T] [--seed S] --out S.npy
  check     property-test the trained model (round trip, log-det symmetry, log-det against the Jacobian): --model DIR
)";

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        std::fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    // The subcommand sees "bijou COMMAND" as its program name, then its own options.
    std::string program = "bijou " + command;
    std::vector<char*> arguments{program.data()};
    for (int i = 2; i < argc; ++i) arguments.push_back(argv[i]);
    const int count = int(arguments.size());
    if (command == "fit") return bijou::cli::fit_command(count, arguments.data());
    if (command == "log-prob") return bijou::cli::log_prob_command(count, arguments.data());
    if (command == "sample") return bijou::cli::sample_command(count, arguments.data());
    if (command == "check") return bijou::cli::check_command(count, arguments.data());
    std::fprintf(stderr, "bijou: unknown command '%s'\n%s", command.c_str(), usage);
    return 2;
}
