// Must not compile. expect: x passes through square, which is not injective
#include <bijou/bijou.hpp>

using namespace bijou;

constexpr auto even = dsl::elementwise([](auto x, auto s) { return square(x) * exp(s); });
int main() { return static_cast<int>(sizeof(even.tree<float>())); }
