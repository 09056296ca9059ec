# Warning, hardening and sanitizer flags for every target of the project.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wvla -Wno-unused-parameter)
if(CT_WERROR)
    add_compile_options(-Werror)
endif()

# Hardening, as Debian's dpkg-buildflags (hardening=+all) sets for packages: stack protector,
# PIE, full RELRO (-z relro -z now) and, in optimized builds without a sanitizer (the sanitizers
# intercept the same functions), _FORTIFY_SOURCE=2. tests/e2e/check_hardening.py reads them back
# from the collector binary.
include(CheckPIESupported)
check_pie_supported()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
add_compile_options(-fstack-protector-strong)
add_link_options(-Wl,-z,relro,-z,now)
if(NOT CT_SANITIZE AND NOT CT_TSAN)
    add_compile_options("$<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-U_FORTIFY_SOURCE>"
        "$<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-D_FORTIFY_SOURCE=2>")
endif()
if(CT_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
        -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
    add_compile_definitions(CT_SANITIZE=1)
endif()
if(CT_TSAN)
    if(CT_SANITIZE)
        message(FATAL_ERROR "CT_TSAN and CT_SANITIZE cannot be combined")
    endif()
    add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -O1)
    add_link_options(-fsanitize=thread)
    add_compile_definitions(CT_TSAN=1)
endif()
