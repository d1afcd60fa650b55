r1 += r2
w3 += w4
r5 += 0x7f
w6 += -3
r1 -= r2
w3 -= w4
r5 -= 0x7f
w6 -= -3
r1 *= r2
w3 *= w4
r5 *= 0x7f
w6 *= -3
r1 /= r2
w3 /= w4
r5 /= 0x7f
w6 /= -3
r1 s/= r2
w3 s/= w4
r5 s/= 0x7f
w6 s/= -3
r1 %= r2
w3 %= w4
r5 %= 0x7f
w6 %= -3
r1 s%= r2
w3 s%= w4
r5 s%= 0x7f
w6 s%= -3
r1 |= r2
w3 |= w4
r5 |= 0x7f
w6 |= -3
r1 &= r2
w3 &= w4
r5 &= 0x7f
w6 &= -3
r1 <<= r2
w3 <<= w4
r5 <<= 0x7f
w6 <<= -3
r1 >>= r2
w3 >>= w4
r5 >>= 0x7f
w6 >>= -3
r1 s>>= r2
w3 s>>= w4
r5 s>>= 0x7f
w6 s>>= -3
r1 ^= r2
w3 ^= w4
r5 ^= 0x7f
w6 ^= -3
r0 = 1
r0 = -1
r9 = 0x7fffffff
r1 = 0xffffffff
w0 = w1
r0 = r10
w2 = 0x80000000
w2 = -2147483648
r0 = -r0
w7 = -w7
r1 = (s8)r2
r1 = (s16)r2
r1 = (s32)r2
w1 = (s8)w2
w1 = (s16)w2
r1 = be16 r1
r2 = le16 r2
r3 = bswap16 r3
r1 = be32 r1
r2 = le32 r2
r3 = bswap32 r3
r1 = be64 r1
r2 = le64 r2
r3 = bswap64 r3
r0 = *(u8 *)(r1 + 0x8)
r9 = *(u8 *)(r10 - 8)
*(u8 *)(r10 - 0x8) = r1
*(u8 *)(r1 + 2) = 0x7
*(u8 *)(r1 + 0) = -1
r0 = *(u16 *)(r1 + 0x8)
r9 = *(u16 *)(r10 - 8)
*(u16 *)(r10 - 0x8) = r1
*(u16 *)(r1 + 2) = 0x7
*(u16 *)(r1 + 0) = -1
r0 = *(u32 *)(r1 + 0x8)
r9 = *(u32 *)(r10 - 8)
*(u32 *)(r10 - 0x8) = r1
*(u32 *)(r1 + 2) = 0x7
*(u32 *)(r1 + 0) = -1
r0 = *(u64 *)(r1 + 0x8)
r9 = *(u64 *)(r10 - 8)
*(u64 *)(r10 - 0x8) = r1
*(u64 *)(r1 + 2) = 0x7
*(u64 *)(r1 + 0) = -1
r0 = *(s8 *)(r10 - 8)
r3 = *(s8 *)(r4 + 0x7fff)
r0 = *(s16 *)(r10 - 8)
r3 = *(s16 *)(r4 + 0x7fff)
r0 = *(s32 *)(r10 - 8)
r3 = *(s32 *)(r4 + 0x7fff)
w0 = *(u32 *)(r1 + 8)
w0 = *(u8 *)(r1 - 0x8000)
*(u32 *)(r10 - 0x8) = w1
lock *(u64 *)(r10 - 8) += r1
lock *(u32 *)(r1 + 0) += w2
lock *(u64 *)(r10 - 8) |= r1
lock *(u32 *)(r1 + 0) |= w2
lock *(u64 *)(r10 - 8) &= r1
lock *(u32 *)(r1 + 0) &= w2
lock *(u64 *)(r10 - 8) ^= r1
lock *(u32 *)(r1 + 0) ^= w2
r0 = atomic_fetch_add((u64 *)(r10 - 0x8), r0)
w3 = atomic_fetch_add((u32 *)(r1 + 0x10), w3)
r0 = atomic_fetch_or((u64 *)(r10 - 0x8), r0)
w3 = atomic_fetch_or((u32 *)(r1 + 0x10), w3)
r0 = atomic_fetch_and((u64 *)(r10 - 0x8), r0)
w3 = atomic_fetch_and((u32 *)(r1 + 0x10), w3)
r0 = atomic_fetch_xor((u64 *)(r10 - 0x8), r0)
w3 = atomic_fetch_xor((u32 *)(r1 + 0x10), w3)
r1 = xchg_64(r10 - 8, r1)
w1 = xchg32_32(r10 - 8, w1)
r0 = cmpxchg_64(r10 - 8, r0, r1)
w0 = cmpxchg32_32(r10 - 8, w0, w1)
r1 = 0x1234 ll
r1 = -1 ll
r2 = 0x123456789abcdef0 ll
r3 = 0xffffffffffffffff ll
r4 = 0 ll
r0 = *(u8 *)skb[0x17]
r0 = *(u16 *)skb[23]
r0 = *(u32 *)skb[0]
r0 = *(u8 *)skb[r1]
r0 = *(u16 *)skb[r7]
r0 = *(u32 *)skb[r9]
if r1 == r2 goto +2
if w1 == w2 goto -3
if r3 == 0x5 goto +0x10
if w4 == -1 goto -0x1
if r1 != r2 goto +2
if w1 != w2 goto -3
if r3 != 0x5 goto +0x10
if w4 != -1 goto -0x1
if r1 > r2 goto +2
if w1 > w2 goto -3
if r3 > 0x5 goto +0x10
if w4 > -1 goto -0x1
if r1 >= r2 goto +2
if w1 >= w2 goto -3
if r3 >= 0x5 goto +0x10
if w4 >= -1 goto -0x1
if r1 < r2 goto +2
if w1 < w2 goto -3
if r3 < 0x5 goto +0x10
if w4 < -1 goto -0x1
if r1 <= r2 goto +2
if w1 <= w2 goto -3
if r3 <= 0x5 goto +0x10
if w4 <= -1 goto -0x1
if r1 s> r2 goto +2
if w1 s> w2 goto -3
if r3 s> 0x5 goto +0x10
if w4 s> -1 goto -0x1
if r1 s>= r2 goto +2
if w1 s>= w2 goto -3
if r3 s>= 0x5 goto +0x10
if w4 s>= -1 goto -0x1
if r1 s< r2 goto +2
if w1 s< w2 goto -3
if r3 s< 0x5 goto +0x10
if w4 s< -1 goto -0x1
if r1 s<= r2 goto +2
if w1 s<= w2 goto -3
if r3 s<= 0x5 goto +0x10
if w4 s<= -1 goto -0x1
if r1 & r2 goto +2
if w1 & w2 goto -3
if r3 & 0x5 goto +0x10
if w4 & -1 goto -0x1
goto +3
goto -1
goto +32767
goto -32768
gotol +3
gotol -2
call 1
call 0x7fffffff
callx r2
exit
may_goto +2
r1 = addr_space_cast(r2, 0, 1)
r1 = addr_space_cast(r2, 1, 0)
