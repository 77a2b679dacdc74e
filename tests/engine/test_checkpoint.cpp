// Checkpoints: bit-exact round trips in float and double, optimizer state and metadata, exact resumption
// of a training run, every way a file can be refused (with the message checked), and atomic writes.
#include <bijou/engine/checkpoint.hpp>
#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/mlp.hpp>
#include <bijou/engine/optim/adam.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include <sys/resource.h>
#include <unistd.h>

using namespace bijou;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

// A fresh directory per test, removed afterwards.
struct TempDir {
    fs::path path;
    TempDir()
    {
        static int counter = 0;
        path = fs::temp_directory_path() /
               ("bijou_test_checkpoint_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir()
    {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    fs::path operator/(const std::string& name) const { return path / name; }
};

template <class T>
Tensor<T> random_tensor(std::size_t rows, std::size_t cols, std::mt19937_64& rng)
{
    std::normal_distribution<double> normal;
    auto t = Tensor<T>::from_shape({rows, cols});
    for (auto& v : t) v = T(normal(rng));
    return t;
}

// Three parameters of different shapes, named a, b, c; values from `seed`.
template <class T>
std::vector<Param<T>> three_params(unsigned seed, std::vector<std::string> names = {"a", "b", "c"})
{
    std::mt19937_64 rng(seed);
    return {Param<T>(random_tensor<T>(3, 4, rng), names[0]), Param<T>(random_tensor<T>(1, 4, rng), names[1]),
            Param<T>(random_tensor<T>(5, 1, rng), names[2])};
}

template <class T>
bool bitwise_equal(const Tensor<T>& a, const Tensor<T>& b)
{
    return shape_of(a) == shape_of(b) && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
std::vector<Tensor<T>> values_of(const std::vector<Param<T>>& params)
{
    std::vector<Tensor<T>> values;
    for (const auto& p : params) values.push_back(p.value());
    return values;
}

std::vector<char> read_bytes(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const fs::path& path, const std::vector<char>& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

bool has_temporary_files(const fs::path& dir)
{
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().filename().string().find(".tmp.") != std::string::npos) return true;
    return false;
}

}  // namespace

TEMPLATE_TEST_CASE("checkpoint: save then load restores every value bit for bit", "", float, double)
{
    using T = TestType;
    TempDir dir;
    auto saved = three_params<T>(1);
    // Values a text format would mangle: signed zero, subnormals, the extremes.
    auto& a = saved[0].value();
    a(0, 0) = T(-0.0);
    a(0, 1) = std::numeric_limits<T>::denorm_min();
    a(0, 2) = std::numeric_limits<T>::max();
    a(0, 3) = -std::numeric_limits<T>::max();
    a(1, 0) = std::numeric_limits<T>::min();
    a(1, 1) = -std::numeric_limits<T>::denorm_min();
    save_parameters(dir / "model.ckpt", saved);

    auto loaded = three_params<T>(2);
    const Metadata metadata = load_parameters(dir / "model.ckpt", loaded);
    CHECK(metadata.empty());
    for (std::size_t i = 0; i < saved.size(); ++i) CHECK(bitwise_equal(saved[i].value(), loaded[i].value()));
    CHECK_FALSE(has_temporary_files(dir.path));
}

TEMPLATE_TEST_CASE("checkpoint: a non-finite parameter value is refused on load, naming the parameter and the entry",
                   "", float, double)
{
    using T = TestType;
    TempDir dir;
    for (const T bad : {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity()}) {
        auto saved = three_params<T>(1);
        saved[2].value()(3, 0) = bad;  // "c", 5 x 1
        save_parameters(dir / "diverged.ckpt", saved);
        auto target = three_params<T>(2);
        const auto before = target[0].value();
        CHECK_THROWS_AS(load_parameters(dir / "diverged.ckpt", target), file_format_error);
        CHECK_THROWS_WITH(load_parameters(dir / "diverged.ckpt", target),
                          Contains("parameter 'c' holds the non-finite value") && Contains("at (3, 0)"));
        CHECK(bitwise_equal(target[0].value(), before));
    }
}

TEMPLATE_TEST_CASE("checkpoint: optimizer state and metadata round trip", "", float, double)
{
    using T = TestType;
    TempDir dir;
    auto params = three_params<T>(3);
    Adam<T> optimizer(params, {.lr = 1e-2});
    std::mt19937_64 rng(4);
    for (int step = 0; step < 3; ++step) {
        for (auto& p : params) p.grad() = random_tensor<T>(shape_of(p.value()).rows, shape_of(p.value()).cols, rng);
        optimizer.step();
    }
    auto checkpoint = Checkpoint<T>::capture(params, {.optimizer_state = true});
    checkpoint.metadata.set("optimizer_steps", optimizer.steps());
    checkpoint.metadata.set("lr", 1e-2);
    checkpoint.metadata.set("note", "after three steps");
    checkpoint.metadata.set("flag", true);
    checkpoint.save(dir / "run.ckpt");

    const auto loaded = Checkpoint<T>::load(dir / "run.ckpt");
    CHECK(loaded.has_optimizer_state);
    CHECK(loaded.metadata == checkpoint.metadata);
    CHECK(loaded.metadata.get_int("optimizer_steps") == 3);
    CHECK(loaded.metadata.get_double("lr") == 1e-2);
    CHECK(loaded.metadata.get_string("note") == "after three steps");
    CHECK(loaded.metadata.get_int("flag") == 1);
    CHECK_THROWS_WITH(loaded.metadata.get_int("note"), Contains("entry 'note' holds a string, not an integer"));
    CHECK_THROWS_WITH(loaded.metadata.get_int("missing"), Contains("no entry 'missing'"));

    auto fresh = three_params<T>(5);
    loaded.restore(fresh);
    for (std::size_t i = 0; i < params.size(); ++i) {
        CHECK(bitwise_equal(params[i].value(), fresh[i].value()));
        CHECK(bitwise_equal(params[i].node().moment1, fresh[i].node().moment1));
        CHECK(bitwise_equal(params[i].node().moment2, fresh[i].node().moment2));
    }

    SECTION("a checkpoint without optimizer state records none, and restoring it leaves the moments alone")
    {
        save_parameters(dir / "values.ckpt", params);
        const auto values_only = Checkpoint<T>::load(dir / "values.ckpt");
        CHECK_FALSE(values_only.has_optimizer_state);
        auto other = three_params<T>(6);
        other[0].node().moment1 = random_tensor<T>(3, 4, rng);
        const Tensor<T> moment_before = other[0].node().moment1;
        values_only.restore(other);
        CHECK(bitwise_equal(other[0].value(), params[0].value()));
        CHECK(bitwise_equal(other[0].node().moment1, moment_before));
    }
}

// The point of saving optimizer state: training N steps, saving, and training M more gives the same
// losses as loading that checkpoint into a fresh model and training M steps.
TEST_CASE("checkpoint: a run resumed from a checkpoint repeats the uninterrupted run exactly")
{
    using T = float;
    TempDir dir;
    constexpr std::size_t in = 4, out = 2, batch = 16, data_rows = 256;
    std::mt19937_64 data_rng(7);
    const Tensor<T> inputs = random_tensor<T>(data_rows, in, data_rng);
    const Tensor<T> targets = random_tensor<T>(data_rows, out, data_rng);

    struct Run {
        MLP<T, 1> net;
        Input<T> x{in, "x"}, y{out, "y"};
        decltype(Program(mean(square(net(x) - y)))) program{mean(square(net(x) - y))};
        Adam<T> optimizer{net.parameters(), {.lr = 1e-2}};
        std::mt19937_64 batch_rng{11};

        explicit Run(std::uint64_t seed) : net(mlp<T>(in, hidden(16), out, {.seed = seed})) { program.bind(batch); }

        // One step on a minibatch drawn with batch_rng; returns its loss.
        T step(const Tensor<T>& inputs, const Tensor<T>& targets)
        {
            std::uniform_int_distribution<std::size_t> row(0, data_rows - 1);
            for (std::size_t r = 0; r < batch; ++r) {
                const std::size_t i = row(batch_rng);
                for (std::size_t c = 0; c < in; ++c) x.value()(r, c) = inputs(i, c);
                for (std::size_t c = 0; c < out; ++c) y.value()(r, c) = targets(i, c);
            }
            program.forward();
            program.backward();
            optimizer.step();
            return program.value()(0, 0);
        }
    };

    constexpr int first_steps = 20, more_steps = 20;
    Run original(1);
    for (int i = 0; i < first_steps; ++i) original.step(inputs, targets);

    auto checkpoint = Checkpoint<T>::capture(original.net.parameters(), {.optimizer_state = true});
    checkpoint.metadata.set("optimizer_steps", original.optimizer.steps());
    std::ostringstream rng_state;
    rng_state << original.batch_rng;
    checkpoint.metadata.set("batch_rng", rng_state.str());
    checkpoint.save(dir / "resume.ckpt");

    std::vector<T> uninterrupted;
    for (int i = 0; i < more_steps; ++i) uninterrupted.push_back(original.step(inputs, targets));

    Run resumed(99);  // different initial weights and a different RNG state, all overwritten below
    const auto loaded = Checkpoint<T>::load(dir / "resume.ckpt");
    loaded.restore(resumed.net.parameters());
    resumed.optimizer.set_steps(loaded.metadata.get_int("optimizer_steps"));
    std::istringstream(loaded.metadata.get_string("batch_rng")) >> resumed.batch_rng;
    std::vector<T> after_resume;
    for (int i = 0; i < more_steps; ++i) after_resume.push_back(resumed.step(inputs, targets));

    CHECK(after_resume == uninterrupted);  // exactly, not approximately
    CHECK(uninterrupted.back() < uninterrupted.front());

    SECTION("without the optimizer state the resumed run differs")
    {
        Run without_state(99);
        loaded.restore(without_state.net.parameters(), {.optimizer_state = false});
        std::istringstream(loaded.metadata.get_string("batch_rng")) >> without_state.batch_rng;
        CHECK(without_state.step(inputs, targets) == after_resume.front());  // same parameters, same batch
        CHECK(without_state.step(inputs, targets) != after_resume[1]);      // a different update
    }
}

TEST_CASE("checkpoint: a file that is not a checkpoint is refused")
{
    TempDir dir;
    const auto path = dir / "image.png";
    write_bytes(path, {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    auto params = three_params<double>(1);
    CHECK_THROWS_AS(load_parameters(path, params), file_format_error);
    CHECK_THROWS_WITH(load_parameters(path, params),
                      Contains("bijou: load_parameters: '" + path.string() + "': not a Bijou checkpoint") &&
                          Contains("89 50 4e 47"));
    CHECK_THROWS_WITH(load_parameters(dir / "missing.ckpt", params), Contains("missing.ckpt': cannot open it for reading"));
}

TEST_CASE("checkpoint: every defect of a file is named and leaves the parameters untouched")
{
    TempDir dir;
    const auto path = dir / "model.ckpt";
    const auto saved = three_params<double>(1);
    save_parameters(path, saved, {.metadata = [] {
                                      Metadata m;
                                      m.set("step", 10);
                                      return m;
                                  }()});
    const auto good = read_bytes(path);

    auto target = three_params<double>(2);
    const auto before = values_of(target);
    auto untouched = [&] {
        for (std::size_t i = 0; i < target.size(); ++i)
            if (!bitwise_equal(target[i].value(), before[i])) return false;
        return true;
    };
    auto refused = [&](const std::string& why) {
        CHECK_THROWS_WITH(load_parameters(path, target), Contains("load_parameters: '" + path.string() + "'") && Contains(why));
        CHECK(untouched());
    };

    SECTION("unsupported version")
    {
        auto bytes = good;
        bytes[8] = 7;  // the u32 version, little-endian
        write_bytes(path, bytes);
        refused("unsupported checkpoint format version 7 (this build of Bijou reads version 1; the file was written by a newer Bijou)");
    }
    SECTION("truncated anywhere")
    {
        for (std::size_t length : {std::size_t(0), std::size_t(5), std::size_t(10), std::size_t(20), std::size_t(40),
                                   good.size() / 2, good.size() - 1}) {
            INFO("cut to " << length << " of " << good.size() << " bytes");
            write_bytes(path, std::vector<char>(good.begin(), good.begin() + std::ptrdiff_t(length)));
            CHECK_THROWS_AS(load_parameters(path, target), file_format_error);
            refused("truncated");
        }
        write_bytes(path, std::vector<char>(good.begin(), good.end() - 1));
        refused("truncated: the header announces " + std::to_string(good.size()) + " bytes, the file has " +
                std::to_string(good.size() - 1));
    }
    SECTION("bytes appended")
    {
        auto bytes = good;
        bytes.push_back(0);
        write_bytes(path, bytes);
        refused("corrupt: 1 unexpected bytes after the checksum");
    }
    SECTION("corrupted payload, header or checksum")
    {
        for (std::size_t at : {std::size_t(30), good.size() / 2, good.size() - 20, good.size() - 1}) {
            INFO("flipped a bit at byte " << at);
            auto bytes = good;
            bytes[at] = char(bytes[at] ^ 0x10);
            write_bytes(path, bytes);
            refused("checksum mismatch");
            refused("the file is corrupted");
        }
    }
    SECTION("scalar type mismatch")
    {
        auto floats = three_params<float>(3);
        const Tensor<float> before_float = floats[0].value();
        CHECK_THROWS_AS(load_parameters(path, floats), shape_error);
        CHECK_THROWS_WITH(load_parameters(path, floats),
                          Contains("scalar type mismatch: the file holds float64 (double) values, the parameters are float32 (float)"));
        CHECK(bitwise_equal(floats[0].value(), before_float));
    }
    SECTION("parameter count mismatch")
    {
        std::vector<Param<double>> two = {target[0], target[1]};
        CHECK_THROWS_AS(load_parameters(path, two), shape_error);
        CHECK_THROWS_WITH(load_parameters(path, two),
                          Contains("parameter count mismatch: the checkpoint holds 3 parameters, the model has 2"));
        CHECK(untouched());
    }
    SECTION("name mismatch")
    {
        auto renamed = three_params<double>(2, {"a", "b", "bias"});
        const auto renamed_before = values_of(renamed);
        CHECK_THROWS_WITH(load_parameters(path, renamed),
                          Contains("name mismatch at parameter 2: the checkpoint has 'c', the model has 'bias'"));
        CHECK(bitwise_equal(renamed[0].value(), renamed_before[0]));  // a and b matched, yet were not written
    }
    SECTION("shape mismatch")
    {
        std::vector<Param<double>> reshaped = {target[0], target[1], Param<double>(Shape{1, 5}, "c")};
        CHECK_THROWS_AS(load_parameters(path, reshaped), shape_error);
        CHECK_THROWS_WITH(load_parameters(path, reshaped),
                          Contains("shape mismatch for parameter 'c': the checkpoint has (5 x 1), the model has (1 x 5)"));
        CHECK(untouched());
    }
    SECTION("the intact file still loads")
    {
        CHECK(load_parameters(path, target).get_int("step") == 10);
        for (std::size_t i = 0; i < target.size(); ++i) CHECK(bitwise_equal(target[i].value(), saved[i].value()));
    }
}

TEST_CASE("checkpoint: a failed save leaves the previous file and no temporary file")
{
    TempDir dir;
    const auto path = dir / "model.ckpt";
    const auto first = three_params<double>(1);
    save_parameters(path, first);
    const auto first_bytes = read_bytes(path);
    CHECK_FALSE(has_temporary_files(dir.path));

    SECTION("a write that fails halfway (the file size limit)")
    {
        // 200k doubles (1.6 MB) against a 64 KiB limit: write() fails with EFBIG part way through.
        std::mt19937_64 rng(2);
        std::vector<Param<double>> big = {Param<double>(random_tensor<double>(1000, 200, rng), "big")};
        rlimit saved_limit{};
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_limit) == 0);
        const auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);  // otherwise the signal ends the process
        rlimit small = saved_limit;
        small.rlim_cur = 64 * 1024;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
        std::string message;
        try {
            save_parameters(path, big);
        } catch (const file_format_error& e) {
            message = e.what();
        }
        ::setrlimit(RLIMIT_FSIZE, &saved_limit);
        std::signal(SIGXFSZ, saved_handler);
        CHECK_THAT(message, Contains("could not save: writing") && Contains("the existing file (if any) is unchanged"));
        CHECK(read_bytes(path) == first_bytes);
        CHECK_FALSE(has_temporary_files(dir.path));
    }
    SECTION("a rename that is refused (the target is a directory)")
    {
        const auto occupied = dir / "occupied";
        fs::create_directories(occupied / "inside");
        CHECK_THROWS_WITH(save_parameters(occupied, first), Contains("could not save: renaming"));
        CHECK(fs::is_directory(occupied / "inside"));
        CHECK_FALSE(has_temporary_files(dir.path));
    }
    SECTION("a directory that does not exist")
    {
        CHECK_THROWS_WITH(save_parameters(dir / "no/such/dir/model.ckpt", first), Contains("could not save: creating"));
    }
    SECTION("a read-only directory")
    {
        if (::geteuid() == 0) {
            WARN("running as root, which may write anywhere: the read-only directory case is skipped");
        } else {
            fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
            CHECK_THROWS_WITH(save_parameters(path, three_params<double>(5)), Contains("could not save"));
            fs::permissions(dir.path, fs::perms::owner_all);
            CHECK(read_bytes(path) == first_bytes);
        }
    }
    SECTION("a successful save replaces the file whole")
    {
        const auto second = three_params<double>(3);
        save_parameters(path, second);
        auto loaded = three_params<double>(4);
        load_parameters(path, loaded);
        CHECK(bitwise_equal(loaded[0].value(), second[0].value()));
        CHECK_FALSE(has_temporary_files(dir.path));
    }
}
