// Must not compile. expect: the transform does not depend on x
#include <bijou/bijou.hpp>

using namespace bijou;

constexpr auto constant = dsl::elementwise([](auto x, auto t) { return exp(t); });
int main() { return static_cast<int>(sizeof(constant.tree<double>())); }
