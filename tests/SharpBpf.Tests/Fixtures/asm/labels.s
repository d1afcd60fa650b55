# A program with labels, forward and backward jumps, a local call and gotol,
# assembled by llvm-mc into an object; labels.hex holds its .text bytes and
# labels.objdump the llvm-objdump listing of that object.
entry:
	r6 = r1
	r0 = 0
	r2 = 0x1122334455667788 ll
LBB0_1:
	if r6 == 0 goto LBB0_3
	r6 += -1
	r0 += 2
	if w0 s< 100 goto LBB0_1
	call sub
	goto LBB0_1
LBB0_3:
	gotol LBB0_4
	r0 = 1
LBB0_4:
	lock *(u32 *)(r10 - 8) += w1
	w1 = atomic_fetch_xor((u32 *)(r10 - 8), w1)
	exit
sub:
	r0 = 7
	exit
