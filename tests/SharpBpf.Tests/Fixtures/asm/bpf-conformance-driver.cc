// Driver for gen-ubpf.sh: reads uBPF assembly on stdin, assembles it with the bpf_conformance
// library's bpf_assembler(), and prints each instruction slot as 16 hex digits (wire byte order).
#include <bpf_conformance_core/bpf_assembler.h>
#include <cstdio>
#include <iostream>
#include <sstream>

int main()
{
    std::stringstream input;
    input << std::cin.rdbuf();
    try {
        for (const auto& slot : bpf_assembler(input)) {
            const auto* bytes = reinterpret_cast<const unsigned char*>(&slot);
            for (size_t i = 0; i < sizeof(slot); i++) {
                std::printf("%02x", bytes[i]);
            }
            std::printf("\n");
        }
    } catch (const std::exception& e) {
        std::printf("error: %s\n", e.what());
        return 1;
    }
    return 0;
}
