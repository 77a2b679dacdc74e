// What every example writes to its --out directory: metrics.json (the figures a run is judged by) and a
// CSV training log (CsvLog and TrainingLog, from csv_log.hpp).
//
//   examples::Metrics metrics;
//   metrics.add("final_loss", 0.012).add("steps", 3000).add("validation_nll", std::vector<double>{3.1, 2.9});
//   metrics.write(out / "metrics.json");
//
// The JSON is nlohmann::json's (nlohmann-json3-dev): keys in the order added, strings escaped as JSON
// requires, numbers at full precision, and non-finite numbers as null (JSON has no inf or nan).
#pragma once

#include <nlohmann/json.hpp>

#include <concepts>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/io/atomic_file.hpp>
#include <bijou/examples/common/csv_log.hpp>

namespace bijou::examples {

// A flat JSON object of named numbers, strings and arrays of numbers or strings. A name is added once.
class Metrics {
public:
    Metrics& add(const std::string& name, double value) { return set(name, value); }
    template <std::integral I>
    Metrics& add(const std::string& name, I value)
    {
        if constexpr (std::same_as<I, bool>)
            return set(name, value);
        else
            return set(name, static_cast<long long>(value));
    }
    Metrics& add(const std::string& name, const std::string& value) { return set(name, value); }
    Metrics& add(const std::string& name, const char* value) { return set(name, std::string(value)); }
    // A series (a validation history, say) as a JSON array.
    Metrics& add(const std::string& name, std::span<const double> values)
    {
        return set(name, std::vector<double>(values.begin(), values.end()));
    }
    Metrics& add(const std::string& name, const std::vector<double>& values)
    {
        return add(name, std::span<const double>(values));
    }
    // Names (the classes of a data set, say) as a JSON array of strings.
    Metrics& add(const std::string& name, const std::vector<std::string>& values) { return set(name, values); }

    const nlohmann::ordered_json& json() const { return entries_; }

    // Written atomically (temporary file + rename): a reader never sees half a file.
    void write(const std::filesystem::path& path) const
    {
        const std::string text = entries_.dump(2) + "\n";
        write_file_atomically(path, std::as_bytes(std::span(text)), "Metrics::write");
    }

private:
    template <class V>
    Metrics& set(const std::string& name, V&& value)
    {
        if (entries_.contains(name)) throw_usage_error("Metrics::add", "the metric '", name, "' is added twice");
        entries_[name] = std::forward<V>(value);
        return *this;
    }

    nlohmann::ordered_json entries_ = nlohmann::ordered_json::object();
};

}  // namespace bijou::examples
