// Counting heap allocations, for the tests of the promise that a bound program allocates nothing.
//
// Including this header replaces the global operator new / delete (every form: plain, array, aligned,
// nothrow, sized) with versions that count each new and allocate with malloc / aligned_alloc. Replacement
// operators must be defined in exactly one translation unit of an executable: every test is its own
// executable built from its single .cpp, so include this header from that .cpp and nowhere else.
//
// Define BIJOU_TESTING_COUNT_MALLOC before including to count malloc and friends as well, so that memory
// taken by C code (OpenBLAS) or by an allocator that bypasses operator new (xsimd's aligned allocator)
// is seen too. It interposes malloc, which works on glibc only and not under ASan or TSan (they interpose
// it themselves); BIJOU_COUNT_MALLOC is then 1 where malloc is counted and 0 elsewhere.
//
//   bijou::testing::AllocationScope scope;
//   train_step();
//   CHECK(scope.new_calls() == 0);
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace bijou::testing {

namespace allocation_counts {
inline std::atomic<long> of_operator_new{0};  // calls of any operator new
inline std::atomic<long> of_malloc{0};        // calls of malloc, calloc, realloc and the aligned forms

inline void count_malloc() { of_malloc.fetch_add(1, std::memory_order_relaxed); }

inline void* counted_new(std::size_t n)
{
    of_operator_new.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}

inline void* counted_new(std::size_t n, std::align_val_t alignment)
{
    of_operator_new.fetch_add(1, std::memory_order_relaxed);
    const auto a = static_cast<std::size_t>(alignment);
    const std::size_t rounded = ((n == 0 ? 1 : n) + a - 1) / a * a;  // aligned_alloc wants a multiple
    if (void* p = std::aligned_alloc(a, rounded)) return p;
    throw std::bad_alloc();
}

// The nothrow forms: the same count, nullptr instead of the exception.
template <class... Alignment>
void* counted_new_or_null(std::size_t n, Alignment... alignment) noexcept
{
    try {
        return counted_new(n, alignment...);
    } catch (...) {
        return nullptr;
    }
}
}  // namespace allocation_counts

// Calls of operator new since the program started.
inline long operator_new_calls() { return allocation_counts::of_operator_new.load(); }
// Calls of malloc and friends since the program started (0 unless BIJOU_COUNT_MALLOC is 1).
inline long malloc_calls() { return allocation_counts::of_malloc.load(); }

// The heap calls made between its construction and each question.
struct AllocationScope {
    long new_calls_at = operator_new_calls();
    long malloc_calls_at = testing::malloc_calls();  // unqualified, the member below
    long new_calls() const { return operator_new_calls() - new_calls_at; }
    long malloc_calls() const { return testing::malloc_calls() - malloc_calls_at; }
};

}  // namespace bijou::testing

// ---- malloc interposition (glibc): the executable's definitions win over libc's for every library ----
#if defined(BIJOU_TESTING_COUNT_MALLOC) && defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define BIJOU_COUNT_MALLOC 1
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc();
    return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc();
    return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc();
    return __libc_realloc(p, n);
}
void* memalign(std::size_t alignment, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc();
    return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc();
    return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n)
{
    bijou::testing::allocation_counts::count_malloc();
    if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
    void* p = __libc_memalign(alignment, n);
    if (p == nullptr) return 12;  // ENOMEM
    *out = p;
    return 0;
}
void free(void* p) { __libc_free(p); }
}
#else
#define BIJOU_COUNT_MALLOC 0
#endif

// ---- operator new / delete, counted ----
// Not inline, as the standard requires of replacements: this is why only one .cpp may include the header.
void* operator new(std::size_t n) { return bijou::testing::allocation_counts::counted_new(n); }
void* operator new[](std::size_t n) { return bijou::testing::allocation_counts::counted_new(n); }
void* operator new(std::size_t n, std::align_val_t a) { return bijou::testing::allocation_counts::counted_new(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return bijou::testing::allocation_counts::counted_new(n, a); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept
{
    return bijou::testing::allocation_counts::counted_new_or_null(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept
{
    return bijou::testing::allocation_counts::counted_new_or_null(n);
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept
{
    return bijou::testing::allocation_counts::counted_new_or_null(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept
{
    return bijou::testing::allocation_counts::counted_new_or_null(n, a);
}
// Every counted operator new above allocates with malloc, so free is the matching release; GCC cannot
// see that through the replaced operators and warns when it inlines a delete next to a new.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop
