// Must not compile. expect: elementwise_layer: the transform maps .-inf, inf. onto an interval that depends on its parameters
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::elementwise_layer(dsl::elementwise([](auto x, auto t) { return sigmoid(x) + t; }), {0.0});
    return static_cast<int>(sizeof(spec));
}
