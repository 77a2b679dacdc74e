// Must not compile. expect: x reaches logit, whose domain is .0, 1., with values in .-inf, inf.
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::elementwise_layer(dsl::elementwise([](auto x, auto s) { return logit(x + s); }), {0.0});
    return static_cast<int>(sizeof(spec));
}
