// Progress: periodic plain lines when not on a terminal, a redrawn bar when asked for one, the running
// loss (a bias-corrected moving average) and notes between updates.
#include <bijou/examples/common/progress.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace bijou::examples;

namespace {

// Everything written to a temporary stream so far.
std::string contents(std::FILE* stream)
{
    std::fflush(stream);
    std::rewind(stream);
    std::string text;
    for (int c; (c = std::fgetc(stream)) != EOF;) text += char(c);
    return text;
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace

TEST_CASE("a stream that is not a terminal gets about 20 plain lines")
{
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    {
        Progress progress(100, {.stream = out});
        CHECK(progress.style() == ProgressStyle::lines);  // a file is not a terminal
        for (std::size_t step = 1; step <= 100; ++step) progress.update(step, 2.5, 1e-3);
        CHECK(progress.running_loss() == Approx(2.5));  // the average of a constant is that constant
    }
    const auto lines = lines_of(contents(out));
    std::fclose(out);
    REQUIRE(lines.size() == 20);
    CHECK(lines[0].rfind("step 5/100 loss 2.5 lr 0.001 eta ", 0) == 0);
    CHECK(lines[19].rfind("step 100/100 loss 2.5 lr 0.001 eta 00:00", 0) == 0);
    for (const auto& line : lines) CHECK(line.find('\r') == std::string::npos);
}

TEST_CASE("lines come every line_every steps and at the last step")
{
    std::FILE* out = std::tmpfile();
    {
        Progress progress(10, {.stream = out, .style = ProgressStyle::lines, .first_step = 3, .line_every = 4});
        for (std::size_t step = 4; step <= 10; ++step) progress.update(step, 1.0, 0.5);
        progress.note("validation nll 1.23");
    }
    const auto lines = lines_of(contents(out));
    std::fclose(out);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].rfind("step 4/10 ", 0) == 0);
    CHECK(lines[1].rfind("step 8/10 ", 0) == 0);
    CHECK(lines[2].rfind("step 10/10 ", 0) == 0);
    CHECK(lines[3] == "validation nll 1.23");
}

TEST_CASE("the bar is redrawn in place and ends with a newline")
{
    std::FILE* out = std::tmpfile();
    {
        Progress progress(50, {.stream = out, .style = ProgressStyle::bar, .redraw_seconds = 0, .bar_width = 10});
        for (std::size_t step = 1; step <= 50; ++step) progress.update(step, 0.75, 2e-4);
        progress.finish();
        progress.finish();  // a second finish adds nothing
    }
    const std::string text = contents(out);
    std::fclose(out);
    CHECK(text.find("\r25/50 [#####.....]  50%  loss 0.75  lr 0.0002  eta ") != std::string::npos);
    CHECK(text.find("50/50 [##########] 100%") != std::string::npos);
    CHECK(text.back() == '\n');
    CHECK(lines_of(text).size() == 1);  // one line on screen, redrawn
}

TEST_CASE("the running loss is a bias-corrected moving average")
{
    std::FILE* out = std::tmpfile();
    Progress progress(3, {.stream = out, .style = ProgressStyle::lines, .smoothing = 0.5});
    CHECK(std::isnan(progress.running_loss()));
    CHECK(std::isnan(progress.eta_seconds()));
    progress.update(1, 1.0, 0.1);
    CHECK(progress.running_loss() == Approx(1.0));
    progress.update(2, 2.0, 0.1);
    CHECK(progress.running_loss() == Approx((0.25 + 1.0) / 0.75));  // (0.5 * 0.5 * 1 + 0.5 * 2) / (1 - 0.5^2)
    CHECK(progress.eta_seconds() >= 0);
    std::fclose(out);
    CHECK_THROWS_AS(Progress(3, {.stream = nullptr}), bijou::usage_error);
    CHECK_THROWS_AS(Progress(3, {.stream = stderr, .smoothing = 1.0}), bijou::usage_error);
}
