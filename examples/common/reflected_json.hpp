// JSON for plain structs, by compile-time reflection (Boost.Hana): a struct whose members are listed
// once with BOOST_HANA_ADAPT_STRUCT is written and read member by member, each under its own name, so a
// new member needs no serialisation code and a name cannot be spelled two ways.
//
//   struct Settings { std::string flow = "realnvp"; std::size_t blocks = 8; Standardisation data; };
//   BOOST_HANA_ADAPT_STRUCT(Settings, flow, blocks, data);     // at namespace scope, after the struct
//   nlohmann::ordered_json j = to_reflected_json(settings);   // {"flow": ..., "blocks": ..., "data": {...}}
//   Settings back = from_reflected_json<Settings>(j);         // a missing member or a wrong type throws
//
// Members are numbers, strings, vectors of them (anything nlohmann::json converts), or adapted structs,
// written as nested objects. Reading a missing member or one of the wrong type throws
// std::invalid_argument naming the member's JSON path ("/data/scale"); callers turn it into their own error.
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>

#include <boost/hana/accessors.hpp>
#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/string.hpp>
#include <nlohmann/json.hpp>

namespace bijou::examples {

template <class S>
nlohmann::ordered_json to_reflected_json(const S& s)
{
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    boost::hana::for_each(boost::hana::accessors<S>(), [&](auto member) {
        const std::string name = boost::hana::to<const char*>(boost::hana::first(member));
        const auto& value = boost::hana::second(member)(s);
        if constexpr (boost::hana::Struct<std::decay_t<decltype(value)>>::value)
            j[name] = to_reflected_json(value);
        else
            j[name] = value;
    });
    return j;
}

template <class S, class Json>
S from_reflected_json(const Json& j, const std::string& path = "")
{
    S s{};
    boost::hana::for_each(boost::hana::accessors<S>(), [&](auto member) {
        const std::string name = boost::hana::to<const char*>(boost::hana::first(member));
        auto& value = boost::hana::second(member)(s);
        using Value = std::decay_t<decltype(value)>;
        const std::string where = path + "/" + name;
        if (!j.is_object() || !j.contains(name)) throw std::invalid_argument("member '" + where + "' is missing");
        if constexpr (boost::hana::Struct<Value>::value) {
            value = from_reflected_json<Value>(j.at(name), where);
        } else {
            try {
                value = j.at(name).template get<Value>();
            } catch (const nlohmann::json::exception& e) {
                throw std::invalid_argument("member '" + where + "': " + e.what());
            }
        }
    });
    return s;
}

}  // namespace bijou::examples
