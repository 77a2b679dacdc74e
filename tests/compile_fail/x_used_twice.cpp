// Must not compile. expect: x \(the first argument\) appears more than once
#include <bijou/bijou.hpp>

using namespace bijou;

constexpr auto not_invertible = dsl::elementwise([](auto x, auto t) { return x * x + t; });
int main() { return static_cast<int>(sizeof(not_invertible.tree<double>())); }
