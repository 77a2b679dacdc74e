// The packing buffers of the gemm kernels: one fixed-size set per thread, allocated on the thread's
// first use (Program::bind touches it, so a training step after binding never allocates).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace bijou::detail::gemm_kernels {

template <class T>
class GemmWorkspace {
public:
    // Sizes in elements: A's mc x kc block, B's kc x nc block (blocked.hpp), and the skinny kernels'
    // packed operand (skinny.hpp), each a multiple of the 64-byte alignment.
    static constexpr std::size_t a_size = 96 * 256, b_size = 256 * 1024, skinny_size = 64 * 1024;

    GemmWorkspace()
        : storage_(static_cast<T*>(std::aligned_alloc(64, (a_size + b_size + skinny_size) * sizeof(T))))
    {
        if (!storage_) throw std::bad_alloc();
    }
    T* a() { return storage_.get(); }
    T* b() { return storage_.get() + a_size; }
    T* skinny() { return storage_.get() + a_size + b_size; }

private:
    struct Free {
        void operator()(T* p) const { std::free(p); }
    };
    std::unique_ptr<T, Free> storage_;
};

template <class T>
GemmWorkspace<T>& gemm_workspace()
{
    thread_local GemmWorkspace<T> workspace;
    return workspace;
}

}  // namespace bijou::detail::gemm_kernels
