// Must not compile. expect: pow\(x, p\) with a runtime exponent
#include <bijou/bijou.hpp>

using namespace bijou;

constexpr auto power = dsl::elementwise([](auto x, auto t) { return pow(x, 2.0) + t; });
int main() { return static_cast<int>(sizeof(power.tree<double>())); }
