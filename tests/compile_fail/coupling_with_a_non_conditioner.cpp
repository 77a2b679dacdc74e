// Must not compile. expect: net is not a conditioner spec
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    auto spec = dsl::coupling(dsl::halves, hidden(8), flows::affine);
    return static_cast<int>(sizeof(spec));
}
