// Must not compile. expect: repeat: the block .elementwise_layer. maps onto .-inf, inf., which is not inside its own domain .0, 1.
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::repeat(3, flows::open_logit_layer());
    return static_cast<int>(sizeof(spec));
}
