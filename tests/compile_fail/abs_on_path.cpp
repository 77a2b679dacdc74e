// Must not compile. expect: x passes through abs, which is not injective
#include <bijou/bijou.hpp>

using namespace bijou;

constexpr auto folded = dsl::elementwise([](auto x, auto t) { return abs(x) + t; });
int main() { return static_cast<int>(sizeof(folded.tree<double>())); }
