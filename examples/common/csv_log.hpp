// CSV logs: written a row at a time and flushed per row, read back for resuming and for analysis.
//
//   CsvLog log(out / "samples.csv", "x,y");            // any header; rows of numbers
//   log.row(0.5, -1.25);
//
//   TrainingLog log(out / "log.csv");                   // step,loss,lr,time_s
//   log.write(step, loss, lr, time_s);
//   TrainingLog log = TrainingLog::resume(out / "log.csv", checkpoint_step);   // after loading a checkpoint
//   double time_offset = log.resumed_time();            // add to this run's clock, so time keeps increasing
//
//   CsvTable table = read_csv(out / "log.csv");         // table.columns, table.rows, table.column("loss")
//
// Every row is flushed as it is written, so a killed run leaves a log complete up to its last step, plus
// at most one unterminated line. Readers drop such a last line (it is the interrupted write); every other
// line must have one number per column, or read_csv throws bijou::file_format_error naming the line.
//
// Resuming: a checkpoint saved after step k is loaded, and the run continues with step k + 1. The log may
// already hold rows past k (steps done after that checkpoint, before the run died); the resumed run will
// redo them, so TrainingLog::resume keeps the rows with step <= k, rewrites the file with them atomically
// (temporary file + rename: a crash now loses nothing), and appends from there. The loss curve in the file
// is then one unbroken curve, as if the run had never stopped.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/io/atomic_file.hpp>
#include <bijou/engine/io/binary.hpp>

namespace bijou::examples {

// A CSV file with a header row; each row() writes one line of numbers (or anything << prints) and flushes.
class CsvLog {
public:
    enum class Mode {
        truncate,  // start a new file
        append,    // add rows to an existing file whose header is `header` (or start one)
    };

    CsvLog(const std::filesystem::path& path, const std::string& header, Mode mode = Mode::truncate) : path_(path)
    {
        bool write_header = true;
        if (mode == Mode::append && std::filesystem::exists(path) && std::filesystem::file_size(path) > 0) {
            std::ifstream in(path);
            std::string first;
            std::getline(in, first);
            if (first != header)
                throw_file_error("CsvLog", path, "cannot append: its header is '", first, "', expected '", header, "'");
            write_header = false;
        }
        out_.open(path, mode == Mode::append ? std::ios::app : std::ios::trunc);
        if (!out_) throw_file_error("CsvLog", path, "cannot open the file for writing");
        out_.precision(10);
        if (write_header) out_ << header << '\n' << std::flush;
    }

    template <class... Values>
    void row(const Values&... values)
    {
        std::size_t i = 0;
        ((out_ << (i++ ? "," : "") << values), ...);
        out_ << '\n' << std::flush;
        if (!out_) throw_file_error("CsvLog", path_, "writing a row failed (disk full?)");
    }

private:
    std::filesystem::path path_;
    std::ofstream out_;
};

// A CSV file of numbers as read back: the header's column names and the rows.
struct CsvTable {
    std::vector<std::string> columns;
    std::vector<std::vector<double>> rows;

    // The index of a column, or a usage_error listing the columns there are.
    std::size_t column(std::string_view name) const
    {
        for (std::size_t i = 0; i < columns.size(); ++i)
            if (columns[i] == name) return i;
        std::string known;
        for (const auto& c : columns) known += (known.empty() ? "" : ", ") + c;
        throw_usage_error("CsvTable::column", "no column '", name, "'; the columns are: ", known);
    }
};

namespace detail {

inline std::vector<std::string_view> split_csv_line(std::string_view line)
{
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
        const std::size_t comma = line.find(',', start);
        fields.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) return fields;
        start = comma + 1;
    }
}

}  // namespace detail

inline CsvTable read_csv(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw_file_error("read_csv", path, "cannot open the file");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

    CsvTable table;
    std::size_t line_number = 0;
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) break;  // an unterminated last line: an interrupted write, dropped
        std::string_view line(text.data() + start, end - start);
        start = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const auto fields = detail::split_csv_line(line);
        if (line_number == 1) {
            table.columns.assign(fields.begin(), fields.end());
            continue;
        }
        if (line.empty()) continue;
        if (fields.size() != table.columns.size())
            throw_file_error("read_csv", path, "line ", line_number, " has ", fields.size(), " fields, the header ",
                             table.columns.size());
        std::vector<double>& row = table.rows.emplace_back(fields.size());
        for (std::size_t i = 0; i < fields.size(); ++i) {
            const auto [end_of_number, error] =
                std::from_chars(fields[i].data(), fields[i].data() + fields[i].size(), row[i]);
            if (error != std::errc() || end_of_number != fields[i].data() + fields[i].size() || fields[i].empty())
                throw_file_error("read_csv", path, "line ", line_number, ", column '", table.columns[i], "': '",
                                 fields[i], "' is not a number");
        }
    }
    if (line_number == 0) throw_file_error("read_csv", path, "the file has no header line");
    return table;
}

// One row of a training log.
struct TrainingLogRow {
    std::uint64_t step = 0;
    double loss = 0, lr = 0, time_s = 0;
};

inline constexpr std::string_view training_log_header = "step,loss,lr,time_s";

inline std::vector<TrainingLogRow> read_training_log(const std::filesystem::path& path)
{
    const CsvTable table = read_csv(path);
    const std::size_t step = table.column("step"), loss = table.column("loss"), lr = table.column("lr"),
                      time = table.column("time_s");
    std::vector<TrainingLogRow> rows;
    rows.reserve(table.rows.size());
    for (const auto& r : table.rows) rows.push_back({std::uint64_t(r[step]), r[loss], r[lr], r[time]});
    return rows;
}

// log.csv of a training run: step, minibatch loss, learning rate, seconds of training so far.
class TrainingLog {
public:
    // A new log; an existing file at `path` is replaced.
    explicit TrainingLog(const std::filesystem::path& path) : log_(path, std::string(training_log_header)) {}

    // Continues the log of a run resumed from a checkpoint taken after step `step` (see the top of this
    // file). Without a file at `path`, starts a new one.
    static TrainingLog resume(const std::filesystem::path& path, std::uint64_t step)
    {
        if (!std::filesystem::exists(path)) return TrainingLog(path);
        std::vector<TrainingLogRow> kept = read_training_log(path);
        std::erase_if(kept, [&](const TrainingLogRow& r) { return r.step > step; });
        std::ostringstream text;
        text.precision(10);
        text << training_log_header << '\n';
        for (const auto& r : kept) text << r.step << ',' << r.loss << ',' << r.lr << ',' << r.time_s << '\n';
        const std::string bytes = text.str();
        write_file_atomically(path, std::as_bytes(std::span(bytes)), "TrainingLog::resume");
        TrainingLog log(path, CsvLog::Mode::append);
        if (!kept.empty()) {
            log.resumed_step_ = kept.back().step;
            log.resumed_time_ = kept.back().time_s;
        }
        return log;
    }

    void write(std::uint64_t step, double loss, double lr, double time_s) { log_.row(step, loss, lr, time_s); }

    // The last step and time kept by resume() (0 for a new log).
    std::uint64_t resumed_step() const { return resumed_step_; }
    double resumed_time() const { return resumed_time_; }

private:
    TrainingLog(const std::filesystem::path& path, CsvLog::Mode mode)
        : log_(path, std::string(training_log_header), mode)
    {
    }

    CsvLog log_;
    std::uint64_t resumed_step_ = 0;
    double resumed_time_ = 0;
};

}  // namespace bijou::examples
