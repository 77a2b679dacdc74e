// Must not compile. expect: this block is conditional
#include <bijou/bijou.hpp>

using namespace bijou;

int main()
{
    dsl::BuildContext context;
    auto block = dsl::conditional(flows::nice_coupling(dsl::conditioner(hidden(4))), 3).build<double>(2, context);
    Input<double> x(2);
    auto out = block.forward(x, dsl::NoCondition{});
    return static_cast<int>(sizeof(out));
}
