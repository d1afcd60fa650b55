add %r1, %r2
add32 %r3, %r4
add %r5, 0x7f
add32 %r6, -3
add %r7, 0xffffffff
add %r8, 2147483647
add32 %r9, -2147483648
sub %r1, %r2
sub32 %r3, %r4
sub %r5, 0x7f
sub32 %r6, -3
sub %r7, 0xffffffff
sub %r8, 2147483647
sub32 %r9, -2147483648
mul %r1, %r2
mul32 %r3, %r4
mul %r5, 0x7f
mul32 %r6, -3
mul %r7, 0xffffffff
mul %r8, 2147483647
mul32 %r9, -2147483648
div %r1, %r2
div32 %r3, %r4
div %r5, 0x7f
div32 %r6, -3
div %r7, 0xffffffff
div %r8, 2147483647
div32 %r9, -2147483648
sdiv %r1, %r2
sdiv32 %r3, %r4
sdiv %r5, 0x7f
sdiv32 %r6, -3
sdiv %r7, 0xffffffff
sdiv %r8, 2147483647
sdiv32 %r9, -2147483648
or %r1, %r2
or32 %r3, %r4
or %r5, 0x7f
or32 %r6, -3
or %r7, 0xffffffff
or %r8, 2147483647
or32 %r9, -2147483648
and %r1, %r2
and32 %r3, %r4
and %r5, 0x7f
and32 %r6, -3
and %r7, 0xffffffff
and %r8, 2147483647
and32 %r9, -2147483648
lsh %r1, %r2
lsh32 %r3, %r4
lsh %r5, 0x7f
lsh32 %r6, -3
lsh %r7, 0xffffffff
lsh %r8, 2147483647
lsh32 %r9, -2147483648
rsh %r1, %r2
rsh32 %r3, %r4
rsh %r5, 0x7f
rsh32 %r6, -3
rsh %r7, 0xffffffff
rsh %r8, 2147483647
rsh32 %r9, -2147483648
mod %r1, %r2
mod32 %r3, %r4
mod %r5, 0x7f
mod32 %r6, -3
mod %r7, 0xffffffff
mod %r8, 2147483647
mod32 %r9, -2147483648
smod %r1, %r2
smod32 %r3, %r4
smod %r5, 0x7f
smod32 %r6, -3
smod %r7, 0xffffffff
smod %r8, 2147483647
smod32 %r9, -2147483648
xor %r1, %r2
xor32 %r3, %r4
xor %r5, 0x7f
xor32 %r6, -3
xor %r7, 0xffffffff
xor %r8, 2147483647
xor32 %r9, -2147483648
mov %r1, %r2
mov32 %r3, %r4
mov %r5, 0x7f
mov32 %r6, -3
mov %r7, 0xffffffff
mov %r8, 2147483647
mov32 %r9, -2147483648
arsh %r1, %r2
arsh32 %r3, %r4
arsh %r5, 0x7f
arsh32 %r6, -3
arsh %r7, 0xffffffff
arsh %r8, 2147483647
arsh32 %r9, -2147483648
neg %r0
neg32 %r9
movsx864 %r0, %r1
movsx832 %r2, %r3
movsx1664 %r4, %r5
movsx1632 %r6, %r7
movsx3264 %r8, %r9
le16 %r1
be16 %r2
swap16 %r3
bswap16 %r4
le32 %r1
be32 %r2
swap32 %r3
bswap32 %r4
le64 %r1
be64 %r2
swap64 %r3
bswap64 %r4
ldxb %r0, [%r1+2]
ldxb %r9, [%r10-8]
ldxb %r2, [%r3]
ldxb %r2, [%r3+0x10]
ldxb %r2, [%r3-32768]
ldxb %r2, [%r3+32767]
stb [%r1+2], 0x11
stb [%r10-8], -1
stb [%r0], 0xffffffff
stxb [%r1+2], %r3
stxb [%r10-8], %r0
stxb [%r1], %r9
ldxh %r0, [%r1+2]
ldxh %r9, [%r10-8]
ldxh %r2, [%r3]
ldxh %r2, [%r3+0x10]
ldxh %r2, [%r3-32768]
ldxh %r2, [%r3+32767]
sth [%r1+2], 0x11
sth [%r10-8], -1
sth [%r0], 0xffffffff
stxh [%r1+2], %r3
stxh [%r10-8], %r0
stxh [%r1], %r9
ldxw %r0, [%r1+2]
ldxw %r9, [%r10-8]
ldxw %r2, [%r3]
ldxw %r2, [%r3+0x10]
ldxw %r2, [%r3-32768]
ldxw %r2, [%r3+32767]
stw [%r1+2], 0x11
stw [%r10-8], -1
stw [%r0], 0xffffffff
stxw [%r1+2], %r3
stxw [%r10-8], %r0
stxw [%r1], %r9
ldxdw %r0, [%r1+2]
ldxdw %r9, [%r10-8]
ldxdw %r2, [%r3]
ldxdw %r2, [%r3+0x10]
ldxdw %r2, [%r3-32768]
ldxdw %r2, [%r3+32767]
stdw [%r1+2], 0x11
stdw [%r10-8], -1
stdw [%r0], 0xffffffff
stxdw [%r1+2], %r3
stxdw [%r10-8], %r0
stxdw [%r1], %r9
ldxsb %r0, [%r1+2]
ldxsb %r4, [%r10-4]
ldxsh %r0, [%r1+2]
ldxsh %r4, [%r10-4]
ldxsw %r0, [%r1+2]
ldxsw %r4, [%r10-4]
lock add [%r10-8], %r1
lock add32 [%r1+4], %r2
lock fetch add [%r10-8], %r1
lock fetch add32 [%r1+4], %r2
lock or [%r10-8], %r1
lock or32 [%r1+4], %r2
lock fetch or [%r10-8], %r1
lock fetch or32 [%r1+4], %r2
lock and [%r10-8], %r1
lock and32 [%r1+4], %r2
lock fetch and [%r10-8], %r1
lock fetch and32 [%r1+4], %r2
lock xor [%r10-8], %r1
lock xor32 [%r1+4], %r2
lock fetch xor [%r10-8], %r1
lock fetch xor32 [%r1+4], %r2
lock xchg [%r10-8], %r1
lock xchg32 [%r10-8], %r1
lock cmpxchg [%r10-8], %r1
lock cmpxchg32 [%r1], %r2
jeq %r1, %r2, +3
jeq %r1, 0x10, -1
jeq32 %r1, %r2, +0
jeq32 %r1, 0xffffffff, +32767
jeq %r9, -5, -32768
jgt %r1, %r2, +3
jgt %r1, 0x10, -1
jgt32 %r1, %r2, +0
jgt32 %r1, 0xffffffff, +32767
jgt %r9, -5, -32768
jge %r1, %r2, +3
jge %r1, 0x10, -1
jge32 %r1, %r2, +0
jge32 %r1, 0xffffffff, +32767
jge %r9, -5, -32768
jset %r1, %r2, +3
jset %r1, 0x10, -1
jset32 %r1, %r2, +0
jset32 %r1, 0xffffffff, +32767
jset %r9, -5, -32768
jne %r1, %r2, +3
jne %r1, 0x10, -1
jne32 %r1, %r2, +0
jne32 %r1, 0xffffffff, +32767
jne %r9, -5, -32768
jsgt %r1, %r2, +3
jsgt %r1, 0x10, -1
jsgt32 %r1, %r2, +0
jsgt32 %r1, 0xffffffff, +32767
jsgt %r9, -5, -32768
jsge %r1, %r2, +3
jsge %r1, 0x10, -1
jsge32 %r1, %r2, +0
jsge32 %r1, 0xffffffff, +32767
jsge %r9, -5, -32768
jlt %r1, %r2, +3
jlt %r1, 0x10, -1
jlt32 %r1, %r2, +0
jlt32 %r1, 0xffffffff, +32767
jlt %r9, -5, -32768
jle %r1, %r2, +3
jle %r1, 0x10, -1
jle32 %r1, %r2, +0
jle32 %r1, 0xffffffff, +32767
jle %r9, -5, -32768
jslt %r1, %r2, +3
jslt %r1, 0x10, -1
jslt32 %r1, %r2, +0
jslt32 %r1, 0xffffffff, +32767
jslt %r9, -5, -32768
jsle %r1, %r2, +3
jsle %r1, 0x10, -1
jsle32 %r1, %r2, +0
jsle32 %r1, 0xffffffff, +32767
jsle %r9, -5, -32768
ja +5
ja -1
ja32 +7000
ja32 -2
call 5
call 0x7fffffff
call local +3
call local -10
call %r2
exit
lddw %r1, 0x1122334455667788
lddw %r0, -1
lddw %r0, 2147483648
lddw %r9, 0xFFFFFFFF80000000
lddw %r2, 0
