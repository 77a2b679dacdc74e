// What every example writes to its --out directory: metrics.json (the figures a run is judged by) and a
// CSV training log (CsvLog and TrainingLog, from csv_log.hpp).
//
//   examples::Metrics metrics;
//   metrics.add("final_loss", 0.012).add("steps", 3000).add("validation_nll", std::vector<double>{3.1, 2.9});
//   metrics.write(out / "metrics.json");
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <bijou/examples/common/csv_log.hpp>

namespace bijou::examples {

// A flat JSON object of named numbers, strings and arrays of numbers, written in the order added.
class Metrics {
public:
    Metrics& add(const std::string& name, double value)
    {
        entries_.emplace_back(name, number(value));
        return *this;
    }
    Metrics& add(const std::string& name, const std::string& value)
    {
        entries_.emplace_back(name, quoted(value));
        return *this;
    }
    // A series (a validation history, say) as a JSON array.
    Metrics& add(const std::string& name, std::span<const double> values)
    {
        std::string array = "[";
        for (std::size_t i = 0; i < values.size(); ++i) array += (i > 0 ? ", " : "") + number(values[i]);
        entries_.emplace_back(name, array + "]");
        return *this;
    }

    void write(const std::filesystem::path& path) const
    {
        std::ofstream out(path);
        if (!out) throw std::runtime_error("cannot write " + path.string());
        out << "{\n";
        for (std::size_t i = 0; i < entries_.size(); ++i)
            out << "  " << quoted(entries_[i].first) << ": " << entries_[i].second
                << (i + 1 < entries_.size() ? ",\n" : "\n");
        out << "}\n";
    }

private:
    static std::string number(double value)
    {
        char text[64];
        if (std::isfinite(value))
            std::snprintf(text, sizeof text, "%.10g", value);
        else
            std::snprintf(text, sizeof text, "null");  // JSON has no inf or nan
        return text;
    }
    static std::string quoted(const std::string& s)
    {
        std::string q = "\"";
        for (const char c : s) {
            if (c == '"' || c == '\\') q += '\\';
            q += c;
        }
        return q + "\"";
    }

    std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace bijou::examples
