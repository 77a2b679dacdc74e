// Must not compile. expect: x divides arg2, which is not provably nonzero
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::elementwise_layer(dsl::elementwise<dsl::positive>([](auto x, auto t) { return t / x; }), {1.0});
    return static_cast<int>(sizeof(spec));
}
