// Must not compile. expect: x passes through clamp, which is not injective
#include <bijou/bijou.hpp>

using namespace bijou;

constexpr auto clipped = dsl::elementwise([](auto x, auto t) { return clamp(x, -1.0, 1.0) + t; });
int main() { return static_cast<int>(sizeof(clipped.tree<double>())); }
